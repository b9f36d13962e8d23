"""The credit ledger: prepaid sessions (packages, memberships) as append-only lines, never a counter.

A `CreditGrant` gives a client (by email) `quantity` credits for some of one builder's session types until
`expires_at`; its source (a package purchase, a subscription invoice) grants it once. What happens to the
credits is written as `CreditEntry` lines: GRANTED, then per booking RESERVED (its slot is held) →
REDEEMED (confirmed) → maybe RETURNED (a cancellation inside the policy), or RESERVED → RETURNED (the hold
ended); EXPIRED and REFUNDED take unused credits away. Each line has a unique `key`, so a booking is
reserved, redeemed and returned at most once however often a step is retried.

A grant's numbers are derived from its lines (`tally`): a booking holds a credit while its last line is
RESERVED, has spent one while it is REDEEMED; available = granted − expired − refunded − held − spent.

Two browsers can never spend the last credit twice: every write first locks the client's grant rows
(`SELECT ... FOR UPDATE` on PostgreSQL; on SQLite every transaction already holds the write lock from its
start, BEGIN IMMEDIATE, see booking.core.db), then reads the lines and appends. The second writer waits,
then sees the first one's line.

Services take keyword-only arguments and an explicit session, and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from booking.core.models import (
    CreditEntry,
    CreditEntryKind,
    CreditGrant,
    CreditGrantSessionType,
    CreditSourceKind,
)

__all__ = [
    "CreditBalance",
    "CreditError",
    "CreditEntryKind",
    "CreditSourceKind",
    "ExpiredCredits",
    "GrantBalance",
    "NoCreditAvailable",
    "NothingToRefund",
    "Tally",
    "balance",
    "booking_credit_state",
    "client_email_key",
    "expire_due",
    "grant",
    "grant_balance",
    "redeem",
    "refund_unused",
    "release_reservation",
    "reserve",
    "return_credit",
    "tally",
    "undo_refund",
]


class CreditError(Exception):
    """A credit operation that cannot be done; the message can be shown to the person asking."""


class NoCreditAvailable(CreditError):
    def __init__(self) -> None:
        super().__init__("You have no credit left for this session.")


class NothingToRefund(CreditError):
    def __init__(self) -> None:
        super().__init__("There are no unused credits to refund.")


def client_email_key(email: str) -> str:
    """The client's address as bookings keep it (lifecycle.checkout.validate_client): normalised, lower case."""
    email = (email or "").strip()
    try:
        normalised = validate_email(email, check_deliverability=False).normalized if len(email) <= 254 else email
    except EmailNotValidError:
        normalised = email
    return normalised.lower()


# --- the arithmetic: pure, from the lines alone --------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    granted: int = 0
    held: int = 0  # reserved by bookings whose slot is held
    spent: int = 0  # redeemed by confirmed (or late-cancelled) bookings
    expired: int = 0
    refunded: int = 0

    @property
    def available(self) -> int:
        return self.granted - self.expired - self.refunded - self.held - self.spent


def tally(entries: Iterable[CreditEntry]) -> Tally:
    """A grant's numbers from its lines (any order: lines are taken by id)."""
    totals = {kind: 0 for kind in CreditEntryKind}
    last_by_booking: dict[str, CreditEntryKind] = {}
    for entry in sorted(entries, key=lambda line: line.id or 0):
        kind = CreditEntryKind(entry.kind)
        if entry.booking_id is not None:
            last_by_booking[entry.booking_id] = kind
        else:
            totals[kind] += entry.quantity
    states = list(last_by_booking.values())
    return Tally(
        granted=totals[CreditEntryKind.GRANTED],
        held=states.count(CreditEntryKind.RESERVED),
        spent=states.count(CreditEntryKind.REDEEMED),
        expired=totals[CreditEntryKind.EXPIRED],
        refunded=totals[CreditEntryKind.REFUNDED],
    )


# --- what a client has ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GrantBalance:
    grant_id: int
    builder_id: int
    client_email: str
    session_type_ids: tuple[int, ...]
    quantity: int
    expires_at: datetime
    source_kind: CreditSourceKind
    source_id: str
    tally: Tally
    usable: bool  # not expired yet: its available credits can be spent

    @property
    def available(self) -> int:
        return self.tally.available if self.usable else 0


