"""Host tools on a real database (SQLite and PostgreSQL): the builder reschedules a booking (moved through
the lifecycle, the client emailed once with the updated invite, no money moved), private notes, the
manage link, booking limits in slot search and at hold time (a two-thread race for the last allowed
booking), a session type's own hours, secret types, readable addresses and their redirects, and framing."""

from __future__ import annotations

import re
import threading
from datetime import datetime, time, timedelta

import pytest
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from booking.accounts import authz
from booking.accounts.authz import Actor
from booking.client import catalog, manage
from booking.core.config import get_settings, load_settings
from booking.core.db import session_scope
from booking.core.models import (
    AuditEntry,
    Booking,
    BookingStatus,
    Builder,
    Notification,
    Payment,
    SessionType,
    UserRole,
    utcnow,
)
from booking.lifecycle import checkout, transitions
from booking.lifecycle.moves import MoveRefused
from booking.notifications import manage_links
from booking.notifications.outbox import build_message
from booking.scheduling import slots
from booking.scheduling.availability import END_OF_DAY
from booking.workspace import booking_detail, host_tools, type_settings
from booking_ui.addresses import redirect_old_addresses
from booking_ui.middleware import HardeningMiddleware, HardeningSettings
from tests.factories import make_builder, make_session_type
from tests.support.admin_states import call, make_user, state_of, token_for

PUBLIC_URL = "https://book.example"
SETTINGS = load_settings(PUBLIC_URL=PUBLIC_URL, HOLD_MINUTES=30)
CLIENT_EMAIL = "ann@example.com"


@pytest.fixture(autouse=True)
def app_settings(engine, monkeypatch):
    monkeypatch.setenv("PUBLIC_URL", PUBLIC_URL)
    monkeypatch.setenv("SECRET_KEY", "host-tools-secret-" + "k" * 40)
    get_settings.cache_clear()
    yield


@pytest.fixture
def world(engine):
    """A builder open around the clock in UTC (no notice), one session type, their account and a stranger's."""
    with session_scope(engine) as session:
        builder = make_builder(session, time_zone="UTC", hours=(time(0, 0), END_OF_DAY), name="Ada", slug="ada",
                               email="ada@builder.test")
        other = make_builder(session, time_zone="UTC", name="Grace", slug="grace", email="grace@builder.test")
        st = make_session_type(session, builder, name="Pairing", slug="pairing", location="https://meet.example/ada")
        ids = builder.id, other.id, st.id
    owner_id = make_user(engine, email="ada@builder.test", builder_id=ids[0])
    stranger_id = make_user(engine, email="grace@builder.test", builder_id=ids[1])
    return {
        "builder_id": ids[0], "session_type_id": ids[2],
        "owner": Actor(user_id=owner_id, email="ada@builder.test", role=UserRole.BUILDER, builder_id=ids[0]),
        "stranger": Actor(user_id=stranger_id, email="grace@builder.test", role=UserRole.BUILDER, builder_id=ids[1]),
    }


