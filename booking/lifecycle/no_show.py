"""No-show fees, and the builder's attended / no-show marks.

A session type with `no_show_fee_amount` takes no payment up front: its Checkout runs in setup mode on the
client's Stripe Customer (made once per client, `ensure_customer`), the card is recorded on the booking
(`CardOnFile`) and the hold is confirmed through the lifecycle (`save_card`) with nothing charged.

After the start the builder marks the booking attended or a no-show (`mark_attended`, `mark_no_show`:
lifecycle events, set once). Within `no_show_window_hours` of the start, a no-show of a booking that kept
a card is charged its fee: an off-session PaymentIntent on the saved card, a destination charge with the
platform fee (`pricing.quote`, `connect.charge_plan`) like any payment, recorded by the ledger as a
Payment row of kind `no_show_fee`. The flow keeps the house's shape: the row is written and committed
(`creating`), Stripe is asked with a key derived from it (a double click, a retry: one charge), the answer
is recorded in a second transaction.

- the card needs authentication (the bank wants the client): nothing is charged; a Checkout Session for the
  fee is opened (a new attempt row) and its link emailed to the client (NO_SHOW_FEE_DUE); paying it is
  fulfilled like any Checkout payment.
- a decline: recorded on the row, and the builder is shown Stripe's reason.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.accounts import audit, authz
from booking.accounts.authz import Actor
from booking.core import clock as app_clock
from booking.core.db import session_scope
from booking.core.models import (
    Attendance,
    Booking,
    BookingStatus,
    Builder,
    CardOnFile,
    Client,
    Payment,
    PaymentKind,
    PaymentStatus,
    SessionType,
    utcnow,
)
from booking.core.time import format_money, format_when
from booking.lifecycle import transitions as bookings
from booking.notifications.outbox import NotificationKind, queue_booking_notifications
from booking.payments import connect, pricing
from booking.payments import ledger as payment_records
from booking.payments.gateway import (
    CheckoutMode,
    CheckoutRequest,
    CheckoutSession,
    OffSessionCharge,
    OffSessionOutcome,
    PaymentGateway,
    PaymentProviderError,
)
from booking.scheduling import slots

log = logging.getLogger(__name__)

# The fee's Checkout Session (when the bank wants the client) stays open this long: Stripe's maximum.
FEE_CHECKOUT_HOURS = 24


class Refused(ValueError):
    """The mark or the fee is not allowed now; the message says why. Nothing changed."""


class NoShowState(StrEnum):
    MARKED = "marked"  # the mark alone: no fee to charge
    CHARGED = "charged"
    AUTHENTICATION_REQUIRED = "authentication_required"  # the client was emailed a link to pay the fee
    DECLINED = "declined"
    PENDING = "pending"  # another attempt is asking Stripe


@dataclass(frozen=True)
class NoShowOutcome:
    state: NoShowState
    message: str


# --- booking: setup mode -----------------------------------------------------------------------------------


def setup_request(*, booking: Booking, schedule: slots.Schedule, client: Client, settings, metadata: dict[str, str],
                  success_url: str, cancel_url: str, customer_email: str) -> CheckoutRequest:
    """The Checkout Session of a no-show-fee booking: setup mode, nothing charged (the customer is set
    just before Stripe is asked, `ensure_customer`)."""
    session_type = schedule.session_type
    return CheckoutRequest(
        booking_id=booking.id,
        line_item_name=f"{session_type.name} with {schedule.builder.name}",
        line_item_description=f"{session_type.duration_minutes} min · " + format_when(
            booking.start_time, booking.end_time, booking.client_time_zone, locale=booking.client_locale,
            hour12=booking.client_hour12),
        amount=0,
        currency=session_type.currency,
        price_id=None,
        customer_email=customer_email,
        client_reference_id=booking.id,
        success_url=success_url,
        cancel_url=cancel_url,
        expires_at=booking.hold_expires_at,
        metadata=metadata,
        mode=CheckoutMode.SETUP,
    )


def customer_idempotency_key(client_id: int, email: str) -> str:
    """Per client row and address: another database's client with the same row id (a restored copy, a
    staging database on the same Stripe account) never replays this one's Customer."""
    return f"client-{client_id}-customer-{hashlib.sha256(email.encode()).hexdigest()[:16]}"


