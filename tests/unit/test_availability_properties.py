"""Property-based tests for booking.availability (Hypothesis).

The oracles here deliberately avoid the module's own helpers: they work from
wall-clock readings (``instant.astimezone(zone)``) and brute force.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking.scheduling.availability import (
    END_OF_DAY,
    BookingPolicy,
    DateOverride,
    Interval,
    WeeklyWindow,
    is_slot_open,
    open_slots,
    working_windows,
)
from tests.support.slots_reference import per_candidate_open_slots

UTC = timezone.utc
MINUTE = timedelta(minutes=1)
ZONES = [
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Auckland",
    "America/Sao_Paulo",
    "UTC",
]

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _transition_days(name: str) -> list[date]:
    """Local dates in 2026-2027 on which zone ``name`` changes its UTC offset."""
    tz = ZoneInfo(name)
    days = []
    d = date(2026, 1, 1)
    previous = datetime.combine(d, time(0), tz).utcoffset()
    while d < date(2028, 1, 1):
        d += timedelta(days=1)
        offset = datetime.combine(d, time(0), tz).utcoffset()
        if offset != previous:
            days.append(d - timedelta(days=1))
        previous = offset
    return days


TRANSITIONS = {name: _transition_days(name) for name in ZONES}
TRANSITION_DAYS = sorted({d for days in TRANSITIONS.values() for d in days})
SPRING_FORWARD = [  # (zone, local date) where the clocks jump forward
    (name, d)
    for name, days in TRANSITIONS.items()
    for d in days
    if datetime.combine(d + timedelta(days=1), time(0), ZoneInfo(name)).utcoffset()
    > datetime.combine(d, time(0), ZoneInfo(name)).utcoffset()
]
# London, New York, Lord Howe and Auckland change twice a year; the others never.
assert [n for n, days in TRANSITIONS.items() if len(days) == 4] == [
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
]


# ---------------------------------------------------------------------------
# Scenario generation
# ---------------------------------------------------------------------------


def _clock(minutes: int) -> time:
    return END_OF_DAY if minutes == 24 * 60 else time(minutes // 60, minutes % 60)


@dataclass
class Scenario:
    builder: str
    viewer: str
    weekly: list[WeeklyWindow]
    overrides: list[DateOverride]
    duration: int
    busy: list[Interval]
    policy: BookingPolicy
    now: datetime
    from_day: date
    days: int

    def common(self) -> dict:
        return dict(
            builder_time_zone=self.builder,
            weekly=self.weekly,
            overrides=self.overrides,
            duration_minutes=self.duration,
            busy=self.busy,
            policy=self.policy,
            now=self.now,
        )

    def slots(self, **changes):
        kw = dict(self.common(), from_day=self.from_day, days=self.days, viewer_time_zone=self.viewer)
        kw.update(changes)
        return open_slots(**kw)

    def is_open(self, start: datetime) -> bool:
        return is_slot_open(start=start, **self.common())

    def range_utc(self) -> tuple[datetime, datetime]:
        tz = ZoneInfo(self.viewer)
        return (
            first_occurrence(datetime.combine(self.from_day, time(0)), tz),
            first_occurrence(datetime.combine(self.from_day + timedelta(days=self.days), time(0)), tz),
        )

    def bounds(self) -> tuple[datetime, datetime]:
        """now + notice and now + horizon, in real time (UTC arithmetic, not wall clock)."""
        now = self.now.astimezone(UTC)
        return (
            now + timedelta(minutes=self.policy.min_notice_minutes),
            now + timedelta(days=self.policy.horizon_days),
        )

    def busy_utc(self) -> list[tuple[datetime, datetime]]:
        """Busy intervals widened by the buffer, in UTC; empty ones dropped."""
        buffer = timedelta(minutes=self.policy.buffer_minutes)
        spans = [(b.start.astimezone(UTC) - buffer, b.end.astimezone(UTC) + buffer) for b in self.busy]
        return [(lo, hi) for lo, hi in spans if lo < hi]

    def local_windows(self, day: date) -> tuple[tuple[time, time], ...]:
        for o in self.overrides:
            if o.day == day:
                return o.windows
        return tuple((w.start, w.end) for w in self.weekly if w.weekday == day.weekday())


# Strategies are built once here: constructing them inside the composite for
# every example costs more than running the code under test.
ZONE = st.sampled_from(ZONES)
DST_ZONE = st.sampled_from([n for n in ZONES if TRANSITIONS[n]])
ZONE_INFO = ZONE.map(ZoneInfo)
ANY_DAY = st.dates(date(2026, 1, 1), date(2027, 12, 31))
NOTICE = st.one_of(st.just(0), st.integers(0, 3000), st.integers(0, 48).map(lambda h: h * 60))
HORIZON = st.one_of(st.integers(0, 10), st.just(60))
NOW_OFFSET = st.one_of(
    st.integers(-3 * 1440, 0),
    st.integers(-4 * 1440, 2 * 1440),
    st.integers(-96, 48).map(lambda h: h * 60),  # on the hour: hits notice/horizon edges
)
BUSY = st.lists(  # (minutes after from_day 00:00 UTC, length in minutes, zone to express it in)
    st.one_of(
        st.tuples(st.integers(-2 * 1440, 4 * 1440), st.integers(0, 300), ZONE_INFO),
        # on a quarter-hour grid, so edges often touch slot edges exactly
        st.tuples(
            st.integers(-2 * 96, 4 * 96).map(lambda q: q * 15),
            st.integers(0, 20).map(lambda q: q * 15),
            ZONE_INFO,
        ),
    ),
    max_size=12,
)
BUFFER = st.one_of(st.integers(0, 60), st.sampled_from([0, 15, 30]))


def _windows(unit: int) -> st.SearchStrategy[tuple[time, time]]:
    per_day = 24 * 60 // unit
    # often start in the small hours, where DST transitions happen
    start = st.one_of(st.integers(0, per_day - 1), st.integers(0, 3 * 60 // unit))
    length = st.one_of(st.integers(1, 8 * 60 // unit), st.integers(1, per_day))
    return st.builds(lambda s, n: (_clock(s * unit), _clock(min(s + n, per_day) * unit)), start, length)


WINDOWS = {unit: _windows(unit) for unit in (1, 5)}
COMMON_MINUTES = (15, 30, 45, 60, 90, 120)
DURATION = {u: st.one_of(st.sampled_from([m // u for m in COMMON_MINUTES]), st.integers(1, 180 // u)) for u in (1, 5)}
STEP = {
    u: st.one_of(st.sampled_from([m // u for m in COMMON_MINUTES]), st.integers(max(1, 5 // u), 120 // u))
    for u in (1, 5)
}
WINDOW_LISTS = {unit: st.lists(WINDOWS[unit], max_size=2) for unit in (1, 5)}
# weekday = from_day's weekday + shift: mostly days of the requested range (or one either side)
WEEKDAY_SHIFT = {days: st.one_of(st.integers(-1, days), st.integers(0, 6)) for days in (1, 2, 3)}


@st.composite
def scenarios(draw, unit: int = 1, single_window_per_day: bool = False, dst_night: bool | None = None) -> Scenario:
    """Random inputs; ``dst_night`` forces (True) or forbids (False) the DST-night focus."""
    viewer = draw(ZONE)
    days = draw(st.integers(1, 3))
    night_window = None
    if dst_night if dst_night is not None else draw(st.booleans()):
        # Focus on the builder's own DST night: the range contains a transition
        # day of the builder's zone, which has a window over the small hours.
        builder = draw(DST_ZONE)
        transition = draw(st.sampled_from(TRANSITIONS[builder]))
        from_day = transition - timedelta(days=draw(st.integers(0, days - 1)))
        night_start = draw(st.integers(0, 3 * 60 // unit))
        if draw(st.booleans()):
            night_end = draw(st.integers(night_start + 1, 6 * 60 // unit))
        else:  # ending between 01:00 and 03:00: often inside a spring-forward gap
            low = max(night_start + 1, 60 // unit)
            night_end = draw(st.integers(low, max(low, 3 * 60 // unit)))
        night_window = WeeklyWindow(transition.weekday(), _clock(night_start * unit), _clock(night_end * unit))
    else:
        builder = draw(ZONE)
        near_transition = TRANSITIONS[builder] + TRANSITIONS[viewer] or TRANSITION_DAYS
        if draw(st.booleans()):
            from_day = draw(st.sampled_from(near_transition)) + timedelta(days=draw(st.integers(-2, 1)))
        else:
            from_day = draw(ANY_DAY)

    def weekday() -> int:
        # weekdays of the requested range (and a day either side) are the interesting ones
        return (from_day.weekday() + draw(WEEKDAY_SHIFT[days])) % 7

    window = WINDOWS[unit]
    if single_window_per_day:
        weekdays = {weekday() for _ in range(draw(st.integers(0, 7)))}
        weekly = [WeeklyWindow(d, *draw(window)) for d in sorted(weekdays)]
        overrides = []
    else:
        weekly = [WeeklyWindow(weekday(), *draw(window)) for _ in range(draw(st.integers(0, 6)))]
        override_days = draw(st.lists(st.integers(-2, days + 1), unique=True, max_size=2))
        overrides = [DateOverride(from_day + timedelta(days=k), tuple(draw(WINDOW_LISTS[unit]))) for k in override_days]
    if night_window is not None:
        weekly = [night_window] + [w for w in weekly if w.weekday != night_window.weekday or not single_window_per_day]

    duration = draw(DURATION[unit]) * unit
    step = draw(STEP[unit]) * unit
    policy = BookingPolicy(
        buffer_minutes=draw(BUFFER),
        min_notice_minutes=draw(NOTICE),
        horizon_days=draw(HORIZON),
        slot_step_minutes=step,
    )

    anchor = datetime.combine(from_day, time(0), UTC)
    busy = []
    for offset, length, tz in draw(BUSY):
        start = anchor + offset * MINUTE
        busy.append(Interval(start.astimezone(tz), (start + length * MINUTE).astimezone(tz)))
    now = (anchor + draw(NOW_OFFSET) * MINUTE).astimezone(draw(ZONE_INFO))
    return Scenario(builder, viewer, weekly, overrides, duration, busy, policy, now, from_day, days)


# ---------------------------------------------------------------------------
# Independent oracles
# ---------------------------------------------------------------------------


def utc_pairs(slots) -> list[tuple[datetime, datetime]]:
    """Slots as UTC instants. (Aware datetimes sharing a tzinfo compare by wall
    clock and ignore ``fold``, so comparing Slot objects directly is too lax.)"""
    return [(s.start.astimezone(UTC), s.end.astimezone(UTC)) for s in slots]


def wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def first_occurrence(naive: datetime, tz: ZoneInfo) -> datetime | None:
    """Earliest UTC instant whose wall clock in tz reads exactly ``naive``; None in a gap."""
    hits = [
        instant for fold in (0, 1) if wall(instant := naive.replace(tzinfo=tz, fold=fold).astimezone(UTC), tz) == naive
    ]
    return min(hits) if hits else None


def naive_end(day: date, end: time) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0)) if end == END_OF_DAY else datetime.combine(day, end)


def ends_in_time(start: datetime, duration: timedelta, limit: datetime, tz: ZoneInfo) -> bool:
    """Is the builder's wall clock below ``limit`` throughout ``[start, start + duration)``?"""
    end = start + duration
    if start.astimezone(tz).utcoffset() == (end - timedelta(microseconds=1)).astimezone(tz).utcoffset():
        return wall(start, tz) + duration <= limit  # no transition inside: the clock runs linearly
    # A transition inside: offsets change on whole minutes, so check minute by minute.
    probe = start
    while probe < end:
        if wall(probe, tz) + MINUTE > limit:
            return False
        probe += MINUTE
    return True