def slot_at(days: int, hour: int) -> datetime:
    base = (utcnow() + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return base


def hold(engine, session_type_id: int, start: datetime, email: str = CLIENT_EMAIL) -> str:
    with session_scope(engine) as session:
        attempt = checkout.write_hold(session=session, settings=SETTINGS, session_type_id=session_type_id,
                                      start_time=start, client_name="Ann", client_email=email,
                                      client_time_zone="Europe/London")
        return attempt.booking_id


def confirmed(engine, session_type_id: int, start: datetime, email: str = CLIENT_EMAIL) -> str:
    booking_id = hold(engine, session_type_id, start, email)
    with session_scope(engine) as session:
        assert transitions.confirm_paid(session=session, booking_id=booking_id, payment_intent_id=None).newly_confirmed
    return booking_id


def emails(engine, booking_id: str, kind: str) -> dict:
    with Session(engine) as s:
        rows = s.exec(select(Notification).where(Notification.booking_id == booking_id, Notification.kind == kind)
                      .order_by(Notification.id)).all()
        return {n.recipient: build_message(notification_id=n.id, kind=n.kind, recipient=n.recipient,
                                           payload=n.payload, now=utcnow()) for n in rows}


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def invite_of(message) -> str:
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return part.get_content() if isinstance(part.get_content(), str) else part.get_content().decode()


def open_starts(engine, session_type_id: int, day: datetime) -> list[datetime]:
    with Session(engine) as s:
        found = slots.find_open_slots(session=s, session_type_id=session_type_id, from_day=day.date(), days=1,
                                      viewer_time_zone="UTC", now=utcnow())
    return [slot.start for slot in found]


# --- the builder reschedules ---------------------------------------------------------------------------


def test_the_builder_moves_a_booking_the_client_is_emailed_the_new_time_and_the_same_invite(engine, world):
    old_start, new_start = slot_at(3, 10), slot_at(4, 15)
    booking_id = confirmed(engine, world["session_type_id"], old_start)
    with Session(engine) as s:
        payments_before = [(p.id, p.amount, p.status) for p in s.exec(select(Payment)).all()]

    with session_scope(engine) as session:
        host_tools.reschedule_by_builder(session=session, actor=world["owner"], booking_id=booking_id,
                                         new_start=new_start)

    with Session(engine) as s:
        booking = s.get(Booking, booking_id)
        assert (booking.start_time, booking.status) == (new_start, BookingStatus.CONFIRMED)
        # The client's own reschedule allowance is untouched; the invite's SEQUENCE went up.
        assert (booking.reschedule_count, booking.invite_sequence) == (0, 1)
        assert [(p.id, p.amount, p.status) for p in s.exec(select(Payment)).all()] == payments_before
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "booking.reschedule_by_builder")).one()
        assert audit.actor_email == "ada@builder.test"
    moved = emails(engine, booking_id, "booking_rescheduled")
    assert set(moved) == {CLIENT_EMAIL, "ada@builder.test"}  # one message per change, to each side
    uid = re.search(r"UID:(\S+)", invite_of(emails(engine, booking_id, "booking_confirmed")[CLIENT_EMAIL])).group(1)
    to_client = moved[CLIENT_EMAIL]
    assert "Ada moved your booking to" in text_of(to_client) and "Previously" in text_of(to_client)
    assert new_start.strftime("%-d") in text_of(to_client)
    invite = invite_of(to_client)
    assert f"UID:{uid}" in invite and "SEQUENCE:1" in invite and "METHOD:REQUEST" in invite
    assert new_start.strftime("DTSTART:%Y%m%dT%H%M%SZ") in invite
    assert "You moved Ann's booking" in text_of(moved["ada@builder.test"])
    # The old time is free again, the new one taken.
    assert old_start in open_starts(engine, world["session_type_id"], old_start)
    assert new_start not in open_starts(engine, world["session_type_id"], new_start)


def test_the_builders_reschedule_picker_writes_its_month_and_its_day_in_the_browsers_language(engine, world):
    from babel.dates import format_date as babel_date

    from booking_ui.admin.host_tools import HostToolsState

    booking_id = confirmed(engine, world["session_type_id"], slot_at(3, 10))
    token = token_for(engine, world["owner"].user_id)
    picker = state_of(HostToolsState, token, {"headers": {"accept-language": "fr-FR,fr;q=0.9"}})

    call(picker, "open_reschedule", booking_id)
    day = slot_at(4, 10).date()
    if (day.year, day.month) != (picker.view_year, picker.view_month):
        call(picker, "next_month")
    call(picker, "choose_day", day.isoformat())

    assert picker.month_title.lower().startswith(babel_date(day, "MMMM", locale="fr_FR"))
    assert picker.selected_day_label.lower().startswith(babel_date(day, "EEEE", locale="fr_FR"))


