"""Refunds and cancellations asked for in the workspace (flows: each owns its transactions).

A refund, with no Stripe call while a transaction is open:
  txn 1   lock the booking, check what is left (paid − refunded − refunds in flight), write
          `Refund(requested)` with the form's request key and an audit entry, commit;
  Stripe  refunds.create with the idempotency key `refund-<refund id>-<booking id>`;
  txn 2   record Stripe's answer (or its refusal) and an audit entry.
The same request key twice (a double click) returns the first refund and never calls Stripe again.
A full refund of an upcoming confirmed booking first asks whether the session is cancelled too
(`cancel_session`): yes goes through `cancel_booking`; no keeps the booking confirmed (a refund asked
for here never cancels a booking by itself).
The refund lands through the API answer or the `charge.refunded` webhook, whichever comes first:
totals are derived (`payment_records.settle_refunds`), so the second changes nothing.

Cancelling a booking: the booking is cancelled first (the slot is free; the cancellation email, one
each side, says the refund is on its way), then the chosen refund goes through the same refund flow. A refund that
Stripe refuses stays on the booking as a failed row, with a Retry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.accounts import audit, authz
from booking.accounts.authz import Actor
from booking.core.db import session_scope
from booking.core.models import (
    END_CAUSE_TEXT,
    REFUND_REASONS,
    Booking,
    BookingStatus,
    EndCause,
    Payment,
    Refund,
    RefundStatus,
    utcnow,
)
from booking.core.time import format_money
from booking.lifecycle import transitions as bookings
from booking.lifecycle.checkout import end_hold
from booking.notifications.outbox import announce_coming_refund
from booking.payments import ledger as payment_records
from booking.payments.gateway import PaymentGateway, PaymentProviderError
from booking.payments.gateway import Refund as StripeRefund
from booking.payments.ledger import StripeRef

log = logging.getLogger(__name__)

DEFAULT_CANCEL_REASON = END_CAUSE_TEXT[EndCause.CANCELLED_BY_BUILDER]  # shown when the builder gives none
# A refund still "requested" after this long lost its Stripe answer (a crash): Retry re-sends it with
# the same idempotency key, so Stripe answers with the refund it made, if it made one.
STUCK_AFTER = timedelta(minutes=5)
_AUDITED = ("id", "booking_id", "payment_id", "amount", "currency", "reason", "status", "stripe_refund_id",
            "failure_reason", "request_key")


class Refused(ValueError):
    """The request can't be done as asked; `message` says why. Nothing was written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RefundChoice(StrEnum):
    """How much a cancellation refunds; the values are the cancel form's options."""

    FULL = "full"
    PARTIAL = "partial"
    NONE = "none"

    @classmethod
    def from_form(cls, value: object) -> RefundChoice:
        """The form's value as a choice; Refused, with a message for the builder, when it is none."""
        try:
            return cls(str(value or ""))
        except ValueError:
            raise Refused("Choose a full, partial or no refund.") from None


@dataclass(frozen=True)
class RefundOutcome:
    ok: bool  # False: Stripe refused it (the failed row stays, with a Retry)
    status: str  # the Refund row's status
    message: str
    refund_id: int | None = None


@dataclass(frozen=True)
class CancelOutcome:
    cancelled: bool  # False: it was already cancelled (only the refund was done)
    message: str
    refund: RefundOutcome | None = None


@dataclass(frozen=True)
class _Ask:
    refund_id: int
    booking_id: str
    payment_intent_id: str
    amount: int
    currency: str
    reason: str
    # A destination charge: reverse the builder's transfer and refund the platform fee's share.
    stripe_options: tuple[tuple[str, bool], ...] = ()


# --- refund ------------------------------------------------------------------------------------------


ASK_CANCEL_SESSION = "This refunds everything: choose whether the session is cancelled too."


