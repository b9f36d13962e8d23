"""The hosted checkout page, driven in Chromium by label and role like a payer would."""

from __future__ import annotations

import re
from typing import Any

import httpx
import stripe
from playwright.sync_api import Page, expect

from stripe_emulator.testing import EmulatorServer
from tests.emulator.helpers import WebhookReceiver, pay


def fill_card(page: Page, number: str, *, expiry: str = "12 / 34", cvc: str = "123", name: str = "Ada Lovelace") -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry").fill(expiry)
    page.get_by_label("CVC").fill(cvc)
    page.get_by_label("Cardholder name").fill(name)


def success_url_re(session_id: str) -> re.Pattern[str]:
    return re.compile(re.escape(f"/success?session_id={session_id}") + "$")


def test_successful_payment_redirects_to_success_url(
    page: Page, make_session: Any, client: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    session = make_session()
    page.goto(session.url)
    expect(page.get_by_text("Sea view room")).to_be_visible()
    expect(page.get_by_test_id("amount-total")).to_have_text("£50.00")
    expect(page.get_by_label("Email")).to_have_value("guest@example.com")
    expect(page.get_by_role("link", name="Back")).to_have_attribute("href", receiver.base_url + "/cancel")
    fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url(success_url_re(session.id))
    paid = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert (paid.status, paid.payment_status) == ("complete", "paid")
    assert paid.customer_details.name == "Ada Lovelace"
    charge = client.v1.charges.retrieve(paid.payment_intent.latest_charge)
    assert charge.payment_method_details.card.last4 == "4242"
    receiver.wait_for("checkout.session.completed")


def test_declined_card_then_success_on_the_same_page(
    page: Page, make_session: Any, client: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    session = make_session()
    page.goto(session.url)
    fill_card(page, "4000 0000 0000 0002")
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_role("alert")).to_have_text("Your card was declined.")
    expect(page.get_by_label("Email")).to_have_value("guest@example.com")
    failed = receiver.wait_for("payment_intent.payment_failed")[0]["data"]["object"]
    assert failed["status"] == "requires_payment_method"
    assert failed["last_payment_error"]["code"] == "card_declined"
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    fill_card(page, "4242424242424242")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url(success_url_re(session.id))
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"


def test_insufficient_funds(page: Page, make_session: Any) -> None:
    session = make_session()
    page.goto(session.url)
    fill_card(page, "4000000000009995")
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_role("alert")).to_have_text("Your card has insufficient funds.")
    expect(page.get_by_role("button", name="Pay")).to_be_enabled()


def test_3d_secure_complete(page: Page, make_session: Any, client: stripe.StripeClient) -> None:
    session = make_session()
    page.goto(session.url)
    fill_card(page, "4000 0027 6000 3184")
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_role("heading", name="3D Secure authentication")).to_be_visible()
    expect(page.get_by_text("£50.00")).to_be_visible()
    page.get_by_role("button", name="Complete").click()
    page.wait_for_url(success_url_re(session.id))
    assert client.v1.checkout.sessions.retrieve(session.id).status == "complete"


def test_3d_secure_fail_keeps_the_session_payable(
    page: Page, make_session: Any, client: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    session = make_session()
    page.goto(session.url)
    fill_card(page, "4000002760003184")
    page.get_by_role("button", name="Pay").click()
    page.get_by_role("button", name="Fail").click()
    expect(page.get_by_role("alert")).to_contain_text("unable to authenticate your payment method")
    failed = receiver.wait_for("payment_intent.payment_failed")[0]["data"]["object"]
    assert failed["last_payment_error"]["code"] == "payment_intent_authentication_failure"
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    fill_card(page, "4242424242424242")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url(success_url_re(session.id))


def test_field_validation_messages(page: Page, make_session: Any) -> None:
    session = make_session()
    page.goto(session.url)
    fill_card(page, "4242 4242 4242 4241", expiry="01 / 20", cvc="1")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_text("Your card number is invalid.")).to_be_visible()
    expect(page.get_by_text("Your card's expiration year is in the past.")).to_be_visible()
    expect(page.get_by_text("Your card's security code is incomplete.")).to_be_visible()
    expect(page.get_by_text("Your email address is invalid.")).to_be_visible()
    expect(page.get_by_label("Card number")).to_have_attribute("aria-invalid", "true")


def test_zero_decimal_currency_and_quantities(page: Page, make_session: Any) -> None:
    session = make_session(
        line_items=[{"quantity": 2, "price_data": {"currency": "jpy", "unit_amount": 2500, "product_data": {"name": "Tatami room"}}}]
    )
    page.goto(session.url)
    expect(page.get_by_test_id("amount-total")).to_have_text("¥5,000")
    expect(page.get_by_text("Qty 2 · ¥2,500 each")).to_be_visible()


def test_expired_and_paid_sessions_offer_no_form(
    page: Page, make_session: Any, client: stripe.StripeClient, http: httpx.Client
) -> None:
    expired = make_session()
    client.v1.checkout.sessions.expire(expired.id)
    page.goto(expired.url)
    expect(page.get_by_role("heading")).to_have_text("This checkout session has expired")
    expect(page.get_by_role("button", name="Pay")).to_have_count(0)
    paid = make_session()
    pay(http, paid.id)
    page.goto(paid.url)
    expect(page.get_by_role("heading")).to_have_text("This checkout session has already been paid")
    expect(page.get_by_role("button", name="Pay")).to_have_count(0)
    response = http.post(f"/c/pay/{paid.id}", data={"cardnumber": "4242424242424242"})
    assert response.status_code == 409 and "already been paid" in response.text
    assert http.get("/c/pay/cs_test_unknown").status_code == 404


def test_page_without_customer_email_or_cancel_url(page: Page, emulator: EmulatorServer, receiver: WebhookReceiver) -> None:
    client = emulator.client()
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "success_url": receiver.base_url + "/done/{CHECKOUT_SESSION_ID}",
            "line_items": [{"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 1999, "product_data": {"name": "Kayak"}}}],
        }
    )
    page.goto(session.url)
    expect(page.get_by_role("link", name="Back")).to_have_count(0)
    page.get_by_label("Email").fill("someone@example.com")
    fill_card(page, "5555 5555 5555 4444", expiry="0140", cvc="999")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url(re.compile(re.escape(f"/done/{session.id}") + "$"))
    paid = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent.latest_charge"]})
    card = paid.payment_intent.latest_charge.payment_method_details.card
    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("mastercard", "4444", 1, 2040)
    assert paid.customer_details.email == "someone@example.com"
