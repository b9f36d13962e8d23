"""Checkout and fulfilment: the money paths.

No Stripe call is made while a database transaction is open (on SQLite that is the global write lock;
on PostgreSQL row locks held across an HTTP round trip). Every path has the same shape: a transaction
writes the intent (a hold, a `Payment` row in `creating`, a `Refund` row in `requested`) and commits;
Stripe is called with an idempotency key derived from that row; a second transaction records the answer.

Services (explicit session, no commit, no Stripe): `write_hold`, `fulfill_checkout` (given the session),
`request_late_payment_refund`. Flows (own their transactions, call Stripe between them):
`begin_checkout`, `retry_checkout`, `end_hold`, `release_hold_and_expire`, `fulfil_flow`,
`send_late_payment_refunds`, `sweep_expired_holds`, `repair_interrupted_checkouts`.

`end_hold` is the one way a hold ends (the lifecycle's table is in `booking.lifecycle.transitions`): it settles or
expires the hold's Checkout Session first, and a paid one is fulfilled, never released.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.core.config import Settings
from booking.core.db import session_scope
from booking.core.models import (
    Booking,
    BookingStatus,
    Client,
    EndCause,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    utcnow,
)
from booking.core.money import MoneyError
from booking.core.time import format_when, known_locale_tag
from booking.lifecycle import abuse, no_show
from booking.lifecycle import transitions as bookings
from booking.payments import connect, price_options, pricing, promotions
from booking.payments import ledger as payment_records
from booking.payments.gateway import (
    DELAYED_PAYMENT_METHOD_TYPES,
    PAID_CHECKOUT,
    CheckoutMode,
    CheckoutRequest,
    CheckoutSession,
    CheckoutStatus,
    PaymentGateway,
    PaymentProviderError,
)
from booking.payments.ledger import StripeRef
from booking.scheduling import questions, seats, slots

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


class RenewalsExhausted(HoldNotActive):
    """"Try again" was used MAX_CHECKOUT_RENEWALS times on this hold, and its session is no longer open."""


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
    """One browser holds one slot: its earlier unpaid holds end when it takes a new one. `begin_checkout`
    ends them through `end_hold` before this transaction; this catches one taken meanwhile (another tab).

    Returns their Checkout Session ids (the caller expires them once this transaction commits).
    """
    earlier = session.exec(
        select(Booking.id).where(
            Booking.browser_hold_key == key_hash,
            Booking.status == BookingStatus.PENDING,
            payment_records.awaits_payment(),
        )
    ).all()
    replaced = []
    for booking_id in earlier:
        checkout_id = payment_records.money_of(session=session, booking=booking_id).checkout_session_id
        if bookings.end_hold_now(session=session, booking_id=booking_id, cause=EndCause.REPLACED) and checkout_id:
            payment_records.expire_session_attempt(session=session, checkout_session_id=checkout_id)
            replaced.append((booking_id, checkout_id))
    return replaced


def _upsert_client(*, session: Session, name: str, email: str) -> Client:
    """One row per address. Its name is the first one given: a later booking with the same address (anyone
    may type anyone's) keeps its own name on the booking (`Booking.client_name`) and changes no one else's."""
    client = session.exec(select(Client).where(Client.email == email)).first()
    if client is None:
        try:
            with session.begin_nested():
                client = Client(name=name, email=email)
                session.add(client)
                session.flush()
        except sa.exc.IntegrityError:  # a concurrent first booking with the address made the row
            client = session.exec(select(Client).where(Client.email == email)).one()
    return client


def _checkout_request(*, session: Session, booking: Booking, schedule: slots.Schedule, client: Client,
                      settings: Settings, invoice_requested: bool = False,
                      currency: str | None = None) -> CheckoutRequest:
    session_type = schedule.session_type
    metadata = {"booking_id": booking.id, "builder_id": str(booking.builder_id), "client_id": str(booking.client_id)}
    if session_type.no_show_fee_amount:  # nothing up front: Checkout in setup mode keeps the card
        return no_show.setup_request(booking=booking, schedule=schedule, client=client, settings=settings,
                                     metadata=metadata,
                                     success_url=f"{settings.public_url}/payment/success?session_id={{CHECKOUT_SESSION_ID}}",
                                     cancel_url=f"{settings.public_url}/payment/cancel",
                                     customer_email=stripe_customer_email(client.email))
    options = price_options.options_of(session=session, session_type_id=session_type.id)
    try:  # the client's currency: the type's own or one of its other prices
        price = price_options.price_in(session_type, options, currency)
    except (price_options.CurrencyNotOffered, MoneyError) as exc:
        raise InvalidRequest("currency", str(exc)) from None
    discount = promotions.discount_of_booking(session=session, booking_id=booking.id)
    quote = pricing.quote(price.amount, price.currency, settings,  # what the client pays, and the fee in it
                          discount=discount.discount_amount if discount else 0)
    try:  # a destination charge with the platform fee, or the platform holds the money (REQUIRE_PAYOUTS off)
        plan = connect.charge_plan(builder=schedule.builder, quote=quote, settings=settings)
    except connect.PayoutsNotReady as exc:
        raise InvalidRequest("session_type_id", str(exc)) from None
    return CheckoutRequest(
        booking_id=booking.id,
        line_item_name=f"{session_type.name} with {schedule.builder.name}",
        line_item_description=f"{session_type.duration_minutes} min · "
        + format_when(booking.start_time, booking.end_time, booking.client_time_zone, locale=booking.client_locale,
                      hour12=booking.client_hour12),
        amount=quote.client_pays,
        list_amount=quote.amount if discount else None,
        promotion_code_id=discount.stripe_promotion_code_id if discount else None,
        currency=quote.currency,
        price_id=session_type.stripe_price_id,
        customer_email=stripe_customer_email(client.email),
        client_reference_id=booking.id,
        success_url=f"{settings.public_url}/payment/success?session_id={{CHECKOUT_SESSION_ID}}",
        # No booking id: the cancel page finds the hold by the browser's hold key (issue #14).
        cancel_url=f"{settings.public_url}/payment/cancel",
        expires_at=booking.hold_expires_at,
        metadata=metadata,
        destination_account_id=plan.destination_account_id,
        application_fee_amount=plan.application_fee_amount,
        excluded_payment_method_types=excluded_payment_methods(start=booking.start_time, now=utcnow(),
                                                               settings=settings),
        invoice_requested=invoice_requested,
        currency_option=quote.currency != session_type.currency,
    )


def excluded_payment_methods(*, start: datetime, now: datetime, settings: Settings) -> tuple[str, ...]:
    """A bank debit settles days later: offered only when the session starts at least
    DELAYED_PAYMENT_MIN_LEAD_HOURS ahead, else excluded from the Checkout Session."""
    start, now = (moment if moment.tzinfo else moment.replace(tzinfo=UTC) for moment in (start, now))
    if start - now >= timedelta(hours=settings.delayed_payment_min_lead_hours):
        return ()
    return DELAYED_PAYMENT_METHOD_TYPES


def checkout_idempotency_key(booking_id: str, attempt: int) -> str:
    """One key per Checkout attempt: the SDK's retries, a retried request, and reconcile all send it."""
    return f"booking-{booking_id}-checkout-{attempt}"


@dataclass(frozen=True)
class _Attempt:
    """What the intent transaction wrote: enough to ask Stripe with no transaction open."""

    booking_id: str
    attempt: int
    request: CheckoutRequest
    replaced_checkouts: tuple[tuple[str, str], ...] = ()
    builder_id: int = 0
    session_type_id: int = 0
    client_email: str = ""

    @property
    def idempotency_key(self) -> str:
        return checkout_idempotency_key(self.booking_id, self.attempt)


def write_hold(*, session: Session, settings: Settings, session_type_id: int, start_time: datetime,
               client_name: str, client_email: str, client_time_zone: str = "UTC",
               client_hour12: bool | None = None, client_locale: str | None = None,
               browser_hold_key: str | None = None, requester: abuse.Requester | None = None,
               now: datetime | None = None, invoice_requested: bool = False,
               currency: str | None = None, answers: object = None,
               promotion_code: str | None = None) -> _Attempt:
    """Transaction 1 of a checkout (a service: the caller commits): hold the slot, and write the first
    Checkout attempt's Payment row (`creating`). Nothing here talks to Stripe.

    `browser_hold_key` (a secret kept by the client's browser) releases that browser's earlier unpaid
    hold first, so going Back from Checkout and picking again never leaves two holds.

    A workshop's hold takes the lowest free seat of its start (`booking.scheduling.seats`; the database
    refuses a seat taken twice or beyond the capacity). `answers` (question id -> answer) are checked
    against the type's questions and stored with the booking.

    `promotion_code`: a code the client typed; one use is reserved with the hold (given back when the hold
    ends unpaid) and Checkout gets it as its discount, on the price in the client's `currency`.

    Raises InvalidRequest, questions.InvalidAnswers, slots.SessionTypeNotFound, SlotUnavailable,
    abuse.TooManyHolds or promotions.PromotionCodeInvalid; the caller rolls back and nothing is left behind.
    """
    now = now or utcnow()
    name, email = validate_client(name=client_name, email=client_email)
    if start_time.tzinfo is None:
        raise InvalidRequest("start_time", "start_time must include a UTC offset.")
    schedule = slots.load_schedule(session=session, session_type_id=session_type_id)
    # Checked before anything is held: every problem at once (questions.InvalidAnswers, by question).
    answers = questions.validate_answers(questions.questions_of(session=session, session_type_id=schedule.session_type.id),
                                         answers)
    bookings.lock_builder(session=session, builder_id=schedule.builder.id)
    start = start_time.astimezone(now.tzinfo)
    end = start + timedelta(minutes=schedule.session_type.duration_minutes)
    key_hash = hold_key_hash(browser_hold_key) if browser_hold_key else None
    hold_period = timedelta(minutes=settings.hold_minutes)
    # Before the limits and the slot check: the browser may be picking the very time it held.
    replaced = _release_browser_holds(session=session, key_hash=key_hash) if key_hash else []
    client = _upsert_client(session=session, name=name, email=email)
    abuse.check_email_holds(session=session, client=client, limit=settings.max_holds_per_email, now=now)
    address_key = abuse.address_key(requester.ip if requester is not None else None, settings)
    abuse.check_ip_holds(session=session, address_key=address_key, limit=settings.max_holds_per_ip, now=now)
    bookings.end_lapsed_holds(session=session, builder_id=schedule.builder.id, start=start, end=end, now=now)
    if not slots.is_open(session=session, schedule=schedule, start=start, now=now):
        raise SlotUnavailable("That time is no longer available.")
    seat_no = seats.free_seat(session=session, session_type=schedule.session_type, start=start)
    if seat_no is None:
        raise SlotUnavailable("That session is full.")

    booking = Booking(
        client_id=client.id,
        builder_id=schedule.builder.id,
        session_type_id=schedule.session_type.id,
        start_time=start,
        end_time=end,
        client_time_zone=client_time_zone,
        client_hour12=client_hour12 if isinstance(client_hour12, bool) else None,
        client_locale=known_locale_tag(client_locale),
        hold_expires_at=now + hold_period + NETWORK_GRACE,
        client_name=name,
        browser_hold_key=key_hash,
        client_address_key=address_key,
        seat_no=seat_no,
        seat_capacity=seats.capacity(schedule.session_type),
    )
    try:
        with session.begin_nested():
            session.add(booking)
            session.flush()
    except sa.exc.IntegrityError:
        raise SlotUnavailable("That time is no longer available.") from None
    # The client's answers stay with the booking (never in the Checkout request below).
    questions.store_answers(session=session, booking_id=booking.id, answers=answers)
    if promotion_code and str(promotion_code).strip():  # one use counted with the hold (its row locked)
        try:
            target = promotions.price_target(session=session, session_type=schedule.session_type,
                                             currency=currency or None)
        except (price_options.CurrencyNotOffered, MoneyError) as exc:
            raise InvalidRequest("currency", str(exc)) from None
        promotions.reserve(session=session, code=str(promotion_code), session_type=target,
                           booking_id=booking.id, client_email=email, now=now)
    request = _checkout_request(session=session, booking=booking, schedule=schedule, client=client,
                                settings=settings, invoice_requested=bool(invoice_requested),
                                currency=currency or None)
    payment = payment_records.begin_attempt(session=session, booking=booking, request=request, attempt=1)
    promotions.attach_payment(session=session, booking_id=booking.id, payment_id=payment.id)
    return _Attempt(booking_id=booking.id, attempt=1, request=request,
                    replaced_checkouts=tuple(replaced),
                    builder_id=schedule.builder.id, session_type_id=schedule.session_type.id, client_email=email)


def begin_checkout(*, engine: Engine, gateway: PaymentGateway, settings: Settings,
                   requester: abuse.Requester | None = None, **request: object) -> CheckoutStarted:
    """Hold a slot and open its Checkout Session, with no transaction open while Stripe is asked:

    txn 1   the hold and the attempt's Payment row (`creating`), committed (`write_hold`);
    Stripe  create the session with the key `booking-<id>-checkout-1` (the SDK retries a timeout, a
            dropped connection or a 5xx with that same key; the gateway waits out a 429's Retry-After);
    txn 2   the session is recorded on the booking and the Payment row (`open`).

    Stripe fails for good: the hold is released (PaymentProviderError). Recording fails: the session is
    expired at Stripe. A crash between Stripe's answer and txn 2 leaves a `creating` row that reconcile
    repairs (`repair_interrupted_checkouts`); until then the hold lapses like any other.
    """
    browser_hold_key = request.get("browser_hold_key")
    if browser_hold_key:
        _end_browser_holds(engine=engine, gateway=gateway, key_hash=hold_key_hash(str(browser_hold_key)))
    with session_scope(engine) as session:
        attempt = write_hold(session=session, settings=settings, requester=requester, **request)
    log.info("hold %s taken (session type %s, builder %s) for %s; request %s from %s", attempt.booking_id,
             attempt.session_type_id, attempt.builder_id, abuse.mask_email(attempt.client_email),
             requester.request_id if requester else "-", requester.ip if requester and requester.ip else "-")
    for booking_id, checkout_id in attempt.replaced_checkouts:  # the browser's earlier hold: its page closes
        _expire_quietly(gateway, checkout_id, booking_id)
    checkout = _create_session(engine=engine, gateway=gateway, attempt=attempt, release_hold=True)
    return CheckoutStarted(attempt.booking_id, checkout.id, checkout.url or "", attempt.request.expires_at,
                           replaced_checkouts=attempt.replaced_checkouts)


def _end_browser_holds(*, engine: Engine, gateway: PaymentGateway, key_hash: str) -> None:
    """One browser holds one slot: before it takes a new one, its earlier holds end (a paid one is
    fulfilled instead)."""
    with session_scope(engine) as session:
        earlier = session.exec(select(Booking.id).where(Booking.browser_hold_key == key_hash,
                                                        Booking.status == BookingStatus.PENDING)).all()
    for booking_id in earlier:
        try:
            end_hold(engine=engine, gateway=gateway, booking_id=booking_id, cause=EndCause.REPLACED)
        except PaymentProviderError:  # the new hold's transaction ends it; its session is expired after
            log.warning("could not settle the replaced hold %s with Stripe first", booking_id)


def _create_session(*, engine: Engine, gateway: PaymentGateway, attempt: _Attempt,
                    release_hold: bool) -> CheckoutSession:
    """Ask Stripe for the attempt's session (no transaction open), then record it (txn 2)."""
    try:
        request = attempt.request
        if request.mode is CheckoutMode.SETUP:  # the card is kept on the client's Customer, made first (once per client)
            request = replace(request, customer_id=no_show.ensure_customer(engine=engine, gateway=gateway,
                                                                           booking_id=attempt.booking_id))
        checkout = gateway.create_checkout_session(request, idempotency_key=attempt.idempotency_key)
    except PaymentProviderError as exc:
        log.warning("checkout for booking %s: Stripe gave up (%s); %s", attempt.booking_id, exc,
                    "hold released" if release_hold else "hold kept")
        _end_attempt(engine=engine, gateway=gateway, attempt=attempt, message=str(exc), release_hold=release_hold)
        raise
    try:
        _record_session(engine=engine, attempt=attempt, checkout=checkout)
    except Exception:
        # Stripe has a session the database never recorded: nobody can be sent to it, so close it.
        _expire_quietly(gateway, checkout.id, attempt.booking_id)
        try:
            _end_attempt(engine=engine, gateway=gateway, attempt=attempt,
                         message="the Checkout Session could not be recorded", release_hold=release_hold)
        except Exception:  # the database is what failed: the hold lapses by itself, reconcile tidies up
            log.exception("booking %s: could not end the unrecorded checkout attempt", attempt.booking_id)
        raise
    return checkout


def _record_session(*, engine: Engine, attempt: _Attempt, checkout: CheckoutSession) -> None:
    """Txn 2: the session joins the booking and the attempt's row, if the hold is still this attempt's."""
    with session_scope(engine) as session:
        booking = session.get(Booking, attempt.booking_id, with_for_update=True)
        payment = payment_records.attempt_of(session=session, booking_id=attempt.booking_id, attempt=attempt.attempt)
        problems = payment_records.session_differences(payment=payment, checkout=checkout)
        if problems:
            raise PaymentProviderError(f"Stripe's Checkout Session does not match the booking ({problems})")
        latest = payment_records.current_payment(session=session, booking=attempt.booking_id)
        current = (booking is not None and booking.status == BookingStatus.PENDING
                   and latest is not None and latest.attempt == attempt.attempt
                   and latest.checkout_session_id in (None, checkout.id))
        if not current:  # released meanwhile (another tab of the browser took a new hold)
            raise HoldNotActive(booking.status if booking is not None else "unknown")
        payment_records.attempt_created(session=session, payment=payment, checkout=checkout)


def _end_attempt(*, engine: Engine, gateway: PaymentGateway, attempt: _Attempt, message: str,
                 release_hold: bool) -> None:
    """The attempt has no session: its row ends; the hold is released (a new checkout), or kept for
    another "Try again" (a renewal)."""
    with session_scope(engine) as session:
        payment = payment_records.attempt_of(session=session, booking_id=attempt.booking_id, attempt=attempt.attempt)
        payment_records.abandon_attempt(session=session, payment=payment, message=message)
    if release_hold:
        end_hold(engine=engine, gateway=gateway, booking_id=attempt.booking_id, cause=EndCause.PROVIDER_UNREACHABLE)


def retry_checkout(*, engine: Engine, gateway: PaymentGateway, settings: Settings, booking_id: str,
                   now: datetime | None = None) -> CheckoutStarted:
    """The seed's "session refresh": a new Checkout Session for the same hold while it lasts, at most
    MAX_CHECKOUT_RENEWALS times per hold (each renews the hold). No transaction is open around Stripe:

    read    the hold is still pending and unpaid; its current session;
    Stripe  that session: paid meanwhile -> fulfil instead; renewals used up -> the same session while
            it is open, else RenewalsExhausted;
    txn     the attempt is renewed: the old session is detached from the booking (so its expiry webhook
            leaves the hold alone), a new Payment row (`creating`), the hold extended;
    Stripe  the old session expired, the new one created (`booking-<id>-checkout-<n>`);
    txn     the new session recorded.
    Stripe fails to create it: the new attempt ends, the hold stays (another Try again). Stripe fails to
    expire the old one: the hold is released (the old page may still take a payment: a late payment).
    """
    now = now or utcnow()
    with session_scope(engine) as session:
        booking = bookings.get_booking(session=session, booking_id=booking_id)
        _require_active(session, booking, now)
        money = payment_records.money_of(session=session, booking=booking)
        previous, renewals = money.checkout_session_id, money.attempts - 1
        hold_expires_at, checkout_url = booking.hold_expires_at, money.checkout_url
    current = gateway.retrieve_checkout_session(previous) if previous else None
    if current is not None and checkout_settled(current):
        fulfil_flow(engine=engine, gateway=gateway, checkout=current)
        raise HoldNotActive("paid")
    if renewals >= settings.max_checkout_renewals:
        if current is not None and current.status == CheckoutStatus.OPEN and (current.url or checkout_url):
            return CheckoutStarted(booking_id, current.id, current.url or checkout_url or "", hold_expires_at)
        raise RenewalsExhausted("renewals used up")

    with session_scope(engine) as session:
        booking = session.get(Booking, booking_id, with_for_update=True)
        _require_active(session, booking, now)
        money = payment_records.money_of(session=session, booking=booking)
        if money.checkout_session_id != previous:  # a concurrent Try again renewed it first: use theirs
            if money.checkout_session_id and money.checkout_url:
                return CheckoutStarted(booking.id, money.checkout_session_id, money.checkout_url,
                                       booking.hold_expires_at)
            raise HoldNotActive("being renewed")
        payment_records.expire_session_attempt(session=session, checkout_session_id=previous)
        # Stripe needs 30+ minutes ahead: the hold is renewed along with the session.
        booking.hold_expires_at = now + timedelta(minutes=settings.hold_minutes) + NETWORK_GRACE
        booking.updated_at = utcnow()
        session.add(booking)
        session.flush()
        schedule = slots.load_schedule(session=session, session_type_id=booking.session_type_id)
        client = session.get(Client, booking.client_id)
        previous_attempt = payment_records.current_payment(session=session, booking=booking)
        request = _checkout_request(session=session, booking=booking, schedule=schedule, client=client,
                                    settings=settings,
                                    invoice_requested=bool(previous_attempt and previous_attempt.invoice_requested),
                                    currency=previous_attempt.currency if previous_attempt else None)
        payment = payment_records.begin_attempt(session=session, booking=booking, request=request,
                                                attempt=money.attempts + 1)
        promotions.attach_payment(session=session, booking_id=booking.id, payment_id=payment.id)
        attempt = _Attempt(booking_id=booking.id, attempt=money.attempts + 1, request=request)

    if current is not None and current.status == CheckoutStatus.OPEN:
        try:
            gateway.expire_checkout_session(previous, idempotency_key=f"booking-{booking_id}-expire-{previous}")
        except PaymentProviderError:
            _previous_session_not_closed(engine=engine, gateway=gateway, attempt=attempt, previous=previous)
            raise
    checkout = _create_session(engine=engine, gateway=gateway, attempt=attempt, release_hold=False)
    log.info("hold %s renewed (attempt %d)", booking_id, attempt.attempt)
    return CheckoutStarted(booking_id, checkout.id, checkout.url or "", request.expires_at)


def _previous_session_not_closed(*, engine: Engine, gateway: PaymentGateway, attempt: _Attempt,
                                 previous: str) -> None:
    """Stripe would not expire the session being replaced. Paid meanwhile: fulfil it (HoldNotActive).
    Else it may still be open, detached from the hold: the hold is released, so a payment on that page is
    handled like any late payment (kept while the slot is free, else refunded) and never paid twice."""
    try:
        again = gateway.retrieve_checkout_session(previous)
    except PaymentProviderError:
        again = None
    if again is not None and checkout_settled(again):
        _end_attempt(engine=engine, gateway=gateway, attempt=attempt, message="the previous session was paid",
                     release_hold=False)
        fulfil_flow(engine=engine, gateway=gateway, checkout=again)
        raise HoldNotActive("paid")
    _end_attempt(engine=engine, gateway=gateway, attempt=attempt, message="the previous session could not be closed",
                 release_hold=True)


def _require_active(session: Session, booking: Booking | None, now: datetime) -> None:
    if booking is None:
        raise HoldNotActive("unknown")
    money = payment_records.money_of(session=session, booking=booking)
    if booking.status != BookingStatus.PENDING or money.paid or money.processing:
        raise HoldNotActive(booking.status)
    if booking.hold_expires_at is None or booking.hold_expires_at <= now:
        raise HoldNotActive("expired")


def checkout_settled(checkout: CheckoutSession) -> bool:
    """Paid, or complete (a delayed payment method still paying; a setup session's card saved): it is
    fulfilled, never released. A setup session is `no_payment_required` from the start: only complete counts."""
    if checkout.mode is CheckoutMode.SETUP:
        return checkout.status == CheckoutStatus.COMPLETE
    return checkout.payment_status in PAID_CHECKOUT or checkout.status == CheckoutStatus.COMPLETE


@dataclass(frozen=True)
class HoldEnding:
    ended: bool  # the hold ended for the cause asked
    fulfilment: Fulfilment | None = None  # its Checkout Session was paid (or paying): fulfilled instead


def end_hold(*, engine: Engine, gateway: PaymentGateway | None, booking_id: str, cause: EndCause,
             now: datetime | None = None, note: str | None = None,
             on_end: Callable[[Session, Booking], None] | None = None) -> HoldEnding:
    """End a hold for `cause` — the one flow every path that ends a hold goes through (a webhook, inside
    its transaction, uses the session-level `bookings.end_hold_now` with the session its event carries).

    read    the hold is still pending; its current Checkout Session;
    Stripe  the session: paid (or complete) -> fulfilled through `fulfil_flow`, never released (a paid
            session that doesn't match what we asked for is recorded, and the hold ends all the same);
            open -> expired, so no payment can land on it afterwards;
    txn     the hold ends for `cause` (`expired` only once it has lapsed), its attempt is closed, and
            `on_end` runs in that transaction (e.g. the audit entry of the builder's cancellation).

    No gateway (the sweeper without Stripe): the session is left to lapse at Stripe by its expires_at.
    Raises PaymentProviderError when Stripe can't be asked (nothing has changed here).
    """
    with session_scope(engine) as session:
        booking = bookings.get_booking(session=session, booking_id=booking_id)
        if booking.status != BookingStatus.PENDING:
            return HoldEnding(ended=False)
        checkout_id = payment_records.money_of(session=session, booking=booking).checkout_session_id
    fulfilment = None
    if checkout_id and gateway is not None:
        current = gateway.retrieve_checkout_session(checkout_id)  # no transaction open
        if checkout_settled(current):
            fulfilment = fulfil_flow(engine=engine, gateway=gateway, checkout=current)
            if fulfilment.state != FulfilmentState.MISMATCH:
                return HoldEnding(ended=False, fulfilment=fulfilment)
        elif current.status == CheckoutStatus.OPEN:
            gateway.expire_checkout_session(checkout_id, idempotency_key=f"booking-{booking_id}-expire-{checkout_id}")
    with session_scope(engine) as session:
        ended = bookings.end_hold_now(session=session, booking_id=booking_id, cause=cause, now=now, note=note,
                                      only_if_lapsed=cause == EndCause.EXPIRED)
        if ended:
            payment_records.expire_session_attempt(session=session, checkout_session_id=checkout_id)
            if on_end is not None:
                on_end(session, bookings.get_booking(session=session, booking_id=booking_id))
    return HoldEnding(ended=ended, fulfilment=fulfilment)


def release_hold_and_expire(*, engine: Engine, gateway: PaymentGateway, booking_id: str) -> bool:
    """"Pick another time": the hold ends (its Checkout Session expired first). False: paid meanwhile,
    or already ended. (Expiring the session sends checkout.session.expired, which may mark the hold
    expired first: either way the client released it, and the record says so.)"""
    return end_hold(engine=engine, gateway=gateway, booking_id=booking_id, cause=EndCause.RELEASED_BY_CLIENT).ended


def _expire_quietly(gateway: PaymentGateway, checkout_session_id: str, booking_id: str) -> None:
    try:
        gateway.expire_checkout_session(
            checkout_session_id, idempotency_key=f"booking-{booking_id}-expire-{checkout_session_id}"
        )
    except PaymentProviderError:
        log.exception("could not expire orphaned Checkout Session %s", checkout_session_id)


class FulfilmentState(StrEnum):
    CONFIRMED = "confirmed"
    PROCESSING = "processing"  # completed with a delayed payment method
    UNPAID = "unpaid"
    REFUNDED = "refunded"  # paid after its slot was taken: refunded
    MISMATCH = "mismatch"  # Stripe's session differs from what we asked for: recorded, never confirmed
    UNKNOWN = "unknown"  # no booking of ours


@dataclass(frozen=True)
class Fulfilment:
    state: FulfilmentState
    booking: Booking | None
    refund_required: bool = False


def booking_id_of(checkout: CheckoutSession) -> str | None:
    return checkout.metadata.get("booking_id") or checkout.client_reference_id


def fulfill_checkout(*, session: Session, checkout_session: CheckoutSession,
                     event_id: str | None = None) -> Fulfilment:
    """Confirm the booking behind a paid Checkout Session: exactly once, however often it is called.

    Called by the webhook and by the success page, inside their transaction, with the session as Stripe
    already gave it: nothing here talks to Stripe. A session whose id, amount or currency doesn't match what we asked for
    is recorded as a PaymentMismatch and confirms nothing. A payment that lost its slot gets a refund
    *requested* (a Refund row); `send_late_payment_refunds` asks Stripe after the commit.
    """
    checkout = checkout_session
    if checkout.mode is CheckoutMode.SETUP:  # a card kept for a no-show fee: confirmed with nothing charged
        return _fulfil_setup(session=session, checkout=checkout, event_id=event_id)
    if checkout_settled(checkout):
        if payment_records.cross_check_checkout(session=session, checkout=checkout, event_id=event_id):
            located = payment_records.known_booking_id(session=session, ref=StripeRef.of_checkout(checkout))
            booking = session.get(Booking, located) if located else None
            if booking is not None:
                session.info[payment_records.LOCATED_BOOKING] = booking.id
            return Fulfilment(state=FulfilmentState.MISMATCH, booking=booking)
    try:
        located = payment_records.locate(session=session, ref=StripeRef.of_checkout(checkout))
    except payment_records.UnknownBooking:
        return Fulfilment(state=FulfilmentState.UNKNOWN, booking=None)
    booking = located.booking
    if checkout.payment_status in PAID_CHECKOUT:
        outcome = bookings.confirm_paid(session=session, booking_id=booking.id,
                                        payment_intent_id=checkout.payment_intent_id)
        payment_records.mark_paid(session=session, payment=located.payment,
                                  payment_intent_id=checkout.payment_intent_id)
        if outcome.refund_required:
            request_late_payment_refund(session=session, booking=outcome.booking)
        return Fulfilment(state=FulfilmentState.CONFIRMED if outcome.booking.status == BookingStatus.CONFIRMED
                          else FulfilmentState.REFUNDED,
                          booking=outcome.booking, refund_required=outcome.refund_required)
    if checkout.status == CheckoutStatus.COMPLETE:  # completed with a delayed payment method
        bookings.mark_payment_processing(session=session, booking_id=booking.id, payment=located.payment)
        return Fulfilment(state=FulfilmentState.PROCESSING,
                          booking=bookings.get_booking(session=session, booking_id=booking.id))
    session.refresh(booking)
    state = FulfilmentState.CONFIRMED if booking.status == BookingStatus.CONFIRMED else FulfilmentState.UNPAID
    return Fulfilment(state=state, booking=booking)


def _fulfil_setup(*, session: Session, checkout: CheckoutSession, event_id: str | None) -> Fulfilment:
    """Checkout in setup mode completed: the card is recorded on the booking and the hold confirmed
    (lifecycle `save_card`), exactly once. An open or expired session confirms nothing."""
    if checkout.status == CheckoutStatus.COMPLETE and payment_records.cross_check_checkout(
            session=session, checkout=checkout, event_id=event_id):
        return Fulfilment(state=FulfilmentState.MISMATCH, booking=None)
    try:
        located = payment_records.locate(session=session, ref=StripeRef.of_checkout(checkout))
    except payment_records.UnknownBooking:
        return Fulfilment(state=FulfilmentState.UNKNOWN, booking=None)
    booking = located.booking
    if checkout.status == CheckoutStatus.COMPLETE:
        no_show.record_card(session=session, booking=booking, checkout=checkout)
        if bookings.confirm_card_saved(session=session, booking_id=booking.id):
            payment_records.mark_paid(session=session, payment=located.payment, payment_intent_id=None)
    booking = bookings.get_booking(session=session, booking_id=booking.id)
    state = FulfilmentState.CONFIRMED if booking.status == BookingStatus.CONFIRMED else FulfilmentState.UNPAID
    return Fulfilment(state=state, booking=booking)


def fulfil_flow(*, engine: Engine, gateway: PaymentGateway, checkout: CheckoutSession) -> Fulfilment:
    """fulfill_checkout in a transaction of its own, then the late-payment refund it may have asked for."""
    with session_scope(engine) as session:
        fulfilment = fulfill_checkout(session=session, checkout_session=checkout)
    if fulfilment.refund_required and fulfilment.booking is not None:
        send_late_payment_refunds(engine=engine, gateway=gateway, booking_ids=[fulfilment.booking.id])
    return fulfilment


# --- the late-payment refund: requested in the fulfilment's transaction, sent after it --------------------

LATE_REFUND_KEY_PREFIX = "late-payment-"
# session.info key: bookings whose late-payment refund this transaction requested (sent after the commit)
LATE_REFUNDS_REQUESTED = "payments.late_refunds_requested"
# The sweeper re-sends a requested late refund left this long without Stripe's answer (a crash, Stripe down).
LATE_REFUND_RETRY_AFTER = timedelta(seconds=30)


def late_refund_idempotency_key(booking_id: str) -> str:
    # From the booking, not the Refund row's id: however often the request is written again (a rolled
    # back transaction, a replay), Stripe answers every send with the one refund.
    return f"booking-{booking_id}-late-payment-refund"


def request_late_payment_refund(*, session: Session, booking: Booking) -> Refund | None:
    """Paid after the hold was given to someone else: the money goes back, automatically. Writes the
    Refund row (`requested`, once per booking) in the caller's transaction; no Stripe call."""
    payment_intent_id = payment_records.money_of(session=session, booking=booking).payment_intent_id
    if not payment_intent_id:
        raise PaymentProviderError("late payment without a payment intent id")
    located = payment_records.locate(session=session, ref=StripeRef(
        object_id=payment_intent_id, payment_intent_id=payment_intent_id, booking_id=booking.id))
    row = _late_payment_refund_row(session=session, located=located)
    if row is None:
        log.error("booking %s paid after its slot was taken, but has no payment row to refund: refund it by hand",
                  booking.id)
        return None
    session.info.setdefault(LATE_REFUNDS_REQUESTED, set()).add(booking.id)
    log.warning("booking %s paid after its hold lapsed and the slot was taken: refund requested", booking.id)
    return row


def late_refunds_requested(session: Session) -> list[str]:
    """The bookings whose late-payment refund this session's transaction asked for."""
    return sorted(session.info.get(LATE_REFUNDS_REQUESTED) or ())


def _late_payment_refund_row(*, session: Session, located: payment_records.Located) -> Refund | None:
    payment = located.payment
    key = f"{LATE_REFUND_KEY_PREFIX}{located.booking.id}"
    row = session.exec(select(Refund).where(Refund.request_key == key)).first()
    if row is not None or payment is None or payment.amount - payment.amount_refunded <= 0:
        return row
    return payment_records.request_refund(session=session, payment=payment, booking_id=located.booking.id,
                                          amount=payment.amount - payment.amount_refunded, request_key=key,
                                          reason="requested_by_customer", requested_by="system")


@dataclass(frozen=True)
class _LateRefund:
    refund_id: int
    booking_id: str
    payment_intent_id: str
    options: tuple[tuple[str, bool], ...]


def send_late_payment_refunds(*, engine: Engine, gateway: PaymentGateway, booking_ids: list[str] | None = None,
                              older_than: timedelta | None = None, now: datetime | None = None) -> int:
    """Ask Stripe for every late-payment refund still `requested` (of these bookings, or all of them
    that waited `older_than`), each with no transaction open, then record the answer. A refusal or an
    unreachable Stripe leaves the row requested: the sweeper, a replay or reconcile sends it again.
    Returns how many Stripe accepted."""
    now = now or utcnow()
    with session_scope(engine) as session:
        query = select(Refund, Payment).join(Payment, Payment.id == Refund.payment_id).where(
            Refund.status == RefundStatus.REQUESTED, Refund.request_key.startswith(LATE_REFUND_KEY_PREFIX))
        if booking_ids is not None:
            if not booking_ids:
                return 0
            query = query.where(Refund.booking_id.in_(booking_ids))
        if older_than is not None:
            query = query.where(Refund.updated_at <= now - older_than)
        asks = [_LateRefund(refund_id=row.id, booking_id=row.booking_id, payment_intent_id=payment.payment_intent_id or "",
                            options=tuple(payment_records.stripe_refund_options(payment).items()))
                for row, payment in session.exec(query.order_by(Refund.id).limit(100)).all()]
    sent = 0
    for ask in asks:
        if not ask.payment_intent_id:
            continue
        try:
            answer = gateway.refund(
                payment_intent_id=ask.payment_intent_id, amount=None, reason="requested_by_customer",
                idempotency_key=late_refund_idempotency_key(ask.booking_id),
                # No row id in here: a row written again makes a new id, and Stripe refuses a repeated
                # key with other parameters.
                metadata={"booking_id": ask.booking_id, "why": "slot no longer available"},
                **dict(ask.options),  # a destination charge: reverse it all
            )
        except PaymentProviderError as exc:
            log.warning("late-payment refund of booking %s not sent (%s); will retry", ask.booking_id, exc)
            with session_scope(engine) as session:  # the sweeper waits LATE_REFUND_RETRY_AFTER from now
                payment_records.refund_retry_later(session=session, refund_id=ask.refund_id)
            continue
        with session_scope(engine) as session:
            located = payment_records.locate(session=session, ref=StripeRef(
                object_id=answer.id, payment_intent_id=ask.payment_intent_id, booking_id=ask.booking_id))
            payment_records.lock_money(session=session, located=located)
            ours = session.get(Refund, ask.refund_id)
            payment_records.record_stripe_refund(session=session, located=located, refund=answer, our_row=ours)
            payment = payment_records.settle_refunds(session=session, located=located)
            bookings.refunds_settled(session=session, booking_id=located.booking.id, payment=payment)
        sent += 1
        log.warning("booking %s paid after its hold lapsed and the slot was taken: refunded", ask.booking_id)
    return sent


# --- background repair: lapsed holds, unsent refunds, interrupted checkouts ---------------------------------


def sweep_expired_holds(*, engine: Engine, gateway: PaymentGateway | None, now: datetime | None = None,
                        limit: int = 100, send_late_refunds: bool = True) -> int:
    """Release holds past their expiry even when no webhook came, and (unless `send_late_refunds` is
    False: the job worker sends them as a job of their own) send late-payment refunds left requested.
    Safe with several workers. Returns the holds released."""
    now = now or utcnow()
    with session_scope(engine) as session:
        stale = [b.id for b in bookings.stale_holds(session=session, now=now, limit=limit)]
    released = 0
    for booking_id in stale:
        try:
            if end_hold(engine=engine, gateway=gateway, booking_id=booking_id, cause=EndCause.EXPIRED, now=now).ended:
                released += 1
        except PaymentProviderError:
            log.warning("sweeper: Stripe unavailable for booking %s; will retry", booking_id)
    if gateway is not None and send_late_refunds:
        send_late_payment_refunds(engine=engine, gateway=gateway, older_than=LATE_REFUND_RETRY_AFTER, now=now)
    return released


# A `creating` attempt older than this lost its Stripe answer (its request can't still be running: the
# SDK's timeout and retries end well before).
INTERRUPTED_AFTER = timedelta(minutes=5)


@dataclass
class RepairReport:
    found: int = 0  # attempts left `creating`
    closed: int = 0  # their sessions found at Stripe and expired (nobody was ever sent to them)
    confirmed: int = 0  # ...or found paid, and fulfilled
    ended: int = 0  # no session at Stripe: the attempt ended


def repair_interrupted_checkouts(*, engine: Engine, gateway: PaymentGateway, sessions: list[CheckoutSession],
                                 now: datetime | None = None) -> RepairReport:
    """A crash between Stripe's answer and txn 2 leaves the attempt `creating`. Reconcile brings Stripe's
    recent sessions (`sessions`); the one whose metadata names the booking is the attempt's (the newest
    no other row names). Nobody was ever sent to it, so it is expired at Stripe, unless it was paid
    (then it is fulfilled); the hold is released. No session at Stripe: the attempt just ends."""
    now = now or utcnow()
    report = RepairReport()
    with session_scope(engine) as session:
        stuck = session.exec(select(Payment.booking_id, Payment.attempt).where(
            Payment.status == PaymentStatus.CREATING, Payment.created_at <= now - INTERRUPTED_AFTER)).all()
        named = set(session.exec(select(Payment.checkout_session_id).where(
            Payment.booking_id.in_([booking_id for booking_id, _ in stuck] or [""]),
            Payment.checkout_session_id.is_not(None))).all())
    by_booking: dict[str, list[CheckoutSession]] = {}
    for checkout in sessions:
        if checkout.id not in named and booking_id_of(checkout):
            by_booking.setdefault(booking_id_of(checkout), []).append(checkout)
    for booking_id, attempt_number in stuck:
        report.found += 1
        candidates = by_booking.get(booking_id) or []
        checkout = candidates[0] if candidates else None  # Stripe lists newest first
        if checkout is not None and checkout_settled(checkout):
            fulfil_flow(engine=engine, gateway=gateway, checkout=checkout)
            report.confirmed += 1
            continue
        with session_scope(engine) as session:
            payment = payment_records.attempt_of(session=session, booking_id=booking_id, attempt=attempt_number)
            # The row names the session Stripe made (so end_hold finds, and expires, it).
            payment_records.abandon_attempt(session=session, payment=payment,
                                            message="interrupted before its Checkout Session was recorded",
                                            checkout_session_id=checkout.id if checkout is not None else None)
            latest = payment_records.current_payment(session=session, booking=booking_id)
            current_attempt = payment is not None and latest is not None and latest.id == payment.id
        if current_attempt:
            end_hold(engine=engine, gateway=gateway, booking_id=booking_id, cause=EndCause.REPAIRED_BY_RECONCILE)
        elif checkout is not None and checkout.status == CheckoutStatus.OPEN:
            # a later attempt holds the slot: leave it
            gateway.expire_checkout_session(checkout.id, idempotency_key=f"booking-{booking_id}-expire-{checkout.id}")
        if checkout is not None:
            report.closed += 1
        else:
            report.ended += 1
    return report


def reconcile_pending(*, engine: Engine, gateway: PaymentGateway) -> dict[str, int]:
    """Operator tool: settle every pending booking against Stripe's record of its session."""
    with session_scope(engine) as session:
        pending = [(booking_id, money.checkout_session_id) for booking_id, money in payment_records.money_of_many(
            session=session, booking_ids=list(session.exec(
                select(Booking.id).where(Booking.status == BookingStatus.PENDING)).all())).items()
            if money.checkout_session_id]
    counts = {"checked": 0, "confirmed": 0}
    for _booking_id, checkout_id in pending:
        counts["checked"] += 1
        checkout = gateway.retrieve_checkout_session(checkout_id)  # no transaction open
        if fulfil_flow(engine=engine, gateway=gateway, checkout=checkout).state == FulfilmentState.CONFIRMED:
            counts["confirmed"] += 1
    counts["released"] = sweep_expired_holds(engine=engine, gateway=gateway)
    return counts