def request_refund(*, engine: Engine, gateway: PaymentGateway, actor: Actor, booking_id: str,
                   amount: int | None, reason: str, request_key: str,
                   cancel_session: bool | None = None, now: datetime | None = None) -> RefundOutcome:
    """Refund `amount` minor units (None: all that is left). Raises Refused or authz.NotFound.

    A full refund of an upcoming confirmed booking needs the builder's answer to "is the session
    cancelled too?" (`cancel_session`; None: Refused, asking). Yes: the booking is cancelled with the
    refund (`cancel_booking`: one email each side, with the CANCEL invite). No: it stays confirmed, and
    the refund's own email is all that is sent."""
    key = (request_key or "").strip()
    if not key or len(key) > 100:
        raise Refused("This form has expired. Open the booking again.")
    if reason not in REFUND_REASONS:
        raise Refused("Choose a reason from the list.")
    with session_scope(engine) as session:
        booking = authz.load_owned(session=session, actor=actor, model=Booking, object_id=booking_id,
                                   for_update=True)
        existing = session.exec(select(Refund).where(Refund.request_key == key)).first()
        if existing is not None:  # the same form sent twice
            if existing.booking_id != booking.id:
                raise authz.NotFound("Refund")
            return _outcome_of(existing)
        asks_to_cancel = _full_refund_of_upcoming(session=session, booking=booking, amount=amount,
                                                  now=now or utcnow())
        if asks_to_cancel and cancel_session is None:
            raise Refused(ASK_CANCEL_SESSION)
        if not (asks_to_cancel and cancel_session):
            ask = _write_request(session=session, actor=actor, booking=booking, amount=amount, reason=reason,
                                 key=key)
    if asks_to_cancel and cancel_session:
        cancelled = cancel_booking(engine=engine, gateway=gateway, actor=actor, booking_id=booking_id,
                                   refund=RefundChoice.FULL, amount=None, refund_reason=reason, request_key=key)
        refund = cancelled.refund or RefundOutcome(ok=False, status="", message="")
        return RefundOutcome(ok=refund.ok, status=refund.status, message=cancelled.message,
                             refund_id=refund.refund_id)
    return _send(engine=engine, gateway=gateway, actor=actor, ask=ask)


def _full_refund_of_upcoming(*, session: Session, booking: Booking, amount: int | None, now: datetime) -> bool:
    """Would this refund give back everything paid for a confirmed booking that hasn't started?"""
    if booking.status != BookingStatus.CONFIRMED or _aware(booking.start_time) <= now:
        return False
    payment = payment_records.paid_payment_of(session=session, booking=booking)
    if payment is None:
        return False
    left = payment_records.amount_left(session=session, payment=payment)
    return left > 0 and (amount is None or amount == left)


def _aware(moment: datetime) -> datetime:
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=utcnow().tzinfo)


def _write_request(*, session: Session, actor: Actor, booking: Booking, amount: int | None, reason: str,
                   key: str) -> _Ask:
    payment = payment_records.paid_payment_of(session=session, booking=booking)
    if payment is None or not payment.payment_intent_id:
        raise Refused("This booking has no payment to refund.")
    left = payment_records.amount_left(session=session, payment=payment)
    if left <= 0:
        raise Refused("Nothing is left to refund on this booking.")
    amount = left if amount is None else amount
    if amount <= 0:
        raise Refused("Enter an amount greater than zero.")
    if amount > left:
        raise Refused(f"At most {format_money(left, payment.currency)} is left to refund.")
    row = payment_records.request_refund(session=session, payment=payment, booking_id=booking.id, amount=amount,
                                         request_key=key, reason=reason, requested_by=actor.email,
                                         requested_by_user_id=actor.user_id)
    audit.record(session=session, actor=actor, action="refund.request", entity_type="refund", entity_id=row.id,
                 builder_id=booking.builder_id, after=audit.snapshot(row, _AUDITED))
    return _Ask(refund_id=row.id, booking_id=booking.id, payment_intent_id=payment.payment_intent_id,
                amount=amount, currency=payment.currency, reason=reason,
                stripe_options=tuple(payment_records.stripe_refund_options(payment).items()))


