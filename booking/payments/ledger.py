"""Payment and Refund rows: the money of a booking, kept apart from the appointment.

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
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from booking.core.models import (
    Booking,
    BookingStatus,
    CheckoutStatus,
    Payment,
    PaymentMismatch,
    PaymentStatus,
    Refund,
    RefundStatus,
    utcnow,
)
from booking.core.time import format_money
from booking.payments import pricing
from booking.payments.gateway import CheckoutRequest, CheckoutSession, PaymentGateway
from booking.payments.gateway import Refund as StripeRefund

log = logging.getLogger(__name__)

# session.info key: the booking the latest lookup found (dispatch files the event under it).
LOCATED_BOOKING = "payment_records.located_booking_id"

UNPAID_STATES = (CheckoutStatus.CREATING, CheckoutStatus.OPEN, CheckoutStatus.FAILED)
SETTLED_STATES = (CheckoutStatus.PAID, CheckoutStatus.PARTIALLY_REFUNDED, CheckoutStatus.REFUNDED)
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
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELED,
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
    prefixes = {"cs_": "checkout.session", "pi_": "payment_intent", "ch_": "charge", "re_": "refund"}
    return next((kind for prefix, kind in prefixes.items() if (object_id or "").startswith(prefix)), None)


# --- the one lookup ------------------------------------------------------------------------------------


def locate(*, session: Session, ref: StripeRef, gateway: PaymentGateway | None = None) -> Located:
    """The booking (and its Payment row) a Stripe object is about; raises UnknownBooking.

    Looks in our rows first (checkout session id, payment intent id, the booking id in metadata);
    given a gateway, a payment intent we have never seen is traced through Stripe's Checkout Session
    record (a refund can overtake the payment events). A booking without a row for its current
    Checkout attempt (made before payment records existed) gets one from its own columns.
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
    booking = session.get(Booking, payment.booking_id) if payment is not None else None
    if booking is None and ref.booking_id:
        booking = session.get(Booking, ref.booking_id)
    if booking is None and ref.payment_intent_id:
        booking = session.exec(select(Booking).where(Booking.payment_intent_id == ref.payment_intent_id)).first()
    return booking, payment


def known_booking_id(*, session: Session, ref: StripeRef) -> str | None:
    """The booking a Stripe object is about, if our rows already say so (read-only)."""
    booking, _payment = _find(session=session, ref=ref)
    return booking.id if booking is not None else None


def _attempt_of(*, session: Session, booking: Booking, ref: StripeRef) -> Payment | None:
    """The row of the attempt `ref` is about, when we hold none yet."""
    current = current_payment(session=session, booking=booking)
    if ref.checkout_session_id and current.checkout_session_id not in (None, ref.checkout_session_id):
        return _older_attempt(session=session, booking=booking, checkout_session_id=ref.checkout_session_id)
    if ref.payment_intent_id and current.payment_intent_id not in (None, ref.payment_intent_id):
        return None  # another attempt's payment intent, that we never linked to its session
    if ref.checkout_session_id and current.checkout_session_id is None:
        current.checkout_session_id = ref.checkout_session_id
        session.add(current)
        session.flush()
    return current


def current_payment(*, session: Session, booking: Booking) -> Payment:
    """The Payment row of the booking's current Checkout attempt, made from its columns if missing."""
    attempt = max(booking.checkout_attempts, 1)
    payment = session.exec(
        select(Payment).where(Payment.booking_id == booking.id, Payment.attempt == attempt)
    ).first()
    if payment is not None:
        return payment
    if booking.checkout_session_id:
        payment = session.exec(
            select(Payment).where(Payment.checkout_session_id == booking.checkout_session_id)
        ).first()
        if payment is not None:
            return payment
    intent_taken = booking.payment_intent_id and session.exec(
        select(Payment.id).where(Payment.payment_intent_id == booking.payment_intent_id)
    ).first()
    payment = Payment(
        booking_id=booking.id,
        attempt=attempt,
        checkout_session_id=booking.checkout_session_id,
        payment_intent_id=None if intent_taken else booking.payment_intent_id,
        amount=booking.amount,
        currency=booking.currency,
        status=_status_from_booking(booking),
        amount_refunded=booking.amount_refunded,
        paid_at=booking.confirmed_at,
    )
    try:
        with session.begin_nested():
            session.add(payment)
            session.flush()
    except sa.exc.IntegrityError:  # a concurrent event made the same row first: use theirs
        return session.exec(
            select(Payment).where(Payment.booking_id == booking.id, Payment.attempt == attempt)
        ).one()
    return payment


