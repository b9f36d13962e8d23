"""Held funds released, and Stripe's fees read: the money journal's jobs (booking/ops/worker.py `JOBS`).

A payment taken while its builder's payouts were not enabled has no destination (`connect.charge_plan`):
the platform holds it. Once the builder's payouts are enabled (`account.updated` → `connect.apply_account`),
`release_held_funds` pays each held payment's builder share out: amount − refunds − the platform fee kept
(`pricing.quote` and `pricing.builder_net`, at today's fee settings), as a transfer linked to the payment's
charge (`source_transaction`: the funds come from it, whatever the platform's balance), in a transfer group
naming the booking. Exactly once, even with several workers and a replayed event:

- the job runs under the worker's leader lock (one runner at a time);
- the transfer's idempotency key comes from the payment (its id and creation time), so a second call, from
  a worker that lost the lock or a retry after a crash, gets Stripe's first answer, not a second transfer;
- `Payment.release_transfer_id` is unique and written under the payment's row lock, and the journal's
  TRANSFER movement of a payment has one key, whichever worker records it.

A refund of a released payment afterwards (the refund itself only touches the platform's balance: there is
no destination charge to reverse) is followed here by a reversal of the released transfer, down to the
builder's new share.

`record_stripe_fees` reads each paid charge's balance transaction and records Stripe's processing fee
(STRIPE_FEE); `backfill_journal` gives payments made before the journal existed their movements from
their Payment and Refund rows. No Stripe call is made with a transaction open.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.core.db import session_scope
from booking.core.models import (
    Builder,
    Dispute,
    DisputeStatus,
    MoneyMovement,
    MovementKind,
    Payment,
    PaymentStatus,
    utcnow,
)
from booking.payments import ledger, movements, pricing, sales
from booking.payments.gateway import PaymentGateway, PaymentProviderError

log = logging.getLogger(__name__)

BATCH = 50


# --- what a held payment owes its builder -----------------------------------------------------------------


def builder_share(*, amount: int, refunded: int, currency: str, settings: Any) -> int:
    """The builder's share of a held payment: what is left of it less the platform fee kept (the fee is
    given back in proportion to refunds, as for a destination charge)."""
    fee = pricing.quote(amount, currency, settings).platform_fee
    returned = pricing.fee_refund_for(refunded, amount, fee) if refunded else 0
    return pricing.builder_net(amount=amount, refunded=refunded, fee=fee, fee_refunded=returned)


def is_held(payment: Payment) -> bool:
    """The platform holds this payment's money for its builder (not a destination charge, not released)."""
    return (not payment.destination_account_id and payment.release_transfer_id is None
            and payment.status in ledger.SETTLED_STATES)


def release_idempotency_key(payment: Payment) -> str:
    """One transfer per payment. The creation time (to the microsecond) tells apart the payments of a fresh
    database that reuse an id (Stripe keeps keys for 24 hours)."""
    created = payment.created_at if payment.created_at.utcoffset() is not None else \
        payment.created_at.replace(tzinfo=UTC)
    return f"release-held-payment-{payment.id}-{created:%Y%m%d%H%M%S%f}"


@dataclass(frozen=True)
class Due:
    payment_id: int
    booking_id: str | None  # None: a package sale (no booking)
    payment_intent_id: str
    account_id: str
    amount: int
    currency: str
    key: str
    transfer_id: str | None = None  # a reversal: the released transfer


# A chargeback that is open or lost: the money is the bank's (or may be), so a held payment stays held.
DISPUTED = (DisputeStatus.NEEDS_RESPONSE, DisputeStatus.UNDER_REVIEW, DisputeStatus.LOST)


def _booking_of(due: Due) -> dict[str, str]:
    """The transfer's metadata naming the booking (a package sale has none)."""
    return {"booking_id": due.booking_id} if due.booking_id else {}


