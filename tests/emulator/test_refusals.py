"""The emulator refuses what it does not implement, with Stripe's errors: one test per refused
parameter family, plus the rules every error follows (codes from Stripe's list only, no null
keys, idempotent replay of failed requests)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import stripe

from stripe_emulator.api import all_endpoints
from stripe_emulator.core import errors
from stripe_emulator.resources import checkout
from tests.emulator.helpers import AUTH, WebhookReceiver, pay
from tests.emulator.stripe_api_snapshot import SNAPSHOT

STRIPE_API = json.loads(SNAPSHOT.read_text())


def session_form(receiver: WebhookReceiver, **extra: str) -> dict[str, str]:
    return {
        "mode": "payment",
        "success_url": receiver.base_url + "/success",
        "line_items[0][quantity]": "1",
        "line_items[0][price_data][currency]": "gbp",
        "line_items[0][price_data][unit_amount]": "5000",
        "line_items[0][price_data][product_data][name]": "Room",
        **extra,
    }


def create_session(http: httpx.Client, form: dict[str, str], **headers: str) -> httpx.Response:
    return http.post("/v1/checkout/sessions", data=form, auth=AUTH, headers=headers)


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    return response.json()["error"]


# --- the accepted set is built from what is implemented --------------------------------------


@pytest.mark.parametrize("endpoint", all_endpoints(), ids=lambda e: f"{e.method} {e.path}")
def test_every_accepted_parameter_is_a_stripe_parameter(endpoint: Any) -> None:
    """Nothing invented: each parameter an endpoint applies exists in Stripe's API version."""
    tree = STRIPE_API["params"][f"{endpoint.method} {endpoint.path}"]
    for chain, _ in endpoint.spec.walk():
        node: dict[str, Any] | None = {"fields": tree}
        for key in chain:
            node = (node or {}).get("fields", {}).get(key)
        assert node is not None, f"{endpoint.method} {endpoint.path} accepts {chain}, unknown to Stripe"


def test_every_checkout_parameter_not_applied_is_refused(http: httpx.Client, receiver: WebhookReceiver) -> None:
    """Stripe's Checkout Session parameters minus the ones the handler applies: all refused."""
    stripe_params = set(STRIPE_API["params"]["POST /v1/checkout/sessions"])
    applied = set(checkout.CREATE.fields)
    refused = sorted(stripe_params - applied)
    # + invoice_creation, tax_id_collection, custom_fields; + discounts, allow_promotion_codes; + setup_intent_data;
    # + subscription_data
    assert len(stripe_params) == 51 and len(applied) == 27
    assert {"automatic_tax", "shipping_options"} <= set(refused)
    for name in refused:
        error = error_of(create_session(http, session_form(receiver, **{name: "x"})))
        assert (error["type"], error["code"], error["param"]) == (
            "invalid_request_error", "parameter_unknown", name
        ), name
        assert error["message"] == f"Received unknown parameter: {name}"


# --- one test per refused family --------------------------------------------------------------


