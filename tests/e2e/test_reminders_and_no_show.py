"""Reminders and no-show fees in a real browser, through the emulator.

A reminder arrives once the clocks (the app's, APP_CLOCK_FILE, read by the web server and the job worker,
and the emulator's) reach its moment. A no-show-fee session type is booked with nothing paid (Checkout in
setup mode on the hosted page keeps the card); after the start the builder marks a no-show in the admin and
the fee is charged to the saved card. Each test hands both clocks back to real time when it ends.
"""

from __future__ import annotations

import email
import re
import uuid
from datetime import UTC, datetime, time, timedelta
from email.policy import default as default_policy
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from booking.core import clock as app_clock
from booking.core.models import Booking, BookingStatus, Payment, PaymentKind, PaymentStatus, UserAccount, UserRole
from tests.e2e.test_booking_flow import CARD_OK, expect_confirmed, fill_card
from tests.e2e.test_workspace import sign_in
from tests.factories import make_builder, make_session_type
from tests.support.admin_states import password_hash
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

CARD_SET_UP_ONCE = "4000 0025 0000 3155"  # needs authentication unless set up: off-session works after setup


@pytest.fixture
def clocks(e2e_workdir: Path, emulator):
    """Move the app's and the emulator's clocks forward together; both go back to real time afterwards."""
    path = e2e_workdir / "app_clock"

    def advance(by: timedelta) -> None:
        app_clock.advance(path, by)
        emulator.control("clock/advance", seconds=by.total_seconds())

    yield advance
    path.write_text("0\n")
    emulator.control("clock/rewind")


@pytest.fixture
def builder(app_db: Session):
    """A builder open around the clock (a slot exists whenever the test runs), with a sign-in. Two hours' notice
    against a reminder an hour before: the reminder is never already due when the client has paid."""
    tag = uuid.uuid4().hex[:8]
    ada = make_builder(app_db, name=f"Ada {tag}", slug=f"ada-{tag}", time_zone="Europe/London",
                       hours=(time(0, 0), time(23, 0)), min_notice_minutes=120, reminder_offsets="60")
    user = UserAccount(email=f"ada-{tag}@e2e.test", password_hash=password_hash(), role=UserRole.BUILDER,
                       builder_id=ada.id)
    app_db.add(user)
    app_db.commit()
    return {"builder": ada, "email": user.email}


def pick_first_slot(page: Page, app_url: str, session_type) -> None:
    """The first time of the first bookable day (the slot search may take a while on a loaded machine)."""
    page.goto(f"{app_url}/book/{session_type.id}")
    first_slot = page.get_by_test_id("slot").first
    expect(first_slot).to_be_visible(timeout=60_000)
    first_slot.click()
    expect(page.get_by_label("Name")).to_be_focused()


def latest_booking(app_db: Session, session_type_id: int) -> Booking:
    with Session(app_db.get_bind()) as fresh:  # a short transaction: SQLite's write lock
        return fresh.exec(select(Booking).where(Booking.session_type_id == session_type_id)
                          .order_by(Booking.created_at.desc())).first()


def aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.utcoffset() is None else moment


