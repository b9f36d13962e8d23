"""Saved cards: Checkout in setup mode (the hosted page saves a card to a customer: a SetupIntent and an
attached PaymentMethod), PaymentMethods attach / detach / list, and off-session PaymentIntents with
Stripe's test cards (set up once, always authenticate, insufficient funds), as destination charges."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from tests.emulator.helpers import AUTH, WebhookReceiver, onboarded_account


def setup_session(client: stripe.StripeClient, receiver: WebhookReceiver, customer: str, **extra: Any) -> Any:
    return client.v1.checkout.sessions.create(params={
        "mode": "setup", "currency": "gbp", "customer": customer,
        "success_url": receiver.base_url + "/success?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": receiver.base_url + "/cancel",
        "metadata": {"booking_id": "b7"}, "setup_intent_data": {"metadata": {"booking_id": "b7"}}, **extra,
    })


def saved_card(client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver, card: str) -> tuple[str, str]:
    """(customer id, payment method id) of a card saved through Checkout in setup mode."""
    customer = client.v1.customers.create(params={"email": "ada@example.com"})
    session = setup_session(client, receiver, customer.id)
    response = http.post(f"/_emulator/checkout/sessions/{session.id}/complete", json={"card": card})
    assert response.status_code == 200 and response.json()["ok"], response.text
    setup_intent = client.v1.setup_intents.retrieve(client.v1.checkout.sessions.retrieve(session.id).setup_intent)
    return customer.id, setup_intent.payment_method


def charge(client: stripe.StripeClient, customer: str, payment_method: str, **extra: Any) -> Any:
    return client.v1.payment_intents.create(
        params={"amount": 2500, "currency": "gbp", "customer": customer, "payment_method": payment_method,
                "off_session": True, "confirm": True, "metadata": {"booking_id": "b7"}, **extra},
        options={"idempotency_key": f"fee-{payment_method}"},
    )


def test_setup_mode_saves_the_card_to_the_customer_on_the_hosted_page(
        client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver) -> None:
    customer = client.v1.customers.create(params={"email": "ada@example.com"})
    session = setup_session(client, receiver, customer.id)
    assert (session.mode, session.amount_total, session.payment_status) == ("setup", None, "no_payment_required")
    page = http.get(f"/c/pay/{session.id}")
    assert "Save card" in page.text and "No charge now" in page.text
    assert 'value="ada@example.com"' in page.text  # the customer's email is prefilled
    form = {"email": "ada@example.com", "cardnumber": "4000 0025 0000 3155", "expiry": "12 / 34", "cvc": "123",
            "name": "Ada Lovelace"}
    answer = http.post(f"/c/pay/{session.id}", data=form)
    assert answer.status_code == 303 and answer.headers["location"].startswith(receiver.base_url + "/success")

    done = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["setup_intent"]})
    assert (done.status, done.customer) == ("complete", customer.id)
    setup_intent = done.setup_intent
    assert (setup_intent.status, setup_intent.usage, setup_intent.customer) == ("succeeded", "off_session", customer.id)
    assert setup_intent.metadata["booking_id"] == "b7"
    listed = client.v1.customers.payment_methods.list(customer.id)
    assert [pm.id for pm in listed.data] == [setup_intent.payment_method]
    assert listed.data[0].card.last4 == "3155"
    completed = receiver.wait_for("checkout.session.completed")[0]["data"]["object"]
    assert completed["setup_intent"] == setup_intent.id
    assert receiver.wait_for("setup_intent.succeeded") and receiver.wait_for("payment_method.attached")


def test_a_declined_card_is_not_saved(client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver) -> None:
    customer = client.v1.customers.create(params={})
    session = setup_session(client, receiver, customer.id)
    answer = http.post(f"/_emulator/checkout/sessions/{session.id}/complete", json={"card": "4000000000000002"})
    assert answer.json()["status"] == "failed"
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    assert client.v1.customers.payment_methods.list(customer.id).data == []


def test_an_off_session_payment_with_a_card_set_up_once_succeeds_as_a_destination_charge(
        client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver) -> None:
    account = onboarded_account(client)
    customer, payment_method = saved_card(client, http, receiver, "4000002500003155")
    intent = charge(client, customer, payment_method, application_fee_amount=300,
                    transfer_data={"destination": account.id})
    assert (intent.status, intent.amount_received, intent.customer) == ("succeeded", 2500, customer)
    again = charge(client, customer, payment_method, application_fee_amount=300,
                   transfer_data={"destination": account.id})
    assert again.id == intent.id  # an idempotent retry charges once
    paid = client.v1.charges.retrieve(intent.latest_charge)
    assert paid.transfer and paid.application_fee_amount == 300
    assert client.v1.application_fees.retrieve(paid.application_fee).amount == 300
    assert receiver.wait_for("payment_intent.succeeded")[0]["data"]["object"]["metadata"]["booking_id"] == "b7"


def test_a_card_that_always_authenticates_fails_off_session_with_authentication_required(
        client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver) -> None:
    customer, payment_method = saved_card(client, http, receiver, "4000002760003184")
    with pytest.raises(stripe.CardError) as refused:
        charge(client, customer, payment_method)
    assert refused.value.code == "authentication_required"
    intent_id = refused.value.error.payment_intent["id"]
    intent = client.v1.payment_intents.retrieve(intent_id)
    assert intent.status == "requires_action" and intent.last_payment_error.code == "authentication_required"
    assert intent.latest_charge is None  # nothing was charged


def test_insufficient_funds_declines_off_session(
        client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver) -> None:
    customer, payment_method = saved_card(client, http, receiver, "4000000000009995")
    with pytest.raises(stripe.CardError) as refused:
        charge(client, customer, payment_method)
    assert (refused.value.code, refused.value.error.decline_code) == ("card_declined", "insufficient_funds")
    intent = client.v1.payment_intents.retrieve(refused.value.error.payment_intent["id"])
    assert intent.status == "requires_payment_method"
    assert client.v1.charges.retrieve(intent.latest_charge).status == "failed"
    assert receiver.wait_for("payment_intent.payment_failed")


def test_attach_detach_and_list_payment_methods(
        client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver) -> None:
    customer, payment_method = saved_card(client, http, receiver, "4242424242424242")
    other = client.v1.customers.create(params={})
    with pytest.raises(stripe.InvalidRequestError) as taken:
        client.v1.payment_methods.attach(payment_method, params={"customer": other.id})
    assert taken.value.code == "payment_method_unexpected_state"
    client.v1.customers.update(customer, params={"invoice_settings": {"default_payment_method": payment_method}})
    detached = client.v1.payment_methods.detach(payment_method)
    assert detached.customer is None
    assert client.v1.customers.retrieve(customer).invoice_settings.default_payment_method is None
    attached = client.v1.payment_methods.attach(payment_method, params={"customer": other.id})
    assert attached.customer == other.id
    listed = client.v1.payment_methods.list(params={"customer": other.id, "type": "card"})
    assert [pm.id for pm in listed.data] == [payment_method]


@pytest.mark.parametrize(
    ("form", "param", "code"),
    [
        ({"confirm": "false"}, "confirm", None),
        ({"off_session": "false"}, "off_session", None),
        ({"customer": "cus_missing"}, "customer", "resource_missing"),
        ({"payment_method": "pm_missing"}, "payment_method", "resource_missing"),
        ({"application_fee_amount": "100"}, "application_fee_amount", None),
        ({"setup_future_usage": "off_session"}, "setup_future_usage", "parameter_unknown"),
    ],
)
def test_off_session_refusals(client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver,
                              form: dict[str, str], param: str, code: str | None) -> None:
    customer, payment_method = saved_card(client, http, receiver, "4242424242424242")
    data = {"amount": "2500", "currency": "gbp", "customer": customer, "payment_method": payment_method,
            "off_session": "true", "confirm": "true", **form}
    response = http.post("/v1/payment_intents", data=data, auth=AUTH)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and error.get("code") == code
    assert http.get("/v1/payment_intents", auth=AUTH).json()["data"] == []


def test_a_card_attached_to_someone_else_cannot_be_charged_for_this_customer(
        client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver) -> None:
    _customer, payment_method = saved_card(client, http, receiver, "4242424242424242")
    stranger = client.v1.customers.create(params={})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        charge(client, stranger.id, payment_method)
    assert (refused.value.code, refused.value.param) == ("resource_missing", "payment_method")


@pytest.mark.parametrize(
    ("form", "param"),
    [
        ({"line_items[0][price]": "price_x", "line_items[0][quantity]": "1"}, "line_items"),
        ({"payment_intent_data[description]": "x"}, "payment_intent_data"),
        ({"currency": ""}, "currency"),
    ],
)
def test_setup_mode_refusals(http: httpx.Client, receiver: WebhookReceiver, form: dict[str, str], param: str) -> None:
    data = {"mode": "setup", "currency": "gbp", "success_url": receiver.base_url + "/success", **form}
    data = {key: value for key, value in data.items() if value != ""}
    response = http.post("/v1/checkout/sessions", data=data, auth=AUTH)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
