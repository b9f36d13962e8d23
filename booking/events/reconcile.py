"""Reconcile: Stripe's record against ours over a recent window.

1. Read from Stripe (no transaction open): the events, Checkout Sessions, PaymentIntents and refunds
   created since then.
2. Apply every event of a type we handle that the database never processed (not stored, or stored
   but still received/failed) through the webhook's own path (`webhooks.ingest_event`), stored with
   source "reconcile", oldest first.
3. Settle bookings still pending against their Checkout Session (the old `reconcile` command), repair
   Checkout attempts a crash left `creating` (their session found by `metadata.booking_id`), and release
   lapsed holds.
4. Report what still disagrees, as rows: paid at Stripe but not confirmed here, confirmed here but
   unpaid at Stripe, amount or currency differences, refunds at Stripe missing here.

Running it again applies nothing and reports the same or fewer mismatches.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from booking.accounts import audit
from booking.accounts.authz import Actor
from booking.core.db import session_scope
from booking.core.models import Booking, BookingStatus, EventStatus, Payment, PaymentStatus, StripeEvent, utcnow
from booking.core.models import Refund as RefundRow
from booking.core.time import format_money
from booking.events.webhooks import HANDLERS, Ingested, ingest_event
from booking.lifecycle.checkout import (
    FulfilmentState,
    booking_id_of,
    fulfil_flow,
    repair_interrupted_checkouts,
    sweep_expired_holds,
)
from booking.payments import ledger as payment_records
from booking.payments.gateway import (
    CheckoutPaymentStatus,
    CheckoutSession,
    CheckoutStatus,
    PaymentGateway,
    PaymentIntentRecord,
    PaymentIntentStatus,
    PaymentProviderError,
    Refund,
    RefundState,
)

log = logging.getLogger(__name__)

SOURCE = "reconcile"
_SINCE = re.compile(r"^\s*(\d{1,4})\s*([dhm])\s*$", re.IGNORECASE)
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
_IN_CHUNK = 500  # ids per IN (...) query
_PAID_HERE = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)
_REFUND_COUNTED = (RefundState.SUCCEEDED, RefundState.PENDING)  # money on its way back counts as refunded at Stripe


def parse_since(text: str) -> timedelta:
    """'7d', '12h', '30m' -> a positive timedelta; ValueError otherwise."""
    match = _SINCE.match(text or "")
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"expected a window like 7d, 12h or 30m, not {text!r}")
    return timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})


class MismatchKind(StrEnum):
    PAID_NOT_CONFIRMED = "paid_not_confirmed"
    CONFIRMED_NOT_PAID = "confirmed_not_paid"
    AMOUNT_DIFFERS = "amount_differs"
    CURRENCY_DIFFERS = "currency_differs"
    REFUND_MISSING = "refund_missing"
    UNKNOWN_BOOKING = "unknown_booking"


MISMATCH_LABELS = {
    MismatchKind.PAID_NOT_CONFIRMED: "Paid at Stripe, not confirmed here",
    MismatchKind.CONFIRMED_NOT_PAID: "Confirmed here, unpaid at Stripe",
    MismatchKind.AMOUNT_DIFFERS: "Amount differs",
    MismatchKind.CURRENCY_DIFFERS: "Currency differs",
    MismatchKind.REFUND_MISSING: "Refund at Stripe missing here",
    MismatchKind.UNKNOWN_BOOKING: "Paid at Stripe for a booking we don't have",
}


@dataclass(frozen=True)
class Mismatch:
    kind: MismatchKind
    booking_id: str
    stripe_object: str
    ours: str
    stripe: str

    @property
    def label(self) -> str:
        return MISMATCH_LABELS[self.kind]


@dataclass
class ReconcileReport:
    since: datetime
    events_seen: int = 0  # of the types we handle
    events_applied: int = 0
    events_failed: int = 0
    checkout_sessions: int = 0
    payment_intents: int = 0
    refunds: int = 0
    pending_settled: int = 0
    holds_released: int = 0
    checkouts_repaired: int = 0  # attempts left `creating` by a crash between Stripe's answer and our commit
    mismatches: list[Mismatch] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what could not be checked (Stripe errors)

    def counts(self) -> dict[str, int]:
        return {
            "events seen": self.events_seen,
            "events applied": self.events_applied,
            "events failed": self.events_failed,
            "checkout sessions": self.checkout_sessions,
            "payment intents": self.payment_intents,
            "refunds": self.refunds,
            "pending settled": self.pending_settled,
            "holds released": self.holds_released,
            "checkouts repaired": self.checkouts_repaired,
            "mismatches": len(self.mismatches),
        }


@dataclass(frozen=True)
class _Ours:
    """What we hold about one booking, read in one short transaction."""

    id: str
    status: BookingStatus
    payment_status: PaymentStatus | None  # the ledger's (None: never reached Checkout)
    amount: int
    currency: str
    amount_refunded: int
    checkout_session_id: str | None
    payment_intent_id: str | None

    @property
    def paid(self) -> bool:
        return self.status == BookingStatus.CONFIRMED or self.payment_status in _PAID_HERE

    def describe(self) -> str:
        return f"{self.status} / {self.payment_status}"


def reconcile(*, engine: Engine, gateway: PaymentGateway, since: timedelta, now: datetime | None = None,
              actor: Actor | None = None) -> ReconcileReport:
    """Compare and repair the last `since`. Raises PaymentProviderError when Stripe can't be listed.
    With an `actor` (the admin button), the run is recorded in the audit log."""
    now = now or utcnow()
    report = ReconcileReport(since=now - since)
    # 1. Stripe first, with no transaction open.
    stripe_events = gateway.list_events_since(report.since, types=tuple(sorted(HANDLERS)))
    sessions = gateway.list_checkout_sessions_since(report.since)
    intents = gateway.list_payment_intents_since(report.since)
    stripe_refunds = gateway.list_refunds_since(report.since)
    report.events_seen, report.checkout_sessions = len(stripe_events), len(sessions)
    report.payment_intents, report.refunds = len(intents), len(stripe_refunds)

    _apply_unprocessed_events(engine=engine, gateway=gateway, stripe_events=stripe_events, report=report)
    sessions_by_id = {checkout.id: checkout for checkout in sessions}
    _settle_pending(engine=engine, gateway=gateway, sessions_by_id=sessions_by_id, report=report)
    report.checkouts_repaired = repair_interrupted_checkouts(engine=engine, gateway=gateway, sessions=sessions,
                                                             now=now).found
    report.holds_released = sweep_expired_holds(engine=engine, gateway=gateway)
    report.mismatches = _mismatches(engine=engine, gateway=gateway, report=report, sessions=sessions,
                                    intents=intents, stripe_refunds=stripe_refunds)
    if actor is not None:
        with session_scope(engine) as session:
            audit.record(session=session, actor=actor, action="reconcile.run", entity_type="reconcile",
                         entity_id=now.strftime("%Y%m%dT%H%M%SZ"),
                         after={"since": report.since.isoformat(), **report.counts()})
    return report


def _apply_unprocessed_events(*, engine: Engine, gateway: PaymentGateway, stripe_events: list[dict],
                              report: ReconcileReport) -> None:
    done = _processed_event_ids(engine, [event["id"] for event in stripe_events])
    # Stripe lists newest first; handlers cope with any order, but the natural one reads best in the log.
    ordered = sorted(reversed(stripe_events), key=lambda event: event.get("created") or 0)
    for event in ordered:
        if event["id"] in done:
            continue
        outcome = ingest_event(engine=engine, gateway=gateway, event=event, source=SOURCE)
        if outcome is Ingested.FAILED:
            report.events_failed += 1
            report.problems.append(f"event {event['id']} ({event['type']}) failed: see the webhook log")
        elif outcome is Ingested.APPLIED:  # else a delivery processed it meanwhile
            report.events_applied += 1
        done.add(event["id"])


def _processed_event_ids(engine: Engine, event_ids: list[str]) -> set[str]:
    done: set[str] = set()
    with session_scope(engine) as session:
        for chunk in _chunks(event_ids):
            done.update(session.exec(
                select(StripeEvent.id).where(StripeEvent.id.in_(chunk),
                                             StripeEvent.status.in_((EventStatus.PROCESSED, EventStatus.IGNORED)))
            ).all())
    return done


def _settle_pending(*, engine: Engine, gateway: PaymentGateway, sessions_by_id: dict[str, CheckoutSession],
                    report: ReconcileReport) -> None:
    """A booking still pending whose Checkout Session was paid: confirm it (what the old command did)."""
    with session_scope(engine) as session:
        pending = [(booking_id, money.checkout_session_id) for booking_id, money in payment_records.money_of_many(
            session=session, booking_ids=list(session.exec(
                select(Booking.id).where(Booking.status == BookingStatus.PENDING)).all())).items()
            if money.checkout_session_id]
    for booking_id, checkout_id in pending:
        checkout = sessions_by_id.get(checkout_id)
        if checkout is None:
            try:
                checkout = gateway.retrieve_checkout_session(checkout_id)
            except PaymentProviderError as exc:
                report.problems.append(f"booking {booking_id}: {exc}")
                continue
        if checkout.payment_status != CheckoutPaymentStatus.PAID and checkout.status != CheckoutStatus.COMPLETE:
            continue
        if fulfil_flow(engine=engine, gateway=gateway, checkout=checkout).state == FulfilmentState.CONFIRMED:
            report.pending_settled += 1


def _mismatches(*, engine: Engine, gateway: PaymentGateway, report: ReconcileReport,
                sessions: list[CheckoutSession], intents: list[PaymentIntentRecord],
                stripe_refunds: list[Refund]) -> list[Mismatch]:
    ledger = _load_ours(engine, sessions=sessions, intents=intents, stripe_refunds=stripe_refunds,
                        since=report.since)
    ours = ledger.bookings
    by_intent = {row.payment_intent_id: row for row in ours.values() if row.payment_intent_id}
    found: dict[tuple[MismatchKind, str], Mismatch] = {}

    def add(kind: MismatchKind, booking_id: str, stripe_object: str, mine: str, theirs: str) -> None:
        found.setdefault((kind, booking_id or stripe_object), Mismatch(kind, booking_id, stripe_object, mine, theirs))

    def compare_money(row: _Ours, stripe_object: str, amount: int | None, currency: str | None) -> None:
        if currency and currency.lower() != row.currency.lower():
            add(MismatchKind.CURRENCY_DIFFERS, row.id, stripe_object, row.currency.upper(), currency.upper())
        elif amount is not None and amount != row.amount:
            add(MismatchKind.AMOUNT_DIFFERS, row.id, stripe_object, format_money(row.amount, row.currency),
                format_money(amount, currency or row.currency))

    checked_sessions: dict[str, CheckoutSession] = {}
    for checkout in sessions:
        checked_sessions[checkout.id] = checkout
        if checkout.payment_status != CheckoutPaymentStatus.PAID:
            continue
        booking_id = booking_id_of(checkout) or ""
        row = ours.get(booking_id)
        if row is None:
            if booking_id:
                add(MismatchKind.UNKNOWN_BOOKING, booking_id, checkout.id, "no booking", "paid")
            continue
        if not row.paid:
            add(MismatchKind.PAID_NOT_CONFIRMED, row.id, checkout.id, row.describe(), "paid")
        compare_money(row, checkout.id, checkout.amount_total, checkout.currency)

    for intent in intents:
        if intent.status != PaymentIntentStatus.SUCCEEDED:
            continue
        row = ours.get(intent.metadata.get("booking_id", "")) or by_intent.get(intent.id)
        if row is None:
            continue  # not ours, or reported through its Checkout Session
        if not row.paid:
            add(MismatchKind.PAID_NOT_CONFIRMED, row.id, intent.id, row.describe(), "succeeded")
        compare_money(row, intent.id, intent.amount_received or intent.amount, intent.currency)

    # Confirmed here in the window: is its Checkout Session paid at Stripe?
    for row in ours.values():
        if not row.paid or row.status != BookingStatus.CONFIRMED or not row.checkout_session_id:
            continue
        checkout = checked_sessions.get(row.checkout_session_id)
        if checkout is None and row.id in ledger.confirmed_in_window:
            try:  # created before the window: ask for it (no transaction is open)
                checkout = gateway.retrieve_checkout_session(row.checkout_session_id)
            except PaymentProviderError as exc:
                report.problems.append(f"booking {row.id}: {exc}")
                continue
        if checkout is not None and checkout.payment_status != CheckoutPaymentStatus.PAID:
            add(MismatchKind.CONFIRMED_NOT_PAID, row.id, checkout.id, row.describe(), checkout.payment_status)

    refunded_at_stripe: dict[str, list[Refund]] = defaultdict(list)
    for refund in stripe_refunds:
        if refund.status in _REFUND_COUNTED:
            key = refund.metadata.get("booking_id") or (by_intent[refund.payment_intent_id].id
                                                         if refund.payment_intent_id in by_intent else "")
            if key in ours:
                refunded_at_stripe[key].append(refund)
    for booking_id, found_refunds in refunded_at_stripe.items():
        row = ours[booking_id]
        total = sum(refund.amount for refund in found_refunds)
        unrecorded = [refund.id for refund in found_refunds if refund.id not in ledger.refund_ids]
        # Refunds made before the window are not listed: only "Stripe shows more" is a mismatch.
        if unrecorded or total > row.amount_refunded:
            mine = f"{format_money(row.amount_refunded, row.currency)} refunded"
            if unrecorded:
                mine += f", {len(unrecorded)} of {len(found_refunds)} refunds unrecorded"
            add(MismatchKind.REFUND_MISSING, row.id, ", ".join(unrecorded or [r.id for r in found_refunds]),
                mine, f"{format_money(total, row.currency)} refunded")

    return sorted(found.values(), key=lambda m: (list(MismatchKind).index(m.kind), m.booking_id, m.stripe_object))


@dataclass(frozen=True)
class _Ledger:
    bookings: dict[str, _Ours]  # named by Stripe's objects, or confirmed in the window
    confirmed_in_window: set[str]
    refund_ids: set[str]  # the listed Stripe refunds we hold a Refund row for


def _load_ours(engine: Engine, *, sessions: list[CheckoutSession], intents: list[PaymentIntentRecord],
               stripe_refunds: list[Refund], since: datetime) -> _Ledger:
    """What we hold about everything Stripe listed, read in one short transaction."""
    booking_ids = {booking_id_of(checkout) for checkout in sessions}
    booking_ids |= {intent.metadata.get("booking_id") for intent in intents}
    booking_ids |= {refund.metadata.get("booking_id") for refund in stripe_refunds}
    booking_ids.discard(None)
    booking_ids.discard("")
    intent_ids = {intent.id for intent in intents} | {r.payment_intent_id for r in stripe_refunds if r.payment_intent_id}
    ours: dict[str, _Ours] = {}
    with session_scope(engine) as session:
        rows: list[Booking] = []
        for chunk in _chunks(sorted(booking_ids)):
            rows += session.exec(select(Booking).where(Booking.id.in_(chunk))).all()
        for chunk in _chunks(sorted(intent_ids)):
            rows += session.exec(select(Booking).join(Payment, Payment.booking_id == Booking.id)
                                 .where(Payment.payment_intent_id.in_(chunk))).all()
        confirmed = session.exec(select(Booking).where(
            Booking.status == BookingStatus.CONFIRMED,
            sa.or_(Booking.confirmed_at >= since, Booking.created_at >= since))).all()
        rows += confirmed
        money = payment_records.money_of_many(session=session, booking_ids=sorted({booking.id for booking in rows}))
        for booking in rows:
            held = money[booking.id]
            ours[booking.id] = _Ours(
                id=booking.id, status=BookingStatus(booking.status), payment_status=held.status,
                amount=held.amount, currency=held.currency, amount_refunded=held.amount_refunded,
                checkout_session_id=held.checkout_session_id, payment_intent_id=held.payment_intent_id,
            )
        refund_ids: set[str] = set()
        for chunk in _chunks(sorted(refund.id for refund in stripe_refunds)):
            refund_ids.update(session.exec(select(RefundRow.stripe_refund_id)
                                           .where(RefundRow.stripe_refund_id.in_(chunk))).all())
    return _Ledger(bookings=ours, confirmed_in_window={booking.id for booking in confirmed}, refund_ids=refund_ids)


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[start:start + _IN_CHUNK] for start in range(0, len(items), _IN_CHUNK)]


def format_report(report: ReconcileReport) -> str:
    """The counts, then the mismatch table, as plain text (the CLI prints it)."""
    lines = [", ".join(f"{name}: {count}" for name, count in report.counts().items())]
    if report.mismatches:
        header = ("kind", "booking", "stripe object", "ours", "stripe")
        table = [header] + [(m.label, m.booking_id, m.stripe_object, m.ours, m.stripe) for m in report.mismatches]
        widths = [max(len(row[col]) for row in table) for col in range(len(header))]
        for index, row in enumerate(table):
            lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
            if index == 0:
                lines.append("  ".join("-" * width for width in widths))
    else:
        lines.append("no mismatches")
    lines += [f"note: {problem}" for problem in report.problems]
    return "\n".join(lines)
