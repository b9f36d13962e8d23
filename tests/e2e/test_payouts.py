"""Builders get paid, in a real browser: a builder sets up payouts on the emulator's hosted onboarding
page and comes back enabled; a client books and pays in a second browser; the payouts page shows the
net amount, the platform fee and the transfer; a refund from /admin/bookings reverses the transfer and
gives back the fee, at the emulator and on the page."""

from __future__ import annotations

import re
import uuid
from datetime import time

import pytest
import stripe
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from booking.core.models import Builder, Payment, PaymentStatus, UserAccount, UserRole
from tests.e2e.test_booking_flow import CARD_OK, expect_confirmed, fill_card, pick_first_slot_and_pay
from tests.e2e.test_workspace import sign_in
from tests.factories import make_builder, make_session_type
from tests.support.admin_states import password_hash
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def builder(app_db: Session):
    """A builder in London open around the clock, with a £50 session type and a sign-in."""
    tag = uuid.uuid4().hex[:8]
    row = make_builder(app_db, name=f"Ada {tag}", slug=f"ada-pay-{tag}", email=f"ada-{tag}@e2e.test",
                       time_zone="Europe/London", hours=(time(0, 0), time(23, 0)), min_notice_minutes=60)
    session_type = make_session_type(app_db, row, price_amount=5000, currency="gbp", name=f"Paid call {tag}")
    user = UserAccount(email=f"ada-pay-{tag}@e2e.test", password_hash=password_hash(), role=UserRole.BUILDER,
                       builder_id=row.id)
    app_db.add(user)
    app_db.commit()
    return {"id": row.id, "email": user.email, "session_type": session_type, "tag": tag}


def fresh(app_db: Session, model, *where):
    with Session(app_db.get_bind()) as session:  # a short transaction: SQLite's write lock
        return session.exec(select(model).where(*where)).first()


def test_builder_onboards_client_pays_payouts_show_net_and_fee_refund_reverses_both(
        app_server, app_db, emulator, builder, browser: Browser, page: Page):
    sign_in(page, app_server.url, builder["email"])

    # Set up payouts: an Express account, then Stripe's (the emulator's) hosted onboarding.
    page.get_by_role("link", name="Payouts", exact=True).click()
    expect(page.get_by_test_id("payouts-status")).to_have_text("Not set up")
    expect(page.get_by_test_id("payouts-fee-rule")).to_contain_text("10% of each payment")
    page.get_by_test_id("set-up-payouts").click()
    expect(page.get_by_role("button", name="Complete onboarding")).to_be_visible(timeout=30_000)
    assert page.url.startswith(emulator.url)
    page.get_by_role("button", name="Complete onboarding").click()

    # Back on /admin/payouts through the return page, which re-read the account.
    expect(page).to_have_url(re.compile(r"/admin/payouts\?onboarding=returned"), timeout=30_000)
    expect(page.get_by_test_id("payouts-status")).to_have_text("Payouts enabled")
    expect(page.get_by_test_id("payouts-notice")).to_contain_text("Payouts are set up")
    account_id = fresh(app_db, Builder, Builder.id == builder["id"]).stripe_account_id
    assert account_id.startswith("acct_")

    # A client books and pays in a browser of their own.
    client_context = browser.new_context(timezone_id="Europe/London", locale="en-GB")
    client = client_context.new_page()
    client_email = f"payer-{builder['tag']}@example.com"
    pick_first_slot_and_pay(client, app_server.url, builder["session_type"], email_address=client_email)
    fill_card(client, CARD_OK)
    expect_confirmed(client)
    client_context.close()

    def payment() -> Payment | None:
        from booking.core.models import Booking

        with Session(app_db.get_bind()) as session:
            return session.exec(select(Payment).join(Booking, Booking.id == Payment.booking_id)
                                .where(Booking.builder_id == builder["id"])).first()

    wait_until(lambda: payment() is not None and payment().transfer_id is not None, timeout=30,
               message="the destination charge's transfer recorded")
    paid = payment()
    assert (paid.destination_account_id, paid.application_fee_amount, paid.net_amount) == (account_id, 500, 4500)

    # The payouts page: the net and the fee of the booking, its transfer, and the balance at Stripe.
    page.reload()
    row = page.get_by_test_id("transfer-row").first
    expect(row.get_by_test_id("transfer-amount")).to_have_text("£50.00")
    expect(row.get_by_test_id("transfer-fee")).to_have_text("£5.00")
    expect(row.get_by_test_id("transfer-net")).to_have_text("£45.00")
    expect(row.get_by_test_id("transfer-id")).to_have_text(paid.transfer_id)
    expect(page.get_by_test_id("balance-pending")).to_contain_text("£45.00", timeout=30_000)

    # A full refund from /admin/bookings reverses the transfer and returns the platform fee.
    page.goto(f"{app_server.url}/admin/bookings")
    booking_row = page.get_by_test_id("booking-row").filter(has_text=client_email)
    expect(booking_row).to_be_visible()
    booking_row.get_by_test_id("open-booking").click()
    refund_form = page.get_by_test_id("refund-form")
    expect(refund_form.get_by_test_id("refund-amount")).to_have_value("50.00")
    refund_form.get_by_test_id("refund-session").get_by_text("Keep the session").click()  # asked: cancel it too?
    refund_form.get_by_test_id("refund-submit").click()
    dialog = page.get_by_test_id("confirm-dialog")  # says what will happen before anything does
    expect(dialog).to_contain_text("£50.00 is refunded to the client; the session stays booked")
    dialog.get_by_test_id("confirm-go").click()
    expect(page.get_by_test_id("refund-result")).to_contain_text("Refunded £50.00.", timeout=30_000)
    wait_until(lambda: payment().status == PaymentStatus.REFUNDED, timeout=30, message="the payment refunded")

    sdk = stripe.StripeClient("sk_test_e2e", base_addresses={"api": emulator.url})
    transfer = sdk.v1.transfers.retrieve(paid.transfer_id)
    [fee] = sdk.v1.application_fees.list(params={"charge": transfer.destination_payment}).data
    assert (transfer.amount_reversed, fee.amount_refunded) == (5000, 500)

    page.goto(f"{app_server.url}/admin/payouts")
    row = page.get_by_test_id("transfer-row").first
    expect(row.get_by_test_id("transfer-net")).to_have_text("£0.00")
    expect(row.get_by_test_id("transfer-refunded")).to_contain_text("£50.00")
    expect(row.get_by_test_id("transfer-refunded")).to_contain_text("fee back £5.00")
    assert payment().net_amount == 0
