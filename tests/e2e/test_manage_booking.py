"""A client manages their booking in a real browser, through the emulator: the policy before paying,
the Manage booking link (from the success page, and from the email in the mail folder), a reschedule
(new time shown, .ics SEQUENCE raised), a cancellation in the free window (full refund, slot free again)
and one in the partial window (the policy's share).

Clocks: the app decides the refund window with its own clock, not the emulator's, so the partial-window
booking is simply made to start 6 hours ahead (inside 24 h, outside 2 h) rather than advancing a clock.
"""

from __future__ import annotations

import email
import email.policy
import re
import uuid
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from booking.core.models import Booking, BookingStatus, PaymentStatus
from booking.scheduling.availability import END_OF_DAY
from tests.factories import make_builder, make_session_type
from tests.support.ledger import money
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def session_type(app_db: Session):
    """Open around the clock (UTC), no notice; the default policy (100 % until 24 h, 50 % until 2 h)."""
    tag = uuid.uuid4().hex[:8]
    builder = make_builder(app_db, name=f"Manage {tag}", slug=f"manage-{tag}", time_zone="UTC",
                           hours=(time(0, 0), END_OF_DAY), min_notice_minutes=0)
    st = make_session_type(app_db, builder, price_amount=5000, currency="gbp", name=f"Manage call {tag}",
                           location=f"https://meet.example/{tag}")
    app_db.commit()
    return st


def slot_at(hours: float) -> datetime:
    moment = datetime.now(timezone.utc) + timedelta(hours=hours)
    return moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def book_and_pay(app_url: str, page: Page, session_type, start: datetime, address: str) -> None:
    """Hold the slot through the JSON API, then pay on the emulator's hosted Checkout in the browser."""
    response = httpx.post(f"{app_url}/api/payments/create-checkout-session", timeout=30, json={
        "session_type_id": str(session_type.id), "start_time": start.isoformat(), "client_name": "Ann Client",
        "client_email": address, "client_time_zone": "Europe/London"})
    assert response.status_code == 201, response.text
    page.goto(response.json()["checkout_url"])
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry").fill("12/34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Cardholder name").fill("Ann Client")
    page.get_by_role("button", name="Pay").click()
    # Booked through the JSON API, so this browser holds no hold key: it is told only that the payment went through.
    expect(page.get_by_test_id("paid-elsewhere")).to_be_visible(timeout=30_000)


def pick_in_month_grid(page: Page, day) -> None:
    """Choose `day` in the month picker (moving on a month if it is in the next one)."""
    expect(page.get_by_role("grid").get_by_test_id("calendar-day").first).to_be_visible()  # the month is shown
    cell = page.get_by_role("grid").locator(f'[data-testid="calendar-day"][data-day="{day.isoformat()}"]')
    if not cell.count():
        title = page.get_by_test_id("month-title").inner_text()
        page.get_by_test_id("next-month").click()
        expect(page.get_by_test_id("month-title")).not_to_have_text(title)
    cell.click()
    expect(cell).to_have_attribute("aria-pressed", "true")


def booking_of(app_db: Session, session_type) -> Booking:
    with Session(app_db.get_bind()) as fresh:  # a short transaction: SQLite's write lock
        return fresh.exec(select(Booking).where(Booking.session_type_id == session_type.id)
                          .order_by(Booking.created_at.desc())).first()


