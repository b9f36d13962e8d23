"""The money journal: where every penny of a payment went, as append-only movements between the client,
the platform, the builder and Stripe. Part of the ledger: this module is the only writer of
`MoneyMovement` rows, as `ledger.py` is of Payment and Refund rows.

Each kind moves money one way (`FLOWS`), so the journal balances by construction: for every payment,
what the platform, the builder and Stripe hold adds up to what the client paid minus what went back to
the client (refunds and disputes). `record` is idempotent on `key` (one key per Stripe object and kind),
so a replayed or duplicated event records nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from booking.core.models import (
    MoneyMovement,
    MovementKind,
    Party,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    utcnow,
)

_SETTLED = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)
_ACCEPTED_REFUNDS = (RefundStatus.PENDING, RefundStatus.SUCCEEDED)

FLOWS: dict[MovementKind, tuple[Party, Party]] = {
    MovementKind.CHARGE: (Party.CLIENT, Party.PLATFORM),
    MovementKind.STRIPE_FEE: (Party.PLATFORM, Party.STRIPE),
    MovementKind.TRANSFER: (Party.PLATFORM, Party.BUILDER),
    MovementKind.APPLICATION_FEE: (Party.BUILDER, Party.PLATFORM),
    MovementKind.REFUND: (Party.PLATFORM, Party.CLIENT),
    MovementKind.REFUND_RETURNED: (Party.CLIENT, Party.PLATFORM),
    MovementKind.TRANSFER_REVERSAL: (Party.BUILDER, Party.PLATFORM),
    MovementKind.APPLICATION_FEE_REFUND: (Party.PLATFORM, Party.BUILDER),
    MovementKind.DISPUTE_WITHDRAWAL: (Party.PLATFORM, Party.CLIENT),
    MovementKind.DISPUTE_FEE: (Party.PLATFORM, Party.STRIPE),
    MovementKind.DISPUTE_REINSTATEMENT: (Party.CLIENT, Party.PLATFORM),
    MovementKind.DISPUTE_FEE_RETURN: (Party.STRIPE, Party.PLATFORM),
    MovementKind.DISPUTE_RECOVERY: (Party.BUILDER, Party.PLATFORM),
    MovementKind.DISPUTE_RECOVERY_RETURN: (Party.PLATFORM, Party.BUILDER),
}


class BadMovement(ValueError):
    """A movement that can't be recorded: not positive, or in another currency than its payment."""


def movement_key(kind: MovementKind, stripe_object_id: str) -> str:
    """The journal's idempotency key: one movement of each kind per Stripe object."""
    return f"{kind.value}:{stripe_object_id}"


def record(*, session: Session, payment: Payment, kind: MovementKind, amount: int, stripe_object_id: str | None,
           key: str | None = None, currency: str | None = None,
           occurred_at: datetime | None = None) -> MoneyMovement | None:
    """Record one movement of `payment`'s money. Returns the new row, or None when `key` (by default
    kind + Stripe object) was recorded before, or the amount is zero. Raises BadMovement for a negative
    amount or a currency other than the payment's."""
    if amount == 0:
        return None
    if amount < 0:
        raise BadMovement(f"{kind.value} of {amount}: a movement is never negative; use its opposite kind")
    currency = (currency or payment.currency).lower()
    if currency != payment.currency.lower():
        raise BadMovement(f"{kind.value} in {currency}, payment in {payment.currency}")
    if key is None:
        if not stripe_object_id:
            raise BadMovement(f"{kind.value} needs a Stripe object id or an explicit key")
        key = movement_key(kind, stripe_object_id)
    existing = session.exec(select(MoneyMovement).where(MoneyMovement.key == key)).first()
    if existing is not None:
        # The amount never changes; a Stripe id learnt later (a transfer named by a later event) is filled in.
        if stripe_object_id and existing.stripe_object_id is None:
            existing.stripe_object_id = stripe_object_id
            session.add(existing)
            session.flush()
        return None
    source, destination = FLOWS[kind]
    row = MoneyMovement(payment_id=payment.id, kind=kind, source=source, destination=destination, amount=int(amount),
                        currency=currency, key=key, stripe_object_id=stripe_object_id,
                        occurred_at=occurred_at or utcnow())
    # A savepoint: two workers recording the same key race on the unique index; the loser records nothing.
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except sa.exc.IntegrityError:
        return None
    return row


def movements_of(*, session: Session, payment_id: int) -> list[MoneyMovement]:
    return list(session.exec(select(MoneyMovement).where(MoneyMovement.payment_id == payment_id)
                             .order_by(MoneyMovement.occurred_at, MoneyMovement.id)).all())


@dataclass(frozen=True)
class Balances:
    """What each party holds of one payment's money (minor units; the client's is minus what it paid net)."""

    client: int
    platform: int
    builder: int
    stripe: int

    @property
    def client_paid_net(self) -> int:
        """What the client paid minus everything it got back (refunds, disputes)."""
        return -self.client


def balances(rows: list[MoneyMovement]) -> Balances:
    held: dict[Party, int] = defaultdict(int)
    for row in rows:
        held[row.source] -= row.amount
        held[row.destination] += row.amount
    return Balances(client=held[Party.CLIENT], platform=held[Party.PLATFORM], builder=held[Party.BUILDER],
                    stripe=held[Party.STRIPE])


