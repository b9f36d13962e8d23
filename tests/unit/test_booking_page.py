"""The booking page's read model: the month grid, labels, navigation to the horizon, next available."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from booking.client import booking_page
from booking.client.booking_page import day_times, how_it_happens, month_grid, month_view, slot_option
from booking.scheduling.availability import Slot

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # Thursday 3 December 2026, 10:00 in New York


def test_month_grid_weeks_run_monday_to_sunday_with_blank_cells_outside_the_month():
    weeks = month_grid(year=2026, month=12, counts={date(2026, 12, 4): 3, date(2026, 12, 31): 1},
                       today=date(2026, 12, 3))

    assert len(weeks) == 5 and all(len(week) == 7 for week in weeks)
    assert weeks[0][0].day == "" and weeks[0][1].number == "1"  # 1 December 2026 is a Tuesday
    friday = weeks[0][4]
    assert (friday.day, friday.bookable, friday.aria) == ("2026-12-04", True, "Friday 4 December 2026, 3 times available")
    assert weeks[0][3].today and not weeks[0][3].bookable
    assert weeks[0][3].aria == "Thursday 3 December 2026, no times available"
    assert weeks[4][3].aria == "Thursday 31 December 2026, 1 time available"
    assert [day.number for day in weeks[4][4:]] == ["", "", ""]


def test_slot_labels_carry_weekday_date_time_and_zone_in_both_clocks():
    start = datetime(2026, 12, 1, 9, 30, tzinfo=NEW_YORK)
    option = slot_option(Slot(start=start, end=start + timedelta(hours=1)), zone_name="America/New_York")

    assert (option.label_24, option.label_12) == ("09:30 – 10:30", "9:30 AM – 10:30 AM")
    assert option.aria_24 == "09:30 – 10:30, Tuesday 1 December 2026, Eastern Time"
    assert option.aria_12 == "9:30 AM – 10:30 AM, Tuesday 1 December 2026, Eastern Time"
    assert option.start == "2026-12-01T09:30:00-05:00" and option.end == "2026-12-01T10:30:00-05:00"


def test_how_it_happens_names_the_kind_never_the_place():
    assert how_it_happens("https://meet.example/abc") == "Video call"
    assert how_it_happens("12 Bridge Street, Leeds") == "In person"
    assert how_it_happens("  ") == ""


@pytest.fixture
def open_days(monkeypatch):
    """A builder open at 09:00-10:00 New York time on the given days; horizon as set."""
    opened: list[date] = []
    schedule = SimpleNamespace(policy=SimpleNamespace(horizon_days=120), session_type=SimpleNamespace(seats=1))
    calls: list[tuple[date, int]] = []

    def find_open_slots(*, session, session_type_id, from_day, days, viewer_time_zone, now):
        calls.append((from_day, days))
        zone = ZoneInfo(viewer_time_zone)
        found = []
        for day in opened:
            if from_day <= day < from_day + timedelta(days=days):
                start = datetime.combine(day, time(9, 0), NEW_YORK).astimezone(zone)
                found.append(Slot(start=start, end=start + timedelta(hours=1)))
        return found

    monkeypatch.setattr(booking_page.slots, "load_schedule", lambda **_: schedule)
    monkeypatch.setattr(booking_page.slots, "find_open_slots", find_open_slots)
    return SimpleNamespace(days=opened, schedule=schedule, calls=calls)


def view(**kwargs):
    return month_view(session=None, session_type_id=1, viewer_time_zone="America/New_York", now=NOW, **kwargs)


def test_a_month_marks_its_bookable_days_and_the_first_is_chosen(open_days):
    open_days.days += [date(2026, 12, 2), date(2026, 12, 10), date(2026, 12, 11)]  # the 2nd is already past

    december = view()

    assert december.title == "December 2026"
    assert sorted(december.times) == ["2026-12-10", "2026-12-11"]
    assert [d.day for week in december.weeks for d in week if d.bookable] == ["2026-12-10", "2026-12-11"]
    assert december.first_bookable_day == "2026-12-10"
    assert not december.has_previous and december.has_next
    assert december.next_available_day == ""
    times = day_times(december, "")
    assert (times.day, times.label) == ("2026-12-10", "Thursday 10 December 2026")
    assert [t.label_24 for t in times.times] == ["09:00 – 10:00"]
    assert open_days.calls == [(date(2026, 12, 3), 29)]  # one search: today to the month's end


def test_an_empty_month_says_when_the_next_available_day_is(open_days):
    open_days.days.append(date(2027, 2, 16))

    december = view()

    assert december.times == {} and december.first_bookable_day == ""
    assert (december.next_available_day, december.next_available_label) == ("2027-02-16", "Tuesday 16 February 2027")
    assert view(year=2027, month=2).first_bookable_day == "2027-02-16"


def test_navigation_reaches_the_horizon_and_no_further(open_days):
    open_days.schedule.policy.horizon_days = 90  # 3 March 2027

    march = view(year=2027, month=3)
    assert march.title == "March 2027" and march.has_previous and not march.has_next
    assert view(year=2027, month=9).title == "March 2027"  # clamped
    assert view(year=2026, month=1).title == "December 2026"


def test_nothing_within_the_horizon_leaves_next_available_empty(open_days):
    open_days.schedule.policy.horizon_days = 200
    open_days.days.append(date(2027, 12, 1))  # beyond the horizon: never searched as available

    december = view()

    assert december.next_available_day == ""
    assert all(days <= 62 for _, days in open_days.calls)  # long searches go in spans the slot search accepts


def test_the_viewers_own_hold_shows_among_the_times_marked(open_days):
    open_days.days.append(date(2026, 12, 10))
    held_start = datetime(2026, 12, 10, 11, 0, tzinfo=NEW_YORK)

    december = view(held=Slot(start=held_start, end=held_start + timedelta(hours=1)))

    times = december.times["2026-12-10"]
    assert [(t.label_24, t.held) for t in times] == [("09:00 – 10:00", False), ("11:00 – 12:00", True)]
    assert times[1].aria_24.endswith("Eastern Time (your held time)")


def test_a_workshops_time_says_how_many_seats_are_left():
    start = datetime(2026, 12, 8, 9, 0, tzinfo=NEW_YORK)
    slot = Slot(start=start, end=start + timedelta(hours=1))

    one = slot_option(slot, zone_name="America/New_York", seats_left=1)
    three = slot_option(slot, zone_name="America/New_York", seats_left=3)
    one_to_one = slot_option(slot, zone_name="America/New_York")

    assert (one.seats_left, three.seats_left, one_to_one.seats_left) == ("1 seat left", "3 seats left", "")
    assert one.aria_24.endswith(", 1 seat left")  # read out with the time
