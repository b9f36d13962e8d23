"""What the success and cancel pages show, computed from Stripe's and our records."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from booking.client.summaries import BookingSummary, summarise
from booking.core.db import session_scope
from booking.core.models import Booking, BookingStatus, PaymentStatus, utcnow
from booking.lifecycle.checkout import fulfill_checkout, send_late_payment_refunds
from booking.payments.gateway import PaymentGateway, PaymentProviderError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Receipt:
    state: str  # confirmed | processing | unpaid | refunded | unknown
    summary: BookingSummary | None


def confirm_from_success_page(*, engine: Engine, gateway: PaymentGateway, checkout_session_id: str,
                              locale: str | None = None) -> Receipt:
    """The success URL is only a hint: ask Stripe whether the session is paid, then fulfil."""
    if not checkout_session_id.startswith("cs_") or len(checkout_session_id) > 255:
        return Receipt("unknown", None)
    try:
        checkout = gateway.retrieve_checkout_session(checkout_session_id)
    except PaymentProviderError:
        return Receipt("unknown", None)
    with session_scope(engine) as session:
        fulfilment = fulfill_checkout(session=session, checkout_session=checkout)
        if fulfilment.booking is None:
            return Receipt("unknown", None)
        receipt = Receipt(fulfilment.state, summarise(session=session, booking=fulfilment.booking, locale=locale))
    if fulfilment.refund_required:  # paid after the slot was taken: the refund goes now, not at the next sweep
        try:
            send_late_payment_refunds(engine=engine, gateway=gateway, booking_ids=[fulfilment.booking.id])
        except Exception:  # the Refund row stays `requested`: the sweeper sends it
            log.exception("late-payment refund of %s not sent now; the sweeper retries", fulfilment.booking.id)
    return receipt


def booking_receipt(*, engine: Engine, booking_id: str, locale: str | None = None) -> Receipt:
    """Our own view of a booking (the processing page polls this until the webhook lands)."""
    with session_scope(engine) as session:
        booking = session.get(Booking, booking_id)
        if booking is None:
            return Receipt("unknown", None)
        return Receipt(_state_of(booking), summarise(session=session, booking=booking, locale=locale))


def _state_of(booking: Booking) -> str:
    if booking.status == BookingStatus.CONFIRMED:
        return "confirmed"
    if booking.payment_status == PaymentStatus.PROCESSING:
        return "processing"
    if booking.payment_status == PaymentStatus.REFUNDED:
        return "refunded"
    if booking.status == BookingStatus.PENDING and booking.hold_expires_at and booking.hold_expires_at > utcnow():
        return "held"
    return "ended" if booking.status in (BookingStatus.EXPIRED, BookingStatus.CANCELLED) else "unpaid"