def blocked(start: datetime, end: datetime, sc: Scenario) -> bool:
    return any(start < hi and lo < end for lo, hi in sc.busy_utc())


def reference_starts(sc: Scenario) -> set[datetime]:
    """Brute-force model of the documented semantics."""
    btz = ZoneInfo(sc.builder)
    duration = timedelta(minutes=sc.duration)
    step = timedelta(minutes=sc.policy.slot_step_minutes)
    range_start, range_end = sc.range_utc()
    earliest, latest = sc.bounds()
    result = set()
    day = wall(range_start, btz).date() - timedelta(days=1)
    while day <= wall(range_end, btz).date() + timedelta(days=1):
        for ws, we in sc.local_windows(day):
            limit = naive_end(day, we)
            clock = datetime.combine(day, ws)
            previous = None
            while clock < limit:
                start = first_occurrence(clock, btz)
                if start is not None and ends_in_time(start, duration, limit, btz):
                    if previous is None or start - previous >= step:
                        previous = start
                        if (
                            range_start <= start < range_end
                            and earliest <= start <= latest
                            and not blocked(start, start + duration, sc)
                        ):
                            result.add(start)
                clock += step
        day += timedelta(days=1)
    return result


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------


@settings(PROPERTY_SETTINGS, max_examples=500)  # the strongest check, and cheap: run it more
@given(scenarios(unit=5))
def test_matches_brute_force_reference(sc: Scenario):
    assert {s.start.astimezone(UTC) for s in sc.slots()} == reference_starts(sc)