def _held_due(session: Session, settings: Any, limit: int) -> list[Due]:
    """Held payments whose builder can be paid now, with their share (nothing while a refund is on its way,
    nor while the payment is disputed or after a lost dispute)."""
    disputed = sa.exists().where(Dispute.payment_id == Payment.id, Dispute.status.in_(DISPUTED))
    rows = session.exec(
        sales.with_sale(select(Payment, Builder.stripe_account_id))  # a booking's, a package sale, ...
        .join(Builder, Builder.id == sales.builder_of_payment())
        .where(Payment.destination_account_id.is_(None), Payment.release_transfer_id.is_(None),
               Payment.status.in_((PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED)),
               Payment.payment_intent_id.is_not(None), Builder.stripe_account_id.is_not(None),
               Builder.payouts_enabled.is_(True), ~disputed)
        .order_by(Payment.paid_at, Payment.id).limit(limit)
    ).all()
    due = []
    for payment, account_id in rows:
        if ledger.in_flight(session=session, payment=payment):
            continue
        share = builder_share(amount=payment.amount, refunded=payment.amount_refunded, currency=payment.currency,
                              settings=settings)
        if share > 0:
            due.append(Due(payment_id=payment.id, booking_id=payment.booking_id,
                           payment_intent_id=payment.payment_intent_id, account_id=account_id, amount=share,
                           currency=payment.currency, key=release_idempotency_key(payment)))
    return due


def _reversals_due(session: Session, settings: Any, limit: int) -> list[Due]:
    """Released payments refunded since: the builder's transfer is taken back down to their new share."""
    transferred = sa.func.coalesce(sa.func.sum(sa.case(
        (MoneyMovement.kind == MovementKind.TRANSFER, MoneyMovement.amount),
        (MoneyMovement.kind == MovementKind.TRANSFER_REVERSAL, -MoneyMovement.amount), else_=0)), 0)
    rows = session.exec(
        select(Payment, transferred)
        .join(MoneyMovement, MoneyMovement.payment_id == Payment.id)
        .where(Payment.release_transfer_id.is_not(None), Payment.amount_refunded > 0)
        .group_by(Payment.id).limit(limit * 4)
    ).all()
    due = []
    for payment, builder_has in rows:
        share = builder_share(amount=payment.amount, refunded=payment.amount_refunded, currency=payment.currency,
                              settings=settings)
        if int(builder_has) > share:
            due.append(Due(payment_id=payment.id, booking_id=payment.booking_id,
                           payment_intent_id=payment.payment_intent_id or "", account_id="",
                           amount=int(builder_has) - share, currency=payment.currency,
                           key=f"{release_idempotency_key(payment)}-down-to-{share}",
                           transfer_id=payment.release_transfer_id))
        if len(due) >= limit:
            break
    return due


# --- the release job --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseResult:
    released: int = 0
    reversed: int = 0
    failed: int = 0

    def __bool__(self) -> bool:
        return bool(self.released or self.reversed)


def release_held_funds(*, engine: Engine, gateway: PaymentGateway, settings: Any, limit: int = BATCH) -> ReleaseResult:
    """One tick: pay out held payments whose builder's payouts are enabled, and take back from released
    transfers what later refunds gave the client. Safe to run concurrently and again."""
    with session_scope(engine) as session:
        held = _held_due(session, settings, limit)
        taken_back = _reversals_due(session, settings, limit)
    released = reversed_ = failed = 0
    for due in held:
        try:
            charge = gateway.retrieve_charge_fee(due.payment_intent_id)
            if not charge.charge_id:
                raise PaymentProviderError(f"payment intent {due.payment_intent_id} has no charge")
            transfer = gateway.create_transfer(
                amount=due.amount, currency=due.currency, destination=due.account_id,
                source_transaction=charge.charge_id,
                transfer_group=f"booking_{due.booking_id}" if due.booking_id else f"payment_{due.payment_id}",
                metadata={**_booking_of(due), "payment_id": str(due.payment_id), "reason": "held_funds_release"},
                idempotency_key=due.key)
        except PaymentProviderError as exc:
            failed += 1
            log.warning("held funds of payment %s not released yet: %s", due.payment_id, exc)
            continue
        with session_scope(engine) as session:
            released += int(record_release(session=session, payment_id=due.payment_id, transfer_id=transfer.id,
                                           amount=transfer.amount, fee=charge))
    for due in taken_back:
        try:
            reversal = gateway.reverse_transfer(due.transfer_id, amount=due.amount, idempotency_key=due.key,
                                                metadata={**_booking_of(due), "payment_id": str(due.payment_id),
                                                          "reason": "refund_after_release"})
        except PaymentProviderError as exc:
            failed += 1
            log.warning("released transfer %s of payment %s not reversed yet: %s", due.transfer_id,
                        due.payment_id, exc)
            continue
        with session_scope(engine) as session:
            payment = session.get(Payment, due.payment_id)
            reversed_ += int(movements.record_release_reversal(session=session, payment=payment,
                                                               reversal_id=reversal.id, amount=reversal.amount)
                             is not None)
    return ReleaseResult(released=released, reversed=reversed_, failed=failed)