def test_unknown_top_level_parameter(client: stripe.StripeClient, make_session: Any) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        make_session(automatic_tax={"enabled": True})
    assert (info.value.code, info.value.param, info.value.http_status) == ("parameter_unknown", "automatic_tax", 400)


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"payment_intent_data": {"on_behalf_of": "acct_x"}}, "payment_intent_data[on_behalf_of]"),
        ({"payment_intent_data": {"transfer_data": {"destination": "acct_x", "amount": 5}}},
         "payment_intent_data[transfer_data][amount]"),
        ({"line_items": [{"quantity": 1, "tax_rates": ["txr_1"],
                          "price_data": {"currency": "gbp", "unit_amount": 5, "product_data": {"name": "x"}}}]},
         "line_items[0][tax_rates]"),
    ],
)
def test_unknown_nested_parameter(make_session: Any, overrides: dict[str, Any], param: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        make_session(**overrides)
    assert (info.value.code, info.value.param) == ("parameter_unknown", param)
    assert str(info.value.user_message) == f"Received unknown parameter: {param}"


@pytest.mark.parametrize(
    ("extra", "param", "code", "message"),
    [
        ({"line_items[0][quantity]": "two"}, "line_items[0][quantity]", "parameter_invalid_integer", "Invalid integer: two"),
        ({"payment_intent_data[application_fee_amount]": "ten"}, "payment_intent_data[application_fee_amount]",
         "parameter_invalid_integer", "Invalid integer: ten"),
        ({"payment_intent_data": "yes"}, "payment_intent_data", None, "Invalid object"),
        ({"metadata[note][deep]": "x"}, "metadata[note]", None, "Invalid string"),
        ({"ui_mode": "embedded_page"}, "ui_mode", None, None),  # a real value the emulator does not model
        ({"locale": "xx"}, "locale", None, "Invalid locale: must be one of"),
    ],
)
def test_wrong_type_or_value(
    http: httpx.Client, receiver: WebhookReceiver, extra: dict[str, str], param: str, code: str | None, message: str | None
) -> None:
    error = error_of(create_session(http, session_form(receiver, **extra)))
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert error.get("code") == code
    if message:
        assert error["message"].startswith(message)


def test_wrong_boolean_on_refunds(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create(params={"payment_intent": "pi_1", "reverse_transfer": "maybe"})  # type: ignore[typeddict-item]
    assert info.value.param == "reverse_transfer" and info.value.code is None
    assert "Invalid boolean: maybe" in str(info.value)


@pytest.mark.parametrize("param", ["success_url", "customer_email", "line_items[0][price_data][currency]"])
def test_empty_value(http: httpx.Client, receiver: WebhookReceiver, param: str) -> None:
    error = error_of(create_session(http, session_form(receiver, **{param: ""})))
    assert (error["code"], error["param"]) == ("parameter_invalid_empty", param)
    assert f"You passed an empty string for '{param}'" in error["message"]


def test_the_accepted_set_is_what_the_endpoint_applies(client: stripe.StripeClient, make_session: Any, http: httpx.Client) -> None:
    """Accepted parameters are not ignored: each shows up in the objects."""
    session = make_session(
        submit_type="book",
        locale="fr",
        integration_identifier="booking-app",
        allowed_payment_method_types=["card"],
        payment_intent_data={"description": "Ada's session", "statement_descriptor": "BOOKING",
                             "transfer_group": "booking-42", "metadata": {"booking_id": "42"}},
    )
    assert (session.submit_type, session.locale, session.integration_identifier) == ("book", "fr", "booking-app")
    assert session.allowed_payment_method_types == ["card"]
    page = http.get(f"/c/pay/{session.id}")
    assert '<html lang="fr">' in page.text and ">Book</button>" in page.text
    result = pay(http, session.id)
    pi = client.v1.payment_intents.retrieve(result["payment_intent"]["id"])
    assert (pi.description, pi.statement_descriptor, pi.transfer_group) == ("Ada's session", "BOOKING", "booking-42")
    assert pi.allowed_payment_method_types == ["card"]


# --- rules every error follows ---------------------------------------------------------------


def test_error_codes_come_from_stripes_list() -> None:
    assert {"parameter_unknown", "parameter_invalid_integer", "parameter_invalid_empty",
            "parameter_missing", "resource_missing", "idempotency_key_in_use"} <= errors.STRIPE_ERROR_CODES
    assert "parameter_invalid" not in errors.STRIPE_ERROR_CODES
    with pytest.raises(ValueError, match="not one of Stripe's error codes"):
        errors.StripeError("x", code="parameter_invalid")


def test_error_bodies_leave_out_null_keys(http: httpx.Client, receiver: WebhookReceiver) -> None:
    responses = [
        create_session(http, session_form(receiver, ui_mode="embedded_page")),  # no code
        create_session(http, session_form(receiver, bogus="1")),  # a code
        http.get("/v1/refunds/re_missing", auth=AUTH),
        http.get("/v1/nowhere", auth=AUTH),
        http.get("/v1/refunds"),  # no API key
    ]
    for response in responses:
        error = response.json()["error"]
        assert None not in error.values(), error
        assert ("code" in error) == ("doc_url" in error)
    assert "code" not in responses[0].json()["error"] and "param" not in responses[3].json()["error"]


def test_an_idempotent_retry_replays_a_failed_request(client: stripe.StripeClient, http: httpx.Client, make_session: Any) -> None:
    session = make_session()
    pi = pay(http, session.id)["payment_intent"]["id"]
    client.v1.refunds.create(params={"payment_intent": pi})
    headers = {"Idempotency-Key": "refund-again"}
    first = http.post("/v1/refunds", data={"payment_intent": pi}, auth=AUTH, headers=headers)
    assert first.status_code == 400 and first.json()["error"]["code"] == "charge_already_refunded"
    again = http.post("/v1/refunds", data={"payment_intent": pi}, auth=AUTH, headers=headers)
    assert (again.status_code, again.json()) == (400, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Request-Id"] == first.headers["Request-Id"]
    with pytest.raises(stripe.InvalidRequestError) as info:  # the SDK sees the same error
        client.v1.refunds.create(params={"payment_intent": pi}, options={"idempotency_key": "refund-again"})
    assert info.value.code == "charge_already_refunded"


def test_a_request_that_fails_validation_is_not_saved(http: httpx.Client, receiver: WebhookReceiver) -> None:
    """As on Stripe: nothing is saved unless the endpoint began executing."""
    headers = {"Idempotency-Key": "fix-and-retry"}
    refused = create_session(http, session_form(receiver, discounts="x"), **headers)
    assert refused.status_code == 400 and "Idempotent-Replayed" not in refused.headers
    fixed = create_session(http, session_form(receiver), **headers)
    assert fixed.status_code == 200 and "Idempotent-Replayed" not in fixed.headers
    replay = create_session(http, session_form(receiver), **headers)
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json()["id"] == fixed.json()["id"]
