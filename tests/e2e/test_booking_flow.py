"""The money paths in a real browser: our pages -> the emulator's hosted Checkout -> webhook -> pages."""

from __future__ import annotations

import email
import re
import uuid
from datetime import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from booking.core.models import Booking, BookingStatus
from tests.factories import make_builder, make_session_type
from tests.support.ledger import money
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

CARD_OK = "4242 4242 4242 4242"
CARD_DECLINED = "4000 0000 0000 0002"
CARD_3DS = "4000 0027 6000 3184"


@pytest.fixture
def session_type(app_db: Session):
    """A builder open around the clock (UTC), so a slot exists whenever the test runs."""
    builder = make_builder(app_db, time_zone="Europe/London", hours=(time(0, 0), time(23, 0)),
                           min_notice_minutes=60)
    st = make_session_type(app_db, builder, price_amount=5000, currency="gbp", name="E2E call")
    app_db.commit()
    return st


def slot_at(page: Page, start: str):
    """The time button for one start (ISO 8601, as the page renders it in the viewer's zone)."""
    return page.locator(f'[data-testid="slot"][data-start="{start}"]')


def pick_first_slot(page: Page, app_url: str, session_type) -> str:
    """Open the booking page and pick the first time of the first bookable day; returns its start."""
    page.goto(f"{app_url}/book/{session_type.id}")
    first_slot = page.get_by_test_id("slot").first
    expect(first_slot).to_be_visible()
    start = first_slot.get_attribute("data-start")
    first_slot.click()
    expect(page.get_by_label("Name")).to_be_focused()  # focus moves to the details form
    return start


def pick_first_slot_and_pay(page: Page, app_url: str, session_type, *, email_address="ann@example.com") -> str:
    """Returns the chosen start (ISO 8601 in the viewer's zone)."""
    start = pick_first_slot(page, app_url, session_type)
    page.get_by_label("Name").fill("Ann Client")
    page.get_by_label("Email").fill(email_address)
    page.get_by_role("button", name=re.compile(r"^Pay")).click()
    expect(page.get_by_label("Card number")).to_be_visible()
    return start


def fill_card(page: Page, number: str) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry").fill("12/34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Cardholder name").fill("Ann Client")
    page.get_by_role("button", name="Pay").click()


def booking_of(app_db: Session, session_type) -> Booking:
    # A short transaction of its own: on SQLite an open one would hold the app's write lock.
    with Session(app_db.get_bind()) as fresh:
        return fresh.exec(select(Booking).where(Booking.session_type_id == session_type.id)
                          .order_by(Booking.created_at.desc())).first()


def session_type_builder_slug(app_db: Session, session_type) -> str:
    from booking.core.models import Builder

    with Session(app_db.get_bind()) as fresh:
        return fresh.get(Builder, session_type.builder_id).slug


def expect_confirmed(page: Page) -> None:
    expect(page.get_by_test_id("booking-confirmed")).to_be_visible(timeout=30_000)