def total(rows: list[MoneyMovement], kind: MovementKind) -> int:
    return sum(row.amount for row in rows if row.kind == kind)


# --- the journal kept from the ledger's rows ----------------------------------------------------------------
#
# The ledger (ledger.py) calls `sync_payment` whenever a Payment or its Refunds move: the movements those
# rows imply and the journal lacks are recorded, each under a key that names the payment or the Stripe
# object, so calling it again (a replayed event, the backfill of older rows) records nothing twice.
# Stripe's fee, a held payment's release and its reversals come from Stripe's answers (`record_stripe_fee`,
# `record_release`, `record_release_reversal`), read outside any transaction by the jobs of release.py.


def sync_payment(*, session: Session, payment: Payment | None) -> int:
    """Record what `payment`'s rows say happened and the journal does not have yet. Returns how many
    movements were recorded. Nothing for a payment that was never paid."""
    if payment is None or payment.id is None or payment.status not in _SETTLED:
        return 0
    rows = movements_of(session=session, payment_id=payment.id)
    when = payment.paid_at or utcnow()
    made = 0
    made += _made(record(session=session, payment=payment, kind=MovementKind.CHARGE, amount=payment.amount,
                         stripe_object_id=payment.payment_intent_id, key=f"charge:payment-{payment.id}",
                         occurred_at=when))
    destination = bool(payment.destination_account_id)
    if destination:
        # A destination charge transfers all of it to the builder, then takes the platform fee back.
        made += _made(record(session=session, payment=payment, kind=MovementKind.TRANSFER, amount=payment.amount,
                             stripe_object_id=payment.transfer_id, key=f"transfer:payment-{payment.id}",
                             occurred_at=when))
        made += _top_up(session, payment, rows, MovementKind.APPLICATION_FEE, payment.application_fee_amount, when)
    refunds = session.exec(select(Refund).where(Refund.payment_id == payment.id,
                                                Refund.status.in_(_ACCEPTED_REFUNDS)).order_by(Refund.id)).all()
    for refund in refunds:
        ref = refund.stripe_refund_id or f"refund-row-{refund.id}"
        made += _made(record(session=session, payment=payment, kind=MovementKind.REFUND, amount=refund.amount,
                             stripe_object_id=refund.stripe_refund_id, key=f"refund:{ref}",
                             occurred_at=refund.created_at))
        if destination and refund.reverse_transfer:
            made += _made(record(session=session, payment=payment, kind=MovementKind.TRANSFER_REVERSAL,
                                 amount=refund.amount, stripe_object_id=refund.stripe_refund_id,
                                 key=f"transfer_reversal:{ref}", occurred_at=refund.created_at))
    if destination:
        fee_back = sum(refund.application_fee_refunded for refund in refunds)
        made += _top_up(session, payment, rows, MovementKind.APPLICATION_FEE_REFUND, fee_back, utcnow())
    return made


def _made(row: MoneyMovement | None) -> int:
    return int(row is not None)


def _top_up(session: Session, payment: Payment, rows: list[MoneyMovement], kind: MovementKind, target: int,
            when: datetime) -> int:
    """A total the rows may revise upward (Stripe's fee amount, a fee refund trued up to Stripe's): the
    difference, keyed by the total it reaches. (A total revised downward is left as recorded.)"""
    have = total(rows, kind)
    if target <= have:
        return 0
    return _made(record(session=session, payment=payment, kind=kind, amount=target - have, stripe_object_id=None,
                        key=f"{kind.value}:payment-{payment.id}:{target}", occurred_at=when))


def record_stripe_fee(*, session: Session, payment: Payment, fee: int, balance_transaction_id: str,
                      currency: str | None = None) -> MoneyMovement | None:
    """Stripe's processing fee of the payment's charge, as its balance transaction reports it."""
    return record(session=session, payment=payment, kind=MovementKind.STRIPE_FEE, amount=fee,
                  stripe_object_id=balance_transaction_id, currency=currency, occurred_at=payment.paid_at)


def has_stripe_fee(*, session: Session, payment_id: int) -> bool:
    return session.exec(select(MoneyMovement.id).where(MoneyMovement.payment_id == payment_id,
                                                       MoneyMovement.kind == MovementKind.STRIPE_FEE)).first() \
        is not None


def record_release(*, session: Session, payment: Payment, transfer_id: str, amount: int) -> MoneyMovement | None:
    """A held payment's builder share, transferred once their payouts were enabled (one per payment: the
    same key as a destination charge's transfer)."""
    return record(session=session, payment=payment, kind=MovementKind.TRANSFER, amount=amount,
                  stripe_object_id=transfer_id, key=f"transfer:payment-{payment.id}")


def record_release_reversal(*, session: Session, payment: Payment, reversal_id: str,
                            amount: int) -> MoneyMovement | None:
    """Part of a released transfer taken back from the builder (a refund after the release)."""
    return record(session=session, payment=payment, kind=MovementKind.TRANSFER_REVERSAL, amount=amount,
                  stripe_object_id=reversal_id)


def transferred(rows: list[MoneyMovement]) -> int:
    """What the builder still has of the payment's transfer: transfers less reversals."""
    return total(rows, MovementKind.TRANSFER) - total(rows, MovementKind.TRANSFER_REVERSAL)
