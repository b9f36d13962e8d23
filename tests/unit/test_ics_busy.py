"""An external calendar's events become the busy spans a builder would expect (fixtures in
tests/fixtures/calendars): the cases calendar users report broken elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from booking.scheduling.ics_busy import InvalidCalendar, busy_spans_from_ics

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "calendars"
DECEMBER = (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 31, tzinfo=UTC))


def _spans(name: str, time_zone: str = "Europe/London", window=DECEMBER) -> list[tuple[str, str]]:
    spans = busy_spans_from_ics((FIXTURES / name).read_bytes(), time_zone=time_zone, start=window[0],
                                end=window[1])
    return [(f"{s:%Y-%m-%d %H:%M}", f"{e:%Y-%m-%d %H:%M}") for s, e in spans]


def test_a_weekly_series_keeps_its_moved_instance_and_drops_its_excluded_and_cancelled_ones():
    assert _spans("recurring_with_exceptions.ics") == [
        ("2026-12-07 10:00", "2026-12-07 11:00"),
        ("2026-12-14 15:00", "2026-12-14 16:00"),  # RECURRENCE-ID moved it to the afternoon
        # 2026-12-21: EXDATE; 2026-12-28: the instance is STATUS:CANCELLED
        ("2027-01-04 10:00", "2027-01-04 11:00"),
        ("2027-01-11 10:00", "2027-01-11 11:00"),
    ]


def test_all_day_events_block_the_builders_whole_local_days():
    spans = _spans("all_day_and_floating.ics", time_zone="America/New_York")
    # Dec 10 and 11 in New York (DTEND exclusive): local midnight to local midnight, 05:00 UTC.
    assert ("2026-12-10 05:00", "2026-12-12 05:00") in spans


def test_a_floating_time_is_read_in_the_builders_zone():
    assert ("2026-12-15 19:00", "2026-12-15 19:30") in _spans("all_day_and_floating.ics",
                                                              time_zone="America/New_York")
    assert ("2026-12-15 14:00", "2026-12-15 14:30") in _spans("all_day_and_floating.ics",
                                                              time_zone="Europe/London")


def test_free_and_cancelled_events_do_not_block_and_a_duration_gives_the_end():
    spans = _spans("all_day_and_floating.ics")
    assert not any(start.startswith(("2026-12-16", "2026-12-17")) for start, _ in spans)
    assert ("2026-12-18 17:00", "2026-12-18 17:45") in spans
    assert len(spans) == 3


def test_x_wr_timezone_keeps_a_utc_series_on_its_local_time_across_dst():
    autumn = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    # 09:00 in New York every Monday: 13:00 UTC in summer time, 14:00 UTC after the clocks go back.
    assert _spans("x_wr_timezone.ics", window=autumn) == [
        ("2026-10-26 13:00", "2026-10-26 14:00"),
        ("2026-11-02 14:00", "2026-11-02 15:00"),
        ("2026-11-09 14:00", "2026-11-09 15:00"),
    ]


def test_only_spans_overlapping_the_window_are_returned():
    window = (datetime(2026, 12, 14, tzinfo=UTC), datetime(2026, 12, 20, tzinfo=UTC))
    assert _spans("recurring_with_exceptions.ics", window=window) == [("2026-12-14 15:00", "2026-12-14 16:00")]


@pytest.mark.parametrize("body", [b"", b"<html>not a calendar</html>", b"BEGIN:VCARD\r\nEND:VCARD\r\n"])
def test_something_that_is_not_a_calendar_is_refused_with_a_reason(body):
    with pytest.raises(InvalidCalendar):
        busy_spans_from_ics(body, time_zone="UTC", start=DECEMBER[0], end=DECEMBER[1])