def _status_from_booking(booking: Booking) -> CheckoutStatus:
    """As the 0003 migration carries a booking over."""
    if booking.payment_status in (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED,
                                  PaymentStatus.PROCESSING, PaymentStatus.FAILED):
        return CheckoutStatus(booking.payment_status.value)
    return CheckoutStatus.OPEN if booking.status == BookingStatus.PENDING else CheckoutStatus.EXPIRED


def _older_attempt(*, session: Session, booking: Booking, checkout_session_id: str) -> Payment | None:
    """A session of an attempt before payment records existed: give it the latest free attempt number."""
    used = set(session.exec(select(Payment.attempt).where(Payment.booking_id == booking.id)).all())
    free = [n for n in range(booking.checkout_attempts - 1, 0, -1) if n not in used]
    if not free:
        return None
    payment = Payment(booking_id=booking.id, attempt=free[0], checkout_session_id=checkout_session_id,
                      amount=booking.amount, currency=booking.currency, status=CheckoutStatus.OPEN)
    session.add(payment)
    session.flush()
    return payment


def last_located_booking(session: Session) -> str | None:
    return session.info.get(LOCATED_BOOKING)


# --- Checkout attempts ----------------------------------------------------------------------------------


def begin_attempt(*, session: Session, booking: Booking, request: CheckoutRequest) -> Payment:
    """The row of a Checkout attempt about to be asked of Stripe (`creating`: no session yet), with the
    amount and currency we ask for, and the destination account and platform fee (a destination charge).
    Written and committed before the Stripe call: a crash after it is what reconcile repairs."""
    destination = request.destination_account_id
    payment = Payment(
        booking_id=booking.id,
        attempt=booking.checkout_attempts,
        amount=booking.amount,
        currency=booking.currency,
        status=CheckoutStatus.CREATING,
        destination_account_id=destination,
        application_fee_amount=(request.application_fee_amount or 0) if destination else 0,
    )
    session.add(payment)
    session.flush()
    return payment


def attempt_created(*, session: Session, payment: Payment, checkout: CheckoutSession) -> None:
    """Stripe made the attempt's Checkout Session: the row names it and is open (a webhook that came
    first may have moved it on already)."""
    values: dict[str, Any] = {}
    if payment.checkout_session_id is None:
        values["checkout_session_id"] = checkout.id
    if payment.status == CheckoutStatus.CREATING:
        values["status"] = CheckoutStatus.OPEN
    if values:
        _move(session, payment, **values)


def abandon_attempt(*, session: Session, payment: Payment | None, message: str) -> None:
    """Stripe could not make the attempt's session (or we could not record it): the attempt ends."""
    if payment is not None and payment.status == CheckoutStatus.CREATING:
        _move(session, payment, status=CheckoutStatus.EXPIRED, failure_message=message[:500], failed_at=utcnow())


def attempt_of(*, session: Session, booking_id: str, attempt: int) -> Payment | None:
    return session.exec(select(Payment).where(Payment.booking_id == booking_id, Payment.attempt == attempt)).first()