@PROPERTY_SETTINGS
@given(scenarios())
def test_no_slot_overlaps_a_busy_interval_plus_buffer(sc: Scenario):
    for slot in sc.slots():
        start, end = slot.start.astimezone(UTC), slot.end.astimezone(UTC)
        for lo, hi in sc.busy_utc():
            assert end <= lo or start >= hi


@PROPERTY_SETTINGS
@given(scenarios())
def test_every_slot_lies_inside_a_window_of_its_builder_day(sc: Scenario):
    btz = ZoneInfo(sc.builder)
    step = timedelta(minutes=sc.policy.slot_step_minutes)
    duration = timedelta(minutes=sc.duration)
    result = sc.slots()
    for slot in result:
        start = slot.start.astimezone(UTC)
        clock = wall(start, btz)
        day = clock.date()
        # the start is the first occurrence of its builder wall-clock time
        assert first_occurrence(clock, btz) == start
        assert any(
            datetime.combine(day, ws) <= clock
            and (clock - datetime.combine(day, ws)) % step == timedelta(0)
            and ends_in_time(start, duration, naive_end(day, we), btz)
            for ws, we in sc.local_windows(day)
        ), (slot, clock, sc.local_windows(day))
    if result:
        spans = working_windows(
            builder_time_zone=sc.builder,
            weekly=sc.weekly,
            overrides=sc.overrides,
            start_day=wall(result[0].start, btz).date(),
            end_day=wall(result[-1].start, btz).date(),
        )
        for slot in result:
            start, end = slot.start.astimezone(UTC), slot.end.astimezone(UTC)
            assert any(w.start.astimezone(UTC) <= start and end <= w.end.astimezone(UTC) for w in spans)


