"""What blocks a builder's time: confirmed bookings and holds that are unexpired or still paying, and
spans from other busy sources (the builder's external calendars' events, expanded when they were synced).

Slot search asks `busy_spans` (bookings, with their ids so a booking being moved can be left out) and
`other_busy_spans` over an explicit list of sources, `DEFAULT_BUSY_SOURCES` unless the caller passes its
own (tests, benchmarks). A source is called with the session, the builder and the range, and returns
`(start, end)` pairs of aware datetimes (recurrences already expanded, as plain spans).
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlmodel import Session, select

from booking.core.lru import LockedLru
from booking.core.models import Booking, BookingStatus, ExternalBusyInterval, ExternalCalendar, Payment, PaymentStatus
from booking.scheduling.availability import UtcSpans, utc_spans


def _payment_processing() -> sa.Exists:
    """A delayed payment of the booking is on its way: asked of its Payment rows (the ledger's, read here;
    this layer sits below booking.payments, which writes them)."""
    return sa.exists().where(Payment.booking_id == Booking.id,
                             Payment.status == PaymentStatus.PROCESSING).correlate(Booking)


def _busy_filter(*, builder_id: int, start: datetime, end: datetime, now: datetime) -> tuple:
    """Confirmed bookings and unexpired (or still paying) holds of one builder overlapping [start, end)."""
    return (
        Booking.builder_id == builder_id,
        Booking.start_time < end,
        Booking.end_time > start,
        sa.or_(
            Booking.status == BookingStatus.CONFIRMED,
            sa.and_(
                Booking.status == BookingStatus.PENDING,
                sa.or_(Booking.hold_expires_at > now, _payment_processing()),
            ),
        ),
    )


def busy_bookings(*, session: Session, builder_id: int, start: datetime, end: datetime,
                  now: datetime) -> list[Booking]:
    """Confirmed bookings and unexpired holds of one builder that overlap [start, end)."""
    return list(session.exec(select(Booking).where(*_busy_filter(builder_id=builder_id, start=start, end=end,
                                                                 now=now))).all())


def utc_text(column: sa.ColumnElement, dialect: str) -> sa.ColumnElement[str]:
    """A UTC time column as text without an offset ('2026-12-08 14:00:00[.ffffff]')."""
    if dialect == "sqlite":
        return sa.type_coerce(column, sa.String())  # SQLite keeps UTC as exactly this text
    return sa.cast(sa.func.timezone("UTC", column), sa.String())  # PostgreSQL: timestamptz at UTC, as text


def database_of(session: Session) -> str:
    """Which database a session reads: the caches below are per process, and a process may open several."""
    return str(session.get_bind().engine.url)


@functools.cache
def _spans_query(dialect: str, ignoring: bool) -> sa.Select:
    """Built once per dialect: building the filter's expressions costs more than running it."""
    query = (sa.select(utc_text(Booking.start_time, dialect), utc_text(Booking.end_time, dialect))
             .where(*_busy_filter(builder_id=sa.bindparam("builder_id"), start=sa.bindparam("start"),
                                  end=sa.bindparam("end"), now=sa.bindparam("now"))))
    return query.where(Booking.id != sa.bindparam("ignore")) if ignoring else query


def busy_spans(*, session: Session, builder_id: int, start: datetime, end: datetime, now: datetime,
               ignore_booking_id: str | None = None) -> UtcSpans:
    """(start, end) in UTC of the same bookings, but `ignore_booking_id`'s (a booking being moved must
    not block its own neighbours): slot search needs only the times, not whole rows.

    The times are read as UTC text and parsed aware in one step. The model's column type would cost a
    Python call and a `datetime.replace` (SQLite) or `astimezone` (PostgreSQL's driver answers in the
    server's zone) per value: for 1,000 bookings, more than the whole slot search.
    """
    query = _spans_query(session.get_bind().dialect.name, ignore_booking_id is not None)
    rows = session.connection().execute(query, {"builder_id": builder_id, "start": start, "end": end, "now": now,
                                                "ignore": ignore_booking_id}).all()
    parse = datetime.fromisoformat  # inline, not a call of ours per value: aware UTC in one C call
    return UtcSpans([(parse(span_start + "+00:00"), parse(span_end + "+00:00")) for span_start, span_end in rows])


class BusySource(Protocol):
    def __call__(self, *, session: Session, builder_id: int, start: datetime,
                 end: datetime) -> Iterable[tuple[datetime, datetime]]: ...


