"""Payment methods in a real browser through the emulator's hosted Checkout: a SEPA debit that succeeds and
one that fails (on the emulator's clock), PayPal's test page (Fail, then Authorize), and the Apple Pay
button."""

from __future__ import annotations

import email
import email.policy
import re
import uuid
from datetime import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from booking.core.models import Booking, BookingStatus, EndCause, PaymentStatus
from tests.factories import make_builder, make_session_type
from tests.support.ledger import money
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

SEPA_OK_LATER, SEPA_FAILS_LATER = "AT32 1904 3002 3547 3204", "AT05 1904 3002 3547 3205"
FOUR_DAYS = 4 * 24 * 60


@pytest.fixture
def emulator_clock(emulator):
    """Advance the emulator's clock; afterwards reset the emulator, whose clock never goes back
    (sessions created later with real-time expiries would look too short to it)."""
    yield lambda seconds: emulator.control("clock/advance", seconds=seconds)
    emulator.control("reset")


def session_type_in(app_db: Session, currency: str, *, min_notice_minutes: int = 60):
    builder = make_builder(app_db, time_zone="Europe/Berlin", hours=(time(0, 0), time(23, 0)),
                           min_notice_minutes=min_notice_minutes)
    st = make_session_type(app_db, builder, price_amount=4000, currency=currency, name=f"Call in {currency}")
    app_db.commit()
    return st


def booking_of(app_db: Session, session_type) -> Booking:
    with Session(app_db.get_bind()) as fresh:
        return fresh.exec(select(Booking).where(Booking.session_type_id == session_type.id)
                          .order_by(Booking.created_at.desc())).first()


def to_checkout(page: Page, app_url: str, session_type, address: str) -> str:
    """Pick the first bookable time, give the details, arrive on the hosted Checkout; returns the start."""
    page.goto(f"{app_url}/book/{session_type.id}")
    first_slot = page.get_by_test_id("slot").first
    expect(first_slot).to_be_visible(timeout=30_000)  # the first page a cold server renders can be slow
    start = first_slot.get_attribute("data-start")
    first_slot.click()
    page.get_by_label("Name").fill("Ann Client")
    page.get_by_label("Email").fill(address)
    page.get_by_role("button", name=re.compile(r"^Pay")).click()
    expect(page.get_by_label("Card number")).to_be_visible()
    return start


def pay_by_sepa(page: Page, iban: str) -> None:
    page.get_by_role("link", name="SEPA Direct Debit").click()
    page.get_by_label("Full name").fill("Ann Client")
    page.get_by_label("IBAN").fill(iban)
    page.get_by_role("button", name="Pay").click()


def mail_to(mail_dir: Path, address: str) -> list[email.message.Message]:
    """What was sent to `address` (the builder's copy names the client too: not counted)."""
    messages = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in sorted(mail_dir.glob("*.eml"))]
    return [message for message in messages if address in (message["To"] or "")]


def test_a_sepa_debit_shows_processing_then_confirms_when_it_clears(app_server, app_db, emulator_clock, browser,
                                                                    mail_dir: Path):
    session_type = session_type_in(app_db, "eur", min_notice_minutes=FOUR_DAYS)  # far enough ahead for a debit
    page = browser.new_context(timezone_id="Europe/Berlin").new_page()
    address = f"sepa-ok-{uuid.uuid4().hex[:8]}@example.com"  # the mail folder outlives one database leg
    to_checkout(page, app_server.url, session_type, address)

    pay_by_sepa(page, SEPA_OK_LATER)

    expect(page.get_by_test_id("booking-processing")).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("processing-note")).to_contain_text("once your bank debit clears")
    wait_until(lambda: money(app_db.get_bind(), booking_of(app_db, session_type).id).status
               == PaymentStatus.PROCESSING, timeout=30, message="the completed (unpaid) webhook")
    assert booking_of(app_db, session_type).status == BookingStatus.PENDING
    assert mail_to(mail_dir, address) == []  # no confirmation, no invite yet

    emulator_clock(3 * 60 + 1)  # Stripe's test IBAN clears after three minutes

    expect(page.get_by_test_id("booking-confirmed")).to_be_visible(timeout=30_000)  # the page follows by itself
    assert booking_of(app_db, session_type).status == BookingStatus.CONFIRMED
    wait_until(lambda: mail_to(mail_dir, address), timeout=30, message="the confirmation email")
    [confirmation] = mail_to(mail_dir, address)
    assert "Confirmed" in confirmation["Subject"]
    page.context.close()