@PROPERTY_SETTINGS
@given(scenarios())
def test_slots_are_in_the_viewer_zone_with_the_right_offset(sc: Scenario):
    vtz = ZoneInfo(sc.viewer)
    for slot in sc.slots():
        for moment in (slot.start, slot.end):
            assert isinstance(moment.tzinfo, ZoneInfo) and moment.tzinfo.key == sc.viewer
            assert moment.utcoffset() == vtz.utcoffset(moment)
            as_utc = moment.astimezone(UTC)
            # the wall reading minus its offset really is the instant
            assert moment.replace(tzinfo=None) - moment.utcoffset() == as_utc.replace(tzinfo=None)
            assert as_utc.astimezone(vtz).utcoffset() == moment.utcoffset()
        assert slot.end.astimezone(UTC) - slot.start.astimezone(UTC) == timedelta(minutes=sc.duration)


@PROPERTY_SETTINGS
@given(scenarios())
def test_sorted_unique_in_range_and_within_notice_and_horizon(sc: Scenario):
    starts = [s.start.astimezone(UTC) for s in sc.slots()]
    assert starts == sorted(set(starts))
    range_start, range_end = sc.range_utc()
    earliest, latest = sc.bounds()
    for start in starts:
        assert range_start <= start < range_end
        assert earliest <= start <= latest


@PROPERTY_SETTINGS
@given(scenarios(), st.data())
def test_is_slot_open_agrees_with_open_slots(sc: Scenario, data):
    listed = {s.start.astimezone(UTC) for s in sc.slots()}
    for start in listed:
        assert sc.is_open(start)
        assert sc.is_open(start.astimezone(ZoneInfo(sc.viewer)))
    range_start, range_end = sc.range_utc()
    span = int((range_end - range_start) / MINUTE)
    probes = {range_start + k * MINUTE for k in data.draw(st.lists(st.integers(0, span - 1), max_size=20))}
    nudges = [MINUTE, timedelta(minutes=sc.policy.slot_step_minutes), timedelta(minutes=sc.duration)]
    probes |= {s + sign * d for s in listed for d in nudges for sign in (1, -1)}
    for probe in probes:
        if range_start <= probe < range_end:
            assert sc.is_open(probe) == (probe in listed), probe


