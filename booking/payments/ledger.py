"""The ledger: Payment and Refund rows are the only record of a booking's money, and this module is the
only one that writes them. `Booking` is the appointment: its price, Checkout attempts, payment state and
refunds are asked of its rows here (`money_of`, `booking_payment`, and the SQL tests `is_paid`,
`is_processing`, `awaits_payment`, `current_session_is` for queries over bookings).

The booking's payment is its settled attempt (paid, partly or fully refunded) if it has one, else its
latest attempt; every attempt of a booking asks the same amount.

`locate` is the one answer to "which booking and payment is this Stripe object about?": every webhook
handler, fulfilment and the refund flows call it. The other functions move a row forward, never back,
so Stripe's events may arrive in any order and any number of times.

Refund totals are derived, never added up event by event: a payment's `amount_refunded` is the most
of (what it already says, the refunds Stripe accepted that we hold rows for, the charge's own
`amount_refunded`), capped at the amount paid. Whichever of the webhook and the API answer lands
first applies a refund; the other finds nothing left to change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from booking.core.models import (
    Booking,
    MembershipInvoice,
    MembershipInvoiceStatus,
    MovementKind,
    Payment,
    PaymentKind,
    PaymentMethodKind,
    PaymentMismatch,
    PaymentStatus,
    Refund,
    RefundStatus,
    utcnow,
)
from booking.core.time import format_money
from booking.payments import movements, pricing
from booking.payments.gateway import (
    CheckoutMode,
    CheckoutRequest,
    CheckoutSession,
    PaymentDocuments,
    PaymentGateway,
    RefundState,
)
from booking.payments.gateway import Refund as StripeRefund

log = logging.getLogger(__name__)

# session.info key: the booking the latest lookup found (dispatch files the event under it).
LOCATED_BOOKING = "payment_records.located_booking_id"

UNPAID_STATES = (PaymentStatus.CREATING, PaymentStatus.OPEN, PaymentStatus.FAILED)
SETTLED_STATES = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)
# Money Stripe has taken back (pending refunds count: Stripe's charge.amount_refunded counts them).
ACCEPTED_REFUNDS = (RefundStatus.PENDING, RefundStatus.SUCCEEDED)
_REFUND_RANK = {
    RefundStatus.REQUESTED: 0,
    RefundStatus.PENDING: 1,
    RefundStatus.SUCCEEDED: 2,
    RefundStatus.FAILED: 3,  # Stripe can fail a refund it first reported succeeded
    RefundStatus.CANCELED: 3,
}
_STRIPE_REFUND_STATUS = {
    RefundState.PENDING: RefundStatus.PENDING,
    RefundState.REQUIRES_ACTION: RefundStatus.PENDING,
    RefundState.SUCCEEDED: RefundStatus.SUCCEEDED,
    RefundState.FAILED: RefundStatus.FAILED,
    RefundState.CANCELED: RefundStatus.CANCELED,
}


class UnknownBooking(LookupError):
    """The Stripe object names no booking of ours: acknowledged, nothing changed."""


@dataclass(frozen=True)
class StripeRef:
    """The ids a Stripe object (checkout session, payment intent, charge, refund) carries about us."""

    object_id: str | None
    checkout_session_id: str | None = None
    payment_intent_id: str | None = None
    booking_id: str | None = None

    @classmethod
    def of(cls, obj: dict[str, Any]) -> StripeRef:
        object_id = obj.get("id")
        kind = obj.get("object") or _kind_from_id(object_id)
        metadata = obj.get("metadata") or {}
        return cls(
            object_id=object_id,
            checkout_session_id=object_id if kind == "checkout.session" else None,
            payment_intent_id=object_id if kind == "payment_intent" else _id_of(obj.get("payment_intent")),
            booking_id=metadata.get("booking_id") or obj.get("client_reference_id"),
        )

    @classmethod
    def of_checkout(cls, checkout: CheckoutSession) -> StripeRef:
        return cls(
            object_id=checkout.id,
            checkout_session_id=checkout.id,
            payment_intent_id=checkout.payment_intent_id,
            booking_id=checkout.metadata.get("booking_id") or checkout.client_reference_id,
        )


@dataclass(frozen=True)
class Located:
    booking: Booking
    payment: Payment | None  # None: an older Checkout attempt we hold no row for


def _id_of(value: Any) -> str | None:
    return value.get("id") if isinstance(value, dict) else value


def _kind_from_id(object_id: str | None) -> str | None:
    prefixes = {"cs_": "checkout.session", "pi_": "payment_intent", "ch_": "charge", "py_": "charge",
                "re_": "refund"}
    return next((kind for prefix, kind in prefixes.items() if (object_id or "").startswith(prefix)), None)


# --- the one lookup ------------------------------------------------------------------------------------


def locate(*, session: Session, ref: StripeRef, gateway: PaymentGateway | None = None) -> Located:
    """The booking (and its Payment row) a Stripe object is about; raises UnknownBooking.

    Looks in our rows first (checkout session id, payment intent id, the booking id in metadata);
    given a gateway, a payment intent we have never seen is traced through Stripe's Checkout Session
    record (a refund can overtake the payment events).
    """
    booking, payment = _find(session=session, ref=ref)
    if booking is None and ref.payment_intent_id and gateway is not None:
        traced = gateway.booking_id_for_payment_intent(ref.payment_intent_id)
        booking = session.get(Booking, traced) if traced else None
    if booking is None:
        raise UnknownBooking(ref.booking_id or ref.object_id)
    if payment is None:
        payment = _attempt_of(session=session, booking=booking, ref=ref)
    if payment is not None and ref.payment_intent_id and not payment.payment_intent_id:
        if _free_intent(session=session, payment=payment, payment_intent_id=ref.payment_intent_id,
                        authoritative=bool(ref.checkout_session_id)):
            payment.payment_intent_id = ref.payment_intent_id
            session.add(payment)
            session.flush()
    session.info[LOCATED_BOOKING] = booking.id
    return Located(booking=booking, payment=payment)


def _free_intent(*, session: Session, payment: Payment, payment_intent_id: str, authoritative: bool) -> bool:
    """May `payment` take this payment intent id? A payment intent event names no Checkout Session, so
    one that arrives late (a declined card on the session "Try again" replaced) was linked to the
    booking's current attempt; the session's own event, which names both, puts it right. True: free."""
    holder = session.exec(select(Payment).where(Payment.payment_intent_id == payment_intent_id,
                                                Payment.id != payment.id)).first()
    if holder is None:
        return True
    if not authoritative or holder.booking_id != payment.booking_id or holder.status in SETTLED_STATES:
        return False
    log.warning("payment intent %s was linked to attempt %s of booking %s; it is attempt %s's",
                payment_intent_id, holder.attempt, payment.booking_id, payment.attempt)
    _move(session, holder, payment_intent_id=None)
    return True


def _find(*, session: Session, ref: StripeRef) -> tuple[Booking | None, Payment | None]:
    """Our rows only: no Stripe call, nothing written."""
    payment = None
    if ref.checkout_session_id:
        payment = session.exec(select(Payment).where(Payment.checkout_session_id == ref.checkout_session_id)).first()
    if payment is None and ref.payment_intent_id:
        payment = session.exec(select(Payment).where(Payment.payment_intent_id == ref.payment_intent_id)).first()
    booking = session.get(Booking, payment.booking_id) if payment is not None and payment.booking_id else None
    if booking is None and ref.booking_id:
        booking = session.get(Booking, ref.booking_id)
    return booking, payment


def known_booking_id(*, session: Session, ref: StripeRef) -> str | None:
    """The booking a Stripe object is about, if our rows already say so (read-only)."""
    booking, _payment = _find(session=session, ref=ref)
    return booking.id if booking is not None else None


def _attempt_of(*, session: Session, booking: Booking, ref: StripeRef) -> Payment | None:
    """The row of the attempt `ref` is about, when no row names it yet: the current attempt, while it has
    no session (or payment intent) of its own; else None (another attempt's object we never linked)."""
    current = current_payment(session=session, booking=booking)
    if current is None:
        return None
    if ref.checkout_session_id and current.checkout_session_id not in (None, ref.checkout_session_id):
        return None
    if ref.payment_intent_id and current.payment_intent_id not in (None, ref.payment_intent_id):
        return None  # another attempt's payment intent, that we never linked to its session
    if ref.checkout_session_id and current.checkout_session_id is None:
        current.checkout_session_id = ref.checkout_session_id
        session.add(current)
        session.flush()
    return current


def current_payment(*, session: Session, booking: Booking | str) -> Payment | None:
    """The Payment row of the booking's latest Checkout attempt (None: it never reached Checkout)."""
    booking_id = booking if isinstance(booking, str) else booking.id
    return session.exec(
        select(Payment).where(Payment.booking_id == booking_id).order_by(Payment.attempt.desc()).limit(1)
    ).first()


def last_located_booking(session: Session) -> str | None:
    return session.info.get(LOCATED_BOOKING)


# --- what a booking's money is: asked of its rows -----------------------------------------------------------


@dataclass(frozen=True)
class BookingMoney:
    """A booking's money, as its Payment and Refund rows say (a read: nothing is written)."""

    amount: int  # what the client pays
    currency: str
    status: PaymentStatus | None  # the booking's payment's status (None: no attempt yet)
    amount_refunded: int
    attempts: int  # Checkout attempts so far (the latest's number)
    checkout_session_id: str | None  # the latest attempt's
    checkout_url: str | None
    payment_intent_id: str | None  # the booking's payment's

    @property
    def paid(self) -> bool:
        return self.status in SETTLED_STATES

    @property
    def processing(self) -> bool:
        return self.status == PaymentStatus.PROCESSING


NO_MONEY = BookingMoney(amount=0, currency="", status=None, amount_refunded=0, attempts=0,
                        checkout_session_id=None, checkout_url=None, payment_intent_id=None)


def _booking_payment_order() -> tuple:
    return (sa.case((Payment.status.in_(SETTLED_STATES), 0), else_=1), Payment.attempt.desc())


def booking_payment(*, session: Session, booking: Booking | str) -> Payment | None:
    """The booking's payment: its settled attempt if any (the latest such), else its latest attempt."""
    booking_id = booking if isinstance(booking, str) else booking.id
    return session.exec(
        select(Payment).where(Payment.booking_id == booking_id).order_by(*_booking_payment_order()).limit(1)
    ).first()


def money_of(*, session: Session, booking: Booking | str) -> BookingMoney:
    booking_id = booking if isinstance(booking, str) else booking.id
    rows = session.exec(select(Payment).where(Payment.booking_id == booking_id).order_by(Payment.attempt)).all()
    return _money_from(rows)


def money_of_many(*, session: Session, booking_ids: list[str]) -> dict[str, BookingMoney]:
    """money_of for many bookings in one query (lists, reports)."""
    by_booking: dict[str, list[Any]] = {}
    for start in range(0, len(booking_ids), 500):
        chunk = booking_ids[start:start + 500]
        for row in session.execute(sa.select(*_MONEY_COLUMNS).where(Payment.booking_id.in_(chunk))
                                   .order_by(Payment.attempt)):
            by_booking.setdefault(row.booking_id, []).append(row)
    return {booking_id: _money_from(by_booking.get(booking_id, [])) for booking_id in booking_ids}


# What money_of_many reads of each Payment row (not whole rows: lists read many).
_MONEY_COLUMNS = (Payment.booking_id, Payment.attempt, Payment.status, Payment.amount, Payment.currency,
                  Payment.amount_refunded, Payment.checkout_session_id, Payment.checkout_url,
                  Payment.payment_intent_id)


def _money_from(rows: list[Any]) -> BookingMoney:
    """`rows`: one booking's payments (rows or their money columns), by attempt."""
    if not rows:
        return NO_MONEY
    latest = rows[-1]
    settled = [row for row in rows if row.status in SETTLED_STATES]
    payment = settled[-1] if settled else latest
    return BookingMoney(amount=payment.amount, currency=payment.currency, status=PaymentStatus(payment.status),
                        amount_refunded=payment.amount_refunded, attempts=latest.attempt,
                        checkout_session_id=latest.checkout_session_id, checkout_url=latest.checkout_url,
                        payment_intent_id=payment.payment_intent_id)


def booking_payment_id(of: Any = None) -> sa.ScalarSelect:
    """SQL: the id of the booking's payment, correlated to `Booking` (or to the booking id column `of`, say
    a page of bookings): join Payment on it to list or sum bookings with their money."""
    booking_id = Booking.id if of is None else of
    return (sa.select(Payment.id).where(Payment.booking_id == booking_id)
            .order_by(*_booking_payment_order()).limit(1).correlate(booking_id.table).scalar_subquery())


def booking_payment_status() -> sa.ScalarSelect:
    """SQL: the status of the booking's payment (NULL: none), correlated to `Booking` (filters over bookings)."""
    return (sa.select(Payment.status).where(Payment.booking_id == Booking.id)
            .order_by(*_booking_payment_order()).limit(1).correlate(Booking).scalar_subquery())


def _any_payment(*where: Any) -> sa.Exists:
    return sa.exists().where(Payment.booking_id == Booking.id, *where).correlate(Booking)


def is_paid() -> sa.Exists:
    """SQL, correlated to `Booking`: some attempt of the booking was paid (refunded since or not)."""
    return _any_payment(Payment.status.in_(SETTLED_STATES))


def is_processing() -> sa.Exists:
    """SQL, correlated to `Booking`: a delayed payment of the booking is on its way."""
    return _any_payment(Payment.status == PaymentStatus.PROCESSING)


def awaits_payment() -> sa.ColumnElement[bool]:
    """SQL, correlated to `Booking`: neither paid nor paying (a hold still waiting for its payment)."""
    return ~_any_payment(Payment.status.in_((*SETTLED_STATES, PaymentStatus.PROCESSING)))


def current_session_is(checkout_session_id: str) -> sa.Exists:
    """SQL, correlated to `Booking`: `checkout_session_id` is the booking's latest attempt's session."""
    later = aliased(Payment)
    return _any_payment(Payment.checkout_session_id == checkout_session_id,
                        ~sa.exists().where(later.booking_id == Payment.booking_id, later.attempt > Payment.attempt))


# --- Checkout attempts ----------------------------------------------------------------------------------


def begin_attempt(*, session: Session, booking: Booking, request: CheckoutRequest, attempt: int) -> Payment:
    """The row of Checkout attempt number `attempt` about to be asked of Stripe (`creating`: no session
    yet), with the amount and currency we ask for (the quote in `request`), and the destination account and
    platform fee (a destination charge). Written and committed before the Stripe call: a crash after it is
    what reconcile repairs."""
    destination = request.destination_account_id
    payment = Payment(
        booking_id=booking.id,
        attempt=attempt,
        amount=request.amount,
        currency=request.currency,
        status=PaymentStatus.CREATING,
        destination_account_id=destination,
        application_fee_amount=(request.application_fee_amount or 0) if destination else 0,
        invoice_requested=bool(getattr(request, "invoice_requested", False)),
    )
    session.add(payment)
    session.flush()
    return payment


def begin_sale_attempt(*, session: Session, package_purchase_id: int, request: CheckoutRequest) -> Payment:
    """A sale that books nothing (a package): its Checkout attempt's row, as `begin_attempt` writes a
    booking's, but naming the purchase (`Payment.package_purchase_id`; `booking_id` stays None)."""
    destination = request.destination_account_id
    payment = Payment(
        booking_id=None,
        package_purchase_id=package_purchase_id,
        attempt=1,
        amount=request.amount,
        currency=request.currency,
        status=PaymentStatus.CREATING,
        destination_account_id=destination,
        application_fee_amount=(request.application_fee_amount or 0) if destination else 0,
    )
    session.add(payment)
    session.flush()
    return payment


def record_sale_refund(*, session: Session, row: Refund, answer: StripeRefund) -> Payment:
    """Stripe answered a refund of a sale that books nothing: the row takes its status and, once accepted,
    the payment its total and the journal its movements (one answer, applied once)."""
    payment = session.get(Payment, row.payment_id)
    status = refund_status_of(answer.status)
    if row.stripe_refund_id is None and answer.id:
        row.stripe_refund_id = answer.id
    was_accepted = row.status in ACCEPTED_REFUNDS
    row.status, row.updated_at = status, utcnow()
    session.add(row)
    session.flush()
    if status in ACCEPTED_REFUNDS and not was_accepted:
        refunded = min(payment.amount_refunded + row.amount, payment.amount)
        _move(session, payment, amount_refunded=refunded,
              status=PaymentStatus.REFUNDED if refunded >= payment.amount else PaymentStatus.PARTIALLY_REFUNDED)
        update_net(session=session, payment=payment)
        movements.sync_payment(session=session, payment=payment)
    return payment


def attempt_created(*, session: Session, payment: Payment, checkout: CheckoutSession) -> None:
    """Stripe made the attempt's Checkout Session: the row names it and is open (a webhook that came
    first may have moved it on already)."""
    values: dict[str, Any] = {}
    if payment.checkout_session_id is None:
        values["checkout_session_id"] = checkout.id
    if checkout.url and payment.checkout_url is None:
        values["checkout_url"] = checkout.url
    if payment.status == PaymentStatus.CREATING:
        values["status"] = PaymentStatus.OPEN
    if values:
        _move(session, payment, **values)


def abandon_attempt(*, session: Session, payment: Payment | None, message: str,
                    checkout_session_id: str | None = None) -> None:
    """Stripe could not make the attempt's session (or we could not record it): the attempt ends. Given
    the session Stripe did make (found by reconcile), the row names it."""
    if payment is not None and checkout_session_id and payment.checkout_session_id is None:
        _move(session, payment, checkout_session_id=checkout_session_id)
    if payment is not None and payment.status == PaymentStatus.CREATING:
        _move(session, payment, status=PaymentStatus.EXPIRED, failure_message=message[:500], failed_at=utcnow())


def attempt_of(*, session: Session, booking_id: str, attempt: int) -> Payment | None:
    return session.exec(select(Payment).where(Payment.booking_id == booking_id, Payment.attempt == attempt)).first()


def _move(session: Session, payment: Payment, **values: Any) -> Payment:
    for name, value in values.items():
        setattr(payment, name, value)
    payment.updated_at = utcnow()
    session.add(payment)
    session.flush()
    return payment


def mark_paid(*, session: Session, payment: Payment | None, payment_intent_id: str | None,
              now: datetime | None = None) -> None:
    if payment is None:
        return
    now = now or utcnow()
    values: dict[str, Any] = {}
    if payment.status not in SETTLED_STATES:
        values["status"] = PaymentStatus.PAID
    if payment.paid_at is None:
        values["paid_at"] = now
    if payment_intent_id and not payment.payment_intent_id and _free_intent(
            session=session, payment=payment, payment_intent_id=payment_intent_id, authoritative=False):
        values["payment_intent_id"] = payment_intent_id
    if values:
        _move(session, payment, **values)
    update_net(session=session, payment=payment)
    movements.sync_payment(session=session, payment=payment)


def fee_charged(*, session: Session, payment: Payment | None, payment_intent_id: str | None) -> None:
    """A no-show fee charged off-session: its row is paid (the webhook's events then find it by the intent)."""
    mark_paid(session=session, payment=payment, payment_intent_id=payment_intent_id)


def fee_failed(*, session: Session, payment: Payment | None, payment_intent_id: str | None, code: str | None,
               message: str | None) -> None:
    """A no-show fee the bank refused (a decline) or wants the client to confirm (`authentication_required`)."""
    if payment is None:
        return
    if payment_intent_id and not payment.payment_intent_id and _free_intent(
            session=session, payment=payment, payment_intent_id=payment_intent_id, authoritative=False):
        _move(session, payment, payment_intent_id=payment_intent_id)
    mark_failed(session=session, payment=payment, code=code, message=message)


def payment_method_kind(details: dict[str, Any] | None) -> PaymentMethodKind | None:
    """How a charge was paid, from its `payment_method_details` (a card's wallet counts as the wallet)."""
    method = (details or {}).get("type")
    if not method:
        return None
    if method == "card":
        wallet = ((details or {}).get("card") or {}).get("wallet") or {}
        return {"apple_pay": PaymentMethodKind.APPLE_PAY,
                "google_pay": PaymentMethodKind.GOOGLE_PAY}.get(wallet.get("type"), PaymentMethodKind.CARD)
    try:
        return PaymentMethodKind(method)
    except ValueError:
        return PaymentMethodKind.OTHER


def record_payment_method(*, session: Session, payment: Payment | None, details: dict[str, Any] | None) -> bool:
    """Record how the attempt was paid (charge.pending / charge.succeeded). True when it changed."""
    kind = payment_method_kind(details)
    if payment is None or kind is None or payment.payment_method_type == kind:
        return False
    _move(session, payment, payment_method_type=kind)
    return True


def record_documents(*, session: Session, documents: PaymentDocuments) -> Payment | None:
    """Receipts and invoices: the receipt link of the charge and the invoice Checkout made, on the attempt
    of that Checkout Session (set once; a later answer never blanks them)."""
    if not documents.checkout_session_id:
        return None
    payment = session.exec(select(Payment).where(
        Payment.checkout_session_id == documents.checkout_session_id)).first()
    if payment is None:
        return None
    values: dict[str, Any] = {}
    for name in ("receipt_url", "invoice_id", "invoice_url", "invoice_pdf_url"):
        value = getattr(documents, name)
        if value and getattr(payment, name) is None and len(value) <= (255 if name == "invoice_id" else 2000):
            values[name] = value
    return _move(session, payment, **values) if values else payment


def mark_processing(*, session: Session, payment: Payment | None) -> None:
    if payment is not None and payment.status in UNPAID_STATES:
        _move(session, payment, status=PaymentStatus.PROCESSING)


def mark_failed(*, session: Session, payment: Payment | None, code: str | None, message: str | None,
                after_processing: bool = False, now: datetime | None = None) -> None:
    """A declined card (the session stays payable) or a delayed payment that failed."""
    allowed = UNPAID_STATES + ((PaymentStatus.PROCESSING,) if after_processing else ())
    if payment is None or payment.status not in allowed:
        return
    _move(session, payment, status=PaymentStatus.FAILED, failure_code=(code or None) and code[:100],
          failure_message=(message or None) and message[:500], failed_at=now or utcnow())


def mark_expired(*, session: Session, payment: Payment | None) -> None:
    if payment is not None and payment.status in UNPAID_STATES:
        _move(session, payment, status=PaymentStatus.EXPIRED)


def expire_session_attempt(*, session: Session, checkout_session_id: str | None) -> None:
    """The Checkout Session ended unpaid (expired at Stripe, replaced by a retry, released)."""
    if checkout_session_id:
        payment = session.exec(select(Payment).where(Payment.checkout_session_id == checkout_session_id)).first()
        mark_expired(session=session, payment=payment)


# --- refunds ----------------------------------------------------------------------------------------------


def request_refund(*, session: Session, payment: Payment, booking_id: str | None, amount: int, request_key: str,
                   reason: str | None, requested_by: str, requested_by_user_id: int | None = None) -> Refund:
    """A refund asked for here (an admin, the client's cancellation, a late payment): its `requested` row,
    written before Stripe is asked, with the Connect flags of a destination charge."""
    row = Refund(payment_id=payment.id, booking_id=booking_id, request_key=request_key, amount=amount,
                 currency=payment.currency, reason=reason, status=RefundStatus.REQUESTED, requested_by=requested_by,
                 requested_by_user_id=requested_by_user_id,
                 **refund_flags(session=session, payment=payment, amount=amount))
    session.add(row)
    session.flush()
    return row


def refund_refused(*, session: Session, row: Refund, message: str) -> bool:
    """Stripe refused a refund still unanswered: the refusal is its answer. (A webhook may have recorded a
    refund that did happen despite the error, say a timeout: Stripe's record stands.) True when recorded."""
    if row.status != RefundStatus.REQUESTED or row.stripe_refund_id is not None:
        return False
    row.status, row.failure_reason, row.updated_at = RefundStatus.FAILED, message[:255], utcnow()
    session.add(row)
    session.flush()
    return True


def refund_retry_later(*, session: Session, refund_id: int) -> None:
    """A requested refund Stripe could not be asked for now: its clock restarts (the sweeper waits)."""
    row = session.get(Refund, refund_id)
    if row is not None and row.status == RefundStatus.REQUESTED:
        row.updated_at = utcnow()
        session.add(row)
        session.flush()


def refund_status_of(stripe_status: RefundState) -> RefundStatus:
    """Ours of Stripe's; a status Stripe added since (UNKNOWN) is still on its way: pending."""
    return _STRIPE_REFUND_STATUS.get(stripe_status, RefundStatus.PENDING)


def lock_money(*, session: Session, located: Located) -> None:
    """Serialise refund bookkeeping per booking (PostgreSQL row locks, booking first, then payment;
    SQLite transactions are already serialised)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.exec(select(Booking.id).where(Booking.id == located.booking.id).with_for_update()).one()
    session.refresh(located.booking)
    if located.payment is not None and located.payment.id is not None:
        session.exec(select(Payment.id).where(Payment.id == located.payment.id).with_for_update()).one()
        session.refresh(located.payment)


def record_stripe_refund(*, session: Session, located: Located, refund: StripeRefund,
                         our_row: Refund | None = None) -> Refund | None:
    """Upsert the Refund row of one Stripe refund (by Stripe id, else the refund id in our metadata)."""
    payment = located.payment
    if payment is None:
        return None
    row = session.exec(select(Refund).where(Refund.stripe_refund_id == refund.id)).first()
    if row is not None and our_row is not None and row.id != our_row.id:
        row = _merge_request(session=session, found=row, requested=our_row)
    if row is None:
        row = our_row or _requested_row(session=session, booking=located.booking, refund=refund)
    if row is None:
        if refund.amount <= 0:
            return None
        row = Refund(payment_id=payment.id, booking_id=located.booking.id, amount=refund.amount,
                     currency=refund.currency or payment.currency, reason=refund.reason,
                     status=RefundStatus.PENDING, requested_by="stripe",
                     **refund_flags(session=session, payment=payment, amount=refund.amount))
    incoming = refund_status_of(refund.status)
    # A local failure without a Stripe id was ours (say a timeout): Stripe's record wins.
    forward = _REFUND_RANK[incoming] > _REFUND_RANK[row.status] or (
        row.stripe_refund_id is None and row.status == RefundStatus.FAILED and incoming != RefundStatus.FAILED)
    row.stripe_refund_id = refund.id
    if refund.amount > 0:
        row.amount = refund.amount
    row.reason = row.reason or refund.reason
    if forward:
        if incoming == RefundStatus.FAILED and row.status in ACCEPTED_REFUNDS and row.stripe_refund_id:
            _refund_came_back(session=session, payment=payment, amount=row.amount, refund_id=row.stripe_refund_id)
        row.status = incoming
        row.failure_reason = refund.failure_reason if incoming == RefundStatus.FAILED else None
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return row


def _refund_came_back(*, session: Session, payment: Payment, amount: int, refund_id: str) -> None:
    """A refund Stripe reported pending or succeeded failed after all (the card could not take it): the
    money is back with us, so the payment's refunded total drops by it (the one move back a refund makes),
    and the journal records it coming back."""
    if payment.status not in (PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED):
        return
    movements.sync_payment(session=session, payment=payment)  # the refund itself is in the journal first
    movements.record(session=session, payment=payment, kind=MovementKind.REFUND_RETURNED, amount=amount,
                     stripe_object_id=refund_id)
    total = max(payment.amount_refunded - amount, 0)
    status = (PaymentStatus.PAID if total == 0 else
              PaymentStatus.REFUNDED if total >= payment.amount else PaymentStatus.PARTIALLY_REFUNDED)
    _move(session, payment, amount_refunded=total, status=status)
    update_net(session=session, payment=payment)


def _requested_row(*, session: Session, booking: Booking, refund: StripeRefund) -> Refund | None:
    refund_id = refund.metadata.get("refund_id")
    if not refund_id or not refund_id.isdigit():
        return None
    row = session.get(Refund, int(refund_id))
    if row is None or row.booking_id != booking.id or row.stripe_refund_id not in (None, refund.id):
        return None
    return row


def _merge_request(*, session: Session, found: Refund, requested: Refund) -> Refund:
    """The webhook wrote a row for our refund before it could tell it was ours: keep one row."""
    key, who, user_id = requested.request_key, requested.requested_by, requested.requested_by_user_id
    found.reason = found.reason or requested.reason
    # The request's fee share was computed in order; the webhook's counted the request as an earlier refund.
    found.reverse_transfer = requested.reverse_transfer
    found.application_fee_refunded = requested.application_fee_refunded
    session.delete(requested)
    session.flush()  # frees the request key before the other row takes it
    found.request_key, found.requested_by, found.requested_by_user_id = key, who, user_id
    session.add(found)
    return found


def settle_refunds(*, session: Session, located: Located, stripe_amount_refunded: int | None = None,
                   fully_refunded: bool = False) -> Payment | None:
    """Bring the payment's refund totals up to date (idempotent). Returns the payment when its refund total
    (or status) moved, else None: the booking follows through `lifecycle.transitions.refunds_settled`, which
    the caller invokes with what this returns (an older or repeated event returns None: nothing follows)."""
    payment = located.payment
    if payment is None:
        return None
    accepted = session.exec(
        select(sa.func.coalesce(sa.func.sum(Refund.amount), 0)).where(
            Refund.payment_id == payment.id, Refund.status.in_(ACCEPTED_REFUNDS))
    ).one()
    total = min(max(payment.amount_refunded, int(accepted), stripe_amount_refunded or 0), payment.amount)
    if fully_refunded:
        total = payment.amount
    if total <= 0:
        return None
    status = PaymentStatus.REFUNDED if total >= payment.amount else PaymentStatus.PARTIALLY_REFUNDED
    moved = (payment.amount_refunded, payment.status) != (total, status)
    if moved:
        _move(session, payment, amount_refunded=total, status=status)
    update_net(session=session, payment=payment)
    movements.sync_payment(session=session, payment=payment)
    return payment if moved else None


def paid_payment_of(*, session: Session, booking: Booking) -> Payment | None:
    """The booking's paid Payment (None: no attempt of it was paid)."""
    payment = booking_payment(session=session, booking=booking)
    return payment if payment is not None and payment.status in SETTLED_STATES else None


def in_flight(*, session: Session, payment: Payment) -> int:
    """Refunds asked for whose Stripe answer is not recorded yet."""
    return int(session.exec(
        select(sa.func.coalesce(sa.func.sum(Refund.amount), 0)).where(
            Refund.payment_id == payment.id, Refund.status == RefundStatus.REQUESTED)
    ).one())


def amount_left(*, session: Session, payment: Payment) -> int:
    return max(payment.amount - payment.amount_refunded - in_flight(session=session, payment=payment), 0)


# --- destination charges (Connect): the fee, the transfer, the builder's net -------------------------------


def is_destination_charge(payment: Payment | None) -> bool:
    return payment is not None and bool(payment.destination_account_id)


def refund_flags(*, session: Session, payment: Payment, amount: int, row_id: int | None = None) -> dict[str, Any]:
    """What a new Refund row of `amount` records about Connect: whether it reverses the builder's
    transfer, and the platform fee's share it gives back (`pricing.fee_refund_for`, after the refunds
    before it). Empty for a payment the platform holds."""
    if not is_destination_charge(payment):
        return {}
    earlier = session.exec(
        select(sa.func.coalesce(sa.func.sum(Refund.amount), 0),
               sa.func.coalesce(sa.func.sum(Refund.application_fee_refunded), 0))
        .where(Refund.payment_id == payment.id, Refund.id != (row_id or -1),
               Refund.status.in_((RefundStatus.REQUESTED, *ACCEPTED_REFUNDS)))
    ).one()
    share = pricing.fee_refund_for(amount, payment.amount, payment.application_fee_amount,
                                   already_refunded=int(earlier[0]), fee_already_refunded=int(earlier[1]))
    return {"reverse_transfer": True, "application_fee_refunded": share}


def stripe_refund_options(payment: Payment | None) -> dict[str, bool]:
    """The refunds.create flags of a payment: a destination charge takes the refund back from the
    builder's transfer and gives back the platform fee's share."""
    if not is_destination_charge(payment):
        return {}
    return {"reverse_transfer": True, "refund_application_fee": payment.application_fee_amount > 0}


def fee_refunded(*, session: Session, payment: Payment) -> int:
    """The platform fee given back so far (refunds Stripe accepted)."""
    return int(session.exec(
        select(sa.func.coalesce(sa.func.sum(Refund.application_fee_refunded), 0)).where(
            Refund.payment_id == payment.id, Refund.status.in_(ACCEPTED_REFUNDS))
    ).one())


def update_net(*, session: Session, payment: Payment | None) -> None:
    """The builder's net of a paid destination charge: amount − refunds − (fee − fee refunded)."""
    if not is_destination_charge(payment) or payment.status not in SETTLED_STATES:
        return
    net = pricing.builder_net(amount=payment.amount, refunded=payment.amount_refunded,
                              fee=payment.application_fee_amount,
                              fee_refunded=fee_refunded(session=session, payment=payment))
    if payment.net_amount != net:
        _move(session, payment, net_amount=net)


def record_destination_charge(*, session: Session, payment: Payment | None, transfer_id: str | None,
                              destination_account_id: str | None = None,
                              application_fee_amount: int | None = None) -> bool:
    """What Stripe says of a paid destination charge: its transfer to the builder and the fee it took.
    Fills blanks only (a transfer id never changes). True when something was recorded."""
    if payment is None:
        return False
    values: dict[str, Any] = {}
    if transfer_id and payment.transfer_id is None:
        taken = session.exec(select(Payment.id).where(Payment.transfer_id == transfer_id)).first()
        if taken is None:
            values["transfer_id"] = transfer_id
    if destination_account_id and not payment.destination_account_id:
        values["destination_account_id"] = destination_account_id
    if application_fee_amount is not None and payment.application_fee_amount != application_fee_amount \
            and (destination_account_id or payment.destination_account_id):
        values["application_fee_amount"] = int(application_fee_amount)  # what Stripe actually took
    if values:
        _move(session, payment, **values)
    update_net(session=session, payment=payment)
    movements.sync_payment(session=session, payment=payment)
    return bool(values)


def true_up_fee_refunds(*, session: Session, payment: Payment, stripe_fee_refunded: int) -> bool:
    """Stripe's own total of the fee given back wins over our proportional estimate: the difference
    lands on the latest accepted refund of the payment (never below zero)."""
    ours = fee_refunded(session=session, payment=payment)
    if stripe_fee_refunded == ours:
        return False
    latest = session.exec(
        select(Refund).where(Refund.payment_id == payment.id, Refund.status.in_(ACCEPTED_REFUNDS))
        .order_by(Refund.id.desc())
    ).first()
    if latest is None:
        return False
    adjusted = max(latest.application_fee_refunded + stripe_fee_refunded - ours, 0)
    if adjusted == latest.application_fee_refunded:
        return False
    latest.application_fee_refunded, latest.updated_at = adjusted, utcnow()
    session.add(latest)
    session.flush()
    update_net(session=session, payment=payment)
    movements.sync_payment(session=session, payment=payment)
    return True


# --- cross-checks: what Stripe says was paid against what we asked for ------------------------------------


class MismatchKind(StrEnum):
    SESSION_ID = "session_id"  # a session we never made for this booking
    BOOKING = "booking"  # our session, but its metadata names another booking
    AMOUNT = "amount"
    CURRENCY = "currency"


def cross_check_checkout(*, session: Session, checkout: CheckoutSession, event_id: str | None = None,
                         now: datetime | None = None) -> list[PaymentMismatch]:
    """A paid (or completed) Checkout Session against its booking's record, before anything is confirmed.

    The session must be one we made for that booking (a Payment row names it; or the booking's current
    attempt is still `creating`, the window between Stripe's answer and our commit), and its amount and
    currency those we asked for. Each
    difference is recorded once (PaymentMismatch) and returned; any means: do not confirm.
    """
    named = checkout.metadata.get("booking_id") or checkout.client_reference_id
    ours = session.exec(select(Payment).where(Payment.checkout_session_id == checkout.id)).first()
    booking = session.get(Booking, ours.booking_id) if ours is not None else (
        session.get(Booking, named) if named else None)
    if booking is None:
        return []  # not about a booking of ours: the caller acknowledges it, nothing is confirmed
    found: list[tuple[MismatchKind, str, str]] = []
    if ours is not None and named and named != ours.booking_id:
        found.append((MismatchKind.BOOKING, ours.booking_id, named))
    payment = ours or _unnamed_attempt(session=session, booking=booking, checkout_session_id=checkout.id)
    if payment is None:
        current = current_payment(session=session, booking=booking)
        found.append((MismatchKind.SESSION_ID, (current.checkout_session_id if current else None) or "", checkout.id))
    else:
        # A setup session (a card kept for a no-show fee) names no amount: only its currency is ours to check.
        found += _money_differences(expected_amount=payment.amount, expected_currency=payment.currency,
                                    amount=checkout.amount_total, currency=checkout.currency,
                                    amount_required=checkout.mode is not CheckoutMode.SETUP)
    return [_record_mismatch(session=session, booking_id=booking.id, event_id=event_id, stripe_object_id=checkout.id,
                             kind=kind, expected=expected, actual=actual, now=now)
            for kind, expected, actual in found]


def cross_check_intent(*, session: Session, located: Located, intent: dict[str, Any], event_id: str | None = None,
                       now: datetime | None = None) -> list[PaymentMismatch]:
    """A succeeded PaymentIntent's amount and currency against the attempt (or booking) it pays for. (A
    PaymentIntent does not name its Checkout Session: the session's own event checks that.)"""
    expected = located.payment or current_payment(session=session, booking=located.booking)
    if expected is None:
        return []
    amount = intent.get("amount_received") or intent.get("amount")
    found = _money_differences(expected_amount=expected.amount, expected_currency=expected.currency,
                               amount=int(amount) if amount is not None else None, currency=intent.get("currency"))
    return [_record_mismatch(session=session, booking_id=located.booking.id, event_id=event_id,
                             stripe_object_id=intent.get("id"), kind=kind, expected=want, actual=got, now=now)
            for kind, want, got in found]


def session_differences(*, payment: Payment | None, checkout: CheckoutSession) -> str:
    """A session Stripe just made, against the attempt that asked for it ("" when they agree)."""
    if payment is None:
        return ""
    found = _money_differences(expected_amount=payment.amount, expected_currency=payment.currency,
                               amount=checkout.amount_total, currency=checkout.currency)
    return "; ".join(f"{kind}: ours {expected}, Stripe's {actual}" for kind, expected, actual in found)


def _unnamed_attempt(*, session: Session, booking: Booking, checkout_session_id: str) -> Payment | None:
    """The attempt a session of ours that no row names yet belongs to: the current one while `creating`
    (Stripe answered, our commit did not happen yet)."""
    current = current_payment(session=session, booking=booking)
    if current is not None and current.status == PaymentStatus.CREATING and current.checkout_session_id is None:
        return current
    return None


def _money_differences(*, expected_amount: int, expected_currency: str, amount: int | None,
                       currency: str | None, amount_required: bool = False) -> list[tuple[MismatchKind, str, str]]:
    """`amount_required`: a completed Checkout Session that names no amount paid is not proof of payment."""
    if currency and currency.lower() != expected_currency.lower():
        return [(MismatchKind.CURRENCY, expected_currency.upper(), currency.upper())]
    if amount is None and amount_required:
        return [(MismatchKind.AMOUNT, format_money(expected_amount, expected_currency), "none")]
    if amount is not None and int(amount) != expected_amount:
        return [(MismatchKind.AMOUNT, format_money(expected_amount, expected_currency),
                 format_money(int(amount), currency or expected_currency))]
    return []


def _record_mismatch(*, session: Session, booking_id: str | None, event_id: str | None, stripe_object_id: str | None,
                     kind: MismatchKind, expected: str, actual: str, now: datetime | None) -> PaymentMismatch:
    """Once per (booking, Stripe object, kind): a redelivered event finds the row it left."""
    existing = session.exec(select(PaymentMismatch).where(
        PaymentMismatch.booking_id == booking_id, PaymentMismatch.stripe_object_id == stripe_object_id,
        PaymentMismatch.kind == kind)).first()
    if existing is not None:
        return existing
    row = PaymentMismatch(booking_id=booking_id, event_id=(event_id or None) and event_id[:255],
                          stripe_object_id=(stripe_object_id or None) and stripe_object_id[:255], kind=kind,
                          expected=expected[:255], actual=actual[:255], created_at=now or utcnow())
    session.add(row)
    session.flush()
    log.warning("payment mismatch on booking %s: %s expected %s, Stripe says %s (%s)", booking_id, kind, expected,
                actual, stripe_object_id)
    return row


# --- memberships: each subscription invoice (booking/events/membership_events.py) ------------------------------


@dataclass(frozen=True)
class InvoiceFacts:
    """A subscription invoice, as Stripe's invoice.* event carries it."""

    stripe_invoice_id: str
    amount: int  # amount_paid when paid, amount_due when it failed
    currency: str
    period_start: datetime | None
    period_end: datetime | None
    occurred_at: datetime


def record_membership_invoice(*, session: Session, membership_id: int, facts: InvoiceFacts, paid: bool,
                              application_fee_amount: int, destination_account_id: str | None) -> MembershipInvoice:
    """The invoice's row (once per Stripe invoice), and once paid its Payment (kind MEMBERSHIP, booking nothing)
    with the charge, transfer and platform fee in the journal. A failure never undoes a payment: an invoice
    paid after a failed attempt (a new card) moves failed → paid, never back."""
    row = session.exec(select(MembershipInvoice).where(
        MembershipInvoice.stripe_invoice_id == facts.stripe_invoice_id).with_for_update()).first()
    if row is None:
        row = MembershipInvoice(membership_id=membership_id, stripe_invoice_id=facts.stripe_invoice_id,
                                status=MembershipInvoiceStatus.PAID if paid else MembershipInvoiceStatus.FAILED,
                                amount=facts.amount, currency=facts.currency.lower(),
                                application_fee_amount=application_fee_amount if destination_account_id else 0,
                                destination_account_id=destination_account_id, period_start=facts.period_start,
                                period_end=facts.period_end)
        try:
            with session.begin_nested():  # two deliveries at once: the first row wins
                session.add(row)
                session.flush()
        except sa.exc.IntegrityError:
            row = session.exec(select(MembershipInvoice).where(
                MembershipInvoice.stripe_invoice_id == facts.stripe_invoice_id).with_for_update()).one()
    if not paid:
        if row.status != MembershipInvoiceStatus.PAID and row.failed_at is None:
            row.status, row.failed_at, row.updated_at = MembershipInvoiceStatus.FAILED, facts.occurred_at, utcnow()
            session.add(row)
        return row
    if row.payment_id is None:
        payment = Payment(booking_id=None, kind=PaymentKind.MEMBERSHIP, amount=facts.amount,
                          currency=facts.currency.lower(), status=PaymentStatus.PAID, paid_at=facts.occurred_at,
                          application_fee_amount=row.application_fee_amount,
                          destination_account_id=row.destination_account_id)
        session.add(payment)
        session.flush()
        row.payment_id = payment.id
        row.status, row.paid_at, row.updated_at = MembershipInvoiceStatus.PAID, facts.occurred_at, utcnow()
        row.amount = facts.amount
        session.add(row)
        session.flush()
        update_net(session=session, payment=payment)
        movements.sync_payment(session=session, payment=payment)
    return row
