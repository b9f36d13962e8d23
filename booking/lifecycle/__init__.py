"""The booking's life: holds, checkout, fulfilment, endings, refunds and cancellations.

- `transitions`  every change of a booking's state: the table of states and events (its docstring draws
                 it), typed end causes, and the messages each change sends
- `checkout`     take a hold and open a Checkout Session; fulfil a paid one; `end_hold`, the one flow
                 that ends a hold (it settles or expires the Checkout Session first); sweep lapsed holds
- `refunds`      refunds and cancellations asked for in the workspace
- `credit_bookings` book with a package credit: hold, reserve the credit, confirm at once (no Checkout)
- `abuse`        hold caps and rate limits against slot hoarding
- `no_show`      no-show-fee bookings (Checkout in setup mode keeps the card), the builder's attended /
                 no-show marks, and the fee charged off-session to the saved card
"""

from booking.lifecycle.abuse import LimitReached, RateLimited, Requester, client_ip, from_trusted_proxy, limits_for
from booking.lifecycle.checkout import (
    CheckoutStarted,
    HoldNotActive,
    InvalidRequest,
    RenewalsExhausted,
    SlotUnavailable,
    begin_checkout,
    client_detail_errors,
    end_hold,
    release_hold_and_expire,
    retry_checkout,
    sweep_expired_holds,
)
from booking.lifecycle.credit_bookings import write_credit_booking
from booking.lifecycle.no_show import NoShowOutcome, NoShowState, mark_attended, mark_no_show
from booking.lifecycle.no_show import Refused as NoShowRefused
from booking.lifecycle.refunds import (
    ASK_CANCEL_SESSION,
    DEFAULT_CANCEL_REASON,
    RefundChoice,
    Refused,
    cancel_booking,
    request_refund,
    retry_refund,
)
from booking.payments.promotions import PromotionCodeInvalid

__all__ = [
    "PromotionCodeInvalid",
    "ASK_CANCEL_SESSION",
    "CheckoutStarted",
    "DEFAULT_CANCEL_REASON",
    "HoldNotActive",
    "InvalidRequest",
    "LimitReached",
    "NoShowOutcome",
    "NoShowState",
    "NoShowRefused",
    "mark_attended",
    "mark_no_show",
    "RefundChoice",
    "RateLimited",
    "Refused",
    "RenewalsExhausted",
    "Requester",
    "client_ip",
    "from_trusted_proxy",
    "SlotUnavailable",
    "begin_checkout",
    "cancel_booking",
    "client_detail_errors",
    "end_hold",
    "limits_for",
    "release_hold_and_expire",
    "request_refund",
    "retry_checkout",
    "retry_refund",
    "sweep_expired_holds",
    "write_credit_booking",
]
