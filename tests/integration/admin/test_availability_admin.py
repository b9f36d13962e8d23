"""/admin/availability through its state: saving hours changes what clients see, bad input changes
nothing, bookings outside new hours are kept and listed, and nobody edits another builder's hours."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlmodel import select

from booking.core.db import session_scope
from booking.core.models import (
    AuditEntry,
    AvailabilityOverride,
    AvailabilityRule,
    Booking,
    BookingStatus,
    Builder,
    PaymentStatus,
    UserRole,
    utcnow,
)
from booking.scheduling.availability import load_zone
from booking.scheduling.slots import find_open_slots
from booking_ui import routes
from booking_ui.admin.availability import AvailabilityState
from booking_ui.admin.base import NOT_FOUND_MESSAGE
from tests.factories import add_payment, make_builder, make_client, make_session_type
from tests.support.admin_states import call, make_user, redirect_path, set_session, state_of, token_for

ZONE = "Europe/London"


@pytest.fixture
def ada(engine):
    """A London builder open 09:00-17:00 every day, one 60-minute session type, signed in."""
    with session_scope(engine) as session:
        builder = make_builder(session, slug="ada", name="Ada", time_zone=ZONE)
        session_type = make_session_type(session, builder, name="Mentoring", duration_minutes=60)
        ids = builder.id, session_type.id
    token = token_for(engine, make_user(engine, email="ada@example.test", builder_id=ids[0]))
    return {"builder_id": ids[0], "session_type_id": ids[1], "token": token}


@pytest.fixture
def grace(engine):
    with session_scope(engine) as session:
        builder = make_builder(session, slug="grace", name="Grace", time_zone="America/New_York")
        session_type = make_session_type(session, builder, name="Review")
        ids = builder.id, session_type.id
    token = token_for(engine, make_user(engine, email="grace@example.test", builder_id=ids[0]))
    return {"builder_id": ids[0], "session_type_id": ids[1], "token": token}


def _local_today() -> date:
    return utcnow().astimezone(load_zone(ZONE)).date()


def _loaded(token: str) -> AvailabilityState:
    state = state_of(AvailabilityState, token)
    assert call(state, "load") is None and state.admin_error == ""
    return state


def _starts(engine, session_type_id: int, day: date) -> list[str]:
    with session_scope(engine) as session:
        found = find_open_slots(session=session, session_type_id=session_type_id, from_day=day, days=1,
                                viewer_time_zone=ZONE, now=utcnow())
    return [f"{slot.start:%H:%M}" for slot in found]


def _rows(engine, builder_id: int) -> tuple[list, list, tuple]:
    with session_scope(engine) as session:
        rules = sorted((r.weekday, r.start_time, r.end_time) for r in session.exec(
            select(AvailabilityRule).where(AvailabilityRule.builder_id == builder_id)).all())
        overrides = sorted((o.day, o.closed, o.start_time) for o in session.exec(
            select(AvailabilityOverride).where(AvailabilityOverride.builder_id == builder_id)).all())
        b = session.get(Builder, builder_id)
        policy = (b.time_zone, b.buffer_minutes, b.min_notice_minutes, b.horizon_days, b.slot_step_minutes)
    return rules, overrides, policy


def _audit_count(engine) -> int:
    with session_scope(engine) as session:
        return len(session.exec(select(AuditEntry)).all())


def _set_windows(state: AvailabilityState, weekday: int, windows: list[tuple[str, str]]) -> None:
    while state.days[weekday].windows:
        call(state, "remove_window", str(weekday), 0)
    for n, (start, end) in enumerate(windows):
        call(state, "add_window", str(weekday))
        call(state, "set_window_start", str(weekday), n, start)
        call(state, "set_window_end", str(weekday), n, end)


def _confirmed_booking(engine, builder_id: int, session_type_id: int, start: datetime) -> str:
    with session_scope(engine) as session:
        client = make_client(session, name="Linus Client")
        booking = Booking(client_id=client.id, builder_id=builder_id, session_type_id=session_type_id,
                          start_time=start, end_time=start + timedelta(hours=1), status=BookingStatus.CONFIRMED,
                          confirmed_at=utcnow())
        session.add(booking)
        session.flush()
        add_payment(session, booking, amount=5000, currency="gbp", status=PaymentStatus.PAID)
        return booking.id


def test_the_page_shows_the_saved_hours_and_a_preview_of_client_slots(engine, ada):
    state = _loaded(ada["token"])
    assert state.time_zone == ZONE and state.editing_builder == "Ada"
    assert [(w.start, w.end) for w in state.days[0].windows] == [("09:00", "17:00")]
    assert state.policy["slot_step_minutes"] == "30"
    assert state.preview_type_id == str(ada["session_type_id"])
    tomorrow = _local_today() + timedelta(days=1)
    preview = {d.day: [s.label for s in d.slots] for d in state.preview_days}
    assert preview[tomorrow.isoformat()] == _starts(engine, ada["session_type_id"], tomorrow)
    assert len(state.preview_days) in (6, 7)  # 7 days from today; today may have no slot left


def test_several_windows_a_day_and_an_override_change_the_slots_clients_see(engine, ada):
    state = _loaded(ada["token"])
    target = _local_today() + timedelta(days=3)
    other_hours = target + timedelta(days=1)
    closed = target + timedelta(days=2)
    _set_windows(state, target.weekday(), [("14:00", "15:30"), ("9:00", "10:00")])
    call(state, "add_override")
    call(state, "set_override_day", 0, other_hours.isoformat())
    call(state, "set_override_closed", 0, False)
    call(state, "set_override_start", 0, "11:00")
    call(state, "set_override_end", 0, "12:00")
    call(state, "add_override_hours", 0)
    call(state, "set_override_end", 1, "13:00")
    call(state, "add_override")
    call(state, "set_override_day", 2, closed.isoformat())
    call(state, "set_field", "slot_step_minutes", "30")

    assert call(state, "save") is None
    assert state.errors == [] and state.saved_message
    assert _starts(engine, ada["session_type_id"], target) == ["09:00", "14:00", "14:30"]
    assert _starts(engine, ada["session_type_id"], other_hours) == ["11:00", "12:00"]  # a slot fits one window
    assert _starts(engine, ada["session_type_id"], closed) == []
    preview = {d.day: [s.label for s in d.slots] for d in state.preview_days}
    assert preview[target.isoformat()] == ["09:00", "14:00", "14:30"]
    assert closed.isoformat() not in preview
    # The form shows what was saved, normalised.
    assert [(w.start, w.end) for w in state.days[target.weekday()].windows] == [("09:00", "10:00"),
                                                                               ("14:00", "15:30")]
    with session_scope(engine) as session:
        entries = session.exec(select(AuditEntry)).all()
    assert [(e.action, e.entity_id, e.builder_id) for e in entries] == [
        ("availability.update", str(ada["builder_id"]), ada["builder_id"])]
    assert "14:00-15:30" in entries[0].after and "closed" in entries[0].after


def test_policy_and_zone_changes_are_saved(engine, ada):
    state = _loaded(ada["token"])
    call(state, "set_field", "time_zone", "Asia/Tokyo")
    for field, value in (("buffer_minutes", "15"), ("min_notice_minutes", "60"), ("horizon_days", "30"),
                         ("slot_step_minutes", "20")):
        call(state, "set_field", field, value)
    call(state, "save")
    assert state.errors == []
    assert _rows(engine, ada["builder_id"])[2] == ("Asia/Tokyo", 15, 60, 30, 20)


@pytest.mark.parametrize("mistake", ["overlap", "bad-time", "bad-zone", "bad-step", "past-override"])
def test_bad_input_is_refused_inline_and_nothing_changes(engine, ada, mistake):
    before = _rows(engine, ada["builder_id"])
    state = _loaded(ada["token"])
    _set_windows(state, 1, [("10:00", "12:00")])  # a valid change that must not be saved either
    if mistake == "overlap":
        _set_windows(state, 2, [("09:00", "12:00"), ("11:30", "13:00")])
    elif mistake == "bad-time":
        _set_windows(state, 2, [("09:00", "25:00")])
    elif mistake == "bad-zone":
        call(state, "set_field", "time_zone", "Mars/Olympus_Mons")
    elif mistake == "bad-step":
        call(state, "set_field", "slot_step_minutes", "3")
    else:
        call(state, "add_override")
        call(state, "set_override_day", 0, (_local_today() - timedelta(days=2)).isoformat())

    assert call(state, "save") is None
    assert state.errors and not state.saved_message
    if mistake == "overlap":
        assert "overlap" in state.days[2].error
    elif mistake == "bad-time":
        assert "End" in state.days[2].windows[0].error
    elif mistake == "bad-zone":
        assert "Mars/Olympus_Mons" in state.field_errors["time_zone"]
    elif mistake == "bad-step":
        assert "5 to 240" in state.field_errors["slot_step_minutes"]
    else:
        assert "past" in state.overrides[0].error
        call(state, "drop_past_overrides")
        assert state.overrides == []
    assert _rows(engine, ada["builder_id"]) == before
    assert _audit_count(engine) == 0
    # What was typed stays in the form to be fixed.
    assert [(w.start, w.end) for w in state.days[1].windows] == [("10:00", "12:00")]


def test_a_booking_outside_new_hours_is_listed_and_stays_confirmed(engine, ada):
    day = _local_today() + timedelta(days=2)
    afternoon = datetime.combine(day, time(15, 0), tzinfo=load_zone(ZONE))
    morning = datetime.combine(day, time(9, 0), tzinfo=load_zone(ZONE))
    late = _confirmed_booking(engine, ada["builder_id"], ada["session_type_id"], afternoon)
    kept = _confirmed_booking(engine, ada["builder_id"], ada["session_type_id"], morning)
    state = _loaded(ada["token"])
    _set_windows(state, day.weekday(), [("09:00", "12:00")])
    call(state, "save")
    assert state.errors == []
    assert [(row.client, row.session_type, row.status) for row in state.outside_hours] == [
        ("Linus Client", "Mentoring", "confirmed")]
    assert "15:00–16:00" in state.outside_hours[0].when
    with session_scope(engine) as session:
        assert session.get(Booking, late).status == BookingStatus.CONFIRMED
        assert session.get(Booking, kept).status == BookingStatus.CONFIRMED
    call(state, "load")
    assert state.outside_hours == []


def test_a_builder_only_ever_edits_their_own_hours(engine, ada, grace):
    grace_before = _rows(engine, grace["builder_id"])
    state = _loaded(ada["token"])
    call(state, "set_builder", str(grace["builder_id"]))
    assert state.admin_error and state.editing_builder == "Ada"
    call(state, "set_preview_type", str(grace["session_type_id"]))
    assert state.admin_error == NOT_FOUND_MESSAGE
    assert state.preview_type_id == str(ada["session_type_id"])
    state.builder_choice = str(grace["builder_id"])  # even a forged choice is ignored for a builder
    _set_windows(state, 0, [("06:00", "07:00")])
    call(state, "save")
    assert _rows(engine, grace["builder_id"]) == grace_before
    assert (0, time(6), time(7)) in _rows(engine, ada["builder_id"])[0]


def test_a_platform_admin_chooses_the_builder(engine, ada, grace):
    admin = make_user(engine, email="root@example.test", role=UserRole.ADMIN)
    state = _loaded(token_for(engine, admin))
    assert {c.label for c in state.builder_choices} == {"Ada", "Grace"}
    call(state, "set_builder", str(grace["builder_id"]))
    assert state.editing_builder == "Grace" and state.time_zone == "America/New_York"
    assert state.preview_type_id == str(grace["session_type_id"])
    _set_windows(state, 5, [("10:00", "11:00")])
    call(state, "save")
    assert [r for r in _rows(engine, grace["builder_id"])[0] if r[0] == 5] == [(5, time(10), time(11))]
    assert [r for r in _rows(engine, ada["builder_id"])[0] if r[0] == 5] == [(5, time(9), time(17))]
    call(state, "set_builder", "999999")
    assert state.admin_error == NOT_FOUND_MESSAGE and state.editing_builder == "Grace"
    call(state, "set_preview_type", str(ada["session_type_id"]))  # a type of another builder than the chosen one
    assert state.admin_error == NOT_FOUND_MESSAGE


def test_signed_out_calls_change_nothing(engine, ada):
    before = _rows(engine, ada["builder_id"])
    state = state_of(AvailabilityState, "")
    assert redirect_path(call(state, "load")) == routes.ADMIN_LOGIN
    state.days = _loaded(ada["token"]).days
    set_session(state, "")
    for name, args in (("set_builder", (str(ada["builder_id"]),)), ("add_window", ("0",)),
                       ("remove_window", ("0", 0)), ("set_field", ("time_zone", "UTC")), ("add_override", ()),
                       ("remove_override", (0,)), ("set_preview_type", (str(ada["session_type_id"]),)),
                       ("drop_past_overrides", ()), ("save", ())):
        assert redirect_path(call(state, name, *args)) == routes.ADMIN_LOGIN
    assert len(state.days[0].windows) == 1 and state.time_zone == ""
    assert _rows(engine, ada["builder_id"]) == before and _audit_count(engine) == 0


def test_forged_indexes_are_harmless(engine, ada):
    state = _loaded(ada["token"])
    before = [(d.weekday, [(w.start, w.end) for w in d.windows]) for d in state.days]
    for name, args in (("add_window", ("9",)), ("add_window", ("x",)), ("remove_window", ("0", 7)),
                       ("remove_window", ("0", -1)), ("set_window_start", ("-1", 0, "10:00")),
                       ("remove_override", (3,)), ("set_override_day", (0, "2030-01-01")),
                       ("set_field", ("builder_id", "2")), ("set_preview_type", ("abc",))):
        call(state, name, *args)
    assert [(d.weekday, [(w.start, w.end) for w in d.windows]) for d in state.days] == before
    assert state.overrides == []


def test_every_handler_on_a_never_loaded_form_is_harmless(engine, ada):
    before = _rows(engine, ada["builder_id"])
    state = state_of(AvailabilityState, ada["token"])
    for name, args in (("save", ()), ("add_window", ("0",)), ("set_window_end", ("0", 0, "10:00")),
                       ("add_override_hours", (0,)), ("set_override_closed", (0, True)), ("drop_past_overrides", ()),
                       ("set_preview_type", (str(ada["session_type_id"]),))):
        call(state, name, *args)
    assert _rows(engine, ada["builder_id"]) == before and _audit_count(engine) == 0