def refund_idempotency_key(refund_id: int, booking_id: str) -> str:
    """`refund-<refund id>`, plus the booking's UUID: row ids restart with a fresh database, while Stripe
    (or the emulator's saved state) remembers a key for 24 hours, and must not answer a new refund with
    an old one's result."""
    return f"refund-{refund_id}-{booking_id}"


def _send(*, engine: Engine, gateway: PaymentGateway, actor: Actor, ask: _Ask) -> RefundOutcome:
    """Ask Stripe (no transaction open), then record its answer."""
    try:
        answer = gateway.refund(
            payment_intent_id=ask.payment_intent_id, amount=ask.amount, reason=ask.reason,
            idempotency_key=refund_idempotency_key(ask.refund_id, ask.booking_id),
            metadata={"booking_id": ask.booking_id, "refund_id": str(ask.refund_id)},
            **dict(ask.stripe_options),
        )
    except PaymentProviderError as exc:
        log.warning("refund %s of booking %s refused: %s", ask.refund_id, ask.booking_id, exc)
        return _record_refusal(engine=engine, actor=actor, ask=ask, message=str(exc))
    return _record_answer(engine=engine, actor=actor, ask=ask, answer=answer)


def _record_answer(*, engine: Engine, actor: Actor, ask: _Ask, answer: StripeRefund) -> RefundOutcome:
    with session_scope(engine) as session:
        located = payment_records.locate(session=session, ref=StripeRef(
            object_id=answer.id, payment_intent_id=ask.payment_intent_id, booking_id=ask.booking_id))
        payment_records.lock_money(session=session, located=located)
        ours = session.get(Refund, ask.refund_id)  # loaded after the lock: what a webhook did is visible
        before = audit.snapshot(ours, _AUDITED)
        row = payment_records.record_stripe_refund(session=session, located=located, refund=answer, our_row=ours)
        if row is None:  # Stripe answered for a payment we hold no row of: nothing of ours to update
            return RefundOutcome(ok=True, status=refund_status_text(answer), message="Refund sent to Stripe.")
        payment = payment_records.settle_refunds(session=session, located=located)
        bookings.refunds_settled(session=session, booking_id=located.booking.id, payment=payment)
        audit.record(session=session, actor=actor, action="refund.answer", entity_type="refund",
                     entity_id=row.id, builder_id=located.booking.builder_id, before=before,
                     after=audit.snapshot(row, _AUDITED))
        return _outcome_of(row)


def _record_refusal(*, engine: Engine, actor: Actor, ask: _Ask, message: str) -> RefundOutcome:
    with session_scope(engine) as session:
        row = session.get(Refund, ask.refund_id, with_for_update=True)
        if row is None:
            return RefundOutcome(ok=False, status=RefundStatus.FAILED.value, message=message)
        before = audit.snapshot(row, _AUDITED)
        if payment_records.refund_refused(session=session, row=row, message=message):
            booking = session.get(Booking, row.booking_id)
            audit.record(session=session, actor=actor, action="refund.failed", entity_type="refund",
                         entity_id=row.id, builder_id=booking.builder_id if booking else None, before=before,
                         after=audit.snapshot(row, _AUDITED))
        return _outcome_of(row)


def refund_status_text(answer: StripeRefund) -> str:
    return payment_records.refund_status_of(answer.status).value


def _outcome_of(row: Refund) -> RefundOutcome:
    money = format_money(row.amount, row.currency)
    status = RefundStatus(row.status)
    messages = {
        RefundStatus.REQUESTED: f"The refund of {money} is on its way to Stripe.",
        RefundStatus.PENDING: f"Stripe accepted the refund of {money}; it is pending.",
        RefundStatus.SUCCEEDED: f"Refunded {money}.",
        RefundStatus.FAILED: f"The refund of {money} failed: {row.failure_reason or 'Stripe refused it'}.",
        RefundStatus.CANCELED: f"The refund of {money} was cancelled.",
    }
    ok = status not in (RefundStatus.FAILED, RefundStatus.CANCELED)
    return RefundOutcome(ok=ok, status=status.value, message=messages[status], refund_id=row.id)


