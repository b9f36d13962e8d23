"""The booking's life: holds, checkout, fulfilment, endings, refunds and cancellations.

- `transitions`  every change of a booking's state (compare-and-swap on the status)
- `checkout`     take a hold and open a Checkout Session; fulfil a paid one; sweep lapsed holds
- `refunds`      refunds and cancellations asked for in the workspace
- `abuse`        hold caps and rate limits against slot hoarding
"""

from booking.lifecycle.abuse import LimitReached, RateLimited, Requester, limits_for
from booking.lifecycle.checkout import (
    CheckoutStarted,
    HoldNotActive,
    InvalidRequest,
    RenewalsExhausted,
    SlotUnavailable,
    begin_checkout,
    client_detail_errors,
    release_hold_and_expire,
    retry_checkout,
    sweep_expired_holds,
)
from booking.lifecycle.refunds import (
    DEFAULT_CANCEL_REASON,
    REFUND_CHOICES,
    Refused,
    cancel_booking,
    request_refund,
    retry_refund,
)

__all__ = [
    "CheckoutStarted",
    "DEFAULT_CANCEL_REASON",
    "HoldNotActive",
    "InvalidRequest",
    "LimitReached",
    "REFUND_CHOICES",
    "RateLimited",
    "Refused",
    "RenewalsExhausted",
    "Requester",
    "SlotUnavailable",
    "begin_checkout",
    "cancel_booking",
    "client_detail_errors",
    "limits_for",
    "release_hold_and_expire",
    "request_refund",
    "retry_checkout",
    "retry_refund",
    "sweep_expired_holds",
]