@PROPERTY_SETTINGS
@given(scenarios())
def test_splitting_the_range_into_days_gives_the_same_slots(sc: Scenario):
    whole = sc.slots()
    pieces = []
    for k in range(sc.days):
        pieces += sc.slots(from_day=sc.from_day + timedelta(days=k), days=1)
    assert whole == pieces
    assert utc_pairs(whole) == utc_pairs(pieces)


@PROPERTY_SETTINGS
@given(scenarios(), st.data())
def test_busy_touching_a_slot_does_not_block_it_but_one_minute_more_does(sc: Scenario, data):
    listed = sc.slots(busy=[])
    if not listed:
        return
    buffer = timedelta(minutes=sc.policy.buffer_minutes)
    for slot in data.draw(st.lists(st.sampled_from(listed), min_size=1, max_size=3, unique=True)):
        start, end = slot.start.astimezone(UTC), slot.end.astimezone(UTC)
        length = data.draw(st.integers(0, 120)) * MINUTE
        zone = data.draw(ZONE_INFO)

        def busy(lo: datetime, hi: datetime, zone: ZoneInfo = zone) -> Interval:
            return Interval(lo.astimezone(zone), hi.astimezone(zone))  # arithmetic done in UTC

        before = busy(start - buffer - length, start - buffer)
        after = busy(end + buffer, end + buffer + length)
        sc.busy = [before, after]
        assert sc.is_open(slot.start)
        assert (start, end) in utc_pairs(sc.slots())
        sc.busy = [before, busy(end + buffer - MINUTE, end + buffer + length)]
        assert not sc.is_open(slot.start)
        sc.busy = [busy(start - buffer - length, start - buffer + MINUTE), after]
        assert not sc.is_open(slot.start)


@PROPERTY_SETTINGS
@given(scenarios(), st.data())
def test_busy_inside_other_busy_and_busy_order_change_nothing(sc: Scenario, data):
    expected = sc.slots()
    extra = []
    for b in sc.busy:
        start, end = b.start.astimezone(UTC), b.end.astimezone(UTC)
        span = int((end - start) / MINUTE)
        lo = data.draw(st.integers(0, span))
        hi = data.draw(st.integers(lo, span))
        extra.append(Interval(start + lo * MINUTE, start + hi * MINUTE))
    sc.busy = data.draw(st.permutations(sc.busy + extra))
    assert utc_pairs(sc.slots()) == utc_pairs(expected)


@PROPERTY_SETTINGS
@given(scenarios(single_window_per_day=True, dst_night=True))
def test_one_window_a_day_and_step_at_least_duration_means_no_overlaps(sc: Scenario):
    # Only the rules matter here: drop busy intervals, notice and horizon.
    step = sc.policy.slot_step_minutes
    sc.duration = data_duration = min(sc.duration, step)
    sc.busy = []
    sc.policy = BookingPolicy(slot_step_minutes=step)
    sc.now = sc.range_utc()[0] - timedelta(days=1)
    result = sc.slots()
    assert all(s.end.astimezone(UTC) - s.start.astimezone(UTC) == data_duration * MINUTE for s in result)
    for a, b in zip(result, result[1:]):
        assert a.end.astimezone(UTC) <= b.start.astimezone(UTC)


@PROPERTY_SETTINGS
@given(
    st.sampled_from(SPRING_FORWARD),
    st.integers(0, 120),
    st.integers(180, 360),
    st.integers(5, 120),
)
def test_starts_stay_a_step_apart_across_a_spring_forward_gap(zone_day, first, last, step):
    name, day = zone_day
    tz = ZoneInfo(name)
    result = open_slots(
        builder_time_zone=name,
        weekly=[WeeklyWindow(day.weekday(), _clock(first), _clock(last))],
        overrides=[],
        duration_minutes=1,
        busy=[],
        policy=BookingPolicy(slot_step_minutes=step),
        now=datetime.combine(day, time(0), UTC) - timedelta(days=2),
        from_day=day,
        days=1,
        viewer_time_zone=name,
    )
    starts = [s.start.astimezone(UTC) for s in result]
    assert all(b - a >= step * MINUTE for a, b in zip(starts, starts[1:]))
    # ... and only grid times that exist and would come too soon are dropped
    clock, previous = datetime.combine(day, _clock(first)), None
    while clock < datetime.combine(day, _clock(last)) - MINUTE:
        instant = first_occurrence(clock, tz)
        if instant is not None:
            kept = previous is None or instant - previous >= step * MINUTE
            assert (instant in starts) == kept, clock
            if kept:
                previous = instant
        clock += step * MINUTE