@dataclass(frozen=True)
class CreditBalance:
    grants: tuple[GrantBalance, ...]

    @property
    def available(self) -> int:
        return sum(grant.available for grant in self.grants)

    @property
    def held(self) -> int:
        return sum(grant.tally.held for grant in self.grants)

    @property
    def spent(self) -> int:
        return sum(grant.tally.spent for grant in self.grants)

    @property
    def next_expiry(self) -> datetime | None:
        """When the soonest-expiring usable credit lapses."""
        moments = [grant.expires_at for grant in self.grants if grant.available > 0]
        return min(moments) if moments else None


def balance(
    *, session: Session, client_email: str, now: datetime, builder_id: int | None = None,
    session_type_id: int | None = None,
) -> CreditBalance:
    """The client's credits (with one builder, for one session type if given), soonest expiry first."""
    query = select(CreditGrant).where(CreditGrant.client_email == client_email_key(client_email))
    if builder_id is not None:
        query = query.where(CreditGrant.builder_id == builder_id)
    grants = _balances(session, session.exec(query).all(), now)
    if session_type_id is not None:
        grants = [grant for grant in grants if session_type_id in grant.session_type_ids]
    return CreditBalance(grants=tuple(grants))


def grant_balance(*, session: Session, grant_id: int, now: datetime) -> GrantBalance:
    row = session.get(CreditGrant, grant_id)
    if row is None:
        raise CreditError("No such credits.")
    return _balances(session, [row], now)[0]


def booking_credit_state(*, session: Session, booking_id: str) -> CreditEntryKind | None:
    """The last credit line of a booking (RESERVED, REDEEMED, RETURNED), None if it was never paid by credit."""
    entry = _last_booking_entry(session, booking_id)
    return CreditEntryKind(entry.kind) if entry is not None else None


# --- writes ---------------------------------------------------------------------------------------------


def grant(
    *, session: Session, builder_id: int, client_email: str, quantity: int, session_type_ids: Sequence[int],
    expires_at: datetime, source_kind: CreditSourceKind, source_id: str, now: datetime,
) -> CreditGrant:
    """Give credits, once per source: granting the same source again returns the first grant."""
    if quantity <= 0:
        raise CreditError("A grant gives at least one credit.")
    if not session_type_ids:
        raise CreditError("Credits must be for at least one session type.")
    existing = _grant_of_source(session, source_kind, source_id)
    if existing is not None:
        return existing
    row = CreditGrant(builder_id=builder_id, client_email=client_email_key(client_email), quantity=quantity,
                      expires_at=expires_at, source_kind=source_kind, source_id=source_id, created_at=now)
    try:
        with session.begin_nested():  # a concurrent grant of the same source: its row wins, ours is undone
            session.add(row)
            session.flush()
            session.add_all(CreditGrantSessionType(grant_id=row.id, session_type_id=type_id)
                            for type_id in sorted(set(session_type_ids)))
            session.add(CreditEntry(grant_id=row.id, kind=CreditEntryKind.GRANTED, quantity=quantity,
                                    key=f"grant:{row.id}", occurred_at=now))
            session.flush()
    except IntegrityError:
        existing = _grant_of_source(session, source_kind, source_id)
        if existing is None:
            raise
        return existing
    return row


def reserve(
    *, session: Session, booking_id: str, builder_id: int, client_email: str, session_type_id: int, now: datetime,
) -> CreditEntry:
    """Hold one credit for a booking whose slot is held: from the usable grant for its session type that
    expires first. Raises NoCreditAvailable. A booking reserves once (again: its first line)."""
    grants = _locked_grants(session, builder_id=builder_id, client_email=client_email)
    existing = _last_booking_entry(session, booking_id)
    if existing is not None:
        if existing.kind == CreditEntryKind.RESERVED:
            return existing
        raise CreditError("This booking's credit was already used or given back.")
    candidates = [grant for grant in _balances(session, grants, now)
                  if session_type_id in grant.session_type_ids and grant.available > 0]
    if not candidates:
        raise NoCreditAvailable()
    chosen = min(candidates, key=lambda grant: (grant.expires_at, grant.grant_id))
    return _append(session, grant_id=chosen.grant_id, kind=CreditEntryKind.RESERVED, booking_id=booking_id,
                   key=f"reserve:{booking_id}", now=now)


