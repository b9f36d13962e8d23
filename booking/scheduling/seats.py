"""Workshops: a session type with N seats (`SessionType.seats`). Each seat is its own booking, paid by its
own client; seats of one session share its time.

The database has the last word (migration 0020): a booking's `seat_no` is below the `seat_capacity` it was
held with (CHECK), a start's seat is held once (a unique index over active bookings), and overlapping
bookings of one builder are refused unless they are seats of the very same session (same type, start and
end). Here: which seat a new hold takes, which sessions still have a seat (so slot search offers them
though they are booked), and how many seats are left (the booking page shows it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from booking.core.models import ACTIVE_BOOKING_STATUSES, Booking, SessionType
from booking.scheduling.availability import Slot, UtcSpans
from booking.scheduling.busy import _busy_filter

MAX_SEATS = 500
Span = tuple[datetime, datetime]


def capacity(session_type: SessionType) -> int:
    """How many clients one session of the type takes (1: a one-to-one session)."""
    return max(1, int(session_type.seats or 1))


def _utc(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _seat_counts(*, session: Session, session_type: SessionType, start: datetime, end: datetime, now: datetime,
                 ignore_booking_id: str | None = None) -> Counter[Span]:
    """Booked seats (confirmed, or held and unexpired) of the type's sessions overlapping [start, end)."""
    query = select(Booking.start_time, Booking.end_time).where(
        *_busy_filter(builder_id=session_type.builder_id, start=start, end=end, now=now),
        Booking.session_type_id == session_type.id)
    if ignore_booking_id is not None:
        query = query.where(Booking.id != ignore_booking_id)
    return Counter((_utc(span_start), _utc(span_end)) for span_start, span_end in session.exec(query).all())


def sessions_with_free_seats(*, session: Session, session_type: SessionType, start: datetime, end: datetime,
                             now: datetime, ignore_booking_id: str | None = None) -> list[Span]:
    """The type's booked sessions in [start, end) that still have a seat: their own bookings must not
    block them (slot search leaves these spans out of the busy ones, `without`). [] for a one-to-one type."""
    seats = capacity(session_type)
    if seats <= 1:
        return []
    counts = _seat_counts(session=session, session_type=session_type, start=start, end=end, now=now,
                          ignore_booking_id=ignore_booking_id)
    return sorted(span for span, taken in counts.items() if taken < seats)


def without(spans: UtcSpans, shared: Sequence[Span]) -> UtcSpans:
    """The bookings' busy spans but those of sessions with a free seat (no other booking can have exactly
    such a span: the database refuses an overlap of another type or time)."""
    if not shared:
        return spans
    leave_out = set(shared)
    return UtcSpans(span for span in spans if span not in leave_out)


def whole_sessions_only(found: Iterable[Slot], shared: Sequence[Span], buffer_minutes: int) -> list[Slot]:
    """Slots found with `shared` left out of the busy spans: a slot touching such a session (with the
    buffer) is kept only if it IS that session (a seat of it); any other would overlap its bookings."""
    if not shared:
        return list(found)
    buffer = timedelta(minutes=buffer_minutes)
    kept = []
    for slot in found:
        start, end = _utc(slot.start), _utc(slot.end)
        if all((start, end) == (s_start, s_end) for s_start, s_end in shared
               if s_start - buffer < end and s_end + buffer > start):
            kept.append(slot)
    return kept


def seats_left(*, session: Session, session_type: SessionType, start: datetime, end: datetime,
               now: datetime) -> dict[datetime, int]:
    """Seats still free at each start (UTC) of the type's booked sessions in [start, end); a start not in
    the answer has every seat free. {} for a one-to-one type."""
    seats = capacity(session_type)
    if seats <= 1:
        return {}
    counts = _seat_counts(session=session, session_type=session_type, start=start, end=end, now=now)
    left: dict[datetime, int] = {}
    for (span_start, _span_end), taken in counts.items():
        left[span_start] = max(0, left.get(span_start, seats) - taken)
    return left


def free_seat(*, session: Session, session_type: SessionType, start: datetime,
              ignore_booking_id: str | None = None) -> int | None:
    """The lowest seat number no active booking of this builder holds at `start` (the caller holds the
    builder's lock); None when every seat is taken. One-to-one types have seat 0 only."""
    query = select(Booking.seat_no).where(Booking.builder_id == session_type.builder_id,
                                          Booking.start_time == start,
                                          Booking.status.in_(ACTIVE_BOOKING_STATUSES))
    if ignore_booking_id is not None:
        query = query.where(Booking.id != ignore_booking_id)
    taken = set(session.exec(query).all())
    return next((seat for seat in range(capacity(session_type)) if seat not in taken), None)
