"""A builder's bookings over a slot-search window, kept between searches until one of them changes.

Slot search over two months reads a busy builder's every booking (1,000 rows) on every request; reading
and parsing them costs more than the rest of the search. This cache asks the database one small question
instead: how many confirmed and pending bookings the window holds, and the sum of their `busy_tag`s. A
trigger gives a booking a fresh tag on every insert and update (migration 0027), so any booking that
enters, leaves or changes in the window changes that answer; an unchanged answer means unchanged rows.
The answer comes from an index alone, in one statement, and every process sees a change at once.

What depends on the clock stays live: a hold blocks while it is unexpired (compared with `now` on every
search), and a lapsed hold still blocks while a payment of it is processing (asked of the database, only
for the few lapsed holds in the window).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from booking.core.lru import LockedLru
from booking.core.models import Booking, BookingStatus, Payment, PaymentStatus
from booking.scheduling.availability import UtcSpans
from booking.scheduling.busy import database_of, utc_text

_COUNTED = (BookingStatus.CONFIRMED, BookingStatus.PENDING)


def _in_window() -> tuple:
    return (Booking.builder_id == sa.bindparam("builder_id"), Booking.start_time < sa.bindparam("end"),
            Booking.end_time > sa.bindparam("start"), Booking.status.in_(_COUNTED))


_KEY_QUERY = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Booking.busy_tag), 0)).where(*_in_window())


@functools.cache
def _rows_query(dialect: str) -> sa.Select:
    return sa.select(Booking.id, Booking.status, utc_text(Booking.start_time, dialect),
                     utc_text(Booking.end_time, dialect), utc_text(Booking.hold_expires_at, dialect),
                     Booking.busy_tag).where(*_in_window())


_PROCESSING_QUERY = (sa.select(Payment.booking_id)
                     .where(Payment.booking_id.in_(sa.bindparam("ids", expanding=True)),
                            Payment.status == PaymentStatus.PROCESSING))


@dataclass(frozen=True)
class _Hold:
    booking_id: str
    start: datetime
    end: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class _Window:
    key: tuple[int, int]
    confirmed: UtcSpans
    holds: tuple[_Hold, ...]

    def busy(self, *, session: Session, now: datetime) -> UtcSpans:
        spans = UtcSpans(self.confirmed)
        lapsed = []
        for hold in self.holds:
            if hold.expires_at is not None and hold.expires_at > now:
                spans.append((hold.start, hold.end))
            else:
                lapsed.append(hold)
        if lapsed:
            paying = set(session.connection().execute(
                _PROCESSING_QUERY, {"ids": [hold.booking_id for hold in lapsed]}).scalars())
            spans.extend((hold.start, hold.end) for hold in lapsed if hold.booking_id in paying)
        return spans


def _read(session: Session, params: dict) -> _Window:
    rows = session.connection().execute(_rows_query(session.get_bind().dialect.name), params).all()
    parse = datetime.fromisoformat
    confirmed = UtcSpans()
    holds = []
    for booking_id, status, start, end, expires_at, _tag in rows:
        span = (parse(start + "+00:00"), parse(end + "+00:00"))
        if status == BookingStatus.CONFIRMED:
            confirmed.append(span)
        else:
            holds.append(_Hold(booking_id, *span, parse(expires_at + "+00:00") if expires_at else None))
    # The key of exactly these rows: a change that lands between the two statements shows as a new key
    # next time, never as an old key over new rows.
    return _Window(key=(len(rows), sum(row[-1] for row in rows)), confirmed=confirmed, holds=tuple(holds))


class BookingSpansCache:
    """Builders' confirmed bookings and unexpired holds over slot-search windows, as `(start, end)`
    pairs in UTC; least recently used windows are dropped past `size`."""

    def __init__(self, size: int = 512) -> None:
        self._windows: LockedLru[_Window] = LockedLru(size)

    def __call__(self, *, session: Session, builder_id: int, start: datetime, end: datetime,
                 now: datetime) -> UtcSpans:
        params = {"builder_id": builder_id, "start": start, "end": end}
        count, total = session.connection().execute(_KEY_QUERY, params).one()
        where = (database_of(session), builder_id, start, end)
        window = self._windows.get(where)
        if window is None or window.key != (int(count), int(total)):  # PostgreSQL sums bigints as numeric
            window = _read(session, params)
            self._windows.put(where, window)
        return window.busy(session=session, now=now)


booking_spans = BookingSpansCache()
"""Confirmed bookings and unexpired (or still paying) holds of a builder overlapping [start, end): the same
bookings as `booking.scheduling.busy.busy_spans`, kept between searches."""