def redeem(*, session: Session, booking_id: str, now: datetime) -> CreditEntry:
    """The booking is confirmed: its held credit is spent. Again: the same line."""
    entry = _locked_last_entry(session, booking_id)
    if entry is None:
        raise CreditError("This booking holds no credit.")
    if entry.kind == CreditEntryKind.REDEEMED:
        return entry
    if entry.kind != CreditEntryKind.RESERVED:
        raise CreditError("This booking's credit was already given back.")
    return _append(session, grant_id=entry.grant_id, kind=CreditEntryKind.REDEEMED, booking_id=booking_id,
                   key=f"redeem:{booking_id}", now=now)


def release_reservation(*, session: Session, booking_id: str, now: datetime) -> CreditEntry | None:
    """The booking's hold ended unconfirmed: its reserved credit is available again. None when the booking
    holds no reserved credit (never had one, already spent or given back)."""
    entry = _locked_last_entry(session, booking_id)
    if entry is None or entry.kind != CreditEntryKind.RESERVED:
        return None
    return _append(session, grant_id=entry.grant_id, kind=CreditEntryKind.RETURNED, booking_id=booking_id,
                   key=f"return:{booking_id}", now=now)


def return_credit(*, session: Session, booking_id: str, now: datetime) -> CreditEntry | None:
    """A confirmed booking cancelled inside the policy: its credit comes back (to its own grant, which may
    have expired meanwhile: then `expire_due` takes it). None when there is nothing to give back."""
    entry = _locked_last_entry(session, booking_id)
    if entry is None or entry.kind not in (CreditEntryKind.RESERVED, CreditEntryKind.REDEEMED):
        return None
    return _append(session, grant_id=entry.grant_id, kind=CreditEntryKind.RETURNED, booking_id=booking_id,
                   key=f"return:{booking_id}", now=now)


@dataclass(frozen=True)
class ExpiredCredits:
    grant_id: int
    quantity: int


def expire_due(*, session: Session, now: datetime, limit: int = 500) -> list[ExpiredCredits]:
    """Unused credits of grants past their expiry become EXPIRED (held ones stay with their booking)."""
    due = session.exec(select(CreditGrant.id).where(CreditGrant.expires_at <= now)
                       .order_by(CreditGrant.id)).all()
    expired: list[ExpiredCredits] = []
    for grant_id in due:
        if len(expired) >= limit:
            break
        row = session.exec(select(CreditGrant).where(CreditGrant.id == grant_id).with_for_update()).one()
        lines = _entries(session, [row.id])[row.id]
        left = tally(lines).available
        if left <= 0:
            continue
        count = sum(1 for line in lines if line.kind == CreditEntryKind.EXPIRED)
        _append(session, grant_id=row.id, kind=CreditEntryKind.EXPIRED, quantity=left,
                key=f"expire:{row.id}:{count + 1}", now=now)
        expired.append(ExpiredCredits(grant_id=row.id, quantity=left))
    return expired


def refund_unused(
    *, session: Session, grant_id: int, request_key: str, now: datetime, quantity: int | None = None,
) -> CreditEntry:
    """Take `quantity` (default: all) of a grant's unused credits away for a refund. One request, one line:
    the same `request_key` again returns the first line. Raises NothingToRefund / CreditError."""
    row = session.exec(select(CreditGrant).where(CreditGrant.id == grant_id).with_for_update()).first()
    if row is None:
        raise CreditError("No such credits.")
    key = f"refund:{request_key}"
    done = session.exec(select(CreditEntry).where(CreditEntry.key == key)).first()
    if done is not None:
        return done
    available = tally(_entries(session, [row.id])[row.id]).available
    if available <= 0:
        raise NothingToRefund()
    if quantity is None:
        quantity = available
    if quantity <= 0 or quantity > available:
        raise CreditError(f"Only {available} unused credit(s) can be refunded.")
    return _append(session, grant_id=row.id, kind=CreditEntryKind.REFUNDED, quantity=quantity, key=key, now=now)


