"""Checkout and fulfilment: the money paths.

`start_checkout` and `fulfill_checkout` follow the service rule (explicit session, no commit).
`begin_checkout`, `retry_checkout`, `release_hold_and_expire` and `sweep_expired_holds` own their
transactions because each pairs a Stripe call with a database change and must clean up the one
when the other fails.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking import bookings, connect, payment_records, slots
from booking.config import Settings
from booking.db import session_scope
from booking.gateway import CheckoutRequest, CheckoutSession, PaymentGateway, PaymentProviderError
from booking.models import Booking, BookingStatus, Client, PaymentStatus, Refund, RefundStatus, utcnow
from booking.payment_records import StripeRef
from booking.summaries import format_when

log = logging.getLogger(__name__)

# Stripe needs expires_at >= 30 min after *it* receives the request: a minute's grace for the trip.
NETWORK_GRACE = timedelta(minutes=1)


class InvalidRequest(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class SlotUnavailable(RuntimeError):
    """Someone else holds or booked the slot, or it is outside the builder's hours."""


class HoldNotActive(RuntimeError):
    """The booking is no longer waiting for payment (paid, expired or released)."""


@dataclass(frozen=True)
class CheckoutStarted:
    booking_id: str
    checkout_session_id: str
    checkout_url: str
    expires_at: datetime
    # Checkout Sessions of this browser's earlier holds, released by this one: expired after the commit.
    replaced_checkouts: tuple[tuple[str, str], ...] = ()  # (booking id, Checkout Session id)


def client_detail_errors(*, name: str, email: str) -> dict[str, str]:
    """Every problem with the client's details at once, by field (for inline messages)."""
    name = (name or "").strip()
    email = (email or "").strip()
    errors = {}
    if not name:
        errors["client_name"] = "Please enter your name."
    elif len(name) > 120:
        errors["client_name"] = "Your name must be at most 120 characters."
    if _normalised_email(email) is None:
        errors["client_email"] = "Please enter a valid email address."
    return errors


def _normalised_email(email: str) -> str | None:
    # Internationalised addresses (ünï@exämple.com) are accepted: the mailer delivers them (SMTPUTF8, IDNA).
    try:
        return validate_email(email, check_deliverability=False).normalized if len(email) <= 254 else None
    except EmailNotValidError:
        return None


def validate_client(*, name: str, email: str) -> tuple[str, str]:
    for field, message in client_detail_errors(name=name, email=email).items():
        raise InvalidRequest(field, message)
    return name.strip(), (_normalised_email(email.strip()) or email.strip()).lower()


def stripe_customer_email(email: str) -> str:
    """The address as Stripe gets it: the domain in its ASCII (IDNA) form whenever the local part allows."""
    try:
        checked = validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return email
    return checked.ascii_email or f"{checked.local_part}@{checked.ascii_domain}"


def hold_key_hash(browser_hold_key: str) -> str:
    """The browser's hold key is a bearer secret: only its SHA-256 is stored."""
    return hashlib.sha256(browser_hold_key.encode()).hexdigest()


def _release_browser_holds(*, session: Session, key_hash: str) -> list[tuple[str, str]]:
    """One browser holds one slot: its earlier unpaid holds end when it takes a new one.

    Returns their Checkout Session ids (the caller expires them once this transaction commits).
    """
    earlier = session.exec(
        select(Booking.id, Booking.checkout_session_id).where(
            Booking.browser_hold_key == key_hash,
            Booking.status == BookingStatus.PENDING,
            Booking.payment_status.in_((PaymentStatus.UNPAID, PaymentStatus.FAILED)),
        )
    ).all()
    replaced = []
    for booking_id, checkout_id in earlier:
        if bookings.cancel_unpaid(session=session, booking_id=booking_id,
                                  reason="replaced by a new hold from the same browser") and checkout_id:
            payment_records.expire_session_attempt(session=session, checkout_session_id=checkout_id)
            replaced.append((booking_id, checkout_id))
    return replaced


def _upsert_client(*, session: Session, name: str, email: str) -> Client:
    client = session.exec(select(Client).where(Client.email == email)).first()
    if client is None:
        client = Client(name=name, email=email)
    else:
        client.name = name
    session.add(client)
    session.flush()
    return client


