"""Busy spans from any source passed to slot search (an external calendar's events, expanded up front) block
slots the way bookings do: in the slot search and when a slot is re-checked at checkout."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from booking.core.db import session_scope
from booking.core.models import Booking, BookingStatus, utcnow
from booking.scheduling import busy, slots
from booking.scheduling.availability import load_zone
from tests.factories import make_builder, make_client, make_session_type

ZONE = "Europe/London"


@pytest.fixture
def ada(engine):
    """A London builder open 09:00-17:00 every day with one 60-minute session type."""
    with session_scope(engine) as session:
        builder = make_builder(session, slug="ada", time_zone=ZONE)
        session_type = make_session_type(session, builder, duration_minutes=60)
        return builder.id, session_type.id


@pytest.fixture
def calendar():
    """A source handing over whatever spans the test puts in its list (passed to slot search by `_starts`)."""
    spans: list[tuple[datetime, datetime]] = []
    asked: list[int] = []

    def source(*, session, builder_id, start, end):
        asked.append(builder_id)
        return [(s, e) for s, e in spans if s < end and e > start]

    _sources[:] = [source]
    yield spans, asked
    _sources.clear()


_sources: list = []  # the sources the current test hands to slot search


def _day() -> date:
    return utcnow().astimezone(load_zone(ZONE)).date() + timedelta(days=3)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), load_zone(ZONE))


def _starts(engine, session_type_id: int, day: date) -> list[str]:
    with session_scope(engine) as session:
        found = slots.find_open_slots(session=session, session_type_id=session_type_id, from_day=day, days=1,
                                      viewer_time_zone=ZONE, now=utcnow(), busy_sources=tuple(_sources))
    return [f"{slot.start:%H:%M}" for slot in found]


def test_an_external_event_blocks_the_slots_it_overlaps(engine, ada, calendar):
    builder_id, session_type_id = ada
    spans, asked = calendar
    day = _day()
    before = _starts(engine, session_type_id, day)
    assert "11:00" in before and "12:00" in before
    # The dentist, 11:15-12:15 London time, handed over in another zone (as a feed may).
    spans.append((_at(day, 11, 15).astimezone(load_zone("America/New_York")), _at(day, 12, 15)))
    after = _starts(engine, session_type_id, day)
    assert asked and set(asked) == {builder_id}
    assert [s for s in before if s not in after] == ["10:30", "11:00", "11:30", "12:00"]
    with session_scope(engine) as session:
        schedule = slots.load_schedule(session=session, session_type_id=session_type_id)
        assert not slots.is_open(session=session, schedule=schedule, start=_at(day, 11), now=utcnow(),
                                 busy_sources=tuple(_sources))
        assert slots.is_open(session=session, schedule=schedule, start=_at(day, 13), now=utcnow(),
                             busy_sources=tuple(_sources))


def test_external_events_and_bookings_block_together_and_a_moved_booking_not_itself(engine, ada, calendar):
    builder_id, session_type_id = ada
    spans, _asked = calendar
    day = _day()
    spans.append((_at(day, 9), _at(day, 10)))
    with session_scope(engine) as session:
        client = make_client(session)
        booking = Booking(client_id=client.id, builder_id=builder_id, session_type_id=session_type_id,
                          start_time=_at(day, 14).astimezone(timezone.utc), end_time=_at(day, 15).astimezone(timezone.utc),
                          status=BookingStatus.CONFIRMED, client_name="C", confirmed_at=utcnow())
        session.add(booking)
        session.flush()
        booking_id = booking.id
    starts = _starts(engine, session_type_id, day)
    assert "09:00" not in starts and "09:30" not in starts and "14:00" not in starts and "10:00" in starts
    with session_scope(engine) as session:
        found = slots.find_open_slots(session=session, session_type_id=session_type_id, from_day=day, days=1,
                                      viewer_time_zone=ZONE, now=utcnow(), ignore_booking_id=booking_id,
                                      busy_sources=tuple(_sources))
    moved = [f"{slot.start:%H:%M}" for slot in found]
    assert "14:00" in moved and "09:00" not in moved  # its own time frees up, the calendar's does not


def test_a_source_handing_over_naive_times_fails_loudly(engine, ada):
    day = _day()
    naive = [(datetime.combine(day, time(11)), datetime.combine(day, time(12)))]
    _sources[:] = [lambda **_: naive]
    try:
        with pytest.raises(ValueError, match="timezone-aware"):
            _starts(engine, ada[1], day)
    finally:
        _sources.clear()


def test_the_default_sources_are_the_external_calendars():
    assert (busy.external_calendar_spans,) == busy.DEFAULT_BUSY_SOURCES
