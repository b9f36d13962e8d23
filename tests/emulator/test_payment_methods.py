"""Dynamic payment methods on the emulator: what a session offers per currency, `excluded_payment_method_types`,
Apple Pay / Google Pay (card wallets), PayPal's redirect, and SEPA / Bacs Direct Debit settling on the clock."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from tests.emulator.helpers import WebhookReceiver

SEPA_OK, SEPA_FAILS = "AT611904300234573201", "AT861904300235473202"
SEPA_OK_LATER, SEPA_FAILS_LATER = "AT321904300235473204", "AT051904300235473205"


def eur(**overrides: Any) -> dict[str, Any]:
    return {"line_items": [{"quantity": 1, "price_data": {"currency": "eur", "unit_amount": 4000,
                                                          "product_data": {"name": "Call"}}}], **overrides}


def complete(http: httpx.Client, session_id: str, **body: Any) -> dict[str, Any]:
    response = http.post(f"/_emulator/checkout/sessions/{session_id}/complete", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def advance(http: httpx.Client, seconds: int) -> dict[str, Any]:
    response = http.post("/_emulator/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200
    return response.json()


def test_a_session_offers_what_stripe_would_for_its_currency(make_session: Any) -> None:
    assert make_session().payment_method_types == ["card", "bacs_debit", "paypal"]  # gbp
    assert make_session(**eur()).payment_method_types == ["card", "sepa_debit", "paypal"]
    jpy = make_session(line_items=[{"quantity": 1, "price_data": {"currency": "jpy", "unit_amount": 5000,
                                                                   "product_data": {"name": "Call"}}}])
    assert jpy.payment_method_types == ["card"]


def test_excluded_payment_method_types_removes_them(make_session: Any, http: httpx.Client) -> None:
    session = make_session(**eur(excluded_payment_method_types=["sepa_debit", "bacs_debit"]))
    assert session.payment_method_types == ["card", "paypal"]
    assert session.excluded_payment_method_types == ["sepa_debit", "bacs_debit"]
    page = http.get(f"/c/pay/{session.id}").text
    assert "PayPal" in page and "SEPA Direct Debit" not in page
    refused = http.post(f"/c/pay/{session.id}", data={"method": "sepa_debit", "email": "a@example.com",
                                                       "name": "Ann", "iban": SEPA_OK})
    assert refused.status_code == 400 and "not available" in refused.text


def test_an_unknown_excluded_type_is_refused_with_stripes_error(make_session: Any) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        make_session(excluded_payment_method_types=["carrier_pigeon"])
    assert info.value.http_status == 400
    assert (info.value.param or "").startswith("excluded_payment_method_types")
    with pytest.raises(stripe.InvalidRequestError) as nothing_left:
        make_session(excluded_payment_method_types=["card", "bacs_debit", "paypal"])
    assert nothing_left.value.param == "excluded_payment_method_types"


def test_sepa_debit_completes_unpaid_then_succeeds_after_three_minutes_on_the_clock(
        client: stripe.StripeClient, make_session: Any, http: httpx.Client, receiver: WebhookReceiver) -> None:
    session = make_session(**eur())
    result = complete(http, session.id, payment_method="sepa_debit", iban=SEPA_OK_LATER)
    assert result["status"] == "processing"
    completed = receiver.wait_for("checkout.session.completed")[0]["data"]["object"]
    assert (completed["status"], completed["payment_status"]) == ("complete", "unpaid")
    pi = client.v1.payment_intents.retrieve(result["payment_intent"]["id"])
    assert pi.status == "processing"
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.status == "pending" and charge.id.startswith("py_")
    details = charge.payment_method_details
    assert details.type == "sepa_debit" and details.sepa_debit.last4 == "3204"
    assert details.sepa_debit.country == "AT" and details.sepa_debit.mandate.startswith("mandate_")
    assert {"charge.pending", "payment_intent.processing"} <= set(receiver.types())

    advance(http, 170)
    assert client.v1.payment_intents.retrieve(pi.id).status == "processing"
    assert receiver.events_of("checkout.session.async_payment_succeeded") == []
    settled = advance(http, 15)
    assert settled["settled_debits"] == [pi.id]

    event = receiver.wait_for("checkout.session.async_payment_succeeded")[0]["data"]["object"]
    assert event["payment_status"] == "paid"
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"
    paid_charge = client.v1.charges.retrieve(charge.id)
    assert paid_charge.status == "succeeded" and paid_charge.paid and paid_charge.balance_transaction
    assert receiver.events_of("charge.succeeded") and receiver.events_of("payment_intent.succeeded")


@pytest.mark.parametrize(("method", "account", "delay"), [
    ("sepa_debit", {"iban": SEPA_FAILS}, 5),
    ("sepa_debit", {"iban": SEPA_FAILS_LATER}, 180),
    ("bacs_debit", {"sort_code": "10-88-00", "account_number": "33333335"}, 5),
    ("bacs_debit", {"sort_code": "108800", "account_number": "93333335"}, 180),
])
def test_failing_test_accounts_fail_after_their_delay(client: stripe.StripeClient, make_session: Any,
                                                      http: httpx.Client, receiver: WebhookReceiver,
                                                      method: str, account: dict[str, str], delay: int) -> None:
    session = make_session(**(eur() if method == "sepa_debit" else {}))
    result = complete(http, session.id, payment_method=method, **account)
    pi_id = result["payment_intent"]["id"]
    if delay > 5:
        advance(http, delay - 30)
        assert client.v1.payment_intents.retrieve(pi_id).status == "processing"
    advance(http, 31)

    failed = receiver.wait_for("checkout.session.async_payment_failed")[0]["data"]["object"]
    assert (failed["status"], failed["payment_status"]) == ("complete", "unpaid")
    pi = client.v1.payment_intents.retrieve(pi_id)
    assert pi.status == "requires_payment_method" and pi.last_payment_error.payment_method_type == method
    assert client.v1.charges.retrieve(result["charge"]["id"]).status == "failed"
    assert receiver.events_of("payment_intent.payment_failed")
    assert receiver.events_of("checkout.session.async_payment_succeeded") == []


def test_bacs_debit_succeeds_with_stripes_test_account(client: stripe.StripeClient, make_session: Any,
                                                      http: httpx.Client, receiver: WebhookReceiver) -> None:
    session = make_session()
    result = complete(http, session.id, payment_method="bacs_debit", sort_code="108800", account_number="00012345")
    charge = client.v1.charges.retrieve(result["charge"]["id"])
    assert charge.payment_method_details.bacs_debit.sort_code == "108800"
    assert charge.payment_method_details.bacs_debit.last4 == "2345"
    advance(http, 10)
    assert receiver.wait_for("checkout.session.async_payment_succeeded")
    assert client.v1.payment_intents.retrieve(result["payment_intent"]["id"]).status == "succeeded"
    receipt = http.get(f"/receipts/{charge.id}").text
    assert "Paid with Bacs Direct Debit •••• 2345" in receipt


def test_bank_details_are_validated_on_the_hosted_page(make_session: Any, http: httpx.Client) -> None:
    session = make_session(**eur())
    page = http.post(f"/c/pay/{session.id}", data={"method": "sepa_debit", "email": "a@example.com",
                                                    "name": "Ann", "iban": "AT61 1904 3002 3457 3200"})
    assert page.status_code == 400 and "Your IBAN is invalid." in page.text
    bacs = make_session()
    page = http.post(f"/c/pay/{bacs.id}", data={"method": "bacs_debit", "email": "a@example.com", "name": "Ann",
                                                 "sort_code": "1088", "account_number": "00012345"})
    assert page.status_code == 400 and "Your sort code is invalid." in page.text


def test_paypal_authorize_pays_and_fail_returns_to_checkout(client: stripe.StripeClient, make_session: Any,
                                                           http: httpx.Client, receiver: WebhookReceiver) -> None:
    session = make_session()
    start = http.post(f"/c/pay/{session.id}", data={"method": "paypal", "email": "pp@example.com"})
    assert start.status_code == 303 and "/paypal/" in start.headers["location"]
    paypal_page = http.get(start.headers["location"])
    assert "Authorize test payment" in paypal_page.text and "Fail test payment" in paypal_page.text

    failed = http.post(start.headers["location"], data={"action": "fail"})
    assert failed.status_code == 303 and "error=payment_intent_authentication_failure" in failed.headers["location"]
    back = http.get(failed.headers["location"])
    assert "unable to authenticate your payment method" in back.text
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"

    again = http.post(f"/c/pay/{session.id}", data={"method": "paypal", "email": "pp@example.com"})
    done = http.post(again.headers["location"], data={"action": "authorize"})
    assert done.status_code == 303 and done.headers["location"].endswith(f"/success?session_id={session.id}")
    paid = client.v1.checkout.sessions.retrieve(session.id)
    assert (paid.status, paid.payment_status) == ("complete", "paid")
    charge = client.v1.charges.retrieve(client.v1.payment_intents.retrieve(paid.payment_intent).latest_charge)
    assert charge.payment_method_details.type == "paypal"
    assert charge.payment_method_details.paypal.payer_email == "pp@example.com"
    assert receiver.wait_for("checkout.session.completed")


@pytest.mark.parametrize("wallet", ["apple_pay", "google_pay"])
def test_wallet_buttons_pay_with_a_card_and_record_the_wallet(client: stripe.StripeClient, make_session: Any,
                                                             http: httpx.Client, wallet: str) -> None:
    session = make_session()
    assert f"/c/pay/{session.id}/wallet/{wallet}" in http.get(f"/c/pay/{session.id}").text
    sheet = http.get(f"/c/pay/{session.id}/wallet/{wallet}")
    assert sheet.status_code == 200 and "guest@example.com" in sheet.text
    paid = http.post(f"/c/pay/{session.id}/wallet/{wallet}", data={"action": "pay", "email": "guest@example.com",
                                                                    "name": "Guest"})
    assert paid.status_code == 303 and paid.headers["location"].endswith(f"/success?session_id={session.id}")
    retrieved = client.v1.checkout.sessions.retrieve(session.id)
    charge = client.v1.charges.retrieve(client.v1.payment_intents.retrieve(retrieved.payment_intent).latest_charge)
    assert charge.payment_method_details.card.wallet.type == wallet
    assert charge.payment_method_details.card.last4 == "4242"
    label = {"apple_pay": "Apple Pay", "google_pay": "Google Pay"}[wallet]
    assert f"Card: {label} · visa •••• 4242" in http.get(f"/receipts/{charge.id}").text