def ensure_customer(*, engine: Engine, gateway: PaymentGateway, booking_id: str) -> str:
    """The client's Stripe Customer on the platform: made once (key per client), its id kept in a unique
    column (the first writer wins; a racing one reads it back). No transaction is open around Stripe."""
    with session_scope(engine) as session:
        booking = bookings.get_booking(session=session, booking_id=booking_id)
        client = session.get(Client, booking.client_id)
        if client.stripe_customer_id:
            return client.stripe_customer_id
        client_id, email, name = client.id, client.email, booking.client_name or client.name
    customer_id = gateway.create_customer(email=email, name=name, metadata={"client_id": str(client_id)},
                                          idempotency_key=customer_idempotency_key(client_id, email))
    with session_scope(engine) as session:
        session.execute(sa.update(Client).where(Client.id == client_id, Client.stripe_customer_id.is_(None))
                        .values(stripe_customer_id=customer_id).execution_options(synchronize_session=False))
        session.expire_all()
        return session.get(Client, client_id).stripe_customer_id or customer_id


def record_card(*, session: Session, booking: Booking, checkout: CheckoutSession) -> CardOnFile | None:
    """The card a completed setup session kept, on its booking (once)."""
    existing = session.get(CardOnFile, booking.id)
    if existing is not None or not checkout.customer_id:
        return existing
    card = CardOnFile(booking_id=booking.id, stripe_customer_id=checkout.customer_id,
                      checkout_session_id=checkout.id, setup_intent_id=checkout.setup_intent_id)
    try:
        with session.begin_nested():
            session.add(card)
    except sa.exc.IntegrityError:  # the webhook and the success page raced: the other one wrote it
        return session.get(CardOnFile, booking.id)
    return card


# --- the builder's marks -------------------------------------------------------------------------------------


def _aware(moment: datetime) -> datetime:
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=utcnow().tzinfo)


def _check_markable(booking: Booking, attendance: Attendance, now: datetime) -> bool:
    """True when already marked so (a repeat); raises Refused when the mark is not allowed."""
    if booking.status != BookingStatus.CONFIRMED:
        raise Refused("Only a confirmed booking can be marked attended or a no-show.")
    if now < _aware(booking.start_time):
        raise Refused("You can mark this booking once the session has started.")
    if booking.attendance is None:
        return False
    if booking.attendance == attendance:
        return True
    raise Refused("This booking is already marked " + ("attended." if booking.attendance == Attendance.ATTENDED
                                                       else "as a no-show."))


def _mark(*, session: Session, actor: Actor, booking: Booking, attendance: Attendance, now: datetime) -> None:
    before = audit.snapshot(booking, ("attendance",))
    if bookings.mark_attendance(session=session, booking_id=booking.id, attendance=attendance, now=now):
        session.refresh(booking)
        audit.record(session=session, actor=actor, action=f"booking.{attendance.value}", entity_type="booking",
                     entity_id=booking.id, builder_id=booking.builder_id, before=before,
                     after=audit.snapshot(booking, ("attendance",)))


def mark_attended(*, engine: Engine, actor: Actor, booking_id: str, now: datetime | None = None) -> NoShowOutcome:
    now = now or app_clock.now()
    with session_scope(engine) as session:
        booking = authz.load_owned(session=session, actor=actor, model=Booking, object_id=booking_id)
        if not _check_markable(booking, Attendance.ATTENDED, now):
            _mark(session=session, actor=actor, booking=booking, attendance=Attendance.ATTENDED, now=now)
    return NoShowOutcome(NoShowState.MARKED, "Marked as attended.")


def fee_idempotency_key(booking_id: str, attempt: int) -> str:
    return f"booking-{booking_id}-no-show-fee-{attempt}"


@dataclass(frozen=True)
class _FeeAttempt:
    booking_id: str
    payment_id: int
    attempt: int
    charge: OffSessionCharge | None  # None: nothing to send (already settled or waiting for the client)
    outcome: NoShowOutcome | None = None


def _fee_rows(session: Session, booking_id: str) -> list[Payment]:
    return list(session.exec(select(Payment).where(Payment.booking_id == booking_id,
                                                   Payment.kind == PaymentKind.NO_SHOW_FEE)
                             .order_by(Payment.attempt)).all())