def test_pay_with_4242_confirms_and_shows_the_clients_local_time(app_server, app_db, session_type, browser,
                                                                 mail_dir: Path):
    context = browser.new_context(timezone_id="America/New_York", locale="en-US")
    page = context.new_page()
    address = f"ny-{uuid.uuid4().hex[:8]}@example.com"
    start = pick_first_slot(page, app_server.url, session_type)
    expect(page.get_by_test_id("selected-slot")).to_contain_text("Eastern Time")
    assert re.search(r"-0[45]:00$", start)  # New York's offset
    page.get_by_label("Name").fill("Ann Client")
    page.get_by_label("Email").fill(address)
    page.get_by_role("button", name=re.compile(r"^Pay")).click()

    fill_card(page, CARD_OK)

    expect_confirmed(page)
    expect(page).to_have_url(re.compile(r"/payment/success/?\?session_id=cs_"))
    expect(page.get_by_test_id("booking-amount")).to_have_text("£50.00")
    expect(page.get_by_test_id("booking-when")).to_contain_text(re.compile(r"E[SD]T$"))
    # The browser that paid (it keeps the hold key) is offered its manage link, told where the confirmation
    # went, and offered another session with the same builder.
    expect(page.get_by_test_id("manage-booking-link")).to_have_attribute("href", re.compile(r"^/manage/[\w-]{43}$"))
    expect(page.get_by_test_id("confirmation-address")).to_contain_text(address)
    expect(page.get_by_test_id("book-another")).to_have_attribute("href", f"/b/{session_type_builder_slug(app_db, session_type)}")
    expect(page.get_by_test_id("add-to-google")).to_have_attribute("href", re.compile(r"^https://calendar\.google\.com/"))
    success_url = page.url
    booking = booking_of(app_db, session_type)

    # Issue #14: another browser with the same success URL, or the cancel URL with the booking id, is
    # told only that the payment went through: no names, time, place, address or manage link.
    stranger = browser.new_context().new_page()
    received: list[str] = []
    stranger.on("websocket", lambda ws: ws.on("framereceived", lambda frame: received.append(str(frame))))
    stranger.goto(success_url)
    expect(stranger.get_by_test_id("paid-elsewhere")).to_have_text(
        "This payment went through; details were emailed to the client.", timeout=30_000)
    expect(stranger.get_by_test_id("booking-summary")).to_have_count(0)
    expect(stranger.get_by_test_id("manage-booking-link")).to_have_count(0)
    assert address not in stranger.content() and "Ann Client" not in stranger.content()
    assert not any(address in frame or "Ann Client" in frame for frame in received)
    stranger.goto(f"{app_server.url}/payment/cancel?booking={booking.id}")
    expect(stranger.get_by_role("heading", name="Nothing to cancel")).to_be_visible()
    assert "/manage/" not in stranger.content() and booking.id not in stranger.content()
    assert received and not any("/manage/" in frame for frame in received)
    stranger.context.close()
    assert booking.status == BookingStatus.CONFIRMED
    payment_intent = money(app_db.get_bind(), booking.id).payment_intent_id
    assert payment_intent and payment_intent.startswith("pi_")

    def client_mail() -> list[Path]:
        # The confirmation (a session starting within the hour may also get its reminder meanwhile).
        return [p for p in mail_dir.glob("*.eml") if address in p.read_text(errors="replace")
                and "Confirmed" in str(email.message_from_bytes(p.read_bytes())["Subject"])]

    wait_until(lambda: bool(client_mail()), timeout=30, message="the confirmation email in the mail folder")
    message = email.message_from_bytes(client_mail()[0].read_bytes())
    assert "Confirmed" in message["Subject"]
    assert any(part.get_content_type() == "text/calendar" for part in message.walk())

    page.goto(f"{app_server.url}/book/{session_type.id}")
    expect(page.get_by_test_id("slot").first).to_be_visible()
    expect(slot_at(page, start)).to_have_count(0)  # booked: no longer offered
    context.close()


def test_declined_card_then_4242_confirms(app_server, app_db, session_type, page: Page):
    pick_first_slot_and_pay(page, app_server.url, session_type)

    fill_card(page, CARD_DECLINED)
    expect(page.get_by_text("Your card was declined.")).to_be_visible()
    assert booking_of(app_db, session_type).status == BookingStatus.PENDING
    fill_card(page, CARD_OK)

    expect_confirmed(page)
    assert booking_of(app_db, session_type).status == BookingStatus.CONFIRMED


def test_3d_secure_complete_confirms(app_server, app_db, session_type, page: Page):
    pick_first_slot_and_pay(page, app_server.url, session_type)

    fill_card(page, CARD_3DS)
    page.get_by_role("button", name="Complete").click()

    expect_confirmed(page)
    assert booking_of(app_db, session_type).status == BookingStatus.CONFIRMED