def retry_refund(*, engine: Engine, gateway: PaymentGateway, actor: Actor, refund_id: str,
                 now: datetime | None = None) -> RefundOutcome:
    """A failed refund: ask again for the same amount (a new row, keyed by the failed one, so a double
    click retries once). A refund stuck unanswered: re-send it with its own idempotency key."""
    now = now or utcnow()
    with session_scope(engine) as session:
        row = authz.load_owned(session=session, actor=actor, model=Refund, object_id=refund_id)
        payment = session.get(Payment, row.payment_id)
        status = RefundStatus(row.status)
        reason = row.reason if row.reason in REFUND_REASONS else REFUND_REASONS[0]
        ask = _Ask(refund_id=row.id, booking_id=row.booking_id, payment_intent_id=payment.payment_intent_id or "",
                   amount=row.amount, currency=row.currency, reason=reason,
                   stripe_options=tuple(payment_records.stripe_refund_options(payment).items()))
        stuck = status == RefundStatus.REQUESTED and row.updated_at <= now - STUCK_AFTER
    if status in (RefundStatus.FAILED, RefundStatus.CANCELED):
        return request_refund(engine=engine, gateway=gateway, actor=actor, booking_id=ask.booking_id,
                              cancel_session=False,
                              amount=ask.amount, reason=ask.reason, request_key=f"retry-{ask.refund_id}")
    if stuck and ask.payment_intent_id:
        return _send(engine=engine, gateway=gateway, actor=actor, ask=ask)
    raise Refused("Only a failed refund can be retried.")


# --- cancel ------------------------------------------------------------------------------------------


