"""Load a builder's schedule from the database and ask booking.scheduling.availability for open slots."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from booking.core.lru import LockedLru
from booking.core.models import (
    AvailabilityOverride,
    AvailabilityRule,
    Builder,
    SessionType,
    SessionTypeAvailabilityRule,
)
from booking.scheduling import availability, limits, seats
from booking.scheduling.booking_spans import booking_spans
from booking.scheduling.busy import (
    DEFAULT_BUSY_SOURCES,
    BusySource,
    busy_spans,
    busy_type_starts,
    database_of,
    other_busy_spans,
)


class SessionTypeNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Schedule:
    builder: Builder
    session_type: SessionType
    weekly: Sequence[availability.WeeklyWindow]  # shared by every search until the hours change: not to edit
    overrides: Sequence[availability.DateOverride]
    policy: availability.BookingPolicy
    limits: limits.BookingLimits = limits.BookingLimits()  # daily / weekly caps (host tools)


@dataclass(frozen=True)
class _Hours:
    weekly: tuple[availability.WeeklyWindow, ...]
    overrides: tuple[availability.DateOverride, ...]


# Keyed by the builder's `schedule_version` (a trigger sets a fresh one on every change of the hours):
# slot search reads the hours once per change, not on every request.
_hours_cache: LockedLru[_Hours] = LockedLru(512)


def _read_hours(session: Session, builder: Builder, session_type: SessionType) -> _Hours:
    if session_type.own_availability:  # the type's own weekly hours replace the builder's
        rules = session.exec(select(SessionTypeAvailabilityRule).where(
            SessionTypeAvailabilityRule.session_type_id == session_type.id)).all()
    else:
        rules = session.exec(select(AvailabilityRule).where(AvailabilityRule.builder_id == builder.id)).all()
    override_rows = session.exec(
        select(AvailabilityOverride).where(AvailabilityOverride.builder_id == builder.id)
    ).all()
    windows_by_day: dict[date, list[tuple]] = {}
    for row in override_rows:
        windows = windows_by_day.setdefault(row.day, [])
        if not row.closed:
            windows.append((row.start_time, row.end_time))
    return _Hours(
        weekly=tuple(availability.WeeklyWindow(weekday=r.weekday, start=r.start_time, end=r.end_time) for r in rules),
        overrides=tuple(availability.DateOverride(day=d, windows=tuple(w)) for d, w in windows_by_day.items()),
    )


def load_schedule(*, session: Session, session_type_id: int) -> Schedule:
    # The session type, its builder and the hours' version in one statement (slot search runs this on every
    # request). The version is read as a column, never from an ORM object the session may hold from before.
    found = session.exec(select(SessionType, Builder, Builder.schedule_version)
                         .join(Builder, Builder.id == SessionType.builder_id)
                         .where(SessionType.id == session_type_id)).first()
    if found is None or not found[0].active:
        raise SessionTypeNotFound(session_type_id)
    session_type, builder, version = found
    where = (database_of(session), builder.id, version, session_type.id if session_type.own_availability else None)
    hours = _hours_cache.get(where)
    if hours is None:
        hours = _read_hours(session, builder, session_type)
        _hours_cache.put(where, hours)
    return Schedule(
        builder=builder,
        session_type=session_type,
        weekly=hours.weekly,
        overrides=hours.overrides,
        policy=availability.BookingPolicy(
            buffer_minutes=builder.buffer_minutes,
            min_notice_minutes=builder.min_notice_minutes,
            horizon_days=builder.horizon_days,
            slot_step_minutes=builder.slot_step_minutes,
        ),
        limits=limits.BookingLimits(builder_daily=builder.daily_limit, builder_weekly=builder.weekly_limit,
                                    type_daily=session_type.daily_limit, type_weekly=session_type.weekly_limit),
    )


def limit_counter(*, session: Session, schedule: Schedule, start: datetime, end: datetime, now: datetime,
                  ignore_booking_id: str | None = None) -> limits.LimitCounter | None:
    """The builder's active bookings around [start, end), counted for the limits; None when there are none."""
    if not schedule.limits.any:
        return None
    first, last = limits.count_window(start, end)
    taken = busy_type_starts(session=session, builder_id=schedule.builder.id, start=first, end=last, now=now,
                             ignore_booking_id=ignore_booking_id)
    return limits.LimitCounter(schedule.limits, availability.load_zone(schedule.builder.time_zone),
                               schedule.session_type.id, taken)