def _checkout_request(*, booking: Booking, schedule: slots.Schedule, client: Client,
                      settings: Settings) -> CheckoutRequest:
    session_type = schedule.session_type
    metadata = {"booking_id": booking.id, "builder_id": str(booking.builder_id), "client_id": str(booking.client_id)}
    try:  # a destination charge with the platform fee, or the platform holds the money (REQUIRE_PAYOUTS off)
        plan = connect.charge_plan(builder=schedule.builder, amount=booking.amount, currency=booking.currency,
                                   settings=settings)
    except connect.PayoutsNotReady as exc:
        raise InvalidRequest("session_type_id", str(exc)) from None
    return CheckoutRequest(
        booking_id=booking.id,
        line_item_name=f"{session_type.name} with {schedule.builder.name}",
        line_item_description=f"{session_type.duration_minutes} min · "
        + format_when(booking.start_time, booking.end_time, booking.client_time_zone),
        amount=booking.amount,
        currency=booking.currency,
        price_id=session_type.stripe_price_id,
        customer_email=stripe_customer_email(client.email),
        client_reference_id=booking.id,
        success_url=f"{settings.public_url}/payment/success?session_id={{CHECKOUT_SESSION_ID}}",
        cancel_url=f"{settings.public_url}/payment/cancel?booking={booking.id}",
        expires_at=booking.hold_expires_at,
        metadata=metadata,
        destination_account_id=plan.destination_account_id,
        application_fee_amount=plan.application_fee_amount,
    )


def _attach_checkout(*, session: Session, booking: Booking, checkout: CheckoutSession) -> None:
    booking.checkout_session_id = checkout.id
    booking.checkout_url = checkout.url
    booking.updated_at = utcnow()
    session.add(booking)
    session.flush()


def start_checkout(*, session: Session, gateway: PaymentGateway, settings: Settings, session_type_id: int,
                   start_time: datetime, client_name: str, client_email: str,
                   client_time_zone: str = "UTC", browser_hold_key: str | None = None,
                   now: datetime | None = None) -> CheckoutStarted:
    """Hold the slot and create its Checkout Session, in the caller's transaction.

    `browser_hold_key` (a secret kept by the client's browser) releases that browser's earlier unpaid
    hold first, so going Back from Checkout and picking again never leaves two holds.

    Raises InvalidRequest, slots.SessionTypeNotFound, SlotUnavailable or PaymentProviderError; on
    any of them the caller rolls back and nothing is left behind.
    """
    now = now or utcnow()
    name, email = validate_client(name=client_name, email=client_email)
    if start_time.tzinfo is None:
        raise InvalidRequest("start_time", "start_time must include a UTC offset.")
    schedule = slots.load_schedule(session=session, session_type_id=session_type_id)
    bookings.lock_builder(session=session, builder_id=schedule.builder.id)
    start = start_time.astimezone(now.tzinfo)
    end = start + timedelta(minutes=schedule.session_type.duration_minutes)
    key_hash = hold_key_hash(browser_hold_key) if browser_hold_key else None
    # Before the slot check: the browser may be picking the very time it held.
    replaced = _release_browser_holds(session=session, key_hash=key_hash) if key_hash else []
    _expire_lapsed_holds(session=session, builder_id=schedule.builder.id, start=start, end=end, now=now)
    if not slots.is_open(session=session, schedule=schedule, start=start, now=now):
        raise SlotUnavailable("That time is no longer available.")

    client = _upsert_client(session=session, name=name, email=email)
    booking = Booking(
        client_id=client.id,
        builder_id=schedule.builder.id,
        session_type_id=schedule.session_type.id,
        start_time=start,
        end_time=end,
        amount=schedule.session_type.price_amount,
        currency=schedule.session_type.currency,
        client_time_zone=client_time_zone,
        hold_expires_at=now + timedelta(minutes=settings.hold_minutes) + NETWORK_GRACE,
        checkout_attempts=1,
        client_name=name,
        browser_hold_key=key_hash,
    )
    try:
        with session.begin_nested():
            session.add(booking)
            session.flush()
    except sa.exc.IntegrityError:
        raise SlotUnavailable("That time is no longer available.") from None

    request = _checkout_request(booking=booking, schedule=schedule, client=client, settings=settings)
    checkout = gateway.create_checkout_session(
        request, idempotency_key=f"booking-{booking.id}-checkout-{booking.checkout_attempts}",
    )
    _attach_checkout(session=session, booking=booking, checkout=checkout)
    payment_records.open_attempt(session=session, booking=booking, checkout=checkout, request=request)
    return CheckoutStarted(booking.id, checkout.id, checkout.url or "", booking.hold_expires_at,
                           replaced_checkouts=tuple(replaced))


