"""Example-based tests for booking.availability: the cases a user would notice."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from booking.scheduling.availability import (
    END_OF_DAY,
    BookingPolicy,
    DateOverride,
    Interval,
    Slot,
    WeeklyWindow,
    is_slot_open,
    open_slots,
    working_windows,
)

UTC = timezone.utc
LONDON = "Europe/London"
NEW_YORK = "America/New_York"

MONDAY = date(2026, 1, 5)  # a winter Monday: London is on GMT (+00:00), New York on EST (-05:00)
MORNING = (WeeklyWindow(weekday=0, start=time(9), end=time(12)),)
NIGHT_SUNDAY = (WeeklyWindow(weekday=6, start=time(0), end=time(4)),)  # every DST night below is a Sunday
EARLY = datetime(2026, 1, 1, tzinfo=UTC)  # "now" well before MONDAY


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def slots(
    *,
    builder: str = LONDON,
    viewer: str = LONDON,
    weekly=MORNING,
    overrides=(),
    duration: int = 60,
    busy=(),
    policy: BookingPolicy = BookingPolicy(),
    now: datetime = EARLY,
    from_day: date = MONDAY,
    days: int = 1,
) -> list[Slot]:
    return open_slots(
        builder_time_zone=builder,
        weekly=list(weekly),
        overrides=list(overrides),
        duration_minutes=duration,
        busy=list(busy),
        policy=policy,
        now=now,
        from_day=from_day,
        days=days,
        viewer_time_zone=viewer,
    )


def open_at(start: datetime, **kw) -> bool:
    return is_slot_open(
        start=start,
        builder_time_zone=kw.get("builder", LONDON),
        weekly=list(kw.get("weekly", MORNING)),
        overrides=list(kw.get("overrides", ())),
        duration_minutes=kw.get("duration", 60),
        busy=list(kw.get("busy", ())),
        policy=kw.get("policy", BookingPolicy()),
        now=kw.get("now", EARLY),
    )


def hhmm(result: list[Slot]) -> list[str]:
    return [s.start.strftime("%H:%M") for s in result]


def stamps(result: list[Slot]) -> list[str]:
    """Start and end as 'HH:MM+hhmm' wall clock with offset."""
    return [f"{s.start:%H:%M%z}-{s.end:%H:%M%z}" for s in result]


def elapsed(slot: Slot) -> timedelta:
    # Aware datetimes sharing a tzinfo subtract as wall clock; go via UTC.
    return slot.end.astimezone(UTC) - slot.start.astimezone(UTC)


def london_busy(h1: int, m1: int, h2: int, m2: int, day: date = MONDAY) -> Interval:
    tz = ZoneInfo(LONDON)
    return Interval(datetime.combine(day, time(h1, m1), tz), datetime.combine(day, time(h2, m2), tz))


# -- the basic weekly rule ---------------------------------------------------


def test_monday_morning_rule_gives_half_hourly_hour_long_slots():
    result = slots()
    assert hhmm(result) == ["09:00", "09:30", "10:00", "10:30", "11:00"]
    assert all(s.start.tzinfo is ZoneInfo(LONDON) for s in result)
    assert all(elapsed(s) == timedelta(hours=1) for s in result)
    assert result[-1].end == datetime(2026, 1, 5, 12, tzinfo=ZoneInfo(LONDON))


def test_slots_are_shown_in_the_viewer_zone_with_its_offset():
    result = slots(viewer=NEW_YORK)
    assert stamps(result) == [
        "04:00-0500-05:00-0500",
        "04:30-0500-05:30-0500",
        "05:00-0500-06:00-0500",
        "05:30-0500-06:30-0500",
        "06:00-0500-07:00-0500",
    ]
    assert all(s.start.tzinfo is ZoneInfo(NEW_YORK) for s in result)
    assert result[0].start.utcoffset() == timedelta(hours=-5)
    assert result[0].start == utc(2026, 1, 5, 9)


def test_summer_rule_follows_builder_dst():
    # 2026-07-06 is a Monday; London is on BST (+01:00), New York on EDT (-04:00).
    result = slots(viewer=NEW_YORK, from_day=date(2026, 7, 6), now=utc(2026, 6, 1))
    assert hhmm(result) == ["04:00", "04:30", "05:00", "05:30", "06:00"]
    assert result[0].start == utc(2026, 7, 6, 8)
    assert result[0].start.utcoffset() == timedelta(hours=-4)


def test_other_weekdays_have_no_slots_and_the_rule_repeats_weekly():
    result = slots(days=14)
    assert sorted({s.start.date() for s in result}) == [date(2026, 1, 5), date(2026, 1, 12)]
    assert len(result) == 10


def test_step_and_duration_interplay():
    assert hhmm(slots(duration=90, policy=BookingPolicy(slot_step_minutes=60))) == ["09:00", "10:00"]
    assert hhmm(slots(duration=180)) == ["09:00"]
    assert slots(duration=181) == []
    assert hhmm(slots(duration=45, policy=BookingPolicy(slot_step_minutes=45))) == [
        "09:00",
        "09:45",
        "10:30",
        "11:15",
    ]


def test_window_until_midnight_uses_end_of_day():
    weekly = (WeeklyWindow(weekday=0, start=time(22), end=END_OF_DAY),)
    result = slots(weekly=weekly)
    assert hhmm(result) == ["22:00", "22:30", "23:00"]
    assert result[-1].end == datetime(2026, 1, 6, 0, tzinfo=ZoneInfo(LONDON))


def test_overlapping_windows_do_not_duplicate_slots():
    weekly = MORNING + (WeeklyWindow(weekday=0, start=time(10), end=time(13)),)
    assert hhmm(slots(weekly=weekly)) == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00"]


# -- busy intervals and buffer -------------------------------------------------


def test_busy_booking_removes_overlapping_slots_touching_edges_are_fine():
    result = slots(busy=[london_busy(10, 0, 11, 0)])
    assert hhmm(result) == ["09:00", "11:00"]


def test_busy_interval_in_another_zone_is_compared_by_instant():
    tokyo = ZoneInfo("Asia/Tokyo")  # 10:00-11:00 London == 19:00-20:00 Tokyo in January
    busy = Interval(datetime(2026, 1, 5, 19, tzinfo=tokyo), datetime(2026, 1, 5, 20, tzinfo=tokyo))
    assert hhmm(slots(busy=[busy])) == ["09:00", "11:00"]


def test_buffer_removes_neighbours():
    busy = [london_busy(10, 30, 11, 0)]
    assert hhmm(slots(busy=busy)) == ["09:00", "09:30", "11:00"]
    # 30 minutes either side: 10:00-11:30 must stay free; 09:00-10:00 only touches it.
    assert hhmm(slots(busy=busy, policy=BookingPolicy(buffer_minutes=30))) == ["09:00"]
    assert hhmm(slots(busy=busy, policy=BookingPolicy(buffer_minutes=31))) == []


def test_many_busy_intervals_unsorted():
    busy = [london_busy(11, 30, 11, 45), london_busy(9, 0, 9, 10), london_busy(9, 5, 9, 20)]
    assert hhmm(slots(busy=busy)) == ["09:30", "10:00", "10:30"]


def test_busy_interval_inside_another_does_not_shorten_it():
    busy = [london_busy(9, 0, 12, 0), london_busy(9, 30, 10, 0)]
    assert slots(busy=busy) == []
    busy = [london_busy(9, 0, 10, 30), london_busy(9, 30, 10, 0), london_busy(9, 45, 9, 50)]
    assert hhmm(slots(busy=busy)) == ["10:30", "11:00"]


def test_busy_interval_across_fall_back_in_one_zone():
    # 01:30 BST -> 01:10 GMT is 40 real minutes although the wall clock goes backwards.
    tz = ZoneInfo(LONDON)
    busy = Interval(datetime(2026, 10, 25, 1, 30, tzinfo=tz), datetime(2026, 10, 25, 1, 10, fold=1, tzinfo=tz))
    assert busy.start.astimezone(UTC) == utc(2026, 10, 25, 0, 30)
    result = slots(weekly=NIGHT_SUNDAY, from_day=date(2026, 10, 25), now=utc(2026, 10, 1), busy=[busy])
    # 00:30 BST (ends 01:30 BST) only touches it; 02:00 GMT is after 01:10 GMT
    assert hhmm(result) == ["00:00", "00:30", "02:00", "02:30", "03:00"]
    with pytest.raises(ValueError, match="before its start"):
        Interval(datetime(2026, 10, 25, 1, 10, fold=1, tzinfo=tz), datetime(2026, 10, 25, 1, 30, tzinfo=tz))


def test_empty_busy_interval_blocks_only_with_buffer():
    point = london_busy(10, 15, 10, 15)
    assert hhmm(slots(busy=[point])) == ["09:00", "09:30", "10:00", "10:30", "11:00"]
    assert hhmm(slots(busy=[point], policy=BookingPolicy(buffer_minutes=15))) == ["09:00", "10:30", "11:00"]


# -- notice and horizon --------------------------------------------------------


def test_min_notice_hides_slots_starting_too_soon():
    policy = BookingPolicy(min_notice_minutes=60)
    assert hhmm(slots(policy=policy, now=utc(2026, 1, 5, 9, 10))) == ["10:30", "11:00"]
    # exactly now + notice is allowed
    assert hhmm(slots(policy=policy, now=utc(2026, 1, 5, 9, 0))) == ["10:00", "10:30", "11:00"]


def test_past_slots_are_hidden_even_without_notice():
    assert hhmm(slots(now=utc(2026, 1, 5, 10, 1))) == ["10:30", "11:00"]


def test_horizon_hides_slots_too_far_ahead_inclusive():
    policy = BookingPolicy(horizon_days=30)
    assert hhmm(slots(policy=policy, now=utc(2025, 12, 6, 10, 0))) == ["09:00", "09:30", "10:00"]
    assert slots(policy=policy, now=utc(2025, 12, 5, 10, 0)) == []


def test_zero_horizon_only_allows_now():
    assert hhmm(slots(policy=BookingPolicy(horizon_days=0), now=utc(2026, 1, 5, 9, 30))) == ["09:30"]


# -- overrides -----------------------------------------------------------------


def test_override_closes_a_day():
    closed = DateOverride(day=MONDAY, windows=())
    assert slots(overrides=[closed]) == []
    # only that date: the following Monday keeps the weekly rule
    assert {s.start.date() for s in slots(overrides=[closed], days=8)} == {date(2026, 1, 12)}


def test_override_replaces_hours():
    afternoon = DateOverride(day=MONDAY, windows=((time(14), time(16)),))
    assert hhmm(slots(overrides=[afternoon])) == ["14:00", "14:30", "15:00"]


def test_override_opens_a_day_without_weekly_rule():
    tuesday = DateOverride(day=date(2026, 1, 6), windows=((time(8), time(9)), (time(17), time(18))))
    result = slots(overrides=[tuesday], from_day=date(2026, 1, 6))
    assert hhmm(result) == ["08:00", "17:00"]


def test_duplicate_override_for_a_day_is_rejected():
    with pytest.raises(ValueError, match="more than one"):
        slots(overrides=[DateOverride(MONDAY, ()), DateOverride(MONDAY, ((time(9), time(10)),))])


# -- DST in the builder's zone -------------------------------------------------


def test_us_spring_forward_skips_the_missing_hour():
    # America/New_York 2026-03-08: 02:00 EST jumps to 03:00 EDT. 00:00-04:00 is 3 real hours.
    result = slots(
        builder=NEW_YORK, viewer=NEW_YORK, weekly=NIGHT_SUNDAY, from_day=date(2026, 3, 8), now=utc(2026, 3, 1)
    )
    assert stamps(result) == [
        "00:00-0500-01:00-0500",
        "00:30-0500-01:30-0500",
        "01:00-0500-03:00-0400",
        "01:30-0500-03:30-0400",
        "03:00-0400-04:00-0400",
    ]
    assert all(elapsed(s) == timedelta(hours=1) for s in result)
    assert working_windows(
        builder_time_zone=NEW_YORK,
        weekly=NIGHT_SUNDAY,
        overrides=[],
        start_day=date(2026, 3, 8),
        end_day=date(2026, 3, 8),
    ) == [Interval(utc(2026, 3, 8, 5), utc(2026, 3, 8, 8))]


def test_us_spring_forward_window_starting_in_the_gap():
    weekly = (WeeklyWindow(weekday=6, start=time(2, 30), end=time(5)),)
    result = slots(
        builder=NEW_YORK,
        viewer=NEW_YORK,
        weekly=weekly,
        from_day=date(2026, 3, 8),
        now=utc(2026, 3, 1),
        policy=BookingPolicy(slot_step_minutes=60),
    )
    # 02:30 does not exist and is skipped; the grid continues at 03:30.
    assert stamps(result) == ["03:30-0400-04:30-0400"]


def test_us_spring_forward_step_longer_than_gap_keeps_real_spacing():
    # Grid 00:00, 01:30, 03:00: 01:30 EST and 03:00 EDT are only 30 real minutes apart,
    # so 03:00 is dropped and slots of one window never overlap when step >= duration.
    result = slots(
        builder=NEW_YORK,
        viewer=NEW_YORK,
        weekly=NIGHT_SUNDAY,
        from_day=date(2026, 3, 8),
        now=utc(2026, 3, 1),
        policy=BookingPolicy(slot_step_minutes=90),
    )
    assert stamps(result) == ["00:00-0500-01:00-0500", "01:30-0500-03:30-0400"]


def test_us_fall_back_uses_first_occurrence_and_real_durations():
    # America/New_York 2026-11-01: 02:00 EDT falls back to 01:00 EST. 00:00-04:00 is 5 real hours.
    result = slots(
        builder=NEW_YORK, viewer=NEW_YORK, weekly=NIGHT_SUNDAY, from_day=date(2026, 11, 1), now=utc(2026, 10, 20)
    )
    assert stamps(result) == [
        "00:00-0400-01:00-0400",
        "00:30-0400-01:30-0400",
        "01:00-0400-01:00-0500",
        "01:30-0400-01:30-0500",
        "02:00-0500-03:00-0500",
        "02:30-0500-03:30-0500",
        "03:00-0500-04:00-0500",
    ]
    assert all(elapsed(s) == timedelta(hours=1) for s in result)
    assert working_windows(
        builder_time_zone=NEW_YORK,
        weekly=NIGHT_SUNDAY,
        overrides=[],
        start_day=date(2026, 11, 1),
        end_day=date(2026, 11, 1),
    ) == [Interval(utc(2026, 11, 1, 4), utc(2026, 11, 1, 9))]


def test_us_fall_back_hourly_slots_do_not_overlap():
    result = slots(
        builder=NEW_YORK,
        viewer=NEW_YORK,
        weekly=NIGHT_SUNDAY,
        from_day=date(2026, 11, 1),
        now=utc(2026, 10, 20),
        policy=BookingPolicy(slot_step_minutes=60),
    )
    assert stamps(result) == [
        "00:00-0400-01:00-0400",
        "01:00-0400-01:00-0500",
        "02:00-0500-03:00-0500",
        "03:00-0500-04:00-0500",
    ]
    for a, b in zip(result, result[1:]):
        assert a.end.astimezone(UTC) <= b.start.astimezone(UTC)


def test_us_fall_back_short_window_measured_in_real_time():
    # 01:00-02:00 on the fall-back night lasts two real hours (01:00 EDT to 02:00 EST).
    weekly = (WeeklyWindow(weekday=6, start=time(1), end=time(2)),)
    result = slots(
        builder=NEW_YORK, viewer="UTC", weekly=weekly, from_day=date(2026, 11, 1), now=utc(2026, 10, 20), duration=120
    )
    assert [s.start for s in result] == [utc(2026, 11, 1, 5)]
    # and 01:00-03:00 on the spring-forward night lasts one real hour
    weekly = (WeeklyWindow(weekday=6, start=time(1), end=time(3)),)
    result = slots(
        builder=NEW_YORK, viewer=NEW_YORK, weekly=weekly, from_day=date(2026, 3, 8), now=utc(2026, 3, 1), duration=120
    )
    assert result == []


def test_london_spring_forward():
    # Europe/London 2026-03-29: 01:00 GMT jumps to 02:00 BST.
    result = slots(weekly=NIGHT_SUNDAY, from_day=date(2026, 3, 29), now=utc(2026, 3, 1))
    assert stamps(result) == [
        "00:00+0000-02:00+0100",
        "00:30+0000-02:30+0100",
        "02:00+0100-03:00+0100",
        "02:30+0100-03:30+0100",
        "03:00+0100-04:00+0100",
    ]
    assert all(elapsed(s) == timedelta(hours=1) for s in result)


def test_london_fall_back():
    # Europe/London 2026-10-25: 02:00 BST falls back to 01:00 GMT.
    result = slots(weekly=NIGHT_SUNDAY, from_day=date(2026, 10, 25), now=utc(2026, 10, 1))
    assert stamps(result) == [
        "00:00+0100-01:00+0100",
        "00:30+0100-01:30+0100",
        "01:00+0100-01:00+0000",
        "01:30+0100-01:30+0000",
        "02:00+0000-03:00+0000",
        "02:30+0000-03:30+0000",
        "03:00+0000-04:00+0000",
    ]
    assert result[2].start.fold == 0 and result[2].end.fold == 1
    assert all(elapsed(s) == timedelta(hours=1) for s in result)


def test_viewer_sees_dst_change_of_their_own_zone():
    # London builder on GMT, New York viewer on the US spring-forward Sunday.
    weekly = (WeeklyWindow(weekday=6, start=time(5), end=time(9)),)
    result = slots(
        weekly=weekly,
        viewer=NEW_YORK,
        from_day=date(2026, 3, 8),
        now=utc(2026, 3, 1),
        policy=BookingPolicy(slot_step_minutes=60),
    )
    # 05:00 GMT = 00:00 EST ... 08:00 GMT = 04:00 EDT
    assert stamps(result) == [
        "00:00-0500-01:00-0500",
        "01:00-0500-03:00-0400",
        "03:00-0400-04:00-0400",
        "04:00-0400-05:00-0400",
    ]


# -- odd viewer offsets and viewer days ------------------------------------------


def test_viewer_in_kolkata_half_hour_offset():
    result = slots(viewer="Asia/Kolkata")
    assert stamps(result)[0] == "14:30+0530-15:30+0530"
    assert hhmm(result) == ["14:30", "15:00", "15:30", "16:00", "16:30"]


def test_viewer_in_kathmandu_quarter_hour_offset():
    result = slots(viewer="Asia/Kathmandu")
    assert stamps(result)[0] == "14:45+0545-15:45+0545"
    assert hhmm(result) == ["14:45", "15:15", "15:45", "16:15", "16:45"]


def test_viewer_day_cuts_a_builder_day_in_two():
    # London 09:00-17:00 on Monday 5 Jan = Tokyo 18:00 Mon - 02:00 Tue.
    weekly = (WeeklyWindow(weekday=0, start=time(9), end=time(17)),)
    tokyo = "Asia/Tokyo"
    monday = slots(weekly=weekly, viewer=tokyo, from_day=date(2026, 1, 5))
    tuesday = slots(weekly=weekly, viewer=tokyo, from_day=date(2026, 1, 6))
    both = slots(weekly=weekly, viewer=tokyo, from_day=date(2026, 1, 5), days=2)
    assert hhmm(monday) == [f"{h}:{m}" for h in range(18, 24) for m in ("00", "30")]
    assert hhmm(tuesday) == ["00:00", "00:30", "01:00"]
    assert [s.start.astimezone(UTC) for s in both] == [s.start.astimezone(UTC) for s in monday + tuesday]
    assert len(both) == 15  # the whole London day: 09:00 ... 16:00
    # the Sunday before (Tokyo) sees nothing of Monday London
    assert slots(weekly=weekly, viewer=tokyo, from_day=date(2026, 1, 4)) == []


def test_viewer_range_west_of_builder():
    # Honolulu (-10:00): London Monday 09:00-12:00 = Sunday 23:00 - Monday 02:00 in Honolulu.
    honolulu = "Pacific/Honolulu"
    assert hhmm(slots(viewer=honolulu, from_day=date(2026, 1, 4))) == ["23:00", "23:30"]
    assert hhmm(slots(viewer=honolulu, from_day=date(2026, 1, 5))) == ["00:00", "00:30", "01:00"]


# -- validation ----------------------------------------------------------------


@pytest.mark.parametrize("field", ["builder", "viewer"])
@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "", "../etc/passwd", "America", "utc "])
def test_bad_zone_is_a_value_error(field, name):
    with pytest.raises(ValueError, match="Unknown time zone"):
        slots(**{field: name})


def test_bad_zone_in_other_functions():
    with pytest.raises(ValueError, match="Unknown time zone"):
        open_at(utc(2026, 1, 5, 9), builder="Nowhere/Land")
    with pytest.raises(ValueError, match="Unknown time zone"):
        working_windows(builder_time_zone="Nowhere/Land", weekly=[], overrides=[], start_day=MONDAY, end_day=MONDAY)


def test_naive_datetimes_are_rejected():
    with pytest.raises(ValueError, match="now"):
        slots(now=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="start"):
        open_at(datetime(2026, 1, 5, 9))
    with pytest.raises(ValueError):
        Interval(datetime(2026, 1, 5, 9), datetime(2026, 1, 5, 10, tzinfo=UTC))


@pytest.mark.parametrize("days", [0, -1, 63, 100])
def test_days_out_of_range(days):
    with pytest.raises(ValueError, match="days"):
        slots(days=days)


def test_days_limits_are_accepted():
    assert len(slots(days=62, policy=BookingPolicy(horizon_days=100))) == 5 * 9
    assert len(slots(days=1)) == 5


@pytest.mark.parametrize(
    "build",
    [
        lambda: WeeklyWindow(weekday=7, start=time(9), end=time(10)),
        lambda: WeeklyWindow(weekday=0, start=time(10), end=time(9)),
        lambda: WeeklyWindow(weekday=0, start=time(9), end=time(9)),
        lambda: WeeklyWindow(weekday=0, start=time(22), end=time(0)),
        lambda: WeeklyWindow(weekday=0, start=time(9, tzinfo=UTC), end=time(10, tzinfo=UTC)),
        lambda: DateOverride(day=MONDAY, windows=((time(12), time(11)),)),
        lambda: BookingPolicy(slot_step_minutes=0),
        lambda: BookingPolicy(buffer_minutes=-5),
        lambda: Interval(utc(2026, 1, 5, 10), utc(2026, 1, 5, 9)),
    ],
)
def test_invalid_inputs_are_rejected(build):
    with pytest.raises(ValueError):
        build()


def test_bad_duration():
    with pytest.raises(ValueError, match="duration"):
        slots(duration=0)


# -- is_slot_open ---------------------------------------------------------------


def test_is_slot_open_agrees_with_open_slots_on_examples():
    busy = [london_busy(10, 30, 11, 0)]
    listed = slots(busy=busy, viewer=NEW_YORK)
    assert hhmm(listed) == ["04:00", "04:30", "06:00"]
    for slot in listed:
        assert open_at(slot.start, busy=busy)
    tz = ZoneInfo(LONDON)
    for h, m in [(10, 0), (10, 30), (9, 15), (8, 30), (11, 30), (12, 0)]:
        assert not open_at(datetime.combine(MONDAY, time(h, m), tz), busy=busy)


def test_is_slot_open_accepts_any_zone_for_the_same_instant():
    start = datetime(2026, 1, 5, 14, 30, tzinfo=ZoneInfo("Asia/Kolkata"))  # 09:00 London
    assert open_at(start)
    assert open_at(start.astimezone(UTC))
    assert not open_at(start + timedelta(minutes=1))


def test_is_slot_open_respects_notice_horizon_override_and_dst():
    nine = utc(2026, 1, 5, 9)
    assert not open_at(nine, now=utc(2026, 1, 5, 8, 30), policy=BookingPolicy(min_notice_minutes=31))
    assert open_at(nine, now=utc(2026, 1, 5, 8, 30), policy=BookingPolicy(min_notice_minutes=30))
    assert not open_at(nine, now=utc(2025, 12, 1), policy=BookingPolicy(horizon_days=30))
    assert not open_at(nine, overrides=[DateOverride(MONDAY, ())])
    # fall-back night: first 01:30 is a slot, the second one (fold=1) is not
    ny = ZoneInfo(NEW_YORK)
    kw = dict(builder=NEW_YORK, weekly=NIGHT_SUNDAY, now=utc(2026, 10, 20))
    assert open_at(datetime(2026, 11, 1, 1, 30, tzinfo=ny), **kw)
    assert not open_at(datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=ny), **kw)
    # spring-forward night: 03:00 EDT is a slot, 02:30 doesn't exist
    kw = dict(builder=NEW_YORK, weekly=NIGHT_SUNDAY, now=utc(2026, 3, 1))
    assert open_at(datetime(2026, 3, 8, 3, 0, tzinfo=ny), **kw)
    assert not open_at(utc(2026, 3, 8, 7, 30), **kw)  # 03:30 EDT: would end after 04:00


# -- working_windows --------------------------------------------------------------


def test_working_windows_inclusive_days_and_merging():
    weekly = (
        WeeklyWindow(weekday=0, start=time(9), end=time(12)),
        WeeklyWindow(weekday=0, start=time(12), end=time(13)),
        WeeklyWindow(weekday=1, start=time(14), end=time(15)),
    )
    result = working_windows(
        builder_time_zone=LONDON, weekly=weekly, overrides=[], start_day=MONDAY, end_day=date(2026, 1, 6)
    )
    assert result == [
        Interval(utc(2026, 1, 5, 9), utc(2026, 1, 5, 13)),
        Interval(utc(2026, 1, 6, 14), utc(2026, 1, 6, 15)),
    ]
    with pytest.raises(ValueError):
        working_windows(
            builder_time_zone=LONDON, weekly=weekly, overrides=[], start_day=MONDAY, end_day=date(2026, 1, 4)
        )


def test_working_windows_follow_overrides_and_drop_vanished_windows():
    weekly = (WeeklyWindow(weekday=6, start=time(2), end=time(2, 59)),)  # inside the US gap
    assert (
        working_windows(
            builder_time_zone=NEW_YORK,
            weekly=weekly,
            overrides=[],
            start_day=date(2026, 3, 8),
            end_day=date(2026, 3, 8),
        )
        == []
    )
    override = DateOverride(MONDAY, ((time(8), time(9)),))
    assert working_windows(
        builder_time_zone=LONDON, weekly=MORNING, overrides=[override], start_day=MONDAY, end_day=MONDAY
    ) == [Interval(utc(2026, 1, 5, 8), utc(2026, 1, 5, 9))]
