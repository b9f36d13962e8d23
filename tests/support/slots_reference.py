"""The slot search as it was before the steady-day fast path: every candidate converted on its own.

Test and benchmark code only, never production. `per_candidate_open_slots` is the straightforward
reference the property tests compare `availability.open_slots` with (same signature, same results),
and the "before" figure of `benchmarks/slot_search.py`; `per_candidate_find_open_slots` is the whole
old search path (whole-column ORM read of the bookings, an `Interval` per row).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from booking.core.models import Booking
from booking.scheduling import availability
from booking.scheduling.availability import (
    _ONE_DAY,
    MAX_RANGE_DAYS,
    BookingPolicy,
    DateOverride,
    Interval,
    Slot,
    WeeklyWindow,
    _check_day,
    _earliest_at_or_after,
    _prepare,
    _Rules,
    _wall,
    load_zone,
)
from booking.scheduling.busy import _busy_filter
from booking.scheduling.slots import load_schedule


def per_candidate_open_slots(
    *,
    builder_time_zone: str,
    weekly: Sequence[WeeklyWindow],
    overrides: Sequence[DateOverride],
    duration_minutes: int,
    busy: Sequence[Interval],
    policy: BookingPolicy,
    now: datetime,
    from_day: date,
    days: int,
    viewer_time_zone: str,
) -> list[Slot]:
    """`availability.open_slots` before: each day's grid walked with a zone conversion per candidate
    (`_Rules.candidates`, the exact DST walk) and each candidate bisected against the busy spans."""
    builder_tz = load_zone(builder_time_zone)
    viewer_tz = load_zone(viewer_time_zone)
    _check_day(from_day, "from_day")
    if not 1 <= days <= MAX_RANGE_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_RANGE_DAYS}, got {days}")
    check = _prepare(duration_minutes, busy, policy, now)
    rules = _Rules(builder_tz, weekly, overrides)
    range_start = _earliest_at_or_after(datetime.combine(from_day, time(0, 0)), viewer_tz)
    range_end = _earliest_at_or_after(datetime.combine(from_day + timedelta(days=days), time(0, 0)), viewer_tz)
    lower = max(range_start, check.earliest)
    upper = min(range_end, check.latest + timedelta(microseconds=1))
    if lower >= upper:
        return []
    starts: set[datetime] = set()
    day = _wall(lower, builder_tz).date() - _ONE_DAY
    last_day = _wall(upper, builder_tz).date() + _ONE_DAY
    while day <= last_day:
        for instant in rules.candidates(day, check.duration, check.step):
            if lower <= instant < upper and check.is_open(instant):
                starts.add(instant)
        day += _ONE_DAY
    return [Slot(start=s.astimezone(viewer_tz), end=(s + check.duration).astimezone(viewer_tz)) for s in sorted(starts)]


def per_candidate_find_open_slots(*, session: Session, session_type_id: int, from_day: date, days: int,
                                  viewer_time_zone: str, now: datetime,
                                  other_busy: Sequence[tuple[datetime, datetime]] = ()) -> list[Slot]:
    """`slots.find_open_slots` before: bookings read through the model's column types, an Interval each."""
    schedule = load_schedule(session=session, session_type_id=session_type_id)
    window_start = datetime.combine(from_day - timedelta(days=1), datetime.min.time()).replace(tzinfo=now.tzinfo)
    window_end = window_start + timedelta(days=days + 2)
    margin = timedelta(minutes=schedule.policy.buffer_minutes)
    rows = session.execute(sa.select(Booking.id, Booking.start_time, Booking.end_time).where(
        *_busy_filter(builder_id=schedule.builder.id, start=window_start - margin, end=window_end + margin,
                      now=now))).all()
    busy = [availability.Interval(start=start, end=end) for _id, start, end in rows]
    busy += [availability.Interval(start=start, end=end) for start, end in other_busy]
    return per_candidate_open_slots(
        builder_time_zone=schedule.builder.time_zone, weekly=schedule.weekly, overrides=schedule.overrides,
        duration_minutes=schedule.session_type.duration_minutes, busy=busy, policy=schedule.policy, now=now,
        from_day=from_day, days=days, viewer_time_zone=viewer_time_zone)