def _expire_lapsed_holds(*, session: Session, builder_id: int, start: datetime, end: datetime,
                         now: datetime) -> None:
    """Holds past their expiry still count for the database constraint until released."""
    lapsed = session.exec(
        select(Booking.id).where(
            Booking.builder_id == builder_id,
            Booking.status == BookingStatus.PENDING,
            Booking.hold_expires_at <= now,
            Booking.start_time < end,
            Booking.end_time > start,
        )
    ).all()
    for booking_id in lapsed:
        bookings.expire_hold(session=session, booking_id=booking_id, now=now)


def begin_checkout(*, engine: Engine, gateway: PaymentGateway, settings: Settings, **request: object) -> CheckoutStarted:
    """start_checkout in its own transaction; a commit that fails after Stripe succeeded expires the session."""
    started: CheckoutStarted | None = None
    try:
        with session_scope(engine) as session:
            started = start_checkout(session=session, gateway=gateway, settings=settings, **request)
    except Exception:
        if started is not None:  # Stripe has a session the database never recorded
            _expire_quietly(gateway, started.checkout_session_id, started.booking_id)
        raise
    for booking_id, checkout_id in started.replaced_checkouts:  # the browser's earlier hold: its page closes
        _expire_quietly(gateway, checkout_id, booking_id)
    return started


def retry_checkout(*, engine: Engine, gateway: PaymentGateway, settings: Settings, booking_id: str,
                   now: datetime | None = None) -> CheckoutStarted:
    """The seed's "session refresh": a new Checkout Session for the same hold while it lasts."""
    now = now or utcnow()
    previous: str | None = None
    started: CheckoutStarted | None = None
    try:
        with session_scope(engine) as session:
            booking = bookings.get_booking(session=session, booking_id=booking_id)
            bookings.lock_builder(session=session, builder_id=booking.builder_id)
            # Row lock: the expiry webhook of the session replaced below waits for this commit, then
            # finds a different current session and leaves the hold alone.
            session.refresh(booking, with_for_update=True)
            if booking.status != BookingStatus.PENDING or booking.payment_status == PaymentStatus.PAID:
                raise HoldNotActive(booking.status)
            if booking.hold_expires_at is None or booking.hold_expires_at <= now:
                raise HoldNotActive("expired")
            previous = booking.checkout_session_id
            if previous:
                current = gateway.retrieve_checkout_session(previous)
                if current.payment_status == "paid":
                    raise HoldNotActive("paid")
                if current.status == "open":
                    gateway.expire_checkout_session(previous, idempotency_key=f"booking-{booking.id}-expire-{previous}")
            schedule = slots.load_schedule(session=session, session_type_id=booking.session_type_id)
            client = session.get(Client, booking.client_id)
            payment_records.expire_session_attempt(session=session, checkout_session_id=previous)
            booking.checkout_attempts += 1
            # Stripe needs 30+ minutes ahead: the hold is renewed along with the session.
            booking.hold_expires_at = now + timedelta(minutes=settings.hold_minutes) + NETWORK_GRACE
            booking.payment_status = PaymentStatus.UNPAID
            request = _checkout_request(booking=booking, schedule=schedule, client=client, settings=settings)
            checkout = gateway.create_checkout_session(
                request, idempotency_key=f"booking-{booking.id}-checkout-{booking.checkout_attempts}",
            )
            _attach_checkout(session=session, booking=booking, checkout=checkout)
            payment_records.open_attempt(session=session, booking=booking, checkout=checkout, request=request)
            started = CheckoutStarted(booking.id, checkout.id, checkout.url or "", booking.hold_expires_at)
    except Exception:
        if started is not None:
            _expire_quietly(gateway, started.checkout_session_id, booking_id)
        raise
    return started


