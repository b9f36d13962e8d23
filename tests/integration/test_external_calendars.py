"""A builder's ICS feed, synced by the job worker, blocks their slots; fetching is conditional (ETag /
If-Modified-Since: a 304 keeps the spans), failures are shown and keep the last good spans, and private
addresses are refused unless the setting allows them."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlmodel import select

from booking.core.db import session_scope
from booking.core.models import CalendarKind, ExternalBusyInterval, ExternalCalendar, utcnow
from booking.scheduling import CalendarInputError, add_calendar, list_calendars, remove_calendar, slots
from booking.scheduling.availability import load_zone
from booking.scheduling.external_calendars import sync_calendar_now, sync_due_calendars
from booking.scheduling.safe_fetch import FetchPolicy
from tests.factories import make_builder, make_session_type
from tests.support.calendar_servers import IcsFeed

ZONE = "Europe/London"
LOCAL = FetchPolicy(allow_private_networks=True, timeout_seconds=5, max_bytes=200_000)


def _day() -> date:
    return utcnow().astimezone(load_zone(ZONE)).date() + timedelta(days=3)


def _event(uid: str, day: date, start: int, end: int, extra: str = "") -> str:
    return (f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261201T000000Z\r\nSUMMARY:Busy\r\n"
            f"DTSTART;TZID=Europe/London:{day:%Y%m%d}T{start:02d}0000\r\n"
            f"DTEND;TZID=Europe/London:{day:%Y%m%d}T{end:02d}0000\r\n{extra}END:VEVENT\r\n")


def _calendar(*events: str) -> bytes:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\n" + "".join(events)
            + "END:VCALENDAR\r\n").encode()


@pytest.fixture
def ada(engine):
    with session_scope(engine) as session:
        builder = make_builder(session, slug="ada", time_zone=ZONE)
        session_type = make_session_type(session, builder, duration_minutes=60)
        return builder.id, session_type.id


@pytest.fixture
def feed():
    with IcsFeed().serving() as served:
        yield served


def _starts(engine, session_type_id: int, day: date) -> list[str]:
    with session_scope(engine) as session:
        found = slots.find_open_slots(session=session, session_type_id=session_type_id, from_day=day, days=1,
                                      viewer_time_zone=ZONE, now=utcnow())
    return [f"{slot.start:%H:%M}" for slot in found]


def _add(engine, builder_id: int, url: str, **fields) -> int:
    with session_scope(engine) as session:
        return add_calendar(session=session, builder_id=builder_id, kind=CalendarKind.ICS, url=url, **fields).id


def _view(engine, builder_id: int):
    with session_scope(engine) as session:
        (view,) = list_calendars(session=session, builder_id=builder_id)
        return view


def test_a_synced_feed_blocks_slots_and_a_304_keeps_them(engine, ada, feed):
    builder_id, session_type_id = ada
    day = _day()
    feed.set_body(_calendar(_event("dentist@test", day, 11, 12),
                            _event("weekly@test", day - timedelta(days=7), 14, 15, "RRULE:FREQ=WEEKLY\r\n")),
                  modified_at=1_700_000_000)
    calendar_id = _add(engine, builder_id, feed.url)
    assert "11:00" in _starts(engine, session_type_id, day)  # nothing is fetched on a request

    assert sync_calendar_now(engine=engine, calendar_id=calendar_id, policy=LOCAL)
    starts = _starts(engine, session_type_id, day)
    assert "11:00" not in starts and "14:00" not in starts  # the recurring one too, expanded
    assert "10:00" in starts and "12:00" in starts and "13:00" in starts
    view = _view(engine, builder_id)
    assert view.last_synced_at is not None and view.last_error is None and view.busy_count >= 2

    assert sync_calendar_now(engine=engine, calendar_id=calendar_id, policy=LOCAL)
    assert feed.answers == [200, 304]
    assert feed.requests[1]["If-None-Match"] == feed.etag
    assert feed.requests[1]["If-Modified-Since"] == feed.last_modified
    assert "11:00" not in _starts(engine, session_type_id, day)  # kept through the 304

    feed.set_body(_calendar(_event("dentist@test", day, 16, 17)), modified_at=1_700_000_100)
    sync_calendar_now(engine=engine, calendar_id=calendar_id, policy=LOCAL)
    starts = _starts(engine, session_type_id, day)
    assert "11:00" in starts and "14:00" in starts and "16:00" not in starts


def test_a_failing_feed_shows_its_error_and_keeps_the_last_good_spans(engine, ada, feed):
    builder_id, session_type_id = ada
    day = _day()
    feed.set_body(_calendar(_event("dentist@test", day, 11, 12)), modified_at=1_700_000_000)
    calendar_id = _add(engine, builder_id, feed.url)
    sync_calendar_now(engine=engine, calendar_id=calendar_id, policy=LOCAL)
    synced_at = _view(engine, builder_id).last_synced_at

    feed.status = 500
    assert not sync_calendar_now(engine=engine, calendar_id=calendar_id, policy=LOCAL)
    view = _view(engine, builder_id)
    assert view.last_error == "the server answered HTTP 500"
    assert view.last_synced_at == synced_at
    assert "11:00" not in _starts(engine, session_type_id, day)

    feed.status = 200
    feed.set_body(b"<html>Sign in</html>", modified_at=1_700_000_200)
    sync_calendar_now(engine=engine, calendar_id=calendar_id, policy=LOCAL)
    assert "not an iCalendar document" in _view(engine, builder_id).last_error

    feed.set_body(_calendar(*[_event(f"e{i}@test", day, 9, 10) for i in range(2000)]), modified_at=1_700_000_300)
    sync_calendar_now(engine=engine, calendar_id=calendar_id, policy=LOCAL)
    assert "larger than 200,000 bytes" in _view(engine, builder_id).last_error

    feed.set_body(_calendar(_event("dentist@test", day, 15, 16)), modified_at=1_700_000_400)
    sync_calendar_now(engine=engine, calendar_id=calendar_id, policy=LOCAL)
    view = _view(engine, builder_id)
    assert view.last_error is None and view.last_synced_at > synced_at


def test_a_feed_on_a_private_address_is_refused_unless_allowed(engine, ada, feed):
    builder_id, session_type_id = ada
    day = _day()
    feed.set_body(_calendar(_event("dentist@test", day, 11, 12)), modified_at=1_700_000_000)
    calendar_id = _add(engine, builder_id, feed.url)
    public_only = FetchPolicy(allow_private_networks=False, timeout_seconds=5)
    assert not sync_calendar_now(engine=engine, calendar_id=calendar_id, policy=public_only)
    assert feed.requests == []  # refused before any connection
    assert "private network" in _view(engine, builder_id).last_error
    assert "11:00" in _starts(engine, session_type_id, day)


def test_a_redirect_is_checked_again(engine, ada, feed):
    builder_id, _session_type_id = ada
    feed.redirect_to = "file:///etc/passwd"
    calendar_id = _add(engine, builder_id, feed.url)
    assert not sync_calendar_now(engine=engine, calendar_id=calendar_id, policy=LOCAL)
    assert "must start with https://" in _view(engine, builder_id).last_error


def test_the_worker_tick_syncs_only_due_calendars_and_each_once_per_interval(engine, ada, feed):
    builder_id, _session_type_id = ada
    feed.set_body(_calendar(_event("dentist@test", _day(), 11, 12)), modified_at=1_700_000_000)
    _add(engine, builder_id, feed.url)
    now = utcnow()
    assert sync_due_calendars(engine=engine, policy=LOCAL, interval=timedelta(minutes=15), now=now) == 1
    assert sync_due_calendars(engine=engine, policy=LOCAL, interval=timedelta(minutes=15),
                              now=now + timedelta(minutes=1)) == 0
    assert sync_due_calendars(engine=engine, policy=LOCAL, interval=timedelta(minutes=15),
                              now=now + timedelta(minutes=16)) == 1
    assert feed.answers == [200, 304]


def test_bad_input_is_refused_with_the_field_named_and_removing_frees_the_slots(engine, ada, feed):
    builder_id, session_type_id = ada
    with session_scope(engine) as session:
        for kind, url, fields, field in [
            ("ics", "ftp://example.com/cal.ics", {}, "url"),
            ("ics", "", {}, "url"),
            ("caldav", "https://dav.example.com/cal/", {"username": "ada"}, "password"),
            ("ics", "https://example.com/cal.ics", {"write_bookings": True}, "write_bookings"),
            ("outlook", "https://example.com/cal.ics", {}, "kind"),
        ]:
            with pytest.raises(CalendarInputError) as refused:
                add_calendar(session=session, builder_id=builder_id, kind=kind, url=url, **fields)
            assert refused.value.field == field
        assert session.exec(select(ExternalCalendar)).all() == []
    day = _day()
    feed.set_body(_calendar(_event("dentist@test", day, 11, 12)), modified_at=1_700_000_000)
    calendar_id = _add(engine, builder_id, feed.url)
    sync_calendar_now(engine=engine, calendar_id=calendar_id, policy=LOCAL)
    with session_scope(engine) as session:
        assert not remove_calendar(session=session, builder_id=builder_id + 999, calendar_id=calendar_id)
        assert remove_calendar(session=session, builder_id=builder_id, calendar_id=calendar_id)
    with session_scope(engine) as session:
        assert session.exec(select(ExternalBusyInterval)).all() == []
    assert "11:00" in _starts(engine, session_type_id, day)


def test_caldav_passwords_are_stored_encrypted(engine, ada):
    builder_id, _ = ada
    with session_scope(engine) as session:
        calendar = add_calendar(session=session, builder_id=builder_id, kind="caldav",
                                url="https://dav.example.com/ada/cal/", username="ada", password="s3cret-app-pw")
        assert calendar.password_encrypted and "s3cret" not in calendar.password_encrypted
        from booking.scheduling.external_calendars import caldav_password
        assert caldav_password(calendar) == "s3cret-app-pw"


_ = (datetime, time)
