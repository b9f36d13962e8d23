"""Exports: a builder's or an admin's bookings, payments and payouts as CSV, for a date range in the
viewer's zone, with the scoping the workspace pages use (a builder only their own rows; an admin all, or
one builder's).

Plain Python: one query per kind, streamed (`yield_per`) through the csv module a row at a time, so a
year of rows never sits in memory. Money is written twice: as a decimal string in the currency's major
unit with its currency code, and as the integer minor units the ledger keeps. A cell a spreadsheet would
read as a formula (starting with = + - @, a tab or a carriage return) is prefixed with a quote.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from booking.accounts.authz import Actor, builder_scope
from booking.core.models import Booking, Builder, Client, Payment, Payout, SessionType
from booking.core.money import to_major_units
from booking.core.time import load_zone
from booking.payments import ledger as payment_records

MAX_DAYS = 366  # the longest range one export covers
DEFAULT_DAYS = 30
_BATCH = 500
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportKind(StrEnum):
    BOOKINGS = "bookings"
    PAYMENTS = "payments"
    PAYOUTS = "payouts"


class InvalidExport(ValueError):
    """A bad request: `field` names the parameter, `message` says what to send instead."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class ExportRange:
    first_day: date
    last_day: date  # inclusive
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        """Midnight of the first day in the viewer's zone (aware)."""
        return datetime.combine(self.first_day, time(0), tzinfo=self.zone)

    @property
    def end(self) -> datetime:
        """Midnight after the last day in the viewer's zone (exclusive)."""
        return datetime.combine(self.last_day + timedelta(days=1), time(0), tzinfo=self.zone)

    def filename(self, kind: ExportKind) -> str:
        return f"{kind}-{self.first_day.isoformat()}-to-{self.last_day.isoformat()}.csv"


def parse_kind(text: str) -> ExportKind:
    try:
        return ExportKind(text)
    except ValueError:
        raise InvalidExport("kind", "Export bookings, payments or payouts.") from None


def parse_range(*, from_text: str | None, to_text: str | None, time_zone: str | None,
                today: date | None = None) -> ExportRange:
    """`from`/`to` as YYYY-MM-DD (both days included) in `time_zone` (IANA; UTC when absent). Missing
    `to`: today; missing `from`: 30 days before `to`. At most 366 days."""
    try:
        zone = load_zone(time_zone or "UTC")
    except ValueError:
        raise InvalidExport("tz", "tz must be a time zone name like Europe/London.") from None
    today = today or datetime.now(zone).date()
    last = _parse_day("to", to_text) if to_text else today
    first = _parse_day("from", from_text) if from_text else last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidExport("from", "The start date must be on or before the end date.")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidExport("to", f"Export at most {MAX_DAYS} days at a time.")
    return ExportRange(first_day=first, last_day=last, zone=zone)


def _parse_day(field: str, text: str) -> date:
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidExport(field, f"{field} must be a date like 2026-12-31.") from None