def test_a_sepa_debit_that_fails_releases_the_time_and_emails_the_client(app_server, app_db, emulator_clock,
                                                                         browser, mail_dir: Path):
    session_type = session_type_in(app_db, "eur", min_notice_minutes=FOUR_DAYS)
    page = browser.new_context(timezone_id="Europe/Berlin").new_page()
    address = f"sepa-fails-{uuid.uuid4().hex[:8]}@example.com"
    start = to_checkout(page, app_server.url, session_type, address)
    pay_by_sepa(page, SEPA_FAILS_LATER)
    expect(page.get_by_test_id("booking-processing")).to_be_visible(timeout=30_000)
    wait_until(lambda: money(app_db.get_bind(), booking_of(app_db, session_type).id).status
               == PaymentStatus.PROCESSING, timeout=30, message="the completed (unpaid) webhook")

    emulator_clock(3 * 60 + 1)

    wait_until(lambda: booking_of(app_db, session_type).status == BookingStatus.CANCELLED, timeout=30,
               message="the async_payment_failed webhook")
    assert booking_of(app_db, session_type).end_cause == EndCause.PAYMENT_FAILED
    wait_until(lambda: mail_to(mail_dir, address), timeout=30, message="the bank debit failed email")
    [failed] = mail_to(mail_dir, address)
    assert "Bank debit failed" in failed["Subject"]
    body = failed.get_body(preferencelist=("plain",)).get_content()
    assert "released" in body and re.search(rf"Book again: \S+/{session_type.id}\b", body)
    page.goto(f"{app_server.url}/book/{session_type.id}")
    expect(page.locator(f'[data-testid="slot"][data-start="{start}"]')).to_have_count(1)  # free again
    page.context.close()


def test_paypal_fail_returns_to_checkout_then_authorize_confirms(app_server, app_db, page: Page):
    session_type = session_type_in(app_db, "gbp")
    to_checkout(page, app_server.url, session_type, "paypal@example.com")
    assert page.get_by_role("link", name="Bacs Direct Debit").count() == 0  # too soon for a bank debit

    page.get_by_role("link", name="PayPal").click()
    page.get_by_role("button", name="Continue to PayPal").click()
    page.get_by_role("button", name="Fail test payment").click()
    expect(page.get_by_role("alert")).to_contain_text("unable to authenticate your payment method")

    page.get_by_role("button", name="Continue to PayPal").click()
    page.get_by_role("button", name="Authorize test payment").click()

    expect(page.get_by_test_id("booking-confirmed")).to_be_visible(timeout=30_000)
    assert booking_of(app_db, session_type).status == BookingStatus.CONFIRMED


def test_apple_pay_button_confirms_and_the_wallet_is_recorded(app_server, app_db, emulator, page: Page):
    session_type = session_type_in(app_db, "gbp")
    to_checkout(page, app_server.url, session_type, "wallet@example.com")

    page.get_by_role("link", name="Apple Pay").click()
    page.get_by_role("button", name="Pay with Apple Pay").click()

    expect(page.get_by_test_id("booking-confirmed")).to_be_visible(timeout=30_000)
    booking = booking_of(app_db, session_type)
    assert booking.status == BookingStatus.CONFIRMED
    intent_id = money(app_db.get_bind(), booking.id).payment_intent_id
    stripe = httpx.Client(base_url=emulator.url, auth=("sk_test_e2e", ""), timeout=10)
    charge_id = stripe.get(f"/v1/payment_intents/{intent_id}").json()["latest_charge"]
    charge = stripe.get(f"/v1/charges/{charge_id}").json()
    assert charge["payment_method_details"]["card"]["wallet"]["type"] == "apple_pay"