def test_the_builder_cannot_move_onto_a_taken_time_nor_someone_elses_booking(engine, world):
    first = confirmed(engine, world["session_type_id"], slot_at(3, 10))
    confirmed(engine, world["session_type_id"], slot_at(3, 12), email="bob@example.com")
    with pytest.raises(MoveRefused) as refused, session_scope(engine) as session:
        host_tools.reschedule_by_builder(session=session, actor=world["owner"], booking_id=first,
                                         new_start=slot_at(3, 12) + timedelta(minutes=30))
    assert refused.value.code == "slot_taken"
    with pytest.raises(authz.NotFound), session_scope(engine) as session:
        host_tools.reschedule_by_builder(session=session, actor=world["stranger"], booking_id=first,
                                         new_start=slot_at(5, 10))
    with Session(engine) as s:
        assert s.get(Booking, first).start_time == slot_at(3, 10)
        assert s.exec(select(Notification).where(Notification.kind == "booking_rescheduled")).all() == []


def test_the_clients_own_reschedule_still_works_through_the_shared_core(engine, world):
    booking_id = confirmed(engine, world["session_type_id"], slot_at(5, 10))
    with session_scope(engine) as session:
        token = manage_links.issue(session=session, booking=session.get(Booking, booking_id))
    outcome = manage.reschedule(engine=engine, token=token, new_start=slot_at(6, 11))
    assert outcome.code == "rescheduled"
    with Session(engine) as s:
        booking = s.get(Booking, booking_id)
        assert (booking.start_time, booking.reschedule_count, booking.invite_sequence) == (slot_at(6, 11), 1, 1)
    assert "Your booking has moved to" in text_of(emails(engine, booking_id, "booking_rescheduled")[CLIENT_EMAIL])


# --- notes and the manage link ------------------------------------------------------------------------


def test_private_notes_stay_with_the_builder_and_are_erased_with_the_personal_data(engine, world):
    booking_id = confirmed(engine, world["session_type_id"], slot_at(3, 10))
    note = "Prefers Rust; mentioned a job change."
    with session_scope(engine) as session:
        host_tools.save_host_note(session=session, actor=world["owner"], booking_id=booking_id, note=note)
    with pytest.raises(authz.NotFound), session_scope(engine) as session:
        host_tools.save_host_note(session=session, actor=world["stranger"], booking_id=booking_id, note="x")
    with pytest.raises(host_tools.NoteTooLong), session_scope(engine) as session:
        host_tools.save_host_note(session=session, actor=world["owner"], booking_id=booking_id, note="x" * 4001)
    with Session(engine) as s:
        assert booking_detail(session=s, actor=world["owner"], booking_id=booking_id).host_note == note
        assert all(note not in (entry.after or "") for entry in s.exec(select(AuditEntry)).all())
    # Never in what the client is sent or shown.
    with session_scope(engine) as session:
        host_tools.reschedule_by_builder(session=session, actor=world["owner"], booking_id=booking_id,
                                         new_start=slot_at(4, 10))
        token = manage_links.issue(session=session, booking=session.get(Booking, booking_id))
    for message in emails(engine, booking_id, "booking_rescheduled").values():
        assert "Rust" not in message.as_string()
    assert "Rust" not in repr(manage.load_view(engine=engine, token=token))
    with session_scope(engine) as session:
        host_tools.erase_host_note(session=session, booking=session.get(Booking, booking_id))
    with Session(engine) as s:
        assert s.get(Booking, booking_id).host_note is None


def test_the_builder_opens_the_clients_manage_page_through_a_link_made_on_the_server(engine, world):
    booking_id = confirmed(engine, world["session_type_id"], slot_at(3, 10))
    with session_scope(engine) as session:
        url = host_tools.manage_link_for_builder(session=session, actor=world["owner"], booking_id=booking_id,
                                                 public_url=PUBLIC_URL)
    assert url.startswith(f"{PUBLIC_URL}/manage/")
    view = manage.load_view(engine=engine, token=url.rsplit("/", 1)[1])
    assert view is not None and view.reference == booking_id
    with pytest.raises(authz.NotFound), session_scope(engine) as session:
        host_tools.manage_link_for_builder(session=session, actor=world["stranger"], booking_id=booking_id)


# --- limits ----------------------------------------------------------------------------------------------


def set_fields(engine, model, row_id, **values) -> None:
    with session_scope(engine) as session:
        row = session.get(model, row_id)
        for key, value in values.items():
            setattr(row, key, value)
        session.add(row)


