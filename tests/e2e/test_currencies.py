"""A price in a second currency, in Chromium: the builder prices a session type in GBP and EUR (and is told
Stripe's minimum when a price is too small), a German browser sees euros at once, an English one picks EUR in
the currency picker, pays €45.00 on the emulator's hosted page, and the confirmation and the workspace show
the charge in euros."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from booking.core.models import Booking, BookingStatus, SessionType
from tests.e2e.test_booking_flow import CARD_OK, expect_confirmed, fill_card
from tests.e2e.test_workspace import ada, fresh, sign_in  # noqa: F401 - the builder fixture, shared
from tests.support.ledger import money

pytestmark = pytest.mark.e2e


def test_a_client_picks_euros_pays_in_euros_and_the_workspace_shows_euros(app_server, app_db, ada,  # noqa: F811
                                                                         browser: Browser, page: Page):
    name = f"Review {ada['tag']}"
    sign_in(page, app_server.url, ada["email"])
    page.goto(f"{app_server.url}/admin/session-types")
    page.get_by_test_id("new-session-type").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Duration (minutes)").fill("60")
    page.get_by_label("Price", exact=True).fill("50.00")
    page.get_by_label("Currency").select_option("gbp")
    page.get_by_label("Other currencies").fill("EUR 45.00, JPY 40")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Stripe's minimum charge in JPY is ¥50.")).to_be_visible(timeout=30_000)
    page.get_by_label("Other currencies").fill("EUR 45.00, USD 60.00")
    page.get_by_role("button", name="Save").click()
    row = page.get_by_test_id("session-type-row").filter(has_text=name)
    expect(row).to_be_visible(timeout=30_000)
    expect(row.get_by_test_id("session-type-price")).to_have_text("£50.00")
    expect(row.get_by_test_id("session-type-other-prices")).to_have_text("€45.00 · $60.00")
    session_type = fresh(app_db, SessionType, SessionType.name == name)

    # A browser in German sees the euro price, written the German way, without asking.
    german = browser.new_context(timezone_id="Europe/Berlin", locale="de-DE")
    german_page = german.new_page()
    german_page.goto(f"{app_server.url}/book/{session_type.id}")
    expect(german_page.get_by_test_id("price")).to_have_text("45,00\u00a0€")
    expect(german_page.get_by_label("Currency")).to_have_value("eur")
    german.close()

    # An English browser sees pounds, picks euros, and pays them on Stripe's page.
    client_context = browser.new_context(timezone_id="Europe/London", locale="en-GB")
    client = client_context.new_page()
    client.goto(f"{app_server.url}/book/{session_type.id}")
    expect(client.get_by_test_id("price")).to_have_text("£50.00")
    client.get_by_label("Currency").select_option("eur")
    expect(client.get_by_test_id("price")).to_have_text("€45.00")
    client.get_by_test_id("slot").first.click()
    client.get_by_label("Name").fill("Cleo Client")
    client_email = f"euro-{ada['tag']}@example.com"
    client.get_by_label("Email").fill(client_email)
    client.get_by_role("button", name=re.compile(r"^Pay €45\.00")).click()
    expect(client.get_by_label("Card number")).to_be_visible()
    expect(client.get_by_text("€45.00").first).to_be_visible()
    fill_card(client, CARD_OK)
    expect_confirmed(client)
    expect(client.get_by_test_id("booking-amount")).to_contain_text("€45.00")
    booking = fresh(app_db, Booking, Booking.session_type_id == session_type.id)
    assert booking.status == BookingStatus.CONFIRMED
    paid = money(app_db.get_bind(), booking.id)
    assert (paid.amount, paid.currency) == (4500, "eur")
    client_context.close()

    # The workspace shows the charge, and offers its refund, in the currency charged.
    page.goto(f"{app_server.url}/admin/bookings")
    booking_row = page.get_by_test_id("booking-row").filter(has_text=client_email)
    expect(booking_row).to_be_visible()
    booking_row.get_by_test_id("open-booking").click()
    detail = page.get_by_test_id("booking-detail")
    expect(detail.get_by_test_id("payment-history")).to_contain_text("€45.00")
    expect(page.get_by_test_id("refund-form").get_by_test_id("refund-amount")).to_have_value("45.00")
