"""Promotion codes in a real browser, through the emulator's hosted checkout: a code on the booking page lowers
the price before Checkout, Stripe charges the lower amount and the platform fee is on it; a 100 % code
confirms the booking with nothing to pay (no PaymentIntent, no charge, no transfer)."""

from __future__ import annotations

import re
import uuid
from datetime import time

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from booking.accounts.authz import Actor
from booking.core.db import engine_for
from booking.core.models import (
    Booking,
    BookingStatus,
    Builder,
    Client,
    Payment,
    PromotionRedemption,
    RedemptionStatus,
    UserRole,
)
from booking.payments.gateway import StripeGateway
from booking.workspace import promotions as workspace_codes
from tests.e2e.conftest import WEBHOOK_SECRET
from tests.factories import make_builder, make_session_type
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

AUTH = ("sk_test_e2e", "")
ADMIN = Actor(user_id=None, email="admin@example.com", role=UserRole.ADMIN, builder_id=None)


def onboarded_account(emulator_url: str) -> str:
    """An Express account that finished the emulator's onboarding (payouts on): a destination charge's target."""
    account = httpx.post(f"{emulator_url}/v1/accounts", auth=AUTH, data={
        "type": "express", "country": "GB", "email": f"b-{uuid.uuid4().hex[:6]}@example.com",
        "capabilities[card_payments][requested]": "true", "capabilities[transfers][requested]": "true"}).json()
    link = httpx.post(f"{emulator_url}/v1/account_links", auth=AUTH, data={
        "account": account["id"], "type": "account_onboarding", "refresh_url": "http://app.test/r",
        "return_url": "http://app.test/d"}).json()
    httpx.post(link["url"], data={"choice": "complete", "bank_account": "000123456789"}, timeout=10)
    return account["id"]


@pytest.fixture
def session_type(app_db: Session, emulator):
    builder = make_builder(app_db, time_zone="Europe/London", hours=(time(0, 0), time(23, 0)), min_notice_minutes=60,
                           stripe_account_id=onboarded_account(emulator.url), charges_enabled=True,
                           payouts_enabled=True, details_submitted=True)
    st = make_session_type(app_db, builder, price_amount=5000, currency="gbp", name="Discounted call")
    app_db.commit()
    return st


@pytest.fixture
def make_code(e2e_database_url: str, emulator):
    """A code made as the workspace makes it: saved, then synced to the emulator as Coupon + Promotion Code."""
    engine = engine_for(e2e_database_url)
    gateway = StripeGateway(secret_key=AUTH[0], webhook_secret=WEBHOOK_SECRET, api_base=emulator.url)

    def make(percent: int) -> str:
        code = f"P{percent}-{uuid.uuid4().hex[:6]}".upper()
        data = workspace_codes.parse_form({"code": code, "kind": "percent", "percent_off": str(percent)})
        return workspace_codes.create_promotion_code(engine=engine, gateway=gateway, actor=ADMIN, data=data).code

    return make


def book_with_code(page: Page, url: str, session_type, code: str, address: str) -> None:
    page.goto(f"{url}/book/{session_type.id}")
    page.get_by_test_id("slot").first.click()
    page.get_by_label("Name").fill("Ann Client")
    page.get_by_label("Email").fill(address)
    page.get_by_label("Promotion code (optional)").fill("NOT-A-CODE")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_test_id("promotion-code-error")).to_contain_text("does not exist")
    page.get_by_label("Promotion code (optional)").fill(code.lower())
    page.get_by_role("button", name="Apply").click()


def paid_payment_of(app_db: Session, address: str) -> Payment | None:
    """The client's confirmed booking's paid Payment row (the webhook or the success page recorded it)."""
    app_db.expire_all()
    return app_db.exec(select(Payment).join(Booking, Booking.id == Payment.booking_id)
                       .join(Client, Client.id == Booking.client_id)
                       .where(Client.email == address, Booking.status == BookingStatus.CONFIRMED,
                              Payment.paid_at.is_not(None))).first()


def test_a_code_discounts_the_charge_and_the_fee(app_server, app_db, session_type, make_code, emulator,
                                                 browser: Browser):
    code = make_code(10)
    page = browser.new_page()
    address = f"promo-{uuid.uuid4().hex[:8]}@example.com"
    book_with_code(page, app_server.url, session_type, code, address)
    expect(page.get_by_test_id("promo-total")).to_have_text("£45.00")
    expect(page.get_by_test_id("promo-discount")).to_have_text("−£5.00")
    page.get_by_role("button", name="Pay £45.00").click()

    expect(page.get_by_test_id("amount-total")).to_have_text("£45.00", timeout=30_000)  # Stripe's page
    expect(page.get_by_test_id("discount")).to_contain_text("£5.00")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry").fill("12/34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Cardholder name").fill("Ann Client")
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_test_id("booking-confirmed")).to_be_visible(timeout=30_000)

    wait_until(lambda: paid_payment_of(app_db, address) is not None, timeout=30, message="the paid payment")
    payment = paid_payment_of(app_db, address)
    assert (payment.amount, payment.application_fee_amount) == (4500, 450)
    intent = httpx.get(f"{emulator.url}/v1/payment_intents/{payment.payment_intent_id}", auth=AUTH).json()
    assert (intent["amount"], intent["application_fee_amount"]) == (4500, 450)
    assert intent["transfer_data"]["destination"] == app_db.get(Builder, session_type.builder_id).stripe_account_id
    use = app_db.exec(select(PromotionRedemption).where(PromotionRedemption.booking_id == payment.booking_id)).one()
    assert (use.status, use.discount_amount) == (RedemptionStatus.REDEEMED, 500)


def test_a_full_discount_confirms_the_booking_without_payment(app_server, app_db, session_type, make_code,
                                                              browser: Browser):
    code = make_code(100)
    page = browser.new_page()
    address = f"free-{uuid.uuid4().hex[:8]}@example.com"
    book_with_code(page, app_server.url, session_type, code, address)
    expect(page.get_by_test_id("promo-total")).to_have_text("Free")
    page.get_by_role("button", name="Confirm booking").click()

    # Stripe's page for a free order asks only for the email (already filled in from the booking).
    expect(page.get_by_role("button", name="Complete order")).to_be_visible(timeout=30_000)
    expect(page.get_by_label("Card number")).to_have_count(0)
    page.get_by_role("button", name="Complete order").click()
    expect(page.get_by_test_id("booking-confirmed")).to_be_visible(timeout=30_000)
    expect(page).to_have_url(re.compile(r"/payment/success"))

    wait_until(lambda: paid_payment_of(app_db, address) is not None, timeout=30, message="the free booking confirmed")
    payment = paid_payment_of(app_db, address)
    assert payment.amount == 0
    use = app_db.exec(select(PromotionRedemption).where(PromotionRedemption.booking_id == payment.booking_id)).one()
    assert (use.status, use.discount_amount) == (RedemptionStatus.REDEEMED, 5000)
    assert (payment.payment_intent_id, payment.application_fee_amount, payment.transfer_id) == (None, 0, None)