def mails(mail_dir: Path, address: str, kind: str) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted(mail_dir.glob(f"*-{kind}-*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if address in str(message["To"]):
            found.append(message)
    return found


def wait_for_mail(mail_dir: Path, address: str, kind: str) -> email.message.EmailMessage:
    wait_until(lambda: bool(mails(mail_dir, address, kind)), timeout=30, message=f"the {kind} email to {address}")
    return mails(mail_dir, address, kind)[-1]


def is_offered(app_url: str, session_type, start: datetime) -> bool:
    slots = httpx.get(f"{app_url}/api/session-types/{session_type.id}/slots",
                      params={"from": start.date().isoformat(), "days": 1, "tz": "UTC"}, timeout=30).json()["slots"]
    return any(datetime.fromisoformat(s["start_time"]) == start for s in slots)


def test_policy_before_paying_then_reschedule_then_cancel_in_the_free_window(
        app_server, app_db, session_type, page: Page, mail_dir: Path):
    app = app_server.url
    address = f"move-{uuid.uuid4().hex[:8]}@example.com"
    start = slot_at(72)

    # The policy is on the booking page, before any payment.
    page.goto(f"{app}/book/{session_type.id}")
    expect(page.get_by_test_id("policy-summary")).to_contain_text("Free cancellation with a full refund until 24 hours")

    book_and_pay(app, page, session_type, start, address)
    # Booked through the JSON API, so this browser keeps no hold key: the link is only in the email.
    expect(page.get_by_test_id("manage-booking-link")).to_have_count(0)
    text = wait_for_mail(mail_dir, address, "booking_confirmed").get_body(preferencelist=("plain",)).get_content()
    page.goto(re.search(r"(http://\S+/manage/[A-Za-z0-9_-]{43})", text).group(1))
    expect(page).to_have_url(re.compile(r"/manage/[A-Za-z0-9_-]{43}$"))
    expect(page.get_by_test_id("booking-status")).to_have_text("Confirmed")
    expect(page.get_by_test_id("location")).to_contain_text("https://meet.example/")
    expect(page.get_by_test_id("refund-quote")).to_contain_text("Cancel now and get £50.00 back (a full refund")
    expect(page.get_by_test_id("manage-policy")).to_contain_text("Then a 50 % refund until 2 hours before.")
    booking = booking_of(app_db, session_type)
    payment_intent = money(app_db.get_bind(), booking.id).payment_intent_id

    # Reschedule to a day later, same time, with the booking page's month picker.
    target = start + timedelta(days=1)
    pick_in_month_grid(page, target.astimezone(LONDON).date())
    page.locator(f'input[name="start"][value="{target.astimezone(LONDON).isoformat()}"]').check()
    page.get_by_test_id("reschedule-submit").click()

    expect(page.get_by_test_id("manage-notice")).to_contain_text("Your booking has moved")
    local = target.astimezone(LONDON)
    expect(page.get_by_test_id("booking-when")).to_contain_text(f"{local:%A} {local.day} {local:%B %Y}, {local:%H:%M}")
    moved = booking_of(app_db, session_type)
    assert (moved.start_time, moved.invite_sequence, money(app_db.get_bind(), moved.id).payment_intent_id) == (
        target, 1, payment_intent)
    ics = page.request.get(app + page.get_by_test_id("add-to-calendar").get_attribute("href")).text()
    assert "SEQUENCE:1" in ics and target.strftime("DTSTART:%Y%m%dT%H%M%SZ") in ics
    invite = next(p for p in wait_for_mail(mail_dir, address, "booking_rescheduled").walk()
                  if p.get_content_type() == "text/calendar").get_content()
    invite = invite if isinstance(invite, str) else invite.decode()
    assert "SEQUENCE:1" in invite and "METHOD:REQUEST" in invite
    assert is_offered(app, session_type, start) and not is_offered(app, session_type, target)

    # Cancel inside the free window: a full refund, and the slot is bookable again.
    page.get_by_label("Yes, cancel this booking").check()
    page.get_by_test_id("cancel-booking").click()

    expect(page.get_by_test_id("manage-notice")).to_contain_text("Your booking is cancelled")
    expect(page.get_by_test_id("booking-status")).to_have_text("Cancelled")
    expect(page.get_by_test_id("booking-refunded")).to_have_text("£50.00")
    cancelled = booking_of(app_db, session_type)
    held = money(app_db.get_bind(), cancelled.id)
    assert (cancelled.status, held.status, held.amount_refunded) == (BookingStatus.CANCELLED, PaymentStatus.REFUNDED, 5000)
    assert is_offered(app, session_type, target)
    assert "£50.00 has been refunded." in wait_for_mail(mail_dir, address, "booking_cancelled").get_body(
        preferencelist=("plain",)).get_content()


def test_cancel_in_the_partial_window_from_the_emails_link_refunds_the_policys_share(
        app_server, app_db, session_type, browser: Browser, mail_dir: Path):
    app = app_server.url
    address = f"late-{uuid.uuid4().hex[:8]}@example.com"
    start = slot_at(6)  # inside 24 h (no full refund), outside 2 h (50 % back)
    payer = browser.new_context(timezone_id="Europe/London", locale="en-GB")
    book_and_pay(app, payer.new_page(), session_type, start, address)
    payer.close()

    text = wait_for_mail(mail_dir, address, "booking_confirmed").get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"(http://\S+/manage/[A-Za-z0-9_-]{43})", text).group(1)
    assert link.startswith(app)
    page = browser.new_context(timezone_id="Europe/London", locale="en-GB").new_page()
    page.goto(link)

    expect(page.get_by_test_id("refund-quote")).to_contain_text(
        re.compile(r"Cancel now and get £25\.00 back \(50 %, until \d\d:\d\d on \d+ \w{3}\)"))
    page.get_by_label("Yes, cancel this booking").check()
    page.get_by_test_id("cancel-booking").click()

    expect(page.get_by_test_id("booking-status")).to_have_text("Cancelled")
    expect(page.get_by_test_id("booking-refunded")).to_have_text("£25.00")
    booking = booking_of(app_db, session_type)
    assert (booking.status, money(app_db.get_bind(), booking.id).amount_refunded) == (BookingStatus.CANCELLED, 2500)
    assert is_offered(app, session_type, start)
    # A GET to the change route changes nothing.
    assert httpx.get(f"{link.replace('/manage/', '/api/manage/')}/cancel", timeout=10).status_code == 405
    page.context.close()


def test_the_12_hour_choice_shows_on_the_success_and_manage_pages_and_the_month_picker_reschedules(
        app_server, app_db, session_type, browser: Browser):
    """An en-GB reader (24 h by default) picks 12h on the booking page: the success page and the manage page
    write times that way, with the friendly zone name; the manage page's month picker moves the booking."""
    app = app_server.url
    address = f"twelve-{uuid.uuid4().hex[:8]}@example.com"
    page = browser.new_context(timezone_id="Europe/London", locale="en-GB").new_page()
    page.goto(f"{app}/book/{session_type.id}")
    page.get_by_role("radio", name="12h").click()
    pick_in_month_grid(page, (datetime.now(LONDON) + timedelta(days=3)).date())  # far enough ahead to move it
    expect(page.get_by_test_id("slot").first).to_have_text(re.compile(r"^\d{1,2}:\d\d [AP]M"))
    page.get_by_test_id("slot").first.click()
    page.get_by_label("Name").fill("Twelve Hours")
    page.get_by_label("Email").fill(address)
    page.get_by_role("button", name=re.compile(r"^Pay")).click()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry").fill("12/34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Cardholder name").fill("Twelve Hours")
    page.get_by_role("button", name="Pay").click()

    expect(page.get_by_test_id("booking-confirmed")).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("booking-when")).to_contain_text(re.compile(r"\d{1,2}:\d\d [AP]M"))
    expect(page.get_by_test_id("booking-zone")).to_have_text("UK Time")
    expect(page.get_by_test_id("confirmation-address")).to_contain_text(address)
    expect(page.get_by_test_id("add-to-outlook")).to_have_attribute(
        "href", re.compile(r"^https://outlook\.live\.com/calendar/0/deeplink/compose\?"))
    booked = booking_of(app_db, session_type)
    assert booked.client_hour12 is True

    page.get_by_test_id("manage-booking-link").click()
    expect(page).to_have_url(re.compile(r"/manage/[A-Za-z0-9_-]{43}$"))
    expect(page.get_by_test_id("booking-when")).to_contain_text(re.compile(r"\d{1,2}:\d\d [AP]M"))
    expect(page.get_by_test_id("booking-zone")).to_have_text("UK Time")
    expect(page.get_by_test_id("manage-zone")).to_contain_text("UK Time")
    expect(page.get_by_test_id("reschedule-slot").first).to_contain_text(re.compile(r"[AP]M"))

    target = booked.start_time + timedelta(days=1)
    pick_in_month_grid(page, target.astimezone(LONDON).date())
    page.locator(f'input[name="start"][value="{target.astimezone(LONDON).isoformat()}"]').check()
    page.get_by_test_id("reschedule-submit").click()

    expect(page.get_by_test_id("manage-notice")).to_contain_text("Your booking has moved")
    expect(page.get_by_test_id("booking-when")).to_contain_text(re.compile(r"\d{1,2}:\d\d [AP]M"))
    assert booking_of(app_db, session_type).start_time == target
    page.context.close()