def open_attempt(*, session: Session, booking: Booking, checkout: CheckoutSession,
                 request: CheckoutRequest | None = None) -> Payment:
    """The row of a new Checkout attempt (`attempt` = the booking's attempt counter), with the
    destination account and platform fee it asked Stripe for (a destination charge)."""
    destination = request.destination_account_id if request is not None else None
    payment = Payment(
        booking_id=booking.id,
        attempt=booking.checkout_attempts,
        checkout_session_id=checkout.id,
        amount=checkout.amount_total if checkout.amount_total is not None else booking.amount,
        currency=checkout.currency or booking.currency,
        status=CheckoutStatus.OPEN,
        destination_account_id=destination,
        application_fee_amount=(request.application_fee_amount or 0) if destination else 0,
    )
    session.add(payment)
    session.flush()
    return payment


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
        values["status"] = CheckoutStatus.PAID
    if payment.paid_at is None:
        values["paid_at"] = now
    if payment_intent_id and not payment.payment_intent_id and _free_intent(
            session=session, payment=payment, payment_intent_id=payment_intent_id, authoritative=False):
        values["payment_intent_id"] = payment_intent_id
    if values:
        _move(session, payment, **values)
    update_net(session=session, payment=payment)


def mark_processing(*, session: Session, payment: Payment | None) -> None:
    if payment is not None and payment.status in UNPAID_STATES:
        _move(session, payment, status=CheckoutStatus.PROCESSING)


def mark_failed(*, session: Session, payment: Payment | None, code: str | None, message: str | None,
                after_processing: bool = False, now: datetime | None = None) -> None:
    """A declined card (the session stays payable) or a delayed payment that failed."""
    allowed = UNPAID_STATES + ((CheckoutStatus.PROCESSING,) if after_processing else ())
    if payment is None or payment.status not in allowed:
        return
    _move(session, payment, status=CheckoutStatus.FAILED, failure_code=(code or None) and code[:100],
          failure_message=(message or None) and message[:500], failed_at=now or utcnow())


def mark_expired(*, session: Session, payment: Payment | None) -> None:
    if payment is not None and payment.status in UNPAID_STATES:
        _move(session, payment, status=CheckoutStatus.EXPIRED)


def expire_session_attempt(*, session: Session, checkout_session_id: str | None) -> None:
    """The Checkout Session ended unpaid (expired at Stripe, replaced by a retry, released)."""
    if checkout_session_id:
        payment = session.exec(select(Payment).where(Payment.checkout_session_id == checkout_session_id)).first()
        mark_expired(session=session, payment=payment)


# --- refunds ----------------------------------------------------------------------------------------------


def refund_status_of(stripe_status: str | None) -> RefundStatus:
    return _STRIPE_REFUND_STATUS.get(stripe_status or "", RefundStatus.PENDING)


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
        row = _legacy_row(session=session, payment=payment, amount=refund.amount)
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
        row.status = incoming
        row.failure_reason = refund.failure_reason if incoming == RefundStatus.FAILED else None
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return row


def _requested_row(*, session: Session, booking: Booking, refund: StripeRefund) -> Refund | None:
    refund_id = refund.metadata.get("refund_id")
    if not refund_id or not refund_id.isdigit():
        return None
    row = session.get(Refund, int(refund_id))
    if row is None or row.booking_id != booking.id or row.stripe_refund_id not in (None, refund.id):
        return None
    return row


def _legacy_row(*, session: Session, payment: Payment, amount: int) -> Refund | None:
    """A refund carried over by the 0003 migration (no Stripe id then): adopted by its amount."""
    return session.exec(
        select(Refund).where(Refund.payment_id == payment.id, Refund.stripe_refund_id.is_(None),
                             Refund.request_key.is_(None), Refund.amount == amount,
                             Refund.status == RefundStatus.SUCCEEDED)
        .order_by(Refund.id)
    ).first()


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
    """Bring the payment's refund totals up to date (idempotent). The booking follows through
    `lifecycle.transitions.refunds_settled`, which the caller invokes with the returned payment."""
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
        return payment
    status = CheckoutStatus.REFUNDED if total >= payment.amount else CheckoutStatus.PARTIALLY_REFUNDED
    if (payment.amount_refunded, payment.status) != (total, status):
        _move(session, payment, amount_refunded=total, status=status)
    update_net(session=session, payment=payment)
    return payment


