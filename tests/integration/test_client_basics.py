"""Issue #14, item 7, through the pages' states and the emails the outbox worker builds: the 12-hour choice
made on the booking page carries to the success page, the manage page (its month picker too) and the
client's emails, with the friendly zone name; the booking page says which refund tier the picked time
falls in; the manage page's reschedule is the booking page's month picker."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date as babel_date
from sqlmodel import Session, select

from booking.client import manage
from booking.core.config import get_settings
from booking.core.db import session_scope
from booking.core.models import Booking, CreditSourceKind, utcnow
from booking.lifecycle import checkout
from booking.notifications import manage_links, send_due_reminders, wallet_links
from booking.notifications.mailer import KIND_HEADER
from booking.notifications.outbox import send_due_notifications
from booking.payments import credits
from booking.scheduling.availability import END_OF_DAY
from tests.factories import make_builder, make_session_type
from tests.support.admin_states import call, redirect_path
from tests.support.fake_gateway import FakeGateway

CLOCK_12 = re.compile(r"\d{1,2}:\d\d [AP]M")
CLOCK_24 = re.compile(r"\b\d\d:\d\d\b(?! [AP]M)")


@pytest.fixture(autouse=True)
def app_settings(engine, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "client-basics-secret-" + "s" * 40)
    monkeypatch.setenv("PUBLIC_URL", "https://book.example")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def gateway(monkeypatch) -> FakeGateway:
    from booking_ui import deps

    fake = FakeGateway()
    monkeypatch.setattr(deps, "gateway", lambda: fake)
    return fake


@pytest.fixture
def session_type(session: Session):
    builder = make_builder(session, time_zone="UTC", hours=(time(0, 0), END_OF_DAY), name="Ada",
                           email="ada@builder.test", slug="ada")
    st = make_session_type(session, builder, price_amount=5000, currency="gbp", name="Consult",
                           location="https://meet.example/room", description="A friendly hour.")
    session.commit()
    return st


def page_state(cls, path: str, pattern: str, query: dict[str, str], hold_key: str = ""):
    import reflex as rx
    from reflex.istate.data import RouterData

    import booking_ui.booking_ui  # noqa: F401 - registers the pages
    from booking_ui.state.book import BookState

    root = rx.State(_reflex_internal_init=True)
    root.router = RouterData.from_router_data({"pathname": pattern, "asPath": path, "query": query,
                                               "headers": {"origin": "http://localhost:3000"}})
    root.get_substate(BookState.get_full_name().split(".")[1:]).hold_key = hold_key
    return root.get_substate(cls.get_full_name().split(".")[1:])


def book_page(session_type, hold_key: str = ""):
    from booking_ui.state.book import BookState

    page = page_state(BookState, f"/book/{session_type.id}", "/book/[session_type_id]",
                      {"session_type_id": str(session_type.id)}, hold_key)
    call(page, "load")
    call(page, "set_browser_preferences", {"tz": "America/New_York", "hour12": False, "lang": "en-GB"})
    return page


def pick(page, hours_ahead: int) -> str:
    """Choose the time that starts on the hour, `hours_ahead` (and a bit) from now: its ISO start."""
    target = (utcnow() + timedelta(hours=hours_ahead + 1)).replace(minute=0, second=0, microsecond=0)
    local_day = target.astimezone(ZoneInfo(page.time_zone)).date()
    if (local_day.year, local_day.month) != (page.view_year, page.view_month):
        call(page, "next_month")
    call(page, "choose_day", local_day.isoformat())
    option = next(t for t in page.times if datetime.fromisoformat(t.start) == target)
    call(page, "choose", option.start)
    return option.start


def sent_mail(engine) -> dict[str, list[EmailMessage]]:
    class Collected:
        messages: list[EmailMessage] = []

        def send(self, message: EmailMessage) -> None:
            self.messages.append(message)

    mailer = Collected()
    mailer.messages = []
    send_due_notifications(engine=engine, mailer=mailer, now=utcnow() + timedelta(minutes=5))
    found: dict[str, list[EmailMessage]] = {}
    for message in mailer.messages:
        found.setdefault(message["To"].addresses[0].addr_spec, []).append(message)
    return found


def text(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_the_12_hour_choice_carries_to_the_success_page_the_manage_page_and_the_emails(
        engine, gateway, session_type):
    from booking_ui.state.manage import ManageState
    from booking_ui.state.payment import SuccessState

    page = book_page(session_type)
    call(page, "set_clock", "12")  # the client's choice on the booking page (their locale writes 24 h)
    pick(page, 50)
    call(page, "pay", {"client_name": "Ann", "client_email": "ann@example.com"})
    assert redirect_path(call(page, "start_payment")) == "https://checkout.example/pay"
    with Session(engine) as db:
        booking = db.get(Booking, gateway.created[0][0].booking_id)
        assert booking.client_hour12 is True and booking.client_time_zone == "America/New_York"
    session_id = next(iter(gateway.sessions))
    gateway.pay(session_id)

    success = page_state(SuccessState, f"/payment/success?session_id={session_id}", "/payment/success",
                         {"session_id": session_id}, hold_key=page.hold_key)
    call(success, "load")
    assert success.state == "confirmed" and success.own
    assert CLOCK_12.search(success.summary.when) and success.summary.zone_label == "Eastern Time"
    google = parse_qs(urlsplit(success.summary.google_calendar_url).query)
    assert google["text"] == ["Consult with Ada"] and google["location"] == ["https://meet.example/room"]
    assert booking.id not in success.summary.google_calendar_url + success.summary.outlook_calendar_url

    # The emails: the client's on their 12-hour clock with the friendly zone name; the builder's on 24 hours.
    mail = sent_mail(engine)
    (confirmation,) = mail["ann@example.com"]
    body = text(confirmation)
    assert confirmation[KIND_HEADER] == "booking_confirmed"
    assert CLOCK_12.search(confirmation["Subject"]) and CLOCK_12.search(body)
    assert "Eastern Time (America/New_York)" in body
    assert "Add to Google Calendar: https://calendar.google.com/calendar/render?action=TEMPLATE" in body
    assert "Add to Outlook: https://outlook.live.com/calendar/0/deeplink/compose?" in body
    google_line = next(line for line in body.splitlines() if line.startswith("Add to Google"))
    assert booking.id not in google_line and "/manage/" not in google_line
    assert not CLOCK_12.search(text(mail["ada@builder.test"][0]))

    # The manage page: the same clock, the friendly zone names, the booking page's month picker.
    with Session(engine) as db:
        token = manage_links.current_token(db.get(Booking, booking.id))
    manage_page = page_state(ManageState, f"/manage/{token}", "/manage/[manage_token]", {"manage_token": token})
    call(manage_page, "load")
    assert manage_page.hour12 and CLOCK_12.search(manage_page.view.when)
    assert manage_page.view.zone_label == "Eastern Time"
    assert any(option.label.startswith("Eastern Time (New York) — ") and CLOCK_12.search(option.label)
               for option in manage_page.zone_options)
    assert manage_page.weeks and manage_page.month_title and manage_page.times
    assert all(t.start != booking.start_time.astimezone(ZoneInfo("America/New_York"))
               .isoformat() for t in manage_page.times)  # its own time isn't offered
    (year, month), could_move = (manage_page.view_year, manage_page.view_month), manage_page.has_next
    call(manage_page, "next_month")  # the picker moves on a month, unless the booking horizon ends first
    expected = (year + month // 12, month % 12 + 1) if could_move else (year, month)
    assert (manage_page.view_year, manage_page.view_month) == expected

    # A reschedule's emails keep the clock too.
    new_start = booking.start_time + timedelta(days=1)
    assert manage.reschedule(engine=engine, token=token, new_start=new_start).code == "rescheduled"
    (moved,) = sent_mail(engine)["ann@example.com"]
    assert moved[KIND_HEADER] == "booking_rescheduled" and CLOCK_12.search(text(moved))


def test_a_24_hour_reader_keeps_24_hours(engine, gateway, session_type):
    from booking_ui.state.payment import SuccessState

    page = book_page(session_type)
    pick(page, 50)
    call(page, "pay", {"client_name": "Bo", "client_email": "bo@example.com"})
    call(page, "start_payment")
    session_id = next(iter(gateway.sessions))
    gateway.pay(session_id)
    success = page_state(SuccessState, f"/payment/success?session_id={session_id}", "/payment/success",
                         {"session_id": session_id}, hold_key=page.hold_key)
    call(success, "load")
    assert (success.state, success.own) == ("confirmed", True), (success.state, page.notice, page.hold_key)

    assert not CLOCK_12.search(success.summary.when) and CLOCK_24.search(success.summary.when)
    assert not CLOCK_12.search(text(sent_mail(engine)["bo@example.com"][0]))


def test_a_french_browser_reads_its_emails_and_manage_page_in_french_and_the_builder_in_english(
        engine, gateway, session_type):
    from booking_ui.state.manage import ManageState
    from booking_ui.state.payment import SuccessState

    page = book_page(session_type)
    call(page, "set_browser_preferences", {"tz": "Europe/Paris", "hour12": False, "lang": "fr-FR"})
    pick(page, 50)
    call(page, "pay", {"client_name": "Chloé", "client_email": "chloe@example.com"})
    call(page, "start_payment")
    session_id = next(iter(gateway.sessions))
    gateway.pay(session_id)
    call(page_state(SuccessState, f"/payment/success?session_id={session_id}", "/payment/success",
                    {"session_id": session_id}, hold_key=page.hold_key), "load")
    with Session(engine) as db:
        booking = db.get(Booking, gateway.created[0][0].booking_id)
    assert booking.client_locale == "fr-FR"
    start = booking.start_time.astimezone(ZoneInfo("Europe/Paris"))
    french_day = babel_date(start, "EEEE d MMMM", locale="fr_FR")  # "mardi 8 décembre"
    english_day = babel_date(booking.start_time.astimezone(ZoneInfo("UTC")), "EEEE d MMMM", locale="en_GB")

    mail = sent_mail(engine)
    (confirmation,) = mail["chloe@example.com"]
    body = text(confirmation)
    assert french_day in body and "50,00\N{NO-BREAK SPACE}£" in body  # the words stay English
    assert "Your booking is confirmed" in body
    builder_copy = text(mail["ada@builder.test"][0])
    assert english_day in builder_copy and "£50.00" in builder_copy and french_day not in builder_copy

    day_before = booking.start_time - timedelta(days=1) + timedelta(minutes=2)
    assert send_due_reminders(engine=engine, now=day_before).queued == 2
    reminders = sent_mail(engine)
    (reminder,) = reminders["chloe@example.com"]
    assert reminder["Subject"].startswith("Reminder:") and french_day in text(reminder)
    assert english_day in text(reminders["ada@builder.test"][0])

    # A browser that sends no language reads the manage page in the one the booking was made in.
    with Session(engine) as db:
        token = manage_links.current_token(db.get(Booking, booking.id))
    manage_page = page_state(ManageState, f"/manage/{token}", "/manage/[manage_token]", {"manage_token": token})
    call(manage_page, "load")
    assert french_day in manage_page.view.when and manage_page.locale == "fr-FR"


@pytest.mark.parametrize("given,kept", [("fr_fr", "fr-FR"), ("en-GB", "en-GB"), ("zz-Nowhere", None),
                                        ("<script>", None), ("fr-FR,fr;q=0.9", None), ("", None)])
def test_the_hold_keeps_a_known_locale_normalised_and_ignores_anything_else(engine, session_type, given, kept):
    start = (utcnow() + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    with session_scope(engine) as session:
        attempt = checkout.write_hold(session=session, settings=get_settings(), session_type_id=session_type.id,
                                      start_time=start, client_name="Ann", client_email="ann@example.com",
                                      client_locale=given)
    with Session(engine) as db:
        assert db.get(Booking, attempt.booking_id).client_locale == kept


@pytest.mark.parametrize("hours_ahead,expected", [
    (27, "Booked 27 h ahead: a full refund if you cancel up to 24 h before, then 50 % back up to 2 h before."),
    (6, "Booked 6 h ahead: 50 % back if you cancel up to 2 h before (the full-refund window has already passed)."),
])
def test_the_booking_page_says_which_refund_tier_the_picked_time_is_in(engine, gateway, session_type,
                                                                        hours_ahead, expected):
    page = book_page(session_type)
    assert page.refund_tier == ""

    pick(page, hours_ahead)

    assert page.refund_tier == expected


def test_the_refund_tier_follows_the_session_types_policy(engine, session: Session, gateway):
    builder = make_builder(session, time_zone="UTC", hours=(time(0, 0), END_OF_DAY), slug="strict",
                           policy_full_refund_hours=48, policy_partial_refund_percent=0)
    strict = make_session_type(session, builder, name="Strict")
    session.commit()
    page = book_page(strict)

    pick(page, 30)

    assert page.refund_tier == "Booked 30 h ahead: no refund if you cancel, as the refund windows have already passed."


@pytest.mark.parametrize("given,kept", [("fr-FR", "fr-FR"), ("zz-Nowhere", None)])
def test_the_json_api_keeps_a_known_client_locale_and_ignores_an_unknown_one(engine, gateway, session_type,
                                                                           given, kept):
    from starlette.testclient import TestClient

    from booking_ui import api

    client = TestClient(api.build_api())
    start = (utcnow() + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    body = {"session_type_id": str(session_type.id), "start_time": start.isoformat(), "client_name": "Ann",
            "client_email": "ann@example.com"}
    refused = client.post("/api/payments/create-checkout-session", json={**body, "client_locale": 7})
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "client_locale"
    created = client.post("/api/payments/create-checkout-session", json={**body, "client_locale": given})
    assert created.status_code == 201
    with Session(engine) as db:
        assert db.get(Booking, created.json()["booking_id"]).client_locale == kept


def test_the_wallet_shows_the_browsers_clock_and_language_and_books_with_them(engine, session_type):
    from booking_ui.state.wallet import WalletState

    expires_at = (utcnow() + timedelta(days=30)).replace(microsecond=0)
    with session_scope(engine) as db:
        credits.grant(session=db, builder_id=session_type.builder_id, client_email="ann@example.com", quantity=2,
                      session_type_ids=[session_type.id], expires_at=expires_at,
                      source_kind=CreditSourceKind.PACKAGE_PURCHASE, source_id="1", now=utcnow())
        wallet_links.issue(session=db, builder_id=session_type.builder_id, client_email="ann@example.com")
    token = wallet_links.derive_token(session_type.builder_id, "ann@example.com")
    page = page_state(WalletState, f"/wallet/{token}", "/wallet/[wallet_token]", {"wallet_token": token})
    call(page, "load")
    call(page, "set_browser_preferences", {"tz": "Europe/Paris", "hour12": True, "lang": "fr-FR"})
    assert page.hour12 and page.locale == "fr-FR"
    assert page.view.next_expiry == babel_date(expires_at.astimezone(ZoneInfo("Europe/Paris")), "full",
                                               locale="fr_FR")
    call(page, "set_clock", "24")
    assert not page.hour12
    call(page, "set_clock", "12")

    call(page, "choose_time", page.times[0].start)
    call(page, "book")
    assert page.notice.startswith("Booked:") and CLOCK_12.search(page.notice.replace("\u202f", " "))
    with Session(engine) as db:
        (booking,) = db.exec(select(Booking)).all()
    assert (booking.client_hour12, booking.client_locale) == (True, "fr-FR")