def undo_refund(*, session: Session, entry_id: int, now: datetime) -> CreditEntry:
    """Stripe refused the money of a REFUNDED line: the credits come back. The ledger is append-only, so
    they are granted again (same grant, same expiry) by a line keyed to the refused one (once)."""
    refunded = session.get(CreditEntry, entry_id)
    if refunded is None or refunded.kind != CreditEntryKind.REFUNDED:
        raise CreditError("No such refund of credits.")
    session.exec(select(CreditGrant.id).where(CreditGrant.id == refunded.grant_id).with_for_update()).one()
    key = f"undo:{refunded.key}"
    done = session.exec(select(CreditEntry).where(CreditEntry.key == key)).first()
    if done is not None:
        return done
    return _append(session, grant_id=refunded.grant_id, kind=CreditEntryKind.GRANTED, quantity=refunded.quantity,
                   key=key, now=now)


# --- internals ------------------------------------------------------------------------------------------


def _append(session: Session, *, grant_id: int, kind: CreditEntryKind, key: str, now: datetime,
            booking_id: str | None = None, quantity: int = 1) -> CreditEntry:
    entry = CreditEntry(grant_id=grant_id, kind=kind, quantity=quantity, booking_id=booking_id, key=key,
                        occurred_at=now)
    session.add(entry)
    session.flush()
    return entry


def _grant_of_source(session: Session, source_kind: CreditSourceKind, source_id: str) -> CreditGrant | None:
    return session.exec(select(CreditGrant).where(CreditGrant.source_kind == source_kind,
                                                  CreditGrant.source_id == source_id)).first()


def _locked_grants(session: Session, *, builder_id: int, client_email: str) -> list[CreditGrant]:
    """The client's grants with the builder, locked (in id order: no deadlock between two writers)."""
    return list(session.exec(
        select(CreditGrant)
        .where(CreditGrant.builder_id == builder_id, CreditGrant.client_email == client_email_key(client_email))
        .order_by(CreditGrant.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all())


def _last_booking_entry(session: Session, booking_id: str) -> CreditEntry | None:
    return session.exec(select(CreditEntry).where(CreditEntry.booking_id == booking_id)
                        .order_by(CreditEntry.id.desc())).first()


def _locked_last_entry(session: Session, booking_id: str) -> CreditEntry | None:
    """The booking's last line, read after locking its grant (so a concurrent step is seen)."""
    entry = _last_booking_entry(session, booking_id)
    if entry is None:
        return None
    session.exec(select(CreditGrant.id).where(CreditGrant.id == entry.grant_id).with_for_update()).one()
    return _last_booking_entry(session, booking_id)


def _entries(session: Session, grant_ids: Sequence[int]) -> dict[int, list[CreditEntry]]:
    lines: dict[int, list[CreditEntry]] = {grant_id: [] for grant_id in grant_ids}
    if grant_ids:
        for entry in session.exec(select(CreditEntry).where(CreditEntry.grant_id.in_(grant_ids))):
            lines[entry.grant_id].append(entry)
    return lines


def _balances(session: Session, grants: Sequence[CreditGrant], now: datetime) -> list[GrantBalance]:
    ids = [row.id for row in grants]
    lines = _entries(session, ids)
    types: dict[int, list[int]] = {grant_id: [] for grant_id in ids}
    if ids:
        for link in session.exec(select(CreditGrantSessionType)
                                 .where(CreditGrantSessionType.grant_id.in_(ids))):
            types[link.grant_id].append(link.session_type_id)
    result = [
        GrantBalance(
            grant_id=row.id, builder_id=row.builder_id, client_email=row.client_email,
            session_type_ids=tuple(sorted(types[row.id])), quantity=row.quantity, expires_at=row.expires_at,
            source_kind=CreditSourceKind(row.source_kind), source_id=row.source_id, tally=tally(lines[row.id]),
            usable=row.expires_at > now,
        )
        for row in grants
    ]
    return sorted(result, key=lambda grant: (grant.expires_at, grant.grant_id))
