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

from booking.core.models import MoneyMovement, MovementKind, Party, Payment, utcnow

FLOWS: dict[MovementKind, tuple[Party, Party]] = {
    MovementKind.CHARGE: (Party.CLIENT, Party.PLATFORM),
    MovementKind.STRIPE_FEE: (Party.PLATFORM, Party.STRIPE),
    MovementKind.TRANSFER: (Party.PLATFORM, Party.BUILDER),
    MovementKind.APPLICATION_FEE: (Party.BUILDER, Party.PLATFORM),
    MovementKind.REFUND: (Party.PLATFORM, Party.CLIENT),
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
    if session.exec(select(MoneyMovement.id).where(MoneyMovement.key == key)).first() is not None:
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
