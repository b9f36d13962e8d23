"""The charge.dispute.* webhook handlers (registered in `webhooks.HANDLERS`): every one records what the
dispute object says (`booking.payments.disputes.record_dispute`), whichever event it came with and in
whatever order, so a duplicate or a late event changes nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from booking.core.config import get_settings
from booking.payments import disputes
from booking.payments import ledger as payment_records
from booking.payments.gateway import PaymentGateway
from booking.payments.ledger import StripeRef, UnknownBooking, locate

DISPUTE_EVENTS = (
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
)
DISPUTES_PATH = "/admin/disputes"  # the workspace's Disputes page (booking_ui.routes.ADMIN_DISPUTES)


def on_dispute(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    dispute = event["data"]["object"]
    located = locate(session=session, ref=StripeRef.of(dispute), gateway=gateway)
    if located.payment is None:
        raise UnknownBooking(dispute.get("payment_intent") or dispute.get("id"))
    payment_records.lock_money(session=session, located=located)
    settings = get_settings()
    created = event.get("created")
    recorded = disputes.record_dispute(
        session=session, booking=located.booking, payment=located.payment, dispute=dispute,
        recovery_setting=settings.dispute_recovery,
        observed_at=datetime.fromtimestamp(created, tz=UTC) if isinstance(created, int) else None,
        disputes_url=settings.public_url.rstrip("/") + DISPUTES_PATH, public_url=settings.public_url)
    return recorded.outcome


HANDLERS = {event_type: on_dispute for event_type in DISPUTE_EVENTS}