def record_release(*, session: Session, payment_id: int, transfer_id: str, amount: int, fee: Any = None,
                   now: datetime | None = None) -> bool:
    """Stripe made the release transfer: the payment names it (once, under its row lock) and the journal
    has it. True when this call recorded it."""
    payment = session.exec(select(Payment).where(Payment.id == payment_id).with_for_update()).one()
    if payment.release_transfer_id not in (None, transfer_id):
        log.error("payment %s was released by %s; Stripe answered %s", payment_id, payment.release_transfer_id,
                  transfer_id)
        return False
    newly = payment.release_transfer_id is None
    if newly:
        payment.release_transfer_id, payment.released_at, payment.updated_at = transfer_id, now or utcnow(), utcnow()
        session.add(payment)
        session.flush()
    movements.sync_payment(session=session, payment=payment)
    movements.record_release(session=session, payment=payment, transfer_id=transfer_id, amount=amount)
    if fee is not None and fee.balance_transaction_id and fee.fee:
        movements.record_stripe_fee(session=session, payment=payment, fee=fee.fee,
                                    balance_transaction_id=fee.balance_transaction_id, currency=fee.currency)
    return newly


# --- Stripe's fees and the journal's backfill ---------------------------------------------------------------


def backfill_journal(*, engine: Engine, limit: int = 500) -> int:
    """Paid payments with no movement yet (made before the journal): their movements from their rows."""
    with session_scope(engine) as session:
        charged = select(MoneyMovement.id).where(MoneyMovement.payment_id == Payment.id,
                                                 MoneyMovement.kind == MovementKind.CHARGE)
        payments = session.exec(select(Payment).where(Payment.status.in_(ledger.SETTLED_STATES),
                                                      ~sa.exists(charged))
                                .order_by(Payment.id).limit(limit)).all()
        return sum(movements.sync_payment(session=session, payment=payment) for payment in payments)


def record_stripe_fees(*, engine: Engine, gateway: PaymentGateway, limit: int = BATCH,
                       skip: set[int] | None = None) -> int:
    """Stripe's fee of each paid charge whose fee the journal lacks, from its balance transaction. `skip`:
    payments already asked about that have no fee (so a tick does not ask again); they are added to it."""
    skip = skip if skip is not None else set()
    with session_scope(engine) as session:
        has_fee = select(MoneyMovement.id).where(MoneyMovement.payment_id == Payment.id,
                                                 MoneyMovement.kind == MovementKind.STRIPE_FEE)
        query = select(Payment.id, Payment.payment_intent_id).where(
            Payment.status.in_(ledger.SETTLED_STATES), Payment.payment_intent_id.is_not(None), ~sa.exists(has_fee))
        if skip:
            query = query.where(Payment.id.not_in(sorted(skip)))
        wanted = session.exec(query.order_by(Payment.paid_at.desc(), Payment.id.desc()).limit(limit)).all()
    recorded = 0
    for payment_id, payment_intent_id in wanted:
        try:
            fee = gateway.retrieve_charge_fee(payment_intent_id)
        except PaymentProviderError as exc:
            log.warning("Stripe's fee of payment %s not read yet: %s", payment_id, exc)
            continue
        if not fee.balance_transaction_id or fee.fee <= 0:
            skip.add(payment_id)
            continue
        try:
            with session_scope(engine) as session:
                payment = session.get(Payment, payment_id)
                recorded += int(movements.record_stripe_fee(session=session, payment=payment, fee=fee.fee,
                                                            balance_transaction_id=fee.balance_transaction_id,
                                                            currency=fee.currency) is not None)
        except movements.BadMovement as exc:  # say, settled in another currency than the charge's
            skip.add(payment_id)
            log.warning("Stripe's fee of payment %s not recorded: %s", payment_id, exc)
    return recorded
