"""Open booking slots for a builder: pure, time-zone-correct availability maths.

Everything here is plain Python (dataclasses in, dataclasses out): no database,
no network, no web framework. The caller loads the builder's rules, overrides
and busy intervals (confirmed bookings and unexpired holds) and passes them in.

Model
=====

* A builder publishes *weekly windows* in their own zone, as wall-clock times
  on a weekday (``WeeklyWindow``), and may replace a particular local date's
  windows with a ``DateOverride`` (an empty override closes the day).
* Each window is turned into a real-time interval. A window bound ``t`` on local
  date ``D`` maps to **the earliest instant at which the builder's wall clock
  reads ``D t`` or later**. In practice:

  - an ordinary time maps to its only instant;
  - an ambiguous time (fall-back: 01:30 happens twice) maps to its *first*
    occurrence (``fold=0``);
  - a time that does not exist (spring-forward gap, e.g. 02:30 on
    America/New_York 2026-03-08) maps to the transition instant, i.e. to the
    first wall-clock time after the gap (03:00 EDT).

  This keeps adjacent windows adjacent: ``00:00-01:30`` and ``01:30-04:00``
  never overlap or leave a hole, whatever the DST rules do that day.
* Candidate starts form a *wall-clock grid*: the window's local start, then
  every ``slot_step_minutes`` of wall-clock time after it. A grid time that
  falls in a spring-forward gap does not exist and is **skipped** (it is not
  normalised). An ambiguous grid time uses its **first occurrence**
  (``fold=0``); the repeated hour therefore yields no extra starts.
  Within one window, a candidate that would start less than
  ``slot_step_minutes`` of *real* time after the previous kept start is
  dropped (this can only happen just after a spring-forward gap). Hence starts
  coming from one window are always at least one step apart in real time and,
  when ``slot_step_minutes >= duration_minutes``, a window's slots never
  overlap each other.
* A slot is ``[start, start + duration)`` with the duration added in UTC, so
  it always lasts exactly ``duration_minutes`` of elapsed time, and it must end
  no later than the window's real end.
* A slot is open when, additionally,
  ``now + min_notice <= start <= now + horizon_days`` (both bounds inclusive,
  measured in real time; ``horizon_days`` is ``horizon_days * 24`` hours) and
  it does not overlap any busy interval widened by ``buffer_minutes`` on both
  sides. Intervals are half-open, so touching edges do not overlap.

Windows must satisfy ``start < end`` within one local day; an overnight
opening is expressed as two windows (one ending at ``END_OF_DAY`` and one
starting at ``time(0, 0)`` the next day). ``END_OF_DAY`` (``time.max``) as an
end means "until the next local midnight" (24:00). ``time(0, 0)`` is rejected
as an end because it is not after any start.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache

from booking.core.time import load_zone  # re-exported: callers say availability.load_zone

__all__ = [
    "END_OF_DAY",
    "BusySpan",
    "MAX_RANGE_DAYS",
    "BookingPolicy",
    "DateOverride",
    "Interval",
    "Slot",
    "UtcSpans",
    "WeeklyWindow",
    "is_slot_open",
    "open_slots",
    "utc_spans",
    "working_windows",
]

UTC = timezone.utc
END_OF_DAY = time.max
"""Use as a window end to mean 24:00 (the next local midnight)."""
MAX_RANGE_DAYS = 62
"""Largest ``days`` accepted by :func:`open_slots`."""

_ONE_DAY = timedelta(days=1)
_MICROSECOND = timedelta(microseconds=1)


# --------------------------------------------------------------------------
# Input and output types
# --------------------------------------------------------------------------


def _check_window(start: time, end: time, what: str) -> None:
    if not isinstance(start, time) or not isinstance(end, time):
        raise TypeError(f"{what}: start and end must be datetime.time values")
    if start.tzinfo is not None or end.tzinfo is not None:
        raise ValueError(f"{what}: times must be naive builder-local wall-clock times")
    if end == time(0, 0):
        raise ValueError(f"{what}: end 00:00 is not allowed; use END_OF_DAY (time.max) for 'until midnight'")
    if not start < end:
        raise ValueError(f"{what}: start {start} must be before end {end}")


@dataclass(frozen=True)
class WeeklyWindow:
    """Builder-local wall-clock opening hours on a weekday.

    ``weekday`` is 0 = Monday ... 6 = Sunday. ``start < end``; ``end`` may be
    ``END_OF_DAY`` (``time.max``) meaning 24:00, but not ``time(0, 0)``.
    """

    weekday: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if isinstance(self.weekday, bool) or not isinstance(self.weekday, int):
            raise TypeError("WeeklyWindow.weekday must be an int (0 = Monday ... 6 = Sunday)")
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"WeeklyWindow.weekday must be 0..6, got {self.weekday}")
        _check_window(self.start, self.end, "WeeklyWindow")


@dataclass(frozen=True)
class DateOverride:
    """Replaces the weekly windows of one builder-local date.

    ``windows`` is a tuple of ``(start, end)`` local times with the same rules
    as :class:`WeeklyWindow`; an empty tuple closes the day.
    """

    day: date
    windows: tuple[tuple[time, time], ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.day, datetime) or not isinstance(self.day, date):
            raise TypeError("DateOverride.day must be a datetime.date (not a datetime)")
        windows = tuple(tuple(w) for w in self.windows)
        for w in windows:
            if len(w) != 2:
                raise ValueError(f"DateOverride {self.day}: each window must be a (start, end) pair")
            _check_window(w[0], w[1], f"DateOverride {self.day}")
        object.__setattr__(self, "windows", windows)


def _is_aware(value: datetime) -> bool:
    return value.tzinfo is not None and value.utcoffset() is not None


def _require_aware(value: object, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime")
    if not _is_aware(value):
        raise ValueError(f"{what} must be timezone-aware")
    return value


@dataclass(frozen=True)
class Interval:
    """A half-open real-time interval ``[start, end)``; both ends tz-aware."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _require_aware(self.start, "Interval.start")
        _require_aware(self.end, "Interval.end")
        # Compare in UTC: aware datetimes sharing a tzinfo compare by wall clock,
        # which is wrong across a fall-back (01:30 BST is before 01:00 GMT).
        if self.end.astimezone(UTC) < self.start.astimezone(UTC):
            raise ValueError(f"Interval end {self.end} is before its start {self.start}")