def test_cancel_then_try_again_then_pay_confirms(app_server, app_db, session_type, page: Page):
    pick_first_slot_and_pay(page, app_server.url, session_type)
    first_session = money(app_db.get_bind(), booking_of(app_db, session_type).id).checkout_session_id

    page.get_by_role("link", name=re.compile("Back|Cancel", re.I)).first.click()
    expect(page).to_have_url(re.compile(r"/payment/cancel/?$"))  # no booking id: the hold key finds it
    expect(page.get_by_text("Nothing was charged")).to_be_visible()
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_label("Card number")).to_be_visible()
    fill_card(page, CARD_OK)

    expect_confirmed(page)
    booking = booking_of(app_db, session_type)
    assert booking.status == BookingStatus.CONFIRMED
    assert money(app_db.get_bind(), booking.id).checkout_session_id != first_session


def test_pick_another_time_releases_the_hold(app_server, app_db, session_type, page: Page):
    pick_first_slot_and_pay(page, app_server.url, session_type)
    page.get_by_role("link", name=re.compile("Back|Cancel", re.I)).first.click()

    page.get_by_role("button", name="Pick another time").click()

    expect(page).to_have_url(re.compile(rf"/[^/]+/{session_type.id}/?$"))
    expect(page.get_by_test_id("slot").first).to_be_visible()
    assert booking_of(app_db, session_type).status == BookingStatus.CANCELLED


@pytest.fixture
def emulator_clock(emulator):
    """Advance the emulator's clock; afterwards reset the emulator, whose clock never goes back
    (sessions created later with real-time expiries would look too short to it)."""
    yield lambda seconds: emulator.control("clock/advance", seconds=seconds)
    emulator.control("reset")


def test_hold_expired_by_the_emulator_clock_frees_the_slot(app_server, app_db, session_type, emulator_clock,
                                                           browser):
    first = browser.new_context(timezone_id="UTC")
    page = first.new_page()
    start = pick_first_slot_and_pay(page, app_server.url, session_type)
    held = booking_of(app_db, session_type)

    emulator_clock(31 * 60)

    wait_until(lambda: booking_of(app_db, session_type).status == BookingStatus.EXPIRED, timeout=30,
               message="the expired webhook to release the hold")
    page.reload()
    expect(page.get_by_text(re.compile("expired", re.I)).first).to_be_visible()
    other = browser.new_context(timezone_id="UTC").new_page()
    other.goto(f"{app_server.url}/book/{session_type.id}")
    expect(slot_at(other, start)).to_have_count(1)
    assert held.id == booking_of(app_db, session_type).id
    first.close()
    other.context.close()


def test_a_slot_taken_meanwhile_gives_a_clear_message_and_fresh_slots(app_server, app_db, session_type, browser):
    slow = browser.new_context(timezone_id="UTC").new_page()
    wanted = pick_first_slot(slow, app_server.url, session_type)
    slow.get_by_label("Name").fill("Slow Client")
    slow.get_by_label("Email").fill("slow@example.com")
    fast = browser.new_context(timezone_id="UTC").new_page()
    pick_first_slot_and_pay(fast, app_server.url, session_type, email_address="fast@example.com")

    slow.get_by_role("button", name=re.compile(r"^Pay")).click()

    expect(slow.get_by_test_id("notice")).to_contain_text("just taken")
    expect(slow.get_by_test_id("slot").first).to_be_visible()
    expect(slot_at(slow, wanted)).to_have_count(0)
    with Session(app_db.get_bind()) as fresh:
        held = fresh.exec(select(Booking).where(Booking.session_type_id == session_type.id)).all()
    assert len([b for b in held if b.status == BookingStatus.PENDING]) == 1
    slow.context.close()
    fast.context.close()


def test_missing_details_are_shown_inline_and_nothing_is_held(app_server, app_db, session_type, page: Page):
    pick_first_slot(page, app_server.url, session_type)
    page.get_by_label("Email").fill("not-an-email")

    page.get_by_role("button", name=re.compile(r"^Pay")).click()

    expect(page.get_by_text("Please enter your name.")).to_be_visible()
    expect(page.get_by_text("Please enter a valid email address.")).to_be_visible()
    expect(page.get_by_label("Name")).to_be_focused()  # the first field in error
    expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Email")).to_have_attribute("aria-describedby", "client-email-error")
    expect(page.get_by_role("alert").filter(has_text="Please fix 2 problems")).to_have_count(1)
    assert booking_of(app_db, session_type) is None