def _fee_state(rows: list[Payment], currency_text: str) -> NoShowOutcome | None:
    """What the fee's rows already say (a repeated click): charged, or waiting for the client's payment."""
    if any(row.status in payment_records.SETTLED_STATES for row in rows):
        return NoShowOutcome(NoShowState.CHARGED, f"The no-show fee of {currency_text} was charged.")
    latest = rows[-1] if rows else None
    if latest is not None and latest.checkout_session_id and latest.status == PaymentStatus.OPEN:
        return NoShowOutcome(NoShowState.AUTHENTICATION_REQUIRED,
                             f"The client's bank asked them to confirm the {currency_text} fee: they were emailed "
                             "a link to pay it.")
    return None


def _write_fee_attempt(*, session: Session, settings, booking: Booking, session_type: SessionType,
                       card: CardOnFile) -> _FeeAttempt:
    fee = int(session_type.no_show_fee_amount or 0)
    text = format_money(fee, session_type.currency)
    rows = _fee_rows(session, booking.id)
    known = _fee_state(rows, text)
    if known is not None:
        return _FeeAttempt(booking.id, 0, 0, None, known)
    latest = rows[-1] if rows else None
    builder = session.get(Builder, booking.builder_id)
    quote = pricing.quote(fee, session_type.currency, settings)
    try:
        plan = connect.charge_plan(builder=builder, quote=quote, settings=settings)
    except connect.PayoutsNotReady as exc:
        raise Refused(str(exc)) from None
    if latest is not None and latest.status == PaymentStatus.CREATING and latest.checkout_session_id is None:
        row = latest  # sent before without an answer recorded: the same key asks again (one charge)
    else:
        attempts = session.exec(select(sa.func.max(Payment.attempt)).where(Payment.booking_id == booking.id)).one()
        row = Payment(booking_id=booking.id, attempt=int(attempts or 0) + 1, amount=quote.amount,
                      currency=quote.currency, status=PaymentStatus.CREATING, kind=PaymentKind.NO_SHOW_FEE,
                      destination_account_id=plan.destination_account_id,
                      application_fee_amount=(plan.application_fee_amount or 0) if plan.destination_account_id else 0)
        session.add(row)
        session.flush()
    charge = OffSessionCharge(
        amount=row.amount, currency=row.currency, customer_id=card.stripe_customer_id,
        payment_method_id=card.payment_method_id or "",
        metadata={"booking_id": booking.id, "kind": PaymentKind.NO_SHOW_FEE.value, "payment_id": str(row.id)},
        description=f"No-show fee: {session_type.name}",
        destination_account_id=row.destination_account_id,
        application_fee_amount=row.application_fee_amount or None,
    )
    return _FeeAttempt(booking.id, row.id, row.attempt, charge)