def release_hold_and_expire(*, engine: Engine, gateway: PaymentGateway, booking_id: str) -> bool:
    """"Pick another time": expire the open Checkout Session first, then free the slot."""
    with session_scope(engine) as session:
        booking = bookings.get_booking(session=session, booking_id=booking_id)
        checkout_id = booking.checkout_session_id
        if booking.status != BookingStatus.PENDING:
            return False
    if checkout_id:
        current = gateway.retrieve_checkout_session(checkout_id)
        if current.payment_status == "paid":
            with session_scope(engine) as session:
                fulfill_checkout(session=session, gateway=gateway, checkout_session=current)
            return False
        if current.status == "open":
            gateway.expire_checkout_session(checkout_id, idempotency_key=f"booking-{booking_id}-expire-{checkout_id}")
    with session_scope(engine) as session:
        payment_records.expire_session_attempt(session=session, checkout_session_id=checkout_id)
        # Expiring the session sends checkout.session.expired, which may have marked the hold expired
        # already: either way the client released it, and the record says so.
        return bookings.cancel_unpaid(session=session, booking_id=booking_id, reason="released by client",
                                      from_statuses=(BookingStatus.PENDING, BookingStatus.EXPIRED))


def _expire_quietly(gateway: PaymentGateway, checkout_session_id: str, booking_id: str) -> None:
    try:
        gateway.expire_checkout_session(
            checkout_session_id, idempotency_key=f"booking-{booking_id}-expire-{checkout_session_id}"
        )
    except PaymentProviderError:
        log.exception("could not expire orphaned Checkout Session %s", checkout_session_id)


@dataclass(frozen=True)
class Fulfilment:
    state: str  # confirmed | processing | unpaid | unknown
    booking: Booking | None
    refund_required: bool = False


def booking_id_of(checkout: CheckoutSession) -> str | None:
    return checkout.metadata.get("booking_id") or checkout.client_reference_id


def fulfill_checkout(*, session: Session, gateway: PaymentGateway, checkout_session_id: str | None = None,
                     checkout_session: CheckoutSession | None = None) -> Fulfilment:
    """Confirm the booking behind a paid Checkout Session: exactly once, however often it is called.

    Called by the webhook and by the success page. Given only an id, it asks Stripe for the truth.
    """
    checkout = checkout_session or gateway.retrieve_checkout_session(checkout_session_id or "")
    try:
        located = payment_records.locate(session=session, ref=StripeRef.of_checkout(checkout))
    except payment_records.UnknownBooking:
        return Fulfilment(state="unknown", booking=None)
    booking = located.booking
    if checkout.payment_status == "paid":
        outcome = bookings.confirm_paid(session=session, booking_id=booking.id,
                                        payment_intent_id=checkout.payment_intent_id)
        payment_records.mark_paid(session=session, payment=located.payment,
                                  payment_intent_id=checkout.payment_intent_id)
        if outcome.refund_required:
            refund_late_payment(session=session, gateway=gateway, booking=outcome.booking)
        return Fulfilment(state="confirmed" if outcome.booking.status == BookingStatus.CONFIRMED else "refunded",
                          booking=outcome.booking, refund_required=outcome.refund_required)
    if checkout.status == "complete":  # completed with a delayed payment method
        booking = bookings.mark_payment_processing(session=session, booking_id=booking.id,
                                                   payment_intent_id=checkout.payment_intent_id)
        payment_records.mark_processing(session=session, payment=located.payment)
        return Fulfilment(state="processing", booking=booking)
    session.refresh(booking)
    state = "confirmed" if booking.status == BookingStatus.CONFIRMED else "unpaid"
    return Fulfilment(state=state, booking=booking)