@functools.cache
def _external_spans_query(dialect: str) -> sa.Select:
    span = ExternalBusyInterval
    return (sa.select(utc_text(span.start_time, dialect), utc_text(span.end_time, dialect))
            .where(span.builder_id == sa.bindparam("builder_id")))


_VERSIONS_QUERY = (sa.select(ExternalCalendar.id, ExternalCalendar.spans_version)
                   .where(ExternalCalendar.builder_id == sa.bindparam("builder_id")).order_by(ExternalCalendar.id))


class _MergedSpans:
    """One builder's external spans, sorted and merged (so both starts and ends ascend)."""

    def __init__(self, spans: list[tuple[datetime, datetime]]) -> None:
        merged: list[list[datetime]] = []
        for span_start, span_end in sorted(spans):
            if merged and span_start <= merged[-1][1]:
                if span_end > merged[-1][1]:
                    merged[-1][1] = span_end
            else:
                merged.append([span_start, span_end])
        self.starts = [span[0] for span in merged]
        self.ends = [span[1] for span in merged]

    def overlapping(self, start: datetime, end: datetime) -> UtcSpans:
        first, last = bisect.bisect_right(self.ends, start), bisect.bisect_left(self.starts, end)
        return UtcSpans(zip(self.starts[first:last], self.ends[first:last], strict=True))


class ExternalSpansCache:
    """Builders' external spans, read from the database once per sync that changed them: the key is the
    builder's calendars with their `spans_version`, asked of the database each time (one small query), so
    every process sees a sync at once. Least recently used builders are dropped past `size`."""

    def __init__(self, size: int = 256) -> None:
        self._builders: LockedLru[tuple[tuple, _MergedSpans]] = LockedLru(size)

    def __call__(self, *, session: Session, builder_id: int, start: datetime, end: datetime) -> UtcSpans:
        connection = session.connection()
        key = tuple(tuple(row) for row in connection.execute(_VERSIONS_QUERY, {"builder_id": builder_id}).all())
        if not key:
            return UtcSpans()
        where = (database_of(session), builder_id)
        found = self._builders.get(where)
        if found is not None and found[0] == key:
            return found[1].overlapping(start, end)
        rows = connection.execute(_external_spans_query(session.get_bind().dialect.name),
                                  {"builder_id": builder_id}).all()
        parse = datetime.fromisoformat
        spans = _MergedSpans([(parse(a + "+00:00"), parse(b + "+00:00")) for a, b in rows])
        self._builders.put(where, (key, spans))
        return spans.overlapping(start, end)


external_calendar_spans = ExternalSpansCache()
"""The builder's external calendars' busy spans overlapping [start, end), as stored by their last sync
(booking.scheduling.external_calendars)."""


DEFAULT_BUSY_SOURCES: tuple[BusySource, ...] = (external_calendar_spans,)


def other_busy_spans(*, session: Session, builder_id: int, start: datetime, end: datetime,
                     sources: Sequence[BusySource] = DEFAULT_BUSY_SOURCES) -> UtcSpans:
    """Every source's spans for one builder that may overlap [start, end). Spans that are not already
    `UtcSpans` are checked aware and converted to UTC here (a source that hands over naive times fails
    loudly, not silently off by hours)."""
    spans = UtcSpans()
    for source in sources:
        found = source(session=session, builder_id=builder_id, start=start, end=end)
        spans.extend(found if isinstance(found, UtcSpans) else utc_spans(found))
    return spans


@functools.cache
def _type_starts_query(dialect: str, ignoring: bool) -> sa.Select:
    query = (sa.select(Booking.session_type_id, utc_text(Booking.start_time, dialect))
             .where(*_busy_filter(builder_id=sa.bindparam("builder_id"), start=sa.bindparam("start"),
                                  end=sa.bindparam("end"), now=sa.bindparam("now"))))
    return query.where(Booking.id != sa.bindparam("ignore")) if ignoring else query


def busy_type_starts(*, session: Session, builder_id: int, start: datetime, end: datetime, now: datetime,
                     ignore_booking_id: str | None = None) -> list[tuple[int, datetime]]:
    """(session type id, UTC start) of the same bookings as `busy_spans`: what booking limits count."""
    query = _type_starts_query(session.get_bind().dialect.name, ignore_booking_id is not None)
    rows = session.connection().execute(query, {"builder_id": builder_id, "start": start, "end": end, "now": now,
                                                "ignore": ignore_booking_id}).all()
    parse = datetime.fromisoformat
    return [(type_id, parse(moment + "+00:00")) for type_id, moment in rows]