def mark_no_show(*, engine: Engine, gateway: PaymentGateway, settings, actor: Actor, booking_id: str,
                 now: datetime | None = None) -> NoShowOutcome:
    """Mark a no-show and, for a booking that kept a card, within the window, charge its fee.
    Raises Refused (nothing changed), authz.NotFound, or PaymentProviderError (Stripe unreachable: the
    mark stands, the fee's row waits in `creating` and a second click asks again with the same key)."""
    now = now or app_clock.now()
    with session_scope(engine) as session:
        booking = authz.load_owned(session=session, actor=actor, model=Booking, object_id=booking_id)
        if not _check_markable(booking, Attendance.NO_SHOW, now):
            _mark(session=session, actor=actor, booking=booking, attendance=Attendance.NO_SHOW, now=now)
        session_type = session.get(SessionType, booking.session_type_id)
        card = session.get(CardOnFile, booking.id)
        fee = int(session_type.no_show_fee_amount or 0) if session_type else 0
        if card is None or fee <= 0:
            return NoShowOutcome(NoShowState.MARKED,
                                 "Marked as a no-show. This booking kept no card, so there is no fee.")
        window = timedelta(hours=session_type.no_show_window_hours)
        if now > _aware(booking.start_time) + window:
            return NoShowOutcome(NoShowState.MARKED, f"Marked as a no-show. The fee can only be charged within "
                                                     f"{session_type.no_show_window_hours} hours of the start.")
        setup_intent_id, payment_method_id = card.setup_intent_id, card.payment_method_id
    if not payment_method_id:
        if not setup_intent_id:
            raise Refused("The card kept for this booking could not be found.")
        payment_method_id = gateway.saved_payment_method(setup_intent_id)
        if not payment_method_id:
            raise Refused("The card kept for this booking could not be found.")
        with session_scope(engine) as session:
            stored = session.get(CardOnFile, booking_id)
            stored.payment_method_id = payment_method_id
            session.add(stored)
    with session_scope(engine) as session:
        # One fee attempt at a time per booking (two clicks at once): PostgreSQL locks the row; SQLite's
        # write lock already serialises the transactions.
        booking = session.get(Booking, booking_id, with_for_update=True)
        attempt = _write_fee_attempt(session=session, settings=settings, booking=booking,
                                     session_type=session.get(SessionType, booking.session_type_id),
                                     card=session.get(CardOnFile, booking_id))
    if attempt.charge is None:
        return attempt.outcome or NoShowOutcome(NoShowState.PENDING, "The no-show fee is on its way.")
    result = gateway.charge_saved_card(attempt.charge,
                                       idempotency_key=fee_idempotency_key(booking_id, attempt.attempt))
    text = format_money(attempt.charge.amount, attempt.charge.currency)
    with session_scope(engine) as session:
        payment = session.get(Payment, attempt.payment_id)
        if result.status is OffSessionOutcome.SUCCEEDED:
            payment_records.fee_charged(session=session, payment=payment, payment_intent_id=result.payment_intent_id)
            return NoShowOutcome(NoShowState.CHARGED,
                                 f"Marked as a no-show and charged the {text} fee to the saved card.")
        payment_records.fee_failed(session=session, payment=payment, payment_intent_id=result.payment_intent_id,
                                   code=result.code, message=result.message)
    if result.status is OffSessionOutcome.AUTHENTICATION_REQUIRED:
        _ask_client_to_pay(engine=engine, gateway=gateway, settings=settings, booking_id=booking_id,
                           charge=attempt.charge)
        return NoShowOutcome(NoShowState.AUTHENTICATION_REQUIRED,
                             f"The client's bank asked them to confirm the {text} fee, so the card was not charged: "
                             "they were emailed a link to pay it.")
    return NoShowOutcome(NoShowState.DECLINED, f"The card was declined: {result.message or 'no reason given'} "
                                               f"The {text} fee was not charged.")


def _ask_client_to_pay(*, engine: Engine, gateway: PaymentGateway, settings, booking_id: str,
                       charge: OffSessionCharge) -> None:
    """The bank wants the client: a Checkout Session for the fee (a new attempt) and an email with its link."""
    now = utcnow()
    with session_scope(engine) as session:
        booking = bookings.get_booking(session=session, booking_id=booking_id)
        attempts = session.exec(select(sa.func.max(Payment.attempt)).where(Payment.booking_id == booking_id)).one()
        row = Payment(booking_id=booking_id, attempt=int(attempts or 0) + 1, amount=charge.amount,
                      currency=charge.currency, status=PaymentStatus.CREATING, kind=PaymentKind.NO_SHOW_FEE,
                      destination_account_id=charge.destination_account_id,
                      application_fee_amount=charge.application_fee_amount or 0)
        session.add(row)
        session.flush()
        session_type = session.get(SessionType, booking.session_type_id)
        request = CheckoutRequest(
            booking_id=booking_id, line_item_name=f"No-show fee: {session_type.name}",
            line_item_description="", amount=charge.amount, currency=charge.currency, price_id=None,
            customer_email="", client_reference_id=booking_id,
            success_url=f"{settings.public_url}/payment/success?session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=f"{settings.public_url}/", expires_at=now + timedelta(hours=FEE_CHECKOUT_HOURS),
            metadata={"booking_id": booking_id, "kind": PaymentKind.NO_SHOW_FEE.value},
            destination_account_id=charge.destination_account_id,
            application_fee_amount=charge.application_fee_amount, customer_id=charge.customer_id,
        )
        payment_id, attempt = row.id, row.attempt
    try:
        checkout = gateway.create_checkout_session(
            request, idempotency_key=f"{fee_idempotency_key(booking_id, attempt)}-checkout")
    except PaymentProviderError as exc:
        with session_scope(engine) as session:
            payment_records.abandon_attempt(session=session, payment=session.get(Payment, payment_id), message=str(exc))
        raise
    with session_scope(engine) as session:
        payment_records.attempt_created(session=session, payment=session.get(Payment, payment_id), checkout=checkout)
        booking = bookings.get_booking(session=session, booking_id=booking_id)
        queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.NO_SHOW_FEE_DUE,
                                    cause=checkout.id)