def safe_cell(value: Any) -> str:
    """A cell as text, never read as a formula by a spreadsheet."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _money(amount: int | None, currency: str) -> tuple[str, str]:
    if amount is None:
        return "", ""
    return str(to_major_units(int(amount), currency)), str(int(amount))


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(zone).isoformat(timespec="seconds")


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo("UTC"))


# --- the three kinds ----------------------------------------------------------------------------------

BOOKING_HEADER = ["booking_id", "created_at", "start", "end", "status", "client_name", "client_email",
                  "session_type", "builder", "amount", "currency", "amount_minor", "refunded", "refunded_minor",
                  "payment_status"]
PAYMENT_HEADER = ["payment_id", "booking_id", "attempt", "created_at", "paid_at", "status", "amount", "currency",
                  "amount_minor", "refunded", "refunded_minor", "platform_fee", "platform_fee_minor",
                  "builder_net", "builder_net_minor", "payment_intent_id", "receipt_url", "invoice_id",
                  "invoice_url", "builder"]
PAYOUT_HEADER = ["payout_id", "created_at", "arrival_date", "status", "amount", "currency", "amount_minor",
                 "failure_code", "failure_message", "builder"]
HEADERS = {ExportKind.BOOKINGS: BOOKING_HEADER, ExportKind.PAYMENTS: PAYMENT_HEADER,
           ExportKind.PAYOUTS: PAYOUT_HEADER}


def _booking_rows(session: Session, builder_id: int | None, span: ExportRange) -> Iterator[list[Any]]:
    """Bookings whose session starts in the range, with their payment (the settled attempt, else the latest)."""
    latest = payment_records.booking_payment_id()  # the settled attempt, else the latest (as the pages)
    statement = (
        select(Booking.id, Booking.created_at, Booking.start_time, Booking.end_time, Booking.status,
               Booking.client_name, Client.name, Client.email, SessionType.name, Builder.name,
               Payment.amount, Payment.currency, Payment.amount_refunded, Payment.status)
        .join(Client, Client.id == Booking.client_id)
        .join(SessionType, SessionType.id == Booking.session_type_id)
        .join(Builder, Builder.id == Booking.builder_id)
        .outerjoin(Payment, Payment.id == latest)
        .where(Booking.start_time >= _utc(span.start), Booking.start_time < _utc(span.end))
        .order_by(Booking.start_time, Booking.id)
    )
    if builder_id is not None:
        statement = statement.where(Booking.builder_id == builder_id)
    for (booking_id, created, start, end, status, booked_name, client_name, email, type_name, builder_name,
         amount, currency, refunded, payment_status) in session.exec(statement.execution_options(yield_per=_BATCH)):
        currency = currency or ""
        amount_text, amount_minor = _money(amount, currency)
        yield [booking_id, _when(created, span.zone), _when(start, span.zone), _when(end, span.zone), str(status),
               booked_name or client_name, email, type_name, builder_name, amount_text, currency.upper(),
               amount_minor, *_money(refunded, currency), str(payment_status or "")]


def _payment_rows(session: Session, builder_id: int | None, span: ExportRange) -> Iterator[list[Any]]:
    """Checkout attempts paid in the range, or started in it when never paid (failed, expired, open)."""
    when = sa.func.coalesce(Payment.paid_at, Payment.created_at)
    statement = (
        select(Payment, Builder.name)
        .join(Booking, Booking.id == Payment.booking_id)
        .join(Builder, Builder.id == Booking.builder_id)
        .where(when >= _utc(span.start), when < _utc(span.end))
        .order_by(when, Payment.id)
    )
    if builder_id is not None:
        statement = statement.where(Booking.builder_id == builder_id)
    for payment, builder_name in session.exec(statement.execution_options(yield_per=_BATCH)):
        currency = payment.currency
        amount, amount_minor = _money(payment.amount, currency)
        yield [payment.id, payment.booking_id, payment.attempt, _when(payment.created_at, span.zone),
               _when(payment.paid_at, span.zone), str(payment.status), amount, currency.upper(), amount_minor,
               *_money(payment.amount_refunded, currency), *_money(payment.application_fee_amount, currency),
               *_money(payment.net_amount, currency), payment.payment_intent_id, payment.receipt_url,
               payment.invoice_id, payment.invoice_url, builder_name]


def _payout_rows(session: Session, builder_id: int | None, span: ExportRange) -> Iterator[list[Any]]:
    """Payouts to the builders' banks created in the range."""
    statement = (
        select(Payout, Builder.name)
        .outerjoin(Builder, Builder.id == Payout.builder_id)
        .where(Payout.created_at >= _utc(span.start), Payout.created_at < _utc(span.end))
        .order_by(Payout.created_at, Payout.id)
    )
    if builder_id is not None:
        statement = statement.where(Payout.builder_id == builder_id)
    for payout, builder_name in session.exec(statement.execution_options(yield_per=_BATCH)):
        currency = payout.currency
        amount, amount_minor = _money(payout.amount, currency)
        yield [payout.stripe_payout_id, _when(payout.created_at, span.zone), _when(payout.arrival_date, span.zone),
               str(payout.status), amount, currency.upper(), amount_minor, payout.failure_code,
               payout.failure_message, builder_name or ""]


_ROWS = {ExportKind.BOOKINGS: _booking_rows, ExportKind.PAYMENTS: _payment_rows, ExportKind.PAYOUTS: _payout_rows}


def export_rows(*, session: Session, actor: Actor, kind: ExportKind, span: ExportRange,
                builder: int | str | None = None) -> Iterator[list[str]]:
    """The header, then each row (every cell safe text). A builder gets only their own rows whatever
    `builder` asks; an admin everyone's, or the one builder's."""
    builder_id = builder_scope(actor, builder)
    if not actor.is_admin and builder_id is None:
        return
    yield list(HEADERS[kind])
    for row in _ROWS[kind](session, builder_id, span):
        yield [safe_cell(cell) for cell in row]


def csv_chunks(rows: Iterator[list[str]], *, rows_per_chunk: int = 200) -> Iterator[str]:
    """CSV text (RFC 4180, CRLF line ends) in chunks of rows, for a streaming response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
        if count >= rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            count = 0
    if buffer.getvalue():
        yield buffer.getvalue()