def test_a_daily_limit_empties_the_day_in_slot_search_and_refuses_a_hold(engine, world):
    set_fields(engine, Builder, world["builder_id"], daily_limit=2, weekly_limit=3)
    day = slot_at(3, 9)
    confirmed(engine, world["session_type_id"], day)
    assert open_starts(engine, world["session_type_id"], day)  # one more allowed that day
    hold(engine, world["session_type_id"], day + timedelta(hours=2), email="bob@example.com")  # a live hold counts
    assert open_starts(engine, world["session_type_id"], day) == []
    with pytest.raises(checkout.SlotUnavailable):
        hold(engine, world["session_type_id"], day + timedelta(hours=5), email="cy@example.com")
    next_day = day + timedelta(days=1)
    assert next_day in open_starts(engine, world["session_type_id"], next_day)


def test_a_session_types_weekly_limit_counts_only_its_own_bookings(engine, world):
    with session_scope(engine) as session:
        builder = session.get(Builder, world["builder_id"])
        other_type = make_session_type(session, builder, name="Review", slug="review").id
    set_fields(engine, SessionType, world["session_type_id"], weekly_limit=1)
    start = slot_at(3, 9)
    confirmed(engine, other_type, start)
    assert open_starts(engine, world["session_type_id"], start)  # the other type doesn't count
    confirmed(engine, world["session_type_id"], start + timedelta(hours=3), email="bob@example.com")
    assert open_starts(engine, world["session_type_id"], start) == []
    assert open_starts(engine, other_type, start)