def paid_payment_of(*, session: Session, booking: Booking) -> Payment | None:
    """The booking's paid Payment (the one its payment intent points at, else the latest paid)."""
    rows = session.exec(
        select(Payment).where(Payment.booking_id == booking.id, Payment.status.in_(SETTLED_STATES))
        .order_by(Payment.attempt.desc())
    ).all()
    for payment in rows:
        if booking.payment_intent_id and payment.payment_intent_id == booking.payment_intent_id:
            return payment
    return rows[0] if rows else None


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
    return True


# --- cross-checks: what Stripe says was paid against what we asked for ------------------------------------


class MismatchKind:
    SESSION_ID = "session_id"  # a session we never made for this booking
    BOOKING = "booking"  # our session, but its metadata names another booking
    AMOUNT = "amount"
    CURRENCY = "currency"


def cross_check_checkout(*, session: Session, checkout: CheckoutSession, event_id: str | None = None,
                         now: datetime | None = None) -> list[PaymentMismatch]:
    """A paid (or completed) Checkout Session against its booking's record, before anything is confirmed.

    The session must be one we made for that booking (a Payment row names it; or the booking's current
    attempt is still `creating`, the window between Stripe's answer and our commit; or, for a booking
    from before payment records, its own column), and its amount and currency those we asked for. Each
    difference is recorded once (PaymentMismatch) and returned; any means: do not confirm.
    """
    named = checkout.metadata.get("booking_id") or checkout.client_reference_id
    ours = session.exec(select(Payment).where(Payment.checkout_session_id == checkout.id)).first()
    booking = session.get(Booking, ours.booking_id) if ours is not None else (
        session.get(Booking, named) if named else None)
    if booking is None:
        return []  # not about a booking of ours: the caller acknowledges it, nothing is confirmed
    found: list[tuple[str, str, str]] = []
    if ours is not None and named and named != ours.booking_id:
        found.append((MismatchKind.BOOKING, ours.booking_id, named))
    payment = ours or _unnamed_attempt(session=session, booking=booking, checkout_session_id=checkout.id)
    if payment is None:
        found.append((MismatchKind.SESSION_ID, booking.checkout_session_id or "", checkout.id))
    else:
        found += _money_differences(expected_amount=payment.amount, expected_currency=payment.currency,
                                    amount=checkout.amount_total, currency=checkout.currency)
    return [_record_mismatch(session=session, booking_id=booking.id, event_id=event_id, stripe_object_id=checkout.id,
                             kind=kind, expected=expected, actual=actual, now=now)
            for kind, expected, actual in found]


def cross_check_intent(*, session: Session, located: Located, intent: dict[str, Any], event_id: str | None = None,
                       now: datetime | None = None) -> list[PaymentMismatch]:
    """A succeeded PaymentIntent's amount and currency against the attempt (or booking) it pays for. (A
    PaymentIntent does not name its Checkout Session: the session's own event checks that.)"""
    expected = located.payment or located.booking
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
    (Stripe answered, our commit did not happen yet), or a pre-payment-records booking's own session."""
    current = session.exec(
        select(Payment).where(Payment.booking_id == booking.id, Payment.attempt == max(booking.checkout_attempts, 1))
    ).first()
    if current is not None and current.status == CheckoutStatus.CREATING and current.checkout_session_id is None:
        return current
    if booking.checkout_session_id == checkout_session_id:
        return current_payment(session=session, booking=booking)
    return None


def _money_differences(*, expected_amount: int, expected_currency: str, amount: int | None,
                       currency: str | None) -> list[tuple[str, str, str]]:
    if currency and currency.lower() != expected_currency.lower():
        return [(MismatchKind.CURRENCY, expected_currency.upper(), currency.upper())]
    if amount is not None and int(amount) != expected_amount:
        return [(MismatchKind.AMOUNT, format_money(expected_amount, expected_currency),
                 format_money(int(amount), currency or expected_currency))]
    return []


def _record_mismatch(*, session: Session, booking_id: str | None, event_id: str | None, stripe_object_id: str | None,
                     kind: str, expected: str, actual: str, now: datetime | None) -> PaymentMismatch:
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