def mails(mail_dir: Path, kind: str, to: str) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted(mail_dir.glob(f"*{kind}*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        if message["To"] and to in str(message["To"]):
            found.append(message)
    return found


def test_a_reminder_arrives_when_the_clocks_reach_its_moment(app_server, app_db, builder, page: Page,
                                                             mail_dir: Path, clocks):
    session_type = make_session_type(app_db, builder["builder"], price_amount=4000, currency="gbp",
                                     name="Reminded call", location="https://meet.example/reminded")
    app_db.commit()
    address = f"remind-{uuid.uuid4().hex[:8]}@example.com"
    pick_first_slot(page, app_server.url, session_type)
    page.get_by_label("Name").fill("Rita Client")
    page.get_by_label("Email").fill(address)
    page.get_by_role("button", name=re.compile(r"^Pay")).click()
    expect(page.get_by_label("Card number")).to_be_visible(timeout=60_000)  # on to the hosted Checkout
    fill_card(page, CARD_OK)
    expect_confirmed(page)
    booking = latest_booking(app_db, session_type.id)
    assert booking.status == BookingStatus.CONFIRMED
    assert mails(mail_dir, "booking_reminder", address) == []

    # The builder reminds an hour before: move both clocks to just past that moment.
    moment = aware(booking.start_time) - timedelta(minutes=60)
    clocks(moment - datetime.now(UTC) + timedelta(minutes=1))

    wait_until(lambda: mails(mail_dir, "booking_reminder", address), timeout=60,
               message="the client's reminder email")
    (reminder,) = mails(mail_dir, "booking_reminder", address)
    text = reminder.get_body(preferencelist=("plain",)).get_content()
    assert reminder["Subject"].startswith("Reminder: Reminded call")
    assert "starts in 1 hour" in text and "https://meet.example/reminded" in text
    assert re.search(r"/manage/[\w-]{43}", text)
    wait_until(lambda: mails(mail_dir, "booking_reminder", builder["builder"].email), timeout=30,
               message="the builder's reminder email")


def test_a_no_show_fee_is_charged_to_the_card_kept_at_booking(app_server, app_db, builder, browser: Browser,
                                                             clocks):
    session_type = make_session_type(app_db, builder["builder"], price_amount=6000, currency="gbp",
                                     name="Card-kept call", no_show_fee_amount=2500, no_show_window_hours=24)
    app_db.commit()
    address = f"noshow-{uuid.uuid4().hex[:8]}@example.com"

    # The client books: nothing to pay now; the hosted page saves the card (setup mode).
    client = browser.new_context(timezone_id="Europe/London", locale="en-GB").new_page()
    pick_first_slot(client, app_server.url, session_type)
    expect(client.get_by_test_id("price")).to_contain_text("£25.00 if you miss the session")
    client.get_by_label("Name").fill("Noah Client")
    client.get_by_label("Email").fill(address)
    client.get_by_role("button", name="Book and save card").click()
    expect(client.get_by_test_id("amount-total")).to_have_text("No charge now", timeout=60_000)
    client.get_by_label("Card number").fill(CARD_SET_UP_ONCE)
    client.get_by_label("Expiry").fill("12/34")
    client.get_by_label("CVC").fill("123")
    client.get_by_label("Cardholder name").fill("Noah Client")
    client.get_by_role("button", name="Save card").click()
    expect_confirmed(client)
    booking = latest_booking(app_db, session_type.id)
    assert booking.status == BookingStatus.CONFIRMED
    client.context.close()

    # After the start, the builder marks a no-show: the fee is charged to the saved card.
    page = browser.new_context(timezone_id="Europe/London", locale="en-GB").new_page()
    sign_in(page, app_server.url, builder["email"])
    clocks(aware(booking.start_time) - datetime.now(UTC) + timedelta(minutes=10))
    page.goto(f"{app_server.url}/admin/bookings")
    row = page.get_by_test_id("booking-row").filter(has_text=address)
    row.get_by_test_id("open-booking").click()
    detail = page.get_by_test_id("booking-detail")
    detail.get_by_test_id("mark-no-show").click()
    expect(page.get_by_test_id("attendance-result")).to_contain_text("charged the £25.00 fee", timeout=30_000)
    expect(detail.get_by_test_id("attendance")).to_contain_text("No-show")

    def fee() -> Payment | None:
        with Session(app_db.get_bind()) as fresh:
            return fresh.exec(select(Payment).where(Payment.booking_id == booking.id,
                                                    Payment.kind == PaymentKind.NO_SHOW_FEE)).first()

    wait_until(lambda: fee() is not None and fee().status == PaymentStatus.PAID, timeout=30,
               message="the no-show fee recorded as paid")
    assert (fee().amount, fee().currency) == (2500, "gbp") and fee().payment_intent_id.startswith("pi_")
    page.context.close()