def refund_late_payment(*, session: Session, gateway: PaymentGateway, booking: Booking) -> None:
    """Paid after the hold was given to someone else: give the money back, automatically.

    This runs inside the fulfilment's transaction (a webhook's or the success page's), so its
    idempotency key comes from the booking, not from the Refund row's id: if the transaction rolls
    back after Stripe refunded, the retry gets the same refund back, and writes the same row again.
    """
    if not booking.payment_intent_id:
        raise PaymentProviderError("late payment without a payment intent id")
    located = payment_records.locate(session=session, ref=StripeRef(
        object_id=booking.payment_intent_id, payment_intent_id=booking.payment_intent_id, booking_id=booking.id))
    row = _late_payment_refund_row(session=session, located=located)
    answer = gateway.refund(
        payment_intent_id=booking.payment_intent_id,
        amount=None,
        reason="requested_by_customer",
        idempotency_key=f"booking-{booking.id}-late-payment-refund",
        # No row id in here: a retried transaction makes a new row, and Stripe refuses a repeated key
        # with other parameters.
        metadata={"booking_id": booking.id, "why": "slot no longer available"},
        **payment_records.stripe_refund_options(located.payment),  # a destination charge: reverse it all
    )
    payment_records.record_stripe_refund(session=session, located=located, refund=answer, our_row=row)
    payment_records.settle_refunds(session=session, located=located, reason="paid after the slot was taken")
    log.warning("booking %s paid after its hold lapsed and the slot was taken: refunded", booking.id)


def _late_payment_refund_row(*, session: Session, located: payment_records.Located) -> Refund | None:
    payment = located.payment
    key = f"late-payment-{located.booking.id}"
    row = session.exec(select(Refund).where(Refund.request_key == key)).first()
    if row is not None or payment is None or payment.amount - payment.amount_refunded <= 0:
        return row
    amount = payment.amount - payment.amount_refunded
    row = Refund(payment_id=payment.id, booking_id=located.booking.id, request_key=key,
                 amount=amount, currency=payment.currency,
                 reason="requested_by_customer", status=RefundStatus.REQUESTED, requested_by="system",
                 **payment_records.refund_flags(session=session, payment=payment, amount=amount))
    session.add(row)
    session.flush()
    return row


def sweep_expired_holds(*, engine: Engine, gateway: PaymentGateway | None, now: datetime | None = None,
                        limit: int = 100) -> int:
    """Release holds past their expiry even when no webhook came. Safe with several workers."""
    now = now or utcnow()
    with session_scope(engine) as session:
        stale = [(b.id, b.checkout_session_id) for b in bookings.stale_holds(session=session, now=now, limit=limit)]
    released = 0
    for booking_id, checkout_id in stale:
        try:
            if checkout_id and gateway is not None:
                current = gateway.retrieve_checkout_session(checkout_id)
                if current.payment_status == "paid" or current.status == "complete":
                    with session_scope(engine) as session:
                        fulfill_checkout(session=session, gateway=gateway, checkout_session=current)
                    continue
                if current.status == "open":
                    gateway.expire_checkout_session(
                        checkout_id, idempotency_key=f"booking-{booking_id}-expire-{checkout_id}"
                    )
            with session_scope(engine) as session:
                if bookings.expire_hold(session=session, booking_id=booking_id, now=now):
                    payment_records.expire_session_attempt(session=session, checkout_session_id=checkout_id)
                    released += 1
        except PaymentProviderError:
            log.warning("sweeper: Stripe unavailable for booking %s; will retry", booking_id)
    return released


def reconcile_pending(*, engine: Engine, gateway: PaymentGateway) -> dict[str, int]:
    """Operator tool: settle every pending booking against Stripe's record of its session."""
    with session_scope(engine) as session:
        pending = session.exec(
            select(Booking.id, Booking.checkout_session_id).where(
                Booking.status == BookingStatus.PENDING, Booking.checkout_session_id.is_not(None)
            )
        ).all()
    counts = {"checked": 0, "confirmed": 0}
    for _booking_id, checkout_id in pending:
        counts["checked"] += 1
        with session_scope(engine) as session:
            if fulfill_checkout(session=session, gateway=gateway, checkout_session_id=checkout_id).state == "confirmed":
                counts["confirmed"] += 1
    counts["released"] = sweep_expired_holds(engine=engine, gateway=gateway)
    return counts