def test_two_clients_racing_for_the_last_allowed_booking_of_the_day_one_wins(engine, world):
    set_fields(engine, SessionType, world["session_type_id"], daily_limit=1)
    day = slot_at(3, 9)
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def take(name: str, start: datetime) -> None:
        barrier.wait()
        try:
            hold(engine, world["session_type_id"], start, email=f"{name}@example.com")
            results[name] = "held"
        except checkout.SlotUnavailable:
            results[name] = "refused"

    threads = [threading.Thread(target=take, args=("ann", day)),
               threading.Thread(target=take, args=("bob", day + timedelta(hours=4)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results.values()) == ["held", "refused"]
    with Session(engine) as s:
        assert len(s.exec(select(Booking).where(Booking.status == BookingStatus.PENDING)).all()) == 1


def test_a_session_type_with_its_own_hours_is_offered_only_then(engine, world):
    start = slot_at(3, 9)
    weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[start.weekday()]
    with session_scope(engine) as session:
        type_settings.save_type_settings(session=session, actor=world["owner"], session_type_id=world["session_type_id"],
                                         form={"slug": "pairing", "own_availability": "on",
                                               "hours": f"{weekday} 14:00-16:00"})
    offered = open_starts(engine, world["session_type_id"], start)
    assert offered and all(14 <= moment.hour < 16 for moment in offered)
    assert open_starts(engine, world["session_type_id"], start + timedelta(days=1)) == []


def test_limits_are_checked_when_saved(engine, world):
    with pytest.raises(type_settings.InvalidTypeSettings) as refused, session_scope(engine) as session:
        type_settings.save_type_settings(session=session, actor=world["owner"], session_type_id=world["session_type_id"],
                                         form={"slug": "pairing", "daily_limit": "5", "weekly_limit": "4"})
    assert "daily limit" in refused.value.errors["limits"]
    with pytest.raises(authz.NotFound), session_scope(engine) as session:
        type_settings.save_type_settings(session=session, actor=world["stranger"],
                                         session_type_id=world["session_type_id"], form={"slug": "mine"})


# --- secret types, addresses, redirects, framing ------------------------------------------------------------


def test_a_secret_type_is_left_out_of_the_catalogue_but_bookable_by_its_address(engine, world):
    set_fields(engine, SessionType, world["session_type_id"], secret=True)
    with Session(engine) as s:
        assert all(v.id != str(world["session_type_id"]) for v in catalog.list_active_session_types(session=s))
        assert catalog.get_builder(session=s, slug="ada").session_types == []
        address = catalog.resolve_type_address(session=s, builder_slug="ada", type_slug="pairing")
    assert address is not None and (address.session_type_id, address.moved) == (world["session_type_id"], False)
    assert hold(engine, world["session_type_id"], slot_at(3, 9))


def test_a_renamed_slug_keeps_its_old_address_and_no_other_type_can_take_it(engine, world):
    with session_scope(engine) as session:
        saved = type_settings.save_type_settings(session=session, actor=world["owner"],
                                                 session_type_id=world["session_type_id"], form={"slug": "pair-session"})
    assert saved.path == "/ada/pair-session" and saved.old_slugs == ["pairing"]
    with Session(engine) as s:
        old = catalog.resolve_type_address(session=s, builder_slug="ada", type_slug="pairing")
        assert (old.path, old.moved) == ("/ada/pair-session", True)
        by_id = catalog.resolve_type_address(session=s, builder_slug="ada", type_slug=str(world["session_type_id"]))
        assert (by_id.path, by_id.moved) == ("/ada/pair-session", True)
        assert catalog.resolve_type_address(session=s, builder_slug="grace", type_slug="pair-session") is None
    with session_scope(engine) as session:
        builder = session.get(Builder, world["builder_id"])
        review = make_session_type(session, builder, name="Review", slug="review").id
    with pytest.raises(type_settings.InvalidTypeSettings) as taken, session_scope(engine) as session:
        type_settings.save_type_settings(session=session, actor=world["owner"], session_type_id=review,
                                         form={"slug": "pairing"})
    assert "another of your session types" in taken.value.errors["slug"]
    with session_scope(engine) as session:  # taking back its own old slug is fine
        back = type_settings.save_type_settings(session=session, actor=world["owner"],
                                                session_type_id=world["session_type_id"], form={"slug": "pairing"})
    assert back.path == "/ada/pairing" and back.old_slugs == ["pair-session"]


def test_new_session_types_get_a_free_slug_from_their_name(engine, world):
    with session_scope(engine) as session:
        builder_id = world["builder_id"]
        made = SessionType(builder_id=builder_id, name="Pairing", duration_minutes=60, price_amount=100, currency="gbp")
        session.add(made)
        session.flush()
        assert type_settings.ensure_slug(session=session, session_type=made) == "pairing-2"


def page_app() -> Starlette:
    async def page(request):
        return HTMLResponse("<!DOCTYPE html><html><body>page</body></html>")

    return Starlette(routes=[Route("/{path:path}", page)])


def test_old_addresses_answer_a_permanent_redirect_and_current_ones_pass(engine, world):
    with session_scope(engine) as session:
        type_settings.save_type_settings(session=session, actor=world["owner"], session_type_id=world["session_type_id"],
                                         form={"slug": "pair-session"})
    client = TestClient(redirect_old_addresses(page_app()), follow_redirects=False)
    for old in (f"/book/{world['session_type_id']}", "/ada/pairing", f"/ada/{world['session_type_id']}"):
        response = client.get(old)
        assert (response.status_code, response.headers["location"]) == (301, "/ada/pair-session"), old
    assert client.get("/book/999999").status_code == 200  # unknown: the app's own not-found page
    assert client.get("/ada/pair-session").status_code == 200
    assert client.get("/admin/bookings").status_code == 200  # never looked up
    assert client.get("/ada/pairing?ref=newsletter").headers["location"] == "/ada/pair-session?ref=newsletter"


def test_booking_pages_may_be_framed_and_admin_pages_still_refuse(engine, world):
    client = TestClient(HardeningMiddleware(page_app(), HardeningSettings(public_url=PUBLIC_URL)))
    framed = client.get("/ada/pairing")
    assert "frame-ancestors *" in framed.headers["content-security-policy"]
    assert "x-frame-options" not in framed.headers
    for path in ("/admin", "/admin/bookings", "/admin/login", "/manage/some-token", "/payment/success", "/"):
        refused = client.get(path)
        assert "frame-ancestors 'none'" in refused.headers["content-security-policy"], path
        assert refused.headers["x-frame-options"] == "DENY", path
