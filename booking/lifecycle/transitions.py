"""Booking state transitions. Each is a compare-and-swap on `status`, so it happens once.

pending --paid--> confirmed --full refund--> cancelled
pending --hold ran out--> expired ; pending --released / async payment failed--> cancelled
pending|confirmed --cancelled by the builder--> cancelled
expired|cancelled (never paid) --late payment, slot still free--> confirmed
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from booking.core.models import ACTIVE_BOOKING_STATUSES, Booking, BookingStatus, Builder, Payment, PaymentStatus, utcnow
from booking.notifications.outbox import NotificationKind, queue_booking_notifications
from booking.scheduling.busy import busy_bookings

# The "hold expired" email waits this long, so a release or late payment racing the expiry wins.
HOLD_EXPIRED_GRACE = timedelta(minutes=2)
# A paid booking that lost its hold can be revived only if it was never paid or refunded before.
_REVIVABLE_PAYMENT_STATES = (PaymentStatus.UNPAID, PaymentStatus.FAILED, PaymentStatus.PROCESSING)


class BookingNotFound(LookupError):
    pass


@dataclass(frozen=True)
class ConfirmOutcome:
    booking: Booking
    newly_confirmed: bool
    refund_required: bool = False  # paid, but the slot went to someone else meanwhile


def lock_builder(*, session: Session, builder_id: int) -> None:
    """Serialise hold-taking per builder. SQLite already holds the write lock (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(select(Builder.id).where(Builder.id == builder_id).with_for_update()).one()


def get_booking(*, session: Session, booking_id: str) -> Booking:
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise BookingNotFound(booking_id)
    return booking


def _swap_status(*, session: Session, booking_id: str, from_statuses: tuple[BookingStatus, ...],
                 values: dict[str, object], extra_where: tuple = ()) -> bool:
    result = session.execute(
        sa.update(Booking)
        .where(Booking.id == booking_id, Booking.status.in_(from_statuses), *extra_where)
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return result.rowcount == 1


def confirm_paid(*, session: Session, booking_id: str, payment_intent_id: str | None,
                 now: datetime | None = None) -> ConfirmOutcome:
    """Record a successful payment and confirm the booking, exactly once."""
    now = now or utcnow()
    booking = get_booking(session=session, booking_id=booking_id)
    values: dict[str, object] = {
        "status": BookingStatus.CONFIRMED,
        "payment_status": PaymentStatus.PAID,
        "confirmed_at": now,
        "hold_expires_at": None,
    }
    if payment_intent_id:
        values["payment_intent_id"] = payment_intent_id
    if _swap_status(session=session, booking_id=booking_id, from_statuses=(BookingStatus.PENDING,), values=values):
        booking = get_booking(session=session, booking_id=booking_id)
        queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_CONFIRMED)
        return ConfirmOutcome(booking=booking, newly_confirmed=True)

    booking = get_booking(session=session, booking_id=booking_id)
    if payment_intent_id and not booking.payment_intent_id:
        booking.payment_intent_id = payment_intent_id
        session.add(booking)
        session.flush()
    if booking.status == BookingStatus.CONFIRMED or booking.payment_status not in _REVIVABLE_PAYMENT_STATES:
        return ConfirmOutcome(booking=booking, newly_confirmed=False)
    return _revive_late_payment(session=session, booking=booking, values=values, now=now)


def _revive_late_payment(*, session: Session, booking: Booking, values: dict[str, object],
                         now: datetime) -> ConfirmOutcome:
    """The hold lapsed (or was released) but the money arrived: keep the slot if it is still free."""
    lock_builder(session=session, builder_id=booking.builder_id)
    others = [
        b for b in busy_bookings(session=session, builder_id=booking.builder_id,
                                 start=booking.start_time, end=booking.end_time, now=now)
        if b.id != booking.id
    ]
    if not others:
        try:
            with session.begin_nested():
                revived = _swap_status(
                    session=session, booking_id=booking.id,
                    from_statuses=(BookingStatus.EXPIRED, BookingStatus.CANCELLED),
                    values={**values, "cancellation_reason": None},
                )
        except sa.exc.IntegrityError:
            revived = False
        if revived:
            booking = get_booking(session=session, booking_id=booking.id)
            queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_CONFIRMED)
            return ConfirmOutcome(booking=booking, newly_confirmed=True)
    booking = get_booking(session=session, booking_id=booking.id)
    booking.payment_status = PaymentStatus.PAID
    session.add(booking)
    session.flush()
    return ConfirmOutcome(booking=booking, newly_confirmed=False, refund_required=True)


def mark_payment_processing(*, session: Session, booking_id: str, payment_intent_id: str | None) -> Booking:
    """Checkout finished with a delayed payment method: keep the hold until Stripe says paid or failed."""
    booking = get_booking(session=session, booking_id=booking_id)
    if booking.status == BookingStatus.PENDING and booking.payment_status != PaymentStatus.PAID:
        booking.payment_status = PaymentStatus.PROCESSING
        booking.payment_intent_id = booking.payment_intent_id or payment_intent_id
        booking.updated_at = utcnow()
        session.add(booking)
        session.flush()
    return booking


