""""Add to Google Calendar" / "Add to Outlook" (booking.notifications.calendar_links): the URLs the calendars
document, times in UTC, text encoded, and nothing secret (no booking id, no manage link) in them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from booking.notifications.calendar_links import (
    GOOGLE_BASE,
    OUTLOOK_BASE,
    CalendarEvent,
    google_calendar_url,
    links_for,
    outlook_calendar_url,
    session_event,
)

NEW_YORK_9AM = datetime(2027, 1, 5, 9, 0, tzinfo=timezone(timedelta(hours=-5)))  # 14:00 UTC


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def event(**overrides: object) -> CalendarEvent:
    fields: dict[str, object] = dict(session_type_name="Code review & pairing", builder_name="Ada  Lovelace",
                                     start=NEW_YORK_9AM, end=NEW_YORK_9AM + timedelta(hours=1),
                                     description="We look at your repo.\nBring questions.",
                                     location="https://meet.example/room?x=1&y=2")
    fields.update(overrides)
    return session_event(**fields)


def test_google_link_is_a_template_with_utc_dates_and_encoded_text():
    url = google_calendar_url(event())

    assert url.startswith(GOOGLE_BASE + "?")
    assert _query(url) == {
        "action": "TEMPLATE",
        "text": "Code review & pairing with Ada Lovelace",
        "dates": "20270105T140000Z/20270105T150000Z",
        "details": "We look at your repo.\nBring questions.",
        "location": "https://meet.example/room?x=1&y=2",
    }
    assert " " not in url and "\n" not in url and "&y=2" not in url  # every value percent-encoded


def test_outlook_link_uses_iso_utc_start_and_end():
    url = outlook_calendar_url(event())

    assert url.startswith(OUTLOOK_BASE + "?")
    query = _query(url)
    assert (query["subject"], query["startdt"], query["enddt"]) == (
        "Code review & pairing with Ada Lovelace", "2027-01-05T14:00:00Z", "2027-01-05T15:00:00Z")
    assert query["body"] == "We look at your repo.\nBring questions."
    assert query["location"] == "https://meet.example/room?x=1&y=2"
    assert query["rru"] == "addevent"


def test_empty_details_and_location_are_left_out_and_long_text_is_cut():
    links = links_for(event(description="", location=""))
    assert "details" not in _query(links.google) and "location" not in _query(links.google)
    assert "body" not in _query(links.outlook) and "location" not in _query(links.outlook)

    long = _query(google_calendar_url(event(description="x" * 5000)))["details"]
    assert len(long) == 1000 and long.endswith("…")


def test_the_links_carry_only_what_they_were_given():
    """Built from the session's public facts: a booking id or a manage link can't get in unless passed."""
    links = links_for(event())
    for url in (links.google, links.outlook):
        text = " ".join(_query(url).values())
        assert "/manage/" not in text and "booking" not in text.lower() and "@" not in text


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        google_calendar_url(CalendarEvent(title="x", start=datetime(2027, 1, 5, 9), end=datetime(2027, 1, 5, 10)))
    assert _query(outlook_calendar_url(event(start=datetime(2027, 1, 5, 14, tzinfo=UTC),
                                             end=datetime(2027, 1, 5, 15, tzinfo=UTC))))["startdt"] == (
        "2027-01-05T14:00:00Z")
