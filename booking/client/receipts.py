"""What the success and cancel pages show, computed from Stripe's and our records."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from booking.client.summaries import BookingSummary, summarise
from booking.core.db import session_scope
from booking.core.models import Booking, BookingStatus, PaymentStatus, utcnow
from booking.lifecycle.checkout import fulfill_checkout
from booking.payments.gateway import PaymentGateway, PaymentProviderError


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
        return Receipt(fulfilment.state, summarise(session=session, booking=fulfilment.booking, locale=locale))


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
