"""booking.ics: the invite and the feed parse, their times are UTC, UIDs are the ones given, LOCATION is set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking.notifications.ics import FeedEntry, booking_invite, booking_uid, publish_feed, site_domain

START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
STAMP = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)


def _invite(**overrides: object) -> bytes:
    fields: dict[str, object] = {
        "uid": "booking-123@example.com",
        "summary": "1:1 call with Ada Lovelace",
        "description": "Booking reference 123.",
        "start": START,
        "end": END,
        "organizer_email": "ada@example.com",
        "organizer_name": "Ada Lovelace",
        "attendee_email": "grace@example.com",
        "attendee_name": "Grace Hopper",
        "stamp": STAMP,
    }
    fields.update(overrides)
    return booking_invite(**fields)


def _event(data: bytes) -> tuple[icalendar.Calendar, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(data)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def test_invite_parses_with_utc_times_uid_and_summary() -> None:
    data = _invite()
    calendar, event = _event(data)

    assert calendar["VERSION"] == "2.0"
    assert calendar["METHOD"] == "REQUEST"
    assert calendar["PRODID"]
    assert str(event["UID"]) == "booking-123@example.com"
    assert str(event["SUMMARY"]) == "1:1 call with Ada Lovelace"
    assert event.decoded("DTSTART") == START
    assert event.decoded("DTEND") == END
    assert event.decoded("DTSTAMP") == STAMP
    assert b"DTSTART:20261201T140000Z\r\n" in data
    assert b"DTEND:20261201T150000Z\r\n" in data
    assert str(event["ORGANIZER"]) == "mailto:ada@example.com"
    assert str(event["ATTENDEE"]) == "mailto:grace@example.com"
    assert event["ATTENDEE"].params["CN"] == "Grace Hopper"
    assert str(event["STATUS"]) == "CONFIRMED"


def test_times_in_other_zones_are_written_as_utc() -> None:
    new_york = ZoneInfo("America/New_York")
    start = datetime(2026, 7, 1, 10, 0, tzinfo=new_york)  # EDT, UTC-4

    data = _invite(start=start, end=start + timedelta(minutes=45))

    assert b"DTSTART:20260701T140000Z\r\n" in data
    assert b"DTEND:20260701T144500Z\r\n" in data


def test_publish_is_a_plain_download_without_attendees() -> None:
    calendar, event = _event(_invite(method="PUBLISH"))

    assert calendar["METHOD"] == "PUBLISH"
    assert "ATTENDEE" not in event


def test_cancel_keeps_the_uid_and_sorts_after_the_request() -> None:
    _, request = _event(_invite())
    calendar, cancel = _event(_invite(method="CANCEL"))

    assert calendar["METHOD"] == "CANCEL"
    assert cancel["UID"] == request["UID"]
    assert str(cancel["STATUS"]) == "CANCELLED"
    assert int(cancel["SEQUENCE"]) > int(request["SEQUENCE"])


def test_text_with_ical_special_characters_round_trips_and_lines_are_folded() -> None:
    summary = "Pairing; review, and Q&A — «naïve» " + "very long " * 20
    data = _invite(summary=summary, description="Line one\nLine two; with, commas")
    _, event = _event(data)

    assert str(event["SUMMARY"]) == summary
    assert str(event["DESCRIPTION"]) == "Line one\nLine two; with, commas"
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))  # RFC 5545 3.1: octets per line


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"start": datetime(2026, 12, 1, 14, 0)}, "timezone-aware"),
        ({"end": START}, "before"),
        ({"method": "REPLY"}, "method"),
    ],
)
def test_bad_input_is_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _invite(**overrides)


@given(
    start=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from(
            [ZoneInfo(name) for name in ("UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe")]
        ),
    ),
    minutes=st.integers(min_value=1, max_value=24 * 60),
)
def test_any_instant_round_trips_as_the_same_utc_instant(start: datetime, minutes: int) -> None:
    # Elapsed time, not wall-clock time: across a DST fold "start + 1 min" can be an earlier instant.
    end = start.astimezone(UTC) + timedelta(minutes=minutes)
    data = _invite(start=start, end=end)
    _, event = _event(data)

    assert event.decoded("DTSTART") == start.astimezone(UTC).replace(microsecond=0)
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert b"DTSTART:" + start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ").encode() in data


# --- location, the shared UID, the subscription feed ----------------------------------------------------


def test_the_location_becomes_the_events_location() -> None:
    _, event = _event(_invite(location="https://meet.example.com/ada-grace"))

    assert str(event["LOCATION"]) == "https://meet.example.com/ada-grace"


def test_an_empty_location_is_left_out() -> None:
    _, event = _event(_invite(location="  "))

    assert "LOCATION" not in event


def test_a_multi_line_address_reads_as_one_line() -> None:
    _, event = _event(_invite(location="Flat 2, 10 Downing St\n  London SW1A 2AA\n"))

    assert str(event["LOCATION"]) == "Flat 2, 10 Downing St, London SW1A 2AA"


def test_a_cancellation_carries_the_location_too() -> None:
    _, event = _event(_invite(method="CANCEL", location="Room 1; 2nd floor"))

    assert str(event["LOCATION"]) == "Room 1; 2nd floor"


@pytest.mark.parametrize(
    "public_url, domain",
    [("https://book.example.com", "book.example.com"), ("http://localhost:3000", "localhost"),
     ("https://Example.COM/sub/path", "example.com")],
)
def test_the_uid_is_the_opaque_invite_uid_at_the_sites_domain(public_url: str, domain: str) -> None:
    assert site_domain(public_url) == domain
    assert booking_uid("inv-7f3e", site_domain(public_url)) == f"inv-7f3e@{domain}"


def test_the_feed_is_a_published_calendar_with_one_event_per_entry() -> None:
    new_york = ZoneInfo("America/New_York")
    entries = [
        FeedEntry(uid="booking-1@example.com", summary="1:1 call with Grace Hopper", description="Client: Grace",
                  start=START, end=END, location="https://meet.example.com/1"),
        FeedEntry(uid="booking-2@example.com", summary="Review with Kenji", description="",
                  start=datetime(2026, 12, 2, 9, 0, tzinfo=new_york),
                  end=datetime(2026, 12, 2, 10, 0, tzinfo=new_york)),
    ]

    data = publish_feed(name="Ada Lovelace: bookings", entries=entries, stamp=STAMP)
    calendar = icalendar.Calendar.from_ical(data)
    first, second = calendar.walk("VEVENT")

    assert calendar["METHOD"] == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == "Ada Lovelace: bookings"
    assert (str(first["UID"]), str(second["UID"])) == ("booking-1@example.com", "booking-2@example.com")
    assert str(first["LOCATION"]) == "https://meet.example.com/1" and "LOCATION" not in second
    assert "ATTENDEE" not in first and "DESCRIPTION" not in second
    assert b"DTSTART:20261202T140000Z\r\n" in data  # 09:00 EST written as UTC
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))


def test_an_empty_feed_is_still_a_valid_calendar() -> None:
    calendar = icalendar.Calendar.from_ical(publish_feed(name="Nobody", entries=[], stamp=STAMP))

    assert calendar["METHOD"] == "PUBLISH" and calendar.walk("VEVENT") == []