def _busy(*, session: Session, schedule: Schedule, start: datetime, end: datetime,
          now: datetime, ignore_booking_id: str | None = None,
          busy_sources: Sequence[BusySource] = DEFAULT_BUSY_SOURCES,
          shared: list[seats.Span] | None = None, cached: bool = False) -> availability.UtcSpans:
    """Bookings and every other busy source, as (start, end) pairs (no Interval object per row).
    `shared`: sessions of a workshop with a free seat, whose own bookings don't block them.
    `cached`: the bookings as kept between searches (booking.scheduling.booking_spans), for listing
    slots; a booking's own check reads them afresh."""
    margin = timedelta(minutes=schedule.policy.buffer_minutes)
    start, end = start - margin, end + margin
    if cached and ignore_booking_id is None:
        spans = booking_spans(session=session, builder_id=schedule.builder.id, start=start, end=end, now=now)
    else:
        spans = busy_spans(session=session, builder_id=schedule.builder.id, start=start, end=end, now=now,
                           ignore_booking_id=ignore_booking_id)
    spans = seats.without(spans, shared or [])
    spans.extend(other_busy_spans(session=session, builder_id=schedule.builder.id, start=start, end=end,
                                 sources=busy_sources))
    return spans


def find_open_slots(*, session: Session, session_type_id: int, from_day: date, days: int,
                    viewer_time_zone: str, now: datetime,
                    ignore_booking_id: str | None = None,
                    busy_sources: Sequence[BusySource] = DEFAULT_BUSY_SOURCES) -> list[availability.Slot]:
    schedule = load_schedule(session=session, session_type_id=session_type_id)
    # Viewer days can start up to 14 h before or after UTC midnight; take a day either side.
    window_start = datetime.combine(from_day - timedelta(days=1), datetime.min.time()).replace(tzinfo=now.tzinfo)
    window_end = window_start + timedelta(days=days + 2)
    shared = seats.sessions_with_free_seats(session=session, session_type=schedule.session_type, start=window_start,
                                            end=window_end, now=now, ignore_booking_id=ignore_booking_id)
    found = availability.open_slots(
        builder_time_zone=schedule.builder.time_zone,
        weekly=schedule.weekly,
        overrides=schedule.overrides,
        duration_minutes=schedule.session_type.duration_minutes,
        busy=_busy(session=session, schedule=schedule, start=window_start, end=window_end, now=now,
                   ignore_booking_id=ignore_booking_id, busy_sources=busy_sources, shared=shared, cached=True),
        policy=schedule.policy,
        now=now,
        from_day=from_day,
        days=days,
        viewer_time_zone=viewer_time_zone,
    )
    found = seats.whole_sessions_only(found, shared, schedule.policy.buffer_minutes)
    counter = limit_counter(session=session, schedule=schedule, start=window_start, end=window_end, now=now,
                            ignore_booking_id=ignore_booking_id)
    return found if counter is None else [slot for slot in found if counter.allows(slot.start)]


def is_open(*, session: Session, schedule: Schedule, start: datetime, now: datetime,
            ignore_booking_id: str | None = None,
            busy_sources: Sequence[BusySource] = DEFAULT_BUSY_SOURCES) -> bool:
    end = start + timedelta(minutes=schedule.session_type.duration_minutes)
    margin = timedelta(minutes=schedule.policy.buffer_minutes)
    shared = seats.sessions_with_free_seats(session=session, session_type=schedule.session_type, start=start - margin,
                                            end=end + margin, now=now, ignore_booking_id=ignore_booking_id)
    if not seats.whole_sessions_only([availability.Slot(start=start, end=end)], shared,
                                     schedule.policy.buffer_minutes):
        return False
    counter = limit_counter(session=session, schedule=schedule, start=start, end=end, now=now,
                            ignore_booking_id=ignore_booking_id)
    if counter is not None and not counter.allows(start):
        return False
    return availability.is_slot_open(
        start=start,
        builder_time_zone=schedule.builder.time_zone,
        weekly=schedule.weekly,
        overrides=schedule.overrides,
        duration_minutes=schedule.session_type.duration_minutes,
        busy=_busy(session=session, schedule=schedule, start=start, end=end, now=now,
                   ignore_booking_id=ignore_booking_id, busy_sources=busy_sources, shared=shared),
        policy=schedule.policy,
        now=now,
    )