@dataclass(frozen=True)
class BookingPolicy:
    buffer_minutes: int = 0  # kept free before and after every busy interval
    min_notice_minutes: int = 0  # no slot may start earlier than now + notice
    horizon_days: int = 60  # no slot may start later than now + horizon
    slot_step_minutes: int = 30  # wall-clock step between candidate starts

    def __post_init__(self) -> None:
        for name in ("buffer_minutes", "min_notice_minutes", "horizon_days", "slot_step_minutes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"BookingPolicy.{name} must be an int")
            if value < 0:
                raise ValueError(f"BookingPolicy.{name} must not be negative, got {value}")
        if self.slot_step_minutes < 1:
            raise ValueError("BookingPolicy.slot_step_minutes must be at least 1")


@dataclass(frozen=True)
class Slot:
    """An open slot; ``start``/``end`` are aware datetimes in the viewer's zone."""

    start: datetime
    end: datetime


# --------------------------------------------------------------------------
# Zone helpers
# --------------------------------------------------------------------------


def _wall(instant: datetime, tz: tzinfo) -> datetime:
    """The naive wall-clock reading of ``instant`` in ``tz``."""
    return instant.astimezone(tz).replace(tzinfo=None)


def _fold0_utc(naive: datetime, tz: tzinfo) -> datetime:
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _existing_utc(naive: datetime, tz: tzinfo) -> datetime | None:
    """UTC instant of a wall-clock time (first occurrence), or None inside a gap."""
    instant = _fold0_utc(naive, tz)
    if _wall(instant, tz) != naive:
        return None
    return instant


def _earliest_at_or_after(naive: datetime, tz: tzinfo) -> datetime:
    """The earliest instant at which the wall clock in ``tz`` reads ``naive`` or later.

    Equals the first occurrence for existing times and the transition instant
    for times inside a spring-forward gap.
    """
    first = _existing_utc(naive, tz)
    if first is not None:
        return first
    # Inside a gap: fold=0 reads the time with the pre-gap offset (an instant
    # after the transition), fold=1 with the post-gap offset (an instant before
    # it). Binary-search the transition between them, to the microsecond.
    lo = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if hi < lo:  # defensive: never expected for a gap
        lo, hi = hi, lo
    while hi - lo > timedelta(microseconds=1):
        mid = lo + (hi - lo) // 2
        if _wall(mid, tz) >= naive:
            hi = mid
        else:
            lo = mid
    return hi if _wall(lo, tz) < naive else lo


def _local_bound(day: date, t: time, tz: tzinfo) -> datetime:
    """Real instant of a window bound on a local day (``END_OF_DAY`` = next midnight)."""
    if t == END_OF_DAY:
        naive = datetime.combine(day + _ONE_DAY, time(0, 0))
    else:
        naive = datetime.combine(day, t)
    return _earliest_at_or_after(naive, tz)


# --------------------------------------------------------------------------
# Windows and candidates
# --------------------------------------------------------------------------


def _override_map(overrides: Iterable[DateOverride]) -> dict[date, tuple[tuple[time, time], ...]]:
    result: dict[date, tuple[tuple[time, time], ...]] = {}
    for override in overrides:
        if not isinstance(override, DateOverride):
            raise TypeError("overrides must contain DateOverride values")
        if override.day in result:
            raise ValueError(f"more than one DateOverride for {override.day}")
        result[override.day] = override.windows
    return result


def _weekly_map(weekly: Iterable[WeeklyWindow]) -> dict[int, list[tuple[time, time]]]:
    result: dict[int, list[tuple[time, time]]] = {d: [] for d in range(7)}
    for window in weekly:
        if not isinstance(window, WeeklyWindow):
            raise TypeError("weekly must contain WeeklyWindow values")
        result[window.weekday].append((window.start, window.end))
    return result


@lru_cache(maxsize=8192)
def _steady_offset(tz: tzinfo, day: date) -> tuple[timedelta, datetime] | None:
    """`_Rules.steady_offset`, kept per zone and day: a zone's rules do not change while the process
    runs, and every search of the next two months asks for the same sixty days."""
    midnight = datetime.combine(day, time(0, 0))
    first = _existing_utc(midnight, tz)
    if first is None:
        return None
    offset = first.astimezone(tz).utcoffset()
    next_midnight = _earliest_at_or_after(midnight + _ONE_DAY, tz)  # exact, even if it does not exist
    if (next_midnight - _MICROSECOND).astimezone(tz).utcoffset() != offset:
        return None
    return offset, next_midnight


class _Rules:
    """Weekly rules + overrides for one builder zone, resolved per local date."""

    def __init__(self, tz: tzinfo, weekly: Iterable[WeeklyWindow], overrides: Iterable[DateOverride]):
        self.tz = tz
        self.weekly = _weekly_map(weekly)
        self.overrides = _override_map(overrides)

    def local_windows(self, day: date) -> Sequence[tuple[time, time]]:
        if day in self.overrides:
            return self.overrides[day]
        return self.weekly[day.weekday()]

    def real_windows(self, day: date) -> list[tuple[time, datetime, datetime]]:
        """``(local start, real start, real end)`` for each non-empty window of ``day``."""
        result = []
        for start, end in self.local_windows(day):
            real_start = _local_bound(day, start, self.tz)
            real_end = _local_bound(day, end, self.tz)
            if real_start < real_end:
                result.append((start, real_start, real_end))
        return result

    def steady_offset(self, day: date) -> tuple[timedelta, datetime] | None:
        """``(UTC offset, next local midnight's instant)`` if ``day``'s wall clock runs steadily, else None.

        "Steadily": local midnight exists and the offset at the day's first
        instant equals the offset just before the next local midnight. Then
        every wall time of the day exists once (its first occurrence is
        ``wall - offset``), window bounds are ``wall - offset`` too, and the
        grid's starts are exactly one step apart in real time: the slot search
        computes them with plain arithmetic instead of a zone conversion per
        candidate. Days with a transition (a gap, a repeated hour, a midnight
        that does not exist) return None and take the exact per-candidate walk.
        This assumes no zone shifts its offset and back within one local day,
        which holds for every zone in the tz database.
        """
        return _steady_offset(self.tz, day)

    def candidates(
        self, day: date, duration: timedelta, step: timedelta, stop_after: datetime | None = None
    ) -> Iterable[datetime]:
        """UTC starts of every slot that fits a window of ``day`` (before busy/notice checks).

        Each window's starts come out in increasing order; ``stop_after`` ends a
        window's walk early once its starts pass that instant.
        """
        tz = self.tz
        for local_start, _real_start, real_end in self.real_windows(day):
            wall = datetime.combine(day, local_start)
            # Every grid time that could fit is before the window's wall-clock
            # end, which is at most the next local midnight.
            wall_limit = datetime.combine(day + _ONE_DAY, time(0, 0))
            latest_start = real_end - duration
            if stop_after is not None and stop_after < latest_start:
                latest_start = stop_after
            previous: datetime | None = None
            while wall < wall_limit:
                instant = _existing_utc(wall, tz)
                if instant is not None:
                    if instant > latest_start:
                        break  # existing grid times are increasing in real time
                    if previous is None or instant - previous >= step:
                        yield instant
                        previous = instant
                wall += step


BusySpan = tuple[datetime, datetime]
"""``(start, end)``, both aware: what the database layer hands over instead of building an Interval per row."""


def _utc_span(item: Interval | BusySpan) -> tuple[datetime, datetime]:
    if isinstance(item, Interval):
        start, end = item.start, item.end
    elif isinstance(item, tuple) and len(item) == 2:
        start, end = item
    else:
        raise TypeError("busy must contain Interval values or (start, end) pairs")
    if type(start) is datetime and start.tzinfo is UTC and type(end) is datetime and end.tzinfo is UTC:
        return start, end  # already aware UTC: nothing to convert
    start = _require_aware(start, "busy interval start").astimezone(UTC)
    end = _require_aware(end, "busy interval end").astimezone(UTC)
    return start, end


class UtcSpans(list):
    """``(start, end)`` pairs already checked to be aware UTC datetimes (:func:`utc_spans`, or the
    database layer, which reads them so): the slot search takes them without a check per span."""


def utc_spans(items: Iterable[Interval | BusySpan]) -> UtcSpans:
    """Busy intervals or ``(start, end)`` pairs from any source, checked and converted to UTC once."""
    return UtcSpans(_utc_span(item) for item in items)


class _BusyIndex:
    """Busy intervals widened by the buffer, merged, for O(log n) overlap tests."""

    def __init__(self, busy: Iterable[Interval | BusySpan], buffer: timedelta):
        if not isinstance(busy, UtcSpans):
            busy = utc_spans(busy)
        if buffer:
            busy = [(start - buffer, end + buffer) for start, end in busy]
        spans = sorted([span for span in busy if span[0] < span[1]])  # an empty interval blocks nothing
        starts: list[datetime] = []
        ends: list[datetime] = []
        for start, end in spans:
            if ends and start <= ends[-1]:
                if end > ends[-1]:
                    ends[-1] = end
            else:
                starts.append(start)
                ends.append(end)
        self.starts = starts
        self.ends = ends

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Does ``[start, end)`` intersect any (merged) busy span?"""
        i = bisect_right(self.ends, start)  # first span ending after start
        return i < len(self.starts) and self.starts[i] < end


@dataclass(frozen=True)
class _Check:
    duration: timedelta
    step: timedelta
    earliest: datetime
    latest: datetime
    busy: _BusyIndex

    def is_open(self, start: datetime) -> bool:
        return self.earliest <= start <= self.latest and not self.busy.overlaps(start, start + self.duration)


def _prepare(duration_minutes: int, busy: Sequence[Interval | BusySpan], policy: BookingPolicy, now: datetime) -> _Check:
    if isinstance(duration_minutes, bool) or not isinstance(duration_minutes, int):
        raise TypeError("duration_minutes must be an int")
    if duration_minutes < 1:
        raise ValueError(f"duration_minutes must be at least 1, got {duration_minutes}")
    if not isinstance(policy, BookingPolicy):
        raise TypeError("policy must be a BookingPolicy")
    now_utc = _require_aware(now, "now").astimezone(UTC)
    return _Check(
        duration=timedelta(minutes=duration_minutes),
        step=timedelta(minutes=policy.slot_step_minutes),
        earliest=now_utc + timedelta(minutes=policy.min_notice_minutes),
        latest=now_utc + timedelta(days=policy.horizon_days),
        busy=_BusyIndex(busy, timedelta(minutes=policy.buffer_minutes)),
    )


@lru_cache(maxsize=1024)  # a builder's few window bounds, asked for every day of every search
def _since_midnight(t: time) -> timedelta:
    return timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)


def _steady_day_starts(day: date, offset: timedelta, next_midnight: datetime, rules: _Rules, check: _Check,
                       lower: datetime, upper: datetime, starts: set[datetime]) -> None:
    """Add the open starts in ``[lower, upper)`` of a day whose UTC offset is ``offset`` throughout.

    The same starts as walking ``rules.candidates(day, ...)`` and testing each, without a zone
    conversion per candidate: a window's starts are ``real start + k * step``. The busy spans are
    sorted and merged, so one bisect per window finds the first span that matters, and a blocked
    candidate jumps straight to the first grid start at or after that span's end.
    """
    duration, step = check.duration, check.step
    busy_starts, busy_ends = check.busy.starts, check.busy.ends
    n_busy = len(busy_starts)
    base = datetime.combine(day, time(0, 0), UTC) - offset  # the day's local midnight, in UTC
    for local_start, local_end in rules.local_windows(day):
        start = base + _since_midnight(local_start)
        end = next_midnight if local_end == END_OF_DAY else base + _since_midnight(local_end)
        # The last start that fits the window and the range (upper is exclusive).
        stop = min(end - duration, upper - _MICROSECOND)
        if lower > start:
            instant = start - ((start - lower) // step) * step  # first grid start at or after lower
        else:
            instant = start
        j = bisect_right(busy_ends, instant)  # first busy span ending after the candidate
        while instant <= stop:
            while j < n_busy and busy_ends[j] <= instant:
                j += 1
            if j < n_busy and busy_starts[j] < instant + duration:
                # Blocked until busy_ends[j]: skip to the first grid start at or after it.
                instant = start - ((start - busy_ends[j]) // step) * step
                continue
            starts.add(instant)
            instant += step


def _check_day(value: object, what: str) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{what} must be a datetime.date (not a datetime)")
    return value


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def open_slots(
    *,
    builder_time_zone: str,
    weekly: Sequence[WeeklyWindow],
    overrides: Sequence[DateOverride],
    duration_minutes: int,
    busy: Sequence[Interval | BusySpan],
    policy: BookingPolicy,
    now: datetime,
    from_day: date,
    days: int,
    viewer_time_zone: str,
) -> list[Slot]:
    """Every open slot starting in the viewer-local days ``[from_day, from_day + days)``.

    The range runs from ``from_day 00:00`` to ``(from_day + days) 00:00`` in
    ``viewer_time_zone`` (a midnight inside a DST gap means the transition
    instant; an ambiguous one its first occurrence). Slots are sorted by start,
    have unique starts, and are expressed in ``booking.core.time.zone(viewer_time_zone)``.
    """
    builder_tz = load_zone(builder_time_zone)
    viewer_tz = load_zone(viewer_time_zone)
    _check_day(from_day, "from_day")
    if isinstance(days, bool) or not isinstance(days, int):
        raise TypeError("days must be an int")
    if not 1 <= days <= MAX_RANGE_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_RANGE_DAYS}, got {days}")
    check = _prepare(duration_minutes, busy, policy, now)
    rules = _Rules(builder_tz, weekly, overrides)

    range_start = _earliest_at_or_after(datetime.combine(from_day, time(0, 0)), viewer_tz)
    range_end = _earliest_at_or_after(datetime.combine(from_day + timedelta(days=days), time(0, 0)), viewer_tz)
    lower = max(range_start, check.earliest)
    upper = min(range_end, check.latest + timedelta(microseconds=1))  # exclusive
    if lower >= upper:
        return []

    # Builder-local days whose windows can hold a start in [lower, upper).
    # Starts of day D have wall clock on D, so D lies between the local dates
    # of the two bounds; one day of margin either side is pure safety.
    first_day = _wall(lower, builder_tz).date() - _ONE_DAY
    last_day = _wall(upper, builder_tz).date() + _ONE_DAY

    starts: set[datetime] = set()
    day = first_day
    while day <= last_day:
        steady = rules.steady_offset(day)
        if steady is None:  # a DST day: convert each candidate exactly
            for instant in rules.candidates(day, check.duration, check.step):
                if lower <= instant < upper and check.is_open(instant):
                    starts.add(instant)
        else:
            _steady_day_starts(day, *steady, rules, check, lower, upper, starts)
        day += _ONE_DAY

    return [Slot(start=s.astimezone(viewer_tz), end=(s + check.duration).astimezone(viewer_tz)) for s in sorted(starts)]


def is_slot_open(
    *,
    start: datetime,
    builder_time_zone: str,
    weekly: Sequence[WeeklyWindow],
    overrides: Sequence[DateOverride],
    duration_minutes: int,
    busy: Sequence[Interval | BusySpan],
    policy: BookingPolicy,
    now: datetime,
) -> bool:
    """Re-check one requested start exactly (e.g. at booking time).

    True iff ``open_slots`` would list a slot with this start (same instant,
    whatever zone ``start`` is expressed in) for a viewer range containing it.
    """
    builder_tz = load_zone(builder_time_zone)
    start_utc = _require_aware(start, "start").astimezone(UTC)
    check = _prepare(duration_minutes, busy, policy, now)
    if not check.is_open(start_utc):
        return False
    rules = _Rules(builder_tz, weekly, overrides)
    # A candidate's builder wall-clock reading is its grid time, which lies on
    # the day whose windows produced it: only that day needs walking.
    local_day = _wall(start_utc, builder_tz).date()
    return any(
        instant == start_utc
        for instant in rules.candidates(local_day, check.duration, check.step, stop_after=start_utc)
    )


def working_windows(
    *,
    builder_time_zone: str,
    weekly: Sequence[WeeklyWindow],
    overrides: Sequence[DateOverride],
    start_day: date,
    end_day: date,
) -> list[Interval]:
    """The builder's open hours on builder-local days ``start_day..end_day`` (inclusive).

    Returns UTC intervals, sorted, with overlapping or touching windows merged
    and windows that vanish entirely (e.g. inside a DST gap) dropped. Window
    bounds follow the module rules: first occurrence of an ambiguous time,
    transition instant for a time inside a gap.
    """
    builder_tz = load_zone(builder_time_zone)
    _check_day(start_day, "start_day")
    _check_day(end_day, "end_day")
    if end_day < start_day:
        raise ValueError(f"end_day {end_day} is before start_day {start_day}")
    rules = _Rules(builder_tz, weekly, overrides)
    spans: list[tuple[datetime, datetime]] = []
    day = start_day
    while day <= end_day:
        spans.extend((s, e) for _t, s, e in rules.real_windows(day))
        day += _ONE_DAY
    spans.sort()
    merged: list[list[datetime]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [Interval(start=s, end=e) for s, e in merged]
