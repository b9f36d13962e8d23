"""The availability form: what a builder types, what is refused and why, and which bookings fall
outside new hours (in the builder's zone, across DST changes)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from booking.scheduling.availability import END_OF_DAY, BookingPolicy, DateOverride, WeeklyWindow
from booking.workspace.availability import (
    BookedSpan,
    OverrideDraft,
    Schedule,
    WindowDraft,
    draft_from_schedule,
    empty_draft,
    error_summary,
    outside_hours,
    parse_clock,
    validate,
)

UTC = timezone.utc
TODAY = date(2026, 3, 2)  # a Monday


def _draft(time_zone="Europe/London", **policy):
    draft = empty_draft(time_zone)
    draft.policy = {"buffer_minutes": "0", "min_notice_minutes": "120", "horizon_days": "60",
                    "slot_step_minutes": "30", **{k: str(v) for k, v in policy.items()}}
    return draft


def _windows(*pairs):
    return [WindowDraft(start=s, end=e) for s, e in pairs]


@pytest.mark.parametrize(("text", "end", "expected"), [
    ("9:00", False, time(9)),
    ("09:30", False, time(9, 30)),
    (" 17:45 ", True, time(17, 45)),
    ("24:00", True, END_OF_DAY),
])
def test_times_are_read_as_hh_mm(text, end, expected):
    assert parse_clock(text, end=end) == expected


@pytest.mark.parametrize(("text", "end"), [("24:00", False), ("00:00", True), ("25:00", False), ("9.00", False),
                                           ("", True), ("12:60", True), ("nine", False)])
def test_impossible_times_are_refused_with_a_reason(text, end):
    with pytest.raises(ValueError) as raised:
        parse_clock(text, end=end)
    assert str(raised.value)


def test_several_windows_a_day_make_a_schedule():
    draft = _draft()
    draft.days[0].windows = _windows(("09:00", "12:00"), ("13:00", "17:00"))
    draft.days[4].windows = _windows(("12:00", "24:00"), ("08:00", "12:00"))  # touching, any order
    result = validate(draft, today=TODAY)
    assert result.ok, error_summary(result.draft)
    assert set(result.schedule.weekly) == {
        WeeklyWindow(weekday=0, start=time(9), end=time(12)), WeeklyWindow(weekday=0, start=time(13), end=time(17)),
        WeeklyWindow(weekday=4, start=time(8), end=time(12)), WeeklyWindow(weekday=4, start=time(12), end=END_OF_DAY),
    }
    assert result.schedule.policy == BookingPolicy(buffer_minutes=0, min_notice_minutes=120, horizon_days=60,
                                                   slot_step_minutes=30)


def test_overlapping_windows_are_refused_on_their_day():
    draft = _draft()
    draft.days[2].windows = _windows(("09:00", "12:00"), ("11:00", "14:00"))
    result = validate(draft, today=TODAY)
    assert not result.ok
    assert "overlap" in result.draft.days[2].error
    assert all(not day.error for n, day in enumerate(result.draft.days) if n != 2)
    assert any(line.startswith("Wednesday:") for line in error_summary(result.draft))


def test_a_bad_time_and_a_reversed_window_are_marked_on_their_row():
    draft = _draft()
    draft.days[1].windows = _windows(("25:00", "12:00"), ("15:00", "14:00"), ("16:00", "17:00"))
    result = validate(draft, today=TODAY)
    rows = result.draft.days[1].windows
    assert "Start" in rows[0].error and "before" in rows[1].error and rows[2].error == ""
    assert error_summary(result.draft)[:2] == [f"Tuesday, window 1: {rows[0].error}",
                                               f"Tuesday, window 2: {rows[1].error}"]


def test_an_unknown_zone_and_out_of_range_rules_are_refused():
    draft = _draft(time_zone="Mars/Olympus_Mons", buffer_minutes=241, min_notice_minutes=-1, horizon_days=0,
                   slot_step_minutes=4)
    result = validate(draft, today=TODAY)
    assert not result.ok
    assert set(result.draft.field_errors) == {"time_zone", "buffer_minutes", "min_notice_minutes", "horizon_days",
                                              "slot_step_minutes"}
    bounds = validate(_draft(buffer_minutes=240, min_notice_minutes=43200, horizon_days=365, slot_step_minutes=5),
                      today=TODAY)
    assert bounds.ok


def test_overrides_close_a_date_or_give_it_other_hours():
    draft = _draft()
    draft.overrides = [
        OverrideDraft(day="2026-03-10", closed=True),
        OverrideDraft(day="2026-03-11", closed=False, start="14:00", end="16:00"),
        OverrideDraft(day="2026-03-11", closed=False, start="10:00", end="12:00"),
    ]
    result = validate(draft, today=TODAY)
    assert result.ok, error_summary(result.draft)
    assert result.schedule.overrides == (
        DateOverride(day=date(2026, 3, 10)),
        DateOverride(day=date(2026, 3, 11), windows=((time(10), time(12)), (time(14), time(16)))),
    )


@pytest.mark.parametrize(("rows", "fragment"), [
    ([OverrideDraft(day="2026-03-01", closed=True)], "past"),
    ([OverrideDraft(day="31/12/2026", closed=True)], "YYYY-MM-DD"),
    ([OverrideDraft(day="2026-02-30", closed=True)], "YYYY-MM-DD"),
    ([OverrideDraft(day="2026-03-10", closed=True),
      OverrideDraft(day="2026-03-10", closed=False, start="09:00", end="10:00")], "closed date"),
    ([OverrideDraft(day="2026-03-10", closed=False, start="09:00", end="11:00"),
      OverrideDraft(day="2026-03-10", closed=False, start="10:00", end="12:00")], "overlap"),
    ([OverrideDraft(day="2026-03-10", closed=False, start="11:00", end="10:00")], "before"),
])
def test_bad_overrides_are_refused_on_their_row(rows, fragment):
    draft = _draft()
    draft.overrides = rows
    result = validate(draft, today=TODAY)
    assert not result.ok
    assert all(fragment in row.error for row in result.draft.overrides)


def test_a_closed_row_ignores_the_hours_it_no_longer_shows():
    draft = _draft()
    draft.overrides = [OverrideDraft(day="2026-03-10", closed=True, start="junk", end="")]
    assert validate(draft, today=TODAY).ok


def test_a_saved_schedule_comes_back_as_the_same_form_without_past_overrides():
    schedule = Schedule(
        time_zone="America/New_York",
        weekly=(WeeklyWindow(weekday=6, start=time(0), end=time(2)), WeeklyWindow(weekday=0, start=time(9),
                                                                                   end=END_OF_DAY)),
        overrides=(DateOverride(day=date(2026, 3, 1)), DateOverride(day=date(2026, 3, 20)),
                   DateOverride(day=date(2026, 3, 21), windows=((time(8), time(9)),))),
        policy=BookingPolicy(buffer_minutes=15, min_notice_minutes=60, horizon_days=30, slot_step_minutes=15),
    )
    draft = draft_from_schedule(schedule, today=TODAY)
    assert [(w.start, w.end) for w in draft.days[0].windows] == [("09:00", "24:00")]
    assert [o.day for o in draft.overrides] == ["2026-03-20", "2026-03-21"]
    again = validate(draft, today=TODAY)
    assert again.ok
    assert set(again.schedule.weekly) == set(schedule.weekly)
    assert again.schedule.overrides == schedule.overrides[1:]
    assert again.schedule.policy == schedule.policy and again.schedule.time_zone == schedule.time_zone


# --- bookings outside the hours ---------------------------------------------------------------------

NINE_TO_FIVE = [WeeklyWindow(weekday=d, start=time(9), end=time(17)) for d in range(7)]


def span(name, start, minutes=60):
    return BookedSpan(booking_id=name, start=start, end=start + timedelta(minutes=minutes))


def outside(spans, weekly=NINE_TO_FIVE, overrides=(), zone="Europe/London"):
    return [s.booking_id for s in outside_hours(spans=spans, time_zone=zone, weekly=weekly, overrides=overrides)]


def test_a_booking_inside_a_window_is_fine_and_one_across_its_end_is_not():
    assert outside([
        span("inside", datetime(2026, 1, 7, 9, 0, tzinfo=UTC)),
        span("last-hour", datetime(2026, 1, 7, 16, 0, tzinfo=UTC)),
        span("across-end", datetime(2026, 1, 7, 16, 30, tzinfo=UTC)),
        span("before-opening", datetime(2026, 1, 7, 8, 0, tzinfo=UTC)),
    ]) == ["across-end", "before-opening"]


def test_hours_are_read_in_the_builders_zone_on_both_sides_of_a_dst_change():
    # 08:30 UTC is 08:30 in London in winter (closed) but 09:30 in summer (open).
    assert outside([span("winter", datetime(2026, 3, 27, 8, 30, tzinfo=UTC)),
                    span("summer", datetime(2026, 3, 30, 8, 30, tzinfo=UTC))]) == ["winter"]
    # New York in summer: 09:00 EDT is 13:00 UTC.
    assert outside([span("ny", datetime(2026, 7, 1, 13, 0, tzinfo=UTC))], zone="America/New_York") == []
    assert outside([span("ny-early", datetime(2026, 7, 1, 12, 0, tzinfo=UTC))], zone="America/New_York") == ["ny-early"]


def test_a_window_across_the_spring_forward_gap_lasts_one_real_hour():
    # London 2026-03-29: 01:00 GMT jumps to 02:00 BST. 00:30-02:30 local is 00:30-01:30 UTC.
    night = [WeeklyWindow(weekday=6, start=time(0, 30), end=time(2, 30))]
    assert outside([span("fits", datetime(2026, 3, 29, 0, 30, tzinfo=UTC))], weekly=night) == []
    assert outside([span("too-long", datetime(2026, 3, 29, 0, 30, tzinfo=UTC), minutes=90)], weekly=night) == ["too-long"]


def test_touching_windows_and_windows_across_midnight_count_as_one_opening():
    weekly = [WeeklyWindow(weekday=0, start=time(9), end=time(12)), WeeklyWindow(weekday=0, start=time(12),
                                                                                  end=END_OF_DAY),
              WeeklyWindow(weekday=1, start=time(0), end=time(2))]
    assert outside([span("over-noon", datetime(2026, 1, 5, 11, 30, tzinfo=UTC)),
                    span("over-midnight", datetime(2026, 1, 5, 23, 30, tzinfo=UTC))], weekly=weekly) == []


def test_overrides_replace_the_weekly_hours_of_their_date():
    overrides = [DateOverride(day=date(2026, 1, 7)), DateOverride(day=date(2026, 1, 8), windows=((time(18), time(20)),))]
    assert outside([span("closed-day", datetime(2026, 1, 7, 10, tzinfo=UTC)),
                    span("usual-hours-on-other-hours-day", datetime(2026, 1, 8, 10, tzinfo=UTC)),
                    span("other-hours", datetime(2026, 1, 8, 18, tzinfo=UTC)),
                    span("normal-day", datetime(2026, 1, 9, 10, tzinfo=UTC))],
                   overrides=overrides) == ["closed-day", "usual-hours-on-other-hours-day"]


def test_no_bookings_no_warning():
    assert outside([]) == []
