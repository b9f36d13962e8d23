"""Slot search keeps a builder's hours and bookings between searches (booking.scheduling.booking_spans,
`slots.load_schedule`). Whatever changes them, the next search shows it: a booking made, cancelled,
moved or deleted, a hold that lapses or is still paying, hours or days off edited, and a change that was
rolled back leaves nothing behind. A random run of such changes always agrees with a search that reads
everything afresh."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from booking.core.db import session_scope
from booking.core.models import (
    AvailabilityOverride,
    AvailabilityRule,
    Booking,
    BookingStatus,
    Builder,
    PaymentStatus,
    SessionType,
    SessionTypeAvailabilityRule,
    utcnow,
)
from booking.scheduling import booking_spans, slots
from booking.scheduling.availability import load_zone
from tests.factories import add_payment, make_builder, make_client, make_hold, make_session_type

ZONE = "Europe/London"


@pytest.fixture
def ada(engine):
    """A London builder open 09:00-17:00 every day with one 60-minute session type, and a client."""
    with session_scope(engine) as session:
        builder = make_builder(session, slug="ada", time_zone=ZONE)
        session_type = make_session_type(session, builder, duration_minutes=60)
        client = make_client(session)
        return builder.id, session_type.id, client.id


def _day() -> date:
    return utcnow().astimezone(load_zone(ZONE)).date() + timedelta(days=3)


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), load_zone(ZONE))


def _starts(session, session_type_id: int, day: date, now: datetime | None = None) -> list[str]:
    found = slots.find_open_slots(session=session, session_type_id=session_type_id, from_day=day, days=1,
                                  viewer_time_zone=ZONE, now=now or utcnow())
    return [f"{slot.start:%H:%M}" for slot in found]


def _search(engine, session_type_id: int, day: date, now: datetime | None = None) -> list[str]:
    with session_scope(engine) as session:
        return _starts(session, session_type_id, day, now)


def _afresh(engine, session_type_id: int, day: date, monkeypatch: pytest.MonkeyPatch,
            now: datetime | None = None) -> list[str]:
    """The same search with empty caches: everything read from the database."""
    with monkeypatch.context() as patch:
        patch.setattr(slots, "booking_spans", booking_spans.BookingSpansCache())
        patch.setattr(slots, "_hours_cache", type(slots._hours_cache)(8))
        return _search(engine, session_type_id, day, now)


def _book(session, builder_id: int, session_type_id: int, client_id: int, start: datetime,
          status: BookingStatus = BookingStatus.CONFIRMED) -> Booking:
    booking = Booking(client_id=client_id, builder_id=builder_id, session_type_id=session_type_id,
                      start_time=start, end_time=start + timedelta(hours=1), status=status)
    session.add(booking)
    session.flush()
    return booking


def test_a_booking_made_cancelled_moved_or_deleted_shows_in_the_next_search(engine, ada):
    builder_id, type_id, client_id = ada
    day = _day()
    assert "10:00" in _search(engine, type_id, day)  # now kept
    with session_scope(engine) as session:
        booking_id = _book(session, builder_id, type_id, client_id, _at(day, 10)).id
    assert "10:00" not in _search(engine, type_id, day)
    with session_scope(engine) as session:
        session.get(Booking, booking_id).start_time = _at(day, 14)
        session.get(Booking, booking_id).end_time = _at(day, 15)
    after_move = _search(engine, type_id, day)
    assert "10:00" in after_move and "14:00" not in after_move
    with session_scope(engine) as session:
        session.get(Booking, booking_id).status = BookingStatus.CANCELLED
    assert "14:00" in _search(engine, type_id, day)
    with session_scope(engine) as session:
        session.get(Booking, booking_id).status = BookingStatus.CONFIRMED
    assert "14:00" not in _search(engine, type_id, day)
    with session_scope(engine) as session:
        session.execute(sa.delete(Booking).where(Booking.id == booking_id))
    assert "14:00" in _search(engine, type_id, day)


def test_a_hold_stops_blocking_when_it_lapses_unless_its_payment_is_processing(engine, ada):
    builder_id, type_id, _client_id = ada
    day = _day()
    with session_scope(engine) as session:
        hold_id = make_hold(session, builder=session.get(Builder, builder_id),
                            session_type=session.get(SessionType, type_id), start=_at(day, 11), hold_minutes=20).id
    assert "11:00" not in _search(engine, type_id, day)
    later = utcnow() + timedelta(minutes=21)  # no write in between: the clock alone ends the hold
    assert "11:00" in _search(engine, type_id, day, now=later)
    with session_scope(engine) as session:
        add_payment(session, session.get(Booking, hold_id), attempt=2, status=PaymentStatus.PROCESSING)
    assert "11:00" not in _search(engine, type_id, day, now=later)


def test_edited_hours_and_days_off_show_in_the_next_search(engine, ada):
    builder_id, type_id, _client_id = ada
    day = _day()
    assert _search(engine, type_id, day)[0] == "09:00"
    with session_scope(engine) as session:
        session.add(AvailabilityOverride(builder_id=builder_id, day=day, closed=True))
    assert _search(engine, type_id, day) == []
    with session_scope(engine) as session:
        session.execute(sa.delete(AvailabilityOverride).where(AvailabilityOverride.builder_id == builder_id))
    assert _search(engine, type_id, day)[0] == "09:00"
    with session_scope(engine) as session:
        session.execute(sa.update(AvailabilityRule).where(AvailabilityRule.builder_id == builder_id)
                        .values(start_time=time(12)))
    assert _search(engine, type_id, day)[0] == "12:00"
    with session_scope(engine) as session:  # the type's own hours replace the builder's
        session.get(SessionType, type_id).own_availability = True
        session.add(SessionTypeAvailabilityRule(session_type_id=type_id, weekday=day.weekday(),
                                                start_time=time(15), end_time=time(17)))
    assert _search(engine, type_id, day) == ["15:00", "15:30", "16:00"]
    with session_scope(engine) as session:
        session.execute(sa.update(SessionTypeAvailabilityRule).values(start_time=time(16)))
    assert _search(engine, type_id, day) == ["16:00"]


def test_a_rolled_back_change_leaves_nothing_behind(engine, ada):
    builder_id, type_id, client_id = ada
    day = _day()
    with session_scope(engine) as session:
        _book(session, builder_id, type_id, client_id, _at(day, 10))
        session.add(AvailabilityOverride(builder_id=builder_id, day=day, start_time=time(9), end_time=time(12)))
        session.flush()
        assert _starts(session, type_id, day) == ["09:00", "11:00"]  # seen, and kept, inside the transaction
        session.rollback()
    assert _search(engine, type_id, day)[:3] == ["09:00", "09:30", "10:00"]
    assert _search(engine, type_id, day)[-1] == "16:00"


def test_every_write_gives_a_booking_a_new_tag_and_the_hours_a_new_version(engine, ada):
    builder_id, type_id, client_id = ada
    day = _day()

    def tag(booking_id: str) -> int:
        with session_scope(engine) as session:
            return session.execute(sa.select(Booking.busy_tag).where(Booking.id == booking_id)).scalar_one()

    def version() -> int:
        with session_scope(engine) as session:
            return session.execute(sa.select(Builder.schedule_version).where(Builder.id == builder_id)).scalar_one()

    with session_scope(engine) as session:
        booking_id = _book(session, builder_id, type_id, client_id, _at(day, 10)).id
    tags = [tag(booking_id)]
    for change in ({"client_name": "Grace"}, {"status": BookingStatus.CANCELLED}, {"client_name": "Grace"}):
        with session_scope(engine) as session:
            session.execute(sa.update(Booking).where(Booking.id == booking_id).values(**change))
        tags.append(tag(booking_id))
    assert len(set(tags)) == len(tags), tags  # even a write that changes nothing slot search reads

    versions = [version()]
    edits = [
        sa.insert(AvailabilityOverride).values(builder_id=builder_id, day=day, closed=True),
        sa.update(AvailabilityOverride).values(closed=False, start_time=time(9), end_time=time(10)),
        sa.delete(AvailabilityOverride),
        sa.update(AvailabilityRule).where(AvailabilityRule.builder_id == builder_id).values(end_time=time(18)),
        sa.insert(SessionTypeAvailabilityRule).values(session_type_id=type_id, weekday=0, start_time=time(9),
                                                      end_time=time(10)),
        sa.delete(SessionTypeAvailabilityRule),
        sa.delete(AvailabilityRule).where(AvailabilityRule.builder_id == builder_id),
    ]
    for edit in edits:
        with session_scope(engine) as session:
            session.execute(edit)
        versions.append(version())
    assert len(set(versions)) == len(versions), versions


def test_a_random_run_of_changes_always_agrees_with_a_search_read_afresh(engine, ada, monkeypatch):
    builder_id, type_id, client_id = ada
    rng = random.Random(2027)
    days = [_day() + timedelta(days=n) for n in range(3)]
    booked: list[str] = []
    for step in range(60):
        with session_scope(engine) as session:
            move = rng.random()
            if move < 0.35 or not booked:
                start = _at(rng.choice(days), rng.randrange(9, 16))
                status = rng.choice([BookingStatus.CONFIRMED, BookingStatus.PENDING, BookingStatus.CANCELLED])
                try:
                    with session.begin_nested():
                        booking = _book(session, builder_id, type_id, client_id, start, status)
                        if status is BookingStatus.PENDING:
                            booking.hold_expires_at = utcnow() + timedelta(minutes=rng.choice((-5, 30)))
                    booked.append(booking.id)
                except sa.exc.IntegrityError:
                    pass  # the slot is taken: the database refuses an overlap
            elif move < 0.55:
                booking = session.get(Booking, rng.choice(booked))
                booking.status = BookingStatus.CANCELLED
            elif move < 0.7:
                booking = session.get(Booking, rng.choice(booked))
                shift = timedelta(hours=rng.choice((-1, 1)))
                try:
                    with session.begin_nested():
                        booking.start_time, booking.end_time = booking.start_time + shift, booking.end_time + shift
                except sa.exc.IntegrityError:
                    pass
            elif move < 0.85:
                day = rng.choice(days)
                session.execute(sa.delete(AvailabilityOverride).where(AvailabilityOverride.day == day))
                if rng.random() < 0.7:
                    session.add(AvailabilityOverride(builder_id=builder_id, day=day, start_time=time(rng.randrange(9, 13)),
                                                     end_time=time(rng.randrange(14, 18))))
            else:
                session.execute(sa.update(Builder).where(Builder.id == builder_id)
                                .values(buffer_minutes=rng.choice((0, 15, 30))))
        for day in days:
            assert _search(engine, type_id, day) == _afresh(engine, type_id, day, monkeypatch), (step, day)
