"""Disputes, in a real browser: a client pays through the emulator's hosted checkout with Stripe's dispute
test card (4000 0000 0000 0259); the builder finds the dispute on the Disputes page with its deadline, sends
the evidence pre-filled from the booking's records, and the emulator's clock passing the deadline decides it:
won with Stripe's test evidence "winning_evidence", lost without evidence. The booking shows it throughout."""

from __future__ import annotations

import uuid
from datetime import time

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from booking.core.models import Booking, Dispute, DisputeStatus, UserAccount, UserRole
from tests.e2e.test_booking_flow import expect_confirmed, fill_card, pick_first_slot_and_pay
from tests.e2e.test_workspace import sign_in
from tests.factories import make_builder, make_session_type
from tests.support.admin_states import password_hash
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

CARD_DISPUTED = "4000 0000 0000 0259"
PAST_THE_DEADLINE = 8 * 24 * 3600


@pytest.fixture
def builder(app_db: Session):
    tag = uuid.uuid4().hex[:8]
    row = make_builder(app_db, name=f"Ada {tag}", slug=f"ada-dispute-{tag}", email=f"ada-{tag}@e2e.test",
                       time_zone="Europe/London", hours=(time(0, 0), time(23, 0)), min_notice_minutes=60)
    session_type = make_session_type(app_db, row, price_amount=5000, currency="gbp", name=f"Disputed call {tag}")
    user = UserAccount(email=f"ada-dispute-{tag}@e2e.test", password_hash=password_hash(), role=UserRole.BUILDER,
                       builder_id=row.id)
    app_db.add(user)
    app_db.commit()
    return {"id": row.id, "email": user.email, "session_type": session_type, "tag": tag}


@pytest.fixture
def emulator_clock(emulator):
    """Advance the emulator's clock; afterwards reset the emulator (its clock never goes back)."""
    yield lambda seconds: emulator.control("clock/advance", seconds=seconds)
    emulator.control("reset")


def dispute_of(app_db: Session, builder) -> Dispute | None:
    with Session(app_db.get_bind()) as session:  # a short transaction: SQLite's write lock
        return session.exec(select(Dispute).join(Booking, Booking.id == Dispute.booking_id)
                            .where(Booking.builder_id == builder["id"])).first()


def pay_with_the_dispute_card(browser: Browser, app_url: str, builder) -> None:
    context = browser.new_context(timezone_id="Europe/London", locale="en-GB")
    client = context.new_page()
    client.goto(f"{app_url}/book/{builder['session_type'].id}")  # the first load of a busy machine is slow
    expect(client.get_by_test_id("slot").first).to_be_visible(timeout=60_000)
    pick_first_slot_and_pay(client, app_url, builder["session_type"],
                            email_address=f"payer-{builder['tag']}@example.com")
    fill_card(client, CARD_DISPUTED)
    expect_confirmed(client)  # the payment succeeds; the dispute comes after
    context.close()


def open_disputes(page: Page, app_url: str, builder) -> None:
    sign_in(page, app_url, builder["email"])
    page.get_by_role("link", name="Disputes", exact=True).click()
    expect(page.get_by_test_id("dispute-row")).to_have_count(1, timeout=30_000)


def test_a_disputed_payment_with_evidence_is_won(app_server, app_db, emulator_clock, builder, browser: Browser,
                                                  page: Page):
    pay_with_the_dispute_card(browser, app_server.url, builder)
    wait_until(lambda: dispute_of(app_db, builder) is not None, timeout=30, message="the dispute's webhooks")

    open_disputes(page, app_server.url, builder)
    row = page.get_by_test_id("dispute-row")
    expect(row.get_by_test_id("dispute-status")).to_have_text("Needs evidence")
    expect(row.get_by_test_id("dispute-amount")).to_have_text("£50.00")
    expect(row.get_by_test_id("dispute-due")).to_contain_text("Europe/London")
    expect(row).to_contain_text("Fraudulent")

    row.get_by_test_id("dispute-open").click()
    form = page.get_by_test_id("evidence-form")
    minutes = builder["session_type"].duration_minutes
    expect(form.get_by_label("What was booked")).to_have_value(
        f"Disputed call {builder['tag']} ({minutes} minutes) with Ada {builder['tag']}")
    expect(form.get_by_label("Cancellation policy shown before payment")).to_contain_text("Free cancellation")
    expect(form.get_by_label("Client's email")).to_have_value(f"payer-{builder['tag']}@example.com")
    # Stripe's documented test evidence: the issuer sides with the builder.
    form.get_by_label("Emails sent to the client, and anything else").fill("winning_evidence")
    form.get_by_test_id("evidence-submit").click()
    expect(page.get_by_test_id("evidence-result")).to_contain_text("Evidence submitted")
    expect(page.get_by_test_id("dispute-row").get_by_test_id("dispute-status")).to_have_text("Evidence submitted")

    emulator_clock(PAST_THE_DEADLINE)
    wait_until(lambda: dispute_of(app_db, builder).status == DisputeStatus.WON, timeout=30,
               message="the dispute's closing webhooks")
    page.reload()
    expect(page.get_by_test_id("dispute-row").get_by_test_id("dispute-status")).to_have_text("Won", timeout=30_000)
    page.get_by_role("link", name="Bookings", exact=True).click()
    expect(page.get_by_test_id("booking-dispute").first).to_have_text("Dispute won", timeout=30_000)


def test_a_disputed_payment_without_evidence_is_lost(app_server, app_db, emulator_clock, builder,
                                                      browser: Browser, page: Page):
    pay_with_the_dispute_card(browser, app_server.url, builder)
    wait_until(lambda: dispute_of(app_db, builder) is not None, timeout=30, message="the dispute's webhooks")
    open_disputes(page, app_server.url, builder)
    page.get_by_role("link", name="Bookings", exact=True).click()
    expect(page.get_by_test_id("booking-dispute").first).to_have_text("Disputed", timeout=30_000)

    emulator_clock(PAST_THE_DEADLINE)
    wait_until(lambda: dispute_of(app_db, builder).status == DisputeStatus.LOST, timeout=30,
               message="the dispute's closing webhook")
    page.get_by_role("link", name="Disputes", exact=True).click()
    row = page.get_by_test_id("dispute-row")
    expect(row.get_by_test_id("dispute-status")).to_have_text("Lost", timeout=30_000)
    row.get_by_test_id("dispute-open").click()
    expect(page.get_by_test_id("dispute-detail")).to_contain_text("can no longer be sent")
