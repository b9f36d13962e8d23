"""Stripe's side of the story: webhooks, the stored-event processor, reconcile.

- `webhooks`   verify the signature, store each event once, dispatch through the one `HANDLERS` table
- `processor`  store-then-answer mode: applies stored events (a job of the job worker, booking/ops/worker.py)
- `reconcile`  compares Stripe's record with ours over a window and repairs what was missed
"""

from booking.events.processor import accept_webhook
from booking.events.reconcile import ReconcileReport
from booking.events.reconcile import reconcile as reconcile_with_stripe
from booking.events.webhooks import handle_webhook

__all__ = [
    "ReconcileReport",
    "accept_webhook",
    "handle_webhook",
    "reconcile_with_stripe",
]
