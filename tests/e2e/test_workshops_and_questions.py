"""Workshops and booking questions in a real browser, through the emulator's hosted Checkout: a 3-seat
workshop fills (each seat its own client and payment), the 4th client is turned away, and the builder sees
the attendees; a builder adds questions in the workspace and a client's answers reach the booking detail."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from booking.core.models import Booking, BookingQuestion, BookingStatus, QuestionKind, UserAccount, UserRole
from tests.e2e.test_booking_flow import CARD_OK, expect_confirmed, fill_card, slot_at
from tests.e2e.test_manage_booking import pick_in_month_grid
from tests.e2e.test_workspace import sign_in
from tests.factories import make_builder, make_session_type
from tests.support.admin_states import password_hash

pytestmark = pytest.mark.e2e


@pytest.fixture
def builder(app_db: Session):
    """A builder open every day 09:00–17:00 London, with a sign-in."""
    tag = uuid.uuid4().hex[:8]
    row = make_builder(app_db, name=f"Wes {tag}", slug=f"wes-{tag}", time_zone="Europe/London",
                       hours=(time(9, 0), time(17, 0)), min_notice_minutes=0)
    user = UserAccount(email=f"wes-{tag}@e2e.test", password_hash=password_hash(), role=UserRole.BUILDER,
                       builder_id=row.id)
    app_db.add(user)
    app_db.commit()
    return {"builder": row, "email": user.email, "tag": tag}


@pytest.fixture
def workshop(app_db: Session, builder):
    """A 3-seat workshop asking one required question."""
    row = make_session_type(app_db, builder["builder"], price_amount=2500, currency="gbp", duration_minutes=90,
                            name=f"Workshop {builder['tag']}", seats=3)
    app_db.add(BookingQuestion(session_type_id=row.id, position=0, kind=QuestionKind.SHORT_TEXT,
                               label="What do you want to build?", required=True))
    app_db.commit()
    return row


def open_tomorrows_times(page: Page, app_url: str, session_type, *, start: str | None = None) -> None:
    """The booking page, on the day of `start` or else tomorrow in London (all of whose times stay open while the
    test runs; "the second bookable day" would be another day once today's last time had passed)."""
    page.goto(f"{app_url}/book/{session_type.id}")
    tomorrow = datetime.now(ZoneInfo("Europe/London")).date() + timedelta(days=1)
    pick_in_month_grid(page, date.fromisoformat(start[:10]) if start else tomorrow)
    expect(page.get_by_test_id("slot").first).to_be_visible()


def book_a_seat(browser: Browser, app_url: str, session_type, *, start: str | None, name: str, email: str,
                answer: str, seats_left: str) -> str:
    """One client in a browser of their own: picks the time (it shows `seats_left`), answers, pays."""
    context = browser.new_context(timezone_id="Europe/London", locale="en-GB")
    page = context.new_page()
    open_tomorrows_times(page, app_url, session_type, start=start)
    slot = slot_at(page, start) if start else page.get_by_test_id("slot").first
    expect(slot.get_by_test_id("seats-left")).to_have_text(seats_left)
    start = slot.get_attribute("data-start")
    slot.click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label(re.compile("What do you want to build")).fill(answer)
    page.get_by_role("button", name=re.compile(r"^Pay")).click()
    fill_card(page, CARD_OK)
    expect_confirmed(page)
    context.close()
    return start


def test_a_three_seat_workshop_fills_and_the_fourth_client_is_turned_away(app_server, app_db, builder, workshop,
                                                                           browser: Browser, page: Page):
    tag = builder["tag"]
    start = book_a_seat(browser, app_server.url, workshop, start=None, name="Ann Seat", email=f"ann-{tag}@example.com",
                        answer="A parser", seats_left="3 seats left")
    book_a_seat(browser, app_server.url, workshop, start=start, name="Bob Seat", email=f"bob-{tag}@example.com",
                answer="A compiler", seats_left="2 seats left")
    book_a_seat(browser, app_server.url, workshop, start=start, name="Cy Seat", email=f"cy-{tag}@example.com",
                answer="A linker", seats_left="1 seat left")

    with Session(app_db.get_bind()) as fresh:
        seats = fresh.exec(select(Booking.seat_no, Booking.status).where(Booking.session_type_id == workshop.id)).all()
    assert sorted(seats) == [(0, BookingStatus.CONFIRMED), (1, BookingStatus.CONFIRMED), (2, BookingStatus.CONFIRMED)]

    # The 4th client: the full session is no longer offered, and asking for it anyway is refused.
    fourth = browser.new_context(timezone_id="Europe/London", locale="en-GB").new_page()
    open_tomorrows_times(fourth, app_server.url, workshop, start=start)
    expect(slot_at(fourth, start)).to_have_count(0)
    with Session(app_db.get_bind()) as fresh:
        question_id = fresh.exec(select(BookingQuestion.id).where(BookingQuestion.session_type_id == workshop.id)).one()
    refused = httpx.post(f"{app_server.url}/api/payments/create-checkout-session", timeout=30, json={
        "session_type_id": str(workshop.id), "start_time": start, "client_name": "Dee Late",
        "client_email": f"dee-{tag}@example.com", "answers": {str(question_id): "A debugger"}})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "slot_unavailable"
    fourth.context.close()

    # The builder sees every attendee of the session; no client saw another's name.
    sign_in(page, app_server.url, builder["email"])
    page.goto(f"{app_server.url}/admin/bookings")
    page.get_by_test_id("booking-row").filter(has_text=f"bob-{tag}@example.com").get_by_test_id("open-booking").click()
    attendees = page.get_by_test_id("attendee-row")
    expect(attendees).to_have_count(3)
    for who in ("Ann Seat", "Bob Seat", "Cy Seat"):
        expect(page.get_by_test_id("attendees")).to_contain_text(who)
    expect(page.get_by_test_id("booking-seat")).to_have_text("Seat 2 of 3")


def test_a_clients_answers_reach_the_builders_booking_detail(app_server, app_db, builder, browser: Browser,
                                                             page: Page):
    tag = builder["tag"]
    session_type = make_session_type(app_db, builder["builder"], price_amount=4000, currency="gbp",
                                     name=f"Mentoring {tag}")
    app_db.commit()

    # The builder asks two questions in the workspace.
    sign_in(page, app_server.url, builder["email"])
    page.goto(f"{app_server.url}/admin/session-types")
    page.get_by_test_id("session-type-row").filter(has_text=f"Mentoring {tag}").get_by_test_id(
        "seats-and-questions").click()
    panel = page.get_by_test_id("seats-questions-panel")
    panel.get_by_test_id("add-question").click()
    panel.get_by_label("Question 1").fill("What should we work on?")
    panel.get_by_label("Required").first.check()
    panel.get_by_test_id("add-question").click()
    panel.get_by_label("Question 2").fill("Your level")
    panel.locator("#q1-kind").select_option("choice")
    panel.locator("#q1-options").fill("Beginner")  # one option only: refused, with the reason
    panel.get_by_test_id("save-seats-questions").click()
    expect(panel.get_by_test_id("seats-questions-error")).to_have_text("Give at least two options, one per line.")
    panel.locator("#q1-options").fill("Beginner\nAdvanced")
    panel.get_by_test_id("save-seats-questions").click()
    expect(panel.get_by_test_id("seats-questions-notice")).to_contain_text("1 seat per session, 2 questions")

    # The client must answer the required question before paying; the answers travel with the booking.
    client_context = browser.new_context(timezone_id="Europe/London", locale="en-GB")
    client = client_context.new_page()
    open_tomorrows_times(client, app_server.url, session_type)
    client.get_by_test_id("slot").first.click()
    client.get_by_label("Name").fill("Quinn Asker")
    client_email = f"quinn-{tag}@example.com"
    client.get_by_label("Email").fill(client_email)
    client.get_by_role("button", name=re.compile(r"^Pay")).click()
    expect(client.get_by_test_id("question-error").first).to_have_text("Please answer this question.")
    expect(client.get_by_label(re.compile("What should we work on"))).to_be_focused()
    client.get_by_label(re.compile("What should we work on")).fill("Async Rust and lifetimes")
    client.get_by_label(re.compile("Your level")).select_option("Advanced")
    client.get_by_role("button", name=re.compile(r"^Pay")).click()
    fill_card(client, CARD_OK)
    expect_confirmed(client)
    client_context.close()

    page.goto(f"{app_server.url}/admin/bookings")
    page.get_by_test_id("booking-row").filter(has_text=client_email).get_by_test_id("open-booking").click()
    answers = page.get_by_test_id("answers")
    expect(answers).to_contain_text("What should we work on?")
    expect(answers).to_contain_text("Async Rust and lifetimes")
    expect(answers).to_contain_text("Advanced")