def cancel_booking(*, engine: Engine, gateway: PaymentGateway, actor: Actor, booking_id: str,
                   refund: RefundChoice, amount: int | None, refund_reason: str, request_key: str,
                   reason: str = "") -> CancelOutcome:
    """Cancel a hold or a confirmed booking, then refund all, part or none of what was paid.

    Raises Refused (nothing changed) or authz.NotFound. Order: a hold ends through `end_hold` (its
    Checkout Session is expired at Stripe first, so no payment can land on a cancelled booking; paid
    meanwhile -> fulfilled, and Refused); a confirmed booking is cancelled. Either way the client is
    emailed, in one transaction with its audit entry; then the refund goes through `request_refund`
    with the form's request key (a double click cancels and refunds once). The builder's reason is
    kept as the booking's note (shown to the client, never branched on).
    """
    note = " ".join((reason or "").split())[:500] or None
    refund = RefundChoice.from_form(refund)  # a raw form value is refused here too, before anything changes
    if refund == RefundChoice.PARTIAL and (amount is None or amount <= 0):
        raise Refused("Enter the amount to refund.")
    if refund != RefundChoice.NONE and refund_reason not in REFUND_REASONS:
        raise Refused("Choose a reason for the refund.")
    if refund != RefundChoice.NONE and not 0 < len((request_key or "").strip()) <= 100:
        raise Refused("This form has expired. Open the booking again.")
    with session_scope(engine) as session:
        booking = authz.load_owned(session=session, actor=actor, model=Booking, object_id=booking_id)
        repeated = session.exec(select(Refund).where(Refund.request_key == (request_key or "").strip(),
                                                     Refund.booking_id == booking.id)).first()
        if repeated is not None and booking.status == BookingStatus.CANCELLED:  # the same form sent twice
            outcome = _outcome_of(repeated)
            return CancelOutcome(cancelled=False, message=f"The booking was already cancelled. {outcome.message}",
                                 refund=outcome)
        already = _check_cancellable(session=session, booking=booking, refund=refund, amount=amount)
        is_hold = booking.status == BookingStatus.PENDING
        before = audit.snapshot(booking, _AUDITED_CANCEL)

    def record(session: Session, booking: Booking) -> None:
        audit.record(session=session, actor=actor, action="booking.cancel", entity_type="booking",
                     entity_id=booking.id, builder_id=booking.builder_id, before=before,
                     after={**audit.snapshot(booking, _AUDITED_CANCEL), "refund": refund})

    cancelled = False
    if not already and is_hold:
        try:
            ending = end_hold(engine=engine, gateway=gateway, booking_id=booking_id,
                              cause=EndCause.CANCELLED_BY_BUILDER, note=note, on_end=record)
        except PaymentProviderError as exc:
            raise Refused(f"Stripe could not close this booking's checkout: {exc}") from exc
        if ending.fulfilment is not None and not ending.ended:
            raise Refused("The client has just paid for this booking. Look again and choose a refund.")
        cancelled = ending.ended
    elif not already:
        with session_scope(engine) as session:
            booking = authz.load_owned(session=session, actor=actor, model=Booking, object_id=booking_id,
                                       for_update=True)
            before = audit.snapshot(booking, _AUDITED_CANCEL)
            cancelled = bookings.cancel_by_builder(session=session, booking_id=booking.id, note=note)
            if cancelled:
                booking = bookings.get_booking(session=session, booking_id=booking.id)
                record(session, booking)
                # One email each side: the cancellation says the refund is on its way.
                announce_coming_refund(session=session, booking=booking,
                                       amount=_coming_refund(session=session, booking=booking, refund=refund,
                                                             amount=amount))

    outcome = None
    if refund != RefundChoice.NONE:
        try:
            outcome = request_refund(engine=engine, gateway=gateway, actor=actor, booking_id=booking_id,
                                     amount=amount if refund == RefundChoice.PARTIAL else None,
                                     reason=refund_reason, request_key=request_key, cancel_session=False)
        except Refused as exc:  # changed since the check above (say a refund landed meanwhile)
            outcome = RefundOutcome(ok=False, status="", message=f"No refund was made: {exc.message}")
    head = "Booking cancelled; the slot is free and the client has been emailed." if cancelled else \
        "The booking was already cancelled."
    return CancelOutcome(cancelled=cancelled, message=f"{head} {outcome.message}" if outcome else head,
                         refund=outcome)


_AUDITED_CANCEL = ("status", "end_cause", "end_note")


def _coming_refund(*, session: Session, booking: Booking, refund: RefundChoice, amount: int | None) -> int:
    if refund == RefundChoice.NONE:
        return 0
    payment = payment_records.paid_payment_of(session=session, booking=booking)
    left = payment_records.amount_left(session=session, payment=payment) if payment is not None else 0
    return left if refund == RefundChoice.FULL else min(amount or 0, left)


def _check_cancellable(*, session: Session, booking: Booking, refund: RefundChoice,
                       amount: int | None) -> bool:
    """Everything that would refuse the request, before anything changes. True: already cancelled."""
    already = booking.status in (BookingStatus.CANCELLED, BookingStatus.EXPIRED)
    if already and refund == RefundChoice.NONE:
        raise Refused("This booking is already cancelled.")
    if booking.status == BookingStatus.PENDING and payment_records.money_of(session=session, booking=booking).processing:
        raise Refused("A payment for this booking is being processed. Try again once it has landed.")
    if refund == RefundChoice.NONE:
        return already
    payment = payment_records.paid_payment_of(session=session, booking=booking)
    if payment is None:
        raise Refused("Nothing has been paid for this booking: choose No refund.")
    left = payment_records.amount_left(session=session, payment=payment)
    if left <= 0:
        raise Refused("Nothing is left to refund on this booking: choose No refund.")
    if refund == RefundChoice.PARTIAL and amount is not None and amount > left:
        raise Refused(f"At most {format_money(left, payment.currency)} is left to refund.")
    return already