def record_payment_failure(*, session: Session, booking_id: str, payment_intent_id: str | None,
                           cause: str) -> bool:
    """A card was declined inside Checkout: the hold stays while the session is open."""
    booking = get_booking(session=session, booking_id=booking_id)
    if booking.status != BookingStatus.PENDING or booking.payment_status in (
        PaymentStatus.PAID, PaymentStatus.PROCESSING
    ):
        return False  # already paid (events arrive out of order): never a "payment failed" email
    booking.payment_status = PaymentStatus.FAILED
    booking.payment_intent_id = booking.payment_intent_id or payment_intent_id
    booking.updated_at = utcnow()
    session.add(booking)
    session.flush()
    queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.PAYMENT_FAILED, cause=cause)
    return True


def cancel_unpaid(*, session: Session, booking_id: str, reason: str, notify: bool = False,
                  checkout_session_id: str | None = None,
                  from_statuses: tuple[BookingStatus, ...] = (BookingStatus.PENDING,)) -> bool:
    """Release a hold (client picked another time, async payment failed). Never touches paid bookings."""
    where: tuple = (Booking.payment_status != PaymentStatus.PAID,)
    if checkout_session_id is not None:
        where += (Booking.checkout_session_id == checkout_session_id,)
    released = _swap_status(
        session=session, booking_id=booking_id, from_statuses=from_statuses,
        values={"status": BookingStatus.CANCELLED, "cancellation_reason": reason, "hold_expires_at": None},
        extra_where=where,
    )
    if released and notify:
        booking = get_booking(session=session, booking_id=booking_id)
        queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_CANCELLED,
                                    cause=reason)
    return released


def cancel_by_builder(*, session: Session, booking_id: str, reason: str) -> bool:
    """The builder (or the platform) cancels a hold or a confirmed booking: the slot is free again and
    the client is told (with a CANCEL invite when the booking had been confirmed). Money is not touched
    here: a refund goes through its own flow."""
    cancelled = _swap_status(
        session=session, booking_id=booking_id, from_statuses=ACTIVE_BOOKING_STATUSES,
        values={"status": BookingStatus.CANCELLED, "cancellation_reason": reason, "hold_expires_at": None},
    )
    if cancelled:
        booking = get_booking(session=session, booking_id=booking_id)
        queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_CANCELLED,
                                    cause="cancelled-by-builder")
    return cancelled


def expire_hold(*, session: Session, booking_id: str, checkout_session_id: str | None = None,
                now: datetime | None = None, only_if_lapsed: bool = True) -> bool:
    """pending -> expired, unless paid or paying. A stale session's expiry leaves a newer one alone."""
    now = now or utcnow()
    where: tuple = (Booking.payment_status.in_((PaymentStatus.UNPAID, PaymentStatus.FAILED)),)
    if checkout_session_id is not None:
        where += (Booking.checkout_session_id == checkout_session_id,)
    if only_if_lapsed:
        where += (Booking.hold_expires_at <= now,)
    expired = _swap_status(
        session=session, booking_id=booking_id, from_statuses=(BookingStatus.PENDING,),
        values={"status": BookingStatus.EXPIRED, "cancellation_reason": "hold expired"},
        extra_where=where,
    )
    if expired:
        # "Your hold expired — book again". Sent after a short grace: a client who released the hold
        # ("Pick another time" expires the session first) or paid late meanwhile is not told; the worker
        # checks that again when it sends.
        booking = get_booking(session=session, booking_id=booking_id)
        for row in queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.HOLD_EXPIRED):
            row.next_attempt_at = now + HOLD_EXPIRED_GRACE
            session.add(row)
    return expired


def stale_holds(*, session: Session, now: datetime, limit: int = 100) -> list[Booking]:
    return list(
        session.exec(
            select(Booking)
            .where(
                Booking.status == BookingStatus.PENDING,
                Booking.hold_expires_at <= now,
                Booking.payment_status.in_((PaymentStatus.UNPAID, PaymentStatus.FAILED)),
            )
            .order_by(Booking.hold_expires_at)
            .limit(limit)
        ).all()
    )


def record_refund(*, session: Session, booking_id: str, amount_refunded: int, fully_refunded: bool,
                  reason: str = "refunded") -> Booking:
    """A refund landed at Stripe. A full refund cancels the booking and frees the slot."""
    booking = get_booking(session=session, booking_id=booking_id)
    if amount_refunded <= booking.amount_refunded and not (
        fully_refunded and booking.payment_status != PaymentStatus.REFUNDED
    ):
        return booking  # an older or repeated event
    booking.amount_refunded = max(booking.amount_refunded, amount_refunded)
    booking.updated_at = utcnow()
    if fully_refunded or booking.amount_refunded >= booking.amount:
        booking.payment_status = PaymentStatus.REFUNDED
        if booking.status in (BookingStatus.CONFIRMED, BookingStatus.PENDING):
            booking.status = BookingStatus.CANCELLED
            booking.cancellation_reason = reason
        cause = "full"
    else:
        booking.payment_status = PaymentStatus.PARTIALLY_REFUNDED
        cause = f"partial-{booking.amount_refunded}"
    session.add(booking)
    session.flush()
    queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_REFUNDED, cause=cause)
    return booking


def refunds_settled(*, session: Session, booking_id: str, payment: Payment | None, reason: str = "refunded") -> None:
    """The ledger settled a payment's refunds: the booking follows (a full refund cancels it)."""
    if payment is None or payment.amount_refunded <= 0:
        return
    record_refund(session=session, booking_id=booking_id, amount_refunded=payment.amount_refunded,
                  fully_refunded=payment.amount_refunded >= payment.amount, reason=reason)
