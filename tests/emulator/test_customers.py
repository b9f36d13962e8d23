"""Customers: create, retrieve, update, list by email, delete (and its tombstone), a default
payment method that must be attached, and Stripe's refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from tests.emulator.helpers import AUTH, WebhookReceiver, pay


def test_create_retrieve_update_list_delete(client: stripe.StripeClient, receiver: WebhookReceiver) -> None:
    ada = client.v1.customers.create(
        params={"email": "ada@example.com", "name": "Ada", "metadata": {"booking": "7"}},
        options={"idempotency_key": "customer-booking-7"},
    )
    assert ada.id.startswith("cus_") and (ada.email, ada.name, ada.metadata["booking"]) == (
        "ada@example.com", "Ada", "7")
    again = client.v1.customers.create(
        params={"email": "ada@example.com", "name": "Ada", "metadata": {"booking": "7"}},
        options={"idempotency_key": "customer-booking-7"},
    )
    assert again.id == ada.id  # the retry made no second customer
    client.v1.customers.create(params={"email": "bob@example.com"})

    updated = client.v1.customers.update(ada.id, params={"phone": "+44 20 7946 0000", "name": ""})
    assert (updated.phone, updated.name) == ("+44 20 7946 0000", None)
    assert client.v1.customers.retrieve(ada.id).phone == "+44 20 7946 0000"
    event = receiver.wait_for("customer.updated")[0]
    assert event["data"]["previous_attributes"] == {"phone": None, "name": "Ada"}

    assert [c.id for c in client.v1.customers.list(params={"email": "ada@example.com"}).data] == [ada.id]
    assert len(client.v1.customers.list().data) == 2

    deleted = client.v1.customers.delete(ada.id)
    assert (deleted.id, deleted.deleted) == (ada.id, True)
    assert client.v1.customers.retrieve(ada.id).deleted is True
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.customers.update(ada.id, params={"name": "Ada"})
    assert refused.value.code == "resource_missing"
    assert [c.email for c in client.v1.customers.list().data] == ["bob@example.com"]
    assert receiver.wait_for("customer.deleted")[0]["data"]["object"]["id"] == ada.id
    assert receiver.wait_for("customer.created", count=2)


def test_default_payment_method_must_be_attached(
    client: stripe.StripeClient, http: httpx.Client, make_session: Any
) -> None:
    card = pay(http, make_session().id)["charge"]["payment_method"]
    other = pay(http, make_session().id)["charge"]["payment_method"]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.customers.create(params={"invoice_settings": {"default_payment_method": card}})
    assert (refused.value.code, refused.value.param) == (
        "resource_missing", "invoice_settings[default_payment_method]")

    customer = client.v1.customers.create(
        params={"payment_method": card, "invoice_settings": {"default_payment_method": card}}
    )
    assert customer.invoice_settings.default_payment_method == card
    listed = http.get(f"/v1/customers/{customer.id}/payment_methods", auth=AUTH).json()
    assert [pm["id"] for pm in listed["data"]] == [card]
    assert listed["data"][0]["customer"] == customer.id

    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.customers.update(customer.id, params={"invoice_settings": {"default_payment_method": other}})
    assert refused.value.code == "resource_missing" and "must be attached" in str(refused.value)
    assert client.v1.customers.retrieve(customer.id).invoice_settings.default_payment_method == card

    with pytest.raises(stripe.InvalidRequestError) as taken:
        client.v1.customers.create(params={"payment_method": card})
    assert taken.value.code == "payment_method_unexpected_state"


@pytest.mark.parametrize(
    ("form", "code", "param"),
    [
        ({"email": "not-an-email"}, "email_invalid", "email"),
        ({"source": "tok_visa"}, "parameter_unknown", "source"),
        ({"payment_method": "pm_missing"}, "resource_missing", "payment_method"),
        ({"invoice_settings[rendering_options][template]": "x"}, "parameter_unknown",
         "invoice_settings[rendering_options]"),
    ],
)
def test_refusals(http: httpx.Client, form: dict[str, str], code: str, param: str) -> None:
    response = http.post("/v1/customers", data=form, auth=AUTH)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["param"]) == (code, param)
    assert http.get("/v1/customers", auth=AUTH).json()["data"] == []


def test_unknown_customer(http: httpx.Client) -> None:
    response = http.get("/v1/customers/cus_nope", auth=AUTH)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_missing"
    assert response.json()["error"]["message"] == "No such customer: 'cus_nope'"
