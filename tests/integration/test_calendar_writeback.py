"""With a CalDAV calendar chosen for bookings, a confirmed booking is written to it (a real Radicale server),
moved on reschedule and removed on cancel, through the outbox: an outage delays the write, loses nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from sqlmodel import select

from booking.core.db import session_scope
from booking.core.models import Booking, BookingStatus, CalendarKind, CalendarWrite, utcnow
from booking.lifecycle import transitions
from booking.notifications.calendar_writeback import send_due_calendar_writes
from booking.notifications.ics import booking_uid
from booking.scheduling import add_calendar
from booking.scheduling.external_calendars import sync_calendar_now
from booking.scheduling.safe_fetch import FetchPolicy
from tests.factories import make_builder, make_client, make_session_type
from tests.support.calendar_servers import Radicale, radicale_server

LOCAL = FetchPolicy(allow_private_networks=True, timeout_seconds=5)
PUBLIC_URL = "http://book.test"


@pytest.fixture(scope="module")
def radicale(tmp_path_factory) -> Radicale:
    with radicale_server(tmp_path_factory.mktemp("radicale")) as server:
        yield server


@pytest.fixture
def shop(engine, radicale, request):
    """A builder whose CalDAV calendar (a fresh one per test) takes their bookings."""
    calendar_url = radicale.calendar(f"work-{request.node.name[-40:].replace('[', '-').replace(']', '')}"
                                     f"-{datetime.now(UTC):%H%M%S%f}")
    with session_scope(engine) as session:
        builder = make_builder(session, time_zone="Europe/London")
        session_type = make_session_type(session, builder, duration_minutes=60)
        calendar = add_calendar(session=session, builder_id=builder.id, kind=CalendarKind.CALDAV, url=calendar_url,
                                username=radicale.USER, password=radicale.PASSWORD, write_bookings=True)
        return builder.id, session_type.id, calendar.id, calendar_url


def _confirmed_booking(engine, builder_id: int, session_type_id: int, start: datetime) -> Booking:
    with session_scope(engine) as session:
        client = make_client(session)
        booking = Booking(client_id=client.id, builder_id=builder_id, session_type_id=session_type_id,
                          start_time=start, end_time=start + timedelta(hours=1), status=BookingStatus.PENDING,
                          hold_expires_at=utcnow() + timedelta(minutes=30), client_name="Grace")
        session.add(booking)
        session.flush()
        transitions.confirm_paid(session=session, booking_id=booking.id, payment_intent_id=None)
        return transitions.get_booking(session=session, booking_id=booking.id)


def _write(engine, now: datetime | None = None) -> int:
    return send_due_calendar_writes(engine=engine, policy=LOCAL, public_url=PUBLIC_URL, now=now)


def _event(radicale: Radicale, calendar_url: str, booking: Booking):
    stored = radicale.get(calendar_url, booking.invite_uid)
    if stored is None:
        return None
    (event,) = icalendar.Calendar.from_ical(stored).walk("VEVENT")
    return event


def _start() -> datetime:
    return (utcnow() + timedelta(days=5)).replace(hour=10, minute=0, second=0, microsecond=0)


def test_a_confirmed_booking_is_written_moved_and_removed(engine, radicale, shop):
    builder_id, session_type_id, _calendar_id, calendar_url = shop
    start = _start()
    booking = _confirmed_booking(engine, builder_id, session_type_id, start)
    assert _event(radicale, calendar_url, booking) is None  # written by the worker, not in the transaction
    assert _write(engine) == 1
    event = _event(radicale, calendar_url, booking)
    assert str(event["UID"]) == booking_uid(booking.invite_uid, "book.test")  # the invite's one UID
    assert event["DTSTART"].dt == start and event["DTEND"].dt == start + timedelta(hours=1)
    assert "ATTENDEE" not in event

    with session_scope(engine) as session:
        assert transitions.reschedule(session=session, booking_id=booking.id, from_start=start,
                                      new_start=start + timedelta(days=1), new_end=start + timedelta(days=1, hours=1))
    assert _write(engine) == 1
    event = _event(radicale, calendar_url, booking)
    assert event["DTSTART"].dt == start + timedelta(days=1) and int(event["SEQUENCE"]) == 1

    with session_scope(engine) as session:
        assert transitions.cancel_by_builder(session=session, booking_id=booking.id)
    assert _write(engine) == 1
    assert _event(radicale, calendar_url, booking) is None
    assert _write(engine) == 0  # nothing left to do


def test_an_outage_delays_the_write_and_it_is_retried_later(engine, radicale, shop):
    builder_id, session_type_id, _calendar_id, calendar_url = shop
    booking = _confirmed_booking(engine, builder_id, session_type_id, _start())
    radicale.stop()
    try:
        now = utcnow()
        assert _write(engine, now) == 0
        with session_scope(engine) as session:
            row = session.exec(select(CalendarWrite).where(CalendarWrite.booking_id == booking.id)).one()
            assert row.attempts == 1 and not row.done and "could not be reached" in row.last_error
            assert row.next_attempt_at > now
        assert _write(engine, now + timedelta(seconds=5)) == 0  # backing off: not tried again yet
    finally:
        radicale.start()
    assert _write(engine, now + timedelta(minutes=5)) == 1
    assert _event(radicale, calendar_url, booking) is not None


def test_our_own_events_in_the_calendar_do_not_block_but_the_builders_do(engine, radicale, shop):
    builder_id, session_type_id, calendar_id, calendar_url = shop
    booking = _confirmed_booking(engine, builder_id, session_type_id, _start())
    _write(engine)
    dentist = _start() + timedelta(days=2)
    radicale.put(calendar_url, "dentist", (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nBEGIN:VEVENT\r\nUID:dentist@test\r\n"
        f"DTSTAMP:20261201T000000Z\r\nDTSTART:{dentist:%Y%m%dT%H%M%SZ}\r\n"
        f"DTEND:{dentist + timedelta(minutes=30):%Y%m%dT%H%M%SZ}\r\nSUMMARY:Dentist\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n").encode())
    assert sync_calendar_now(engine=engine, calendar_id=calendar_id, policy=LOCAL)
    from booking.core.models import ExternalBusyInterval
    with session_scope(engine) as session:
        spans = [(row.start_time, row.end_time) for row in session.exec(select(ExternalBusyInterval)).all()]
    assert spans == [(dentist, dentist + timedelta(minutes=30))]
    assert booking.start_time not in [s for s, _ in spans]


def test_wrong_caldav_credentials_are_shown_as_the_calendars_error(engine, radicale):
    with session_scope(engine) as session:
        builder = make_builder(session)
        calendar = add_calendar(session=session, builder_id=builder.id, kind="caldav",
                                url=radicale.calendar(f"other-{datetime.now(UTC):%H%M%S%f}"),
                                username=radicale.USER, password="wrong")
        calendar_id, builder_id = calendar.id, builder.id
    assert not sync_calendar_now(engine=engine, calendar_id=calendar_id, policy=LOCAL)
    from booking.scheduling import list_calendars
    with session_scope(engine) as session:
        (view,) = list_calendars(session=session, builder_id=builder_id)
    assert view.last_error and view.last_synced_at is None