# ---------------------------------------------------------------------------
# The steady-day fast path against the per-candidate walk it replaced
# ---------------------------------------------------------------------------

FAST_PATH_ZONES = ["Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]


def same_slots(found, expected) -> bool:
    """Equal as instants, in the same viewer zone, with the same offsets (not merely equal wall clocks)."""
    return utc_pairs(found) == utc_pairs(expected) and [
        (s.start.tzinfo, s.start.utcoffset(), s.end.tzinfo, s.end.utcoffset()) for s in found
    ] == [(s.start.tzinfo, s.start.utcoffset(), s.end.tzinfo, s.end.utcoffset()) for s in expected]


@st.composite
def long_ranges(draw) -> Scenario:
    """Up to two weeks around a DST transition (or none, for Kolkata), with many busy spans."""
    builder = draw(st.sampled_from(FAST_PATH_ZONES))
    viewer = draw(st.sampled_from(FAST_PATH_ZONES + ["UTC"]))
    days = draw(st.integers(1, 14))
    near = TRANSITIONS[builder] or TRANSITION_DAYS
    from_day = draw(st.sampled_from(near)) - timedelta(days=draw(st.integers(0, days)))
    unit = draw(st.sampled_from([1, 5]))
    weekly = [WeeklyWindow(draw(st.integers(0, 6)), *draw(WINDOWS[unit])) for _ in range(draw(st.integers(0, 10)))]
    override_days = draw(st.lists(st.integers(-1, days), unique=True, max_size=3))
    overrides = [DateOverride(from_day + timedelta(days=k), tuple(draw(WINDOW_LISTS[unit]))) for k in override_days]
    policy = BookingPolicy(
        buffer_minutes=draw(BUFFER),
        min_notice_minutes=draw(NOTICE),
        horizon_days=draw(st.one_of(HORIZON, st.integers(0, 20))),
        slot_step_minutes=draw(STEP[unit]) * unit,
    )
    anchor = datetime.combine(from_day, time(0), UTC)
    spans = st.tuples(st.integers(-1440, (days + 1) * 1440), st.integers(0, 240), ZONE_INFO)
    busy = []
    for offset, length, tz in draw(st.lists(spans, max_size=60)):
        start = anchor + offset * MINUTE
        # Half as Interval values, half as the (start, end) pairs the database layer hands over.
        pair = (start.astimezone(tz), (start + length * MINUTE).astimezone(tz))
        busy.append(Interval(*pair) if offset % 2 else pair)
    now = (anchor + draw(NOW_OFFSET) * MINUTE).astimezone(draw(ZONE_INFO))
    return Scenario(builder, viewer, weekly, overrides, draw(DURATION[unit]) * unit, busy, policy, now, from_day, days)


@settings(PROPERTY_SETTINGS, max_examples=300)
@given(st.one_of(long_ranges(), scenarios(unit=5), scenarios()))
def test_fast_path_returns_exactly_what_the_per_candidate_walk_returns(sc: Scenario):
    kw = dict(sc.common(), from_day=sc.from_day, days=sc.days, viewer_time_zone=sc.viewer)
    assert same_slots(open_slots(**kw), per_candidate_open_slots(**kw))


def test_fast_path_matches_on_every_transition_day_of_the_four_zones():
    # Deterministic companion: a round-the-clock builder on every odd step, across each transition.
    for name in FAST_PATH_ZONES:
        for day in TRANSITIONS[name] or [date(2026, 3, 29)]:
            for step, duration in ((30, 60), (45, 30), (7, 50)):
                kw = dict(
                    builder_time_zone=name,
                    weekly=[WeeklyWindow(d, time(0), END_OF_DAY) for d in range(7)],
                    overrides=[],
                    duration_minutes=duration,
                    busy=[Interval(datetime.combine(day, time(1, 10), UTC), datetime.combine(day, time(2, 20), UTC))],
                    policy=BookingPolicy(slot_step_minutes=step, horizon_days=400),
                    now=datetime.combine(day - timedelta(days=5), time(0), UTC),
                    from_day=day - timedelta(days=1),
                    days=3,
                    viewer_time_zone=name,
                )
                found = open_slots(**kw)
                assert found and same_slots(found, per_candidate_open_slots(**kw)), (name, day, step)
