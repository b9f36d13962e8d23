"""Every object the emulator emits carries every top-level key of Stripe's published fixture
for that resource (tests/fixtures/stripe/fixtures3.json, MIT, see LICENSE-openapi there), and
matches the object interfaces of the API version it announces (2026-10-28.endive, from the
official typed definitions: see stripe_api_snapshot.py): every always-present member is there,
and nothing it returns is unknown to that version."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import stripe

from stripe_emulator.core.config import API_VERSION
from stripe_emulator.core.defaults import DEFAULTS
from stripe_emulator.testing import EmulatorServer
from tests.emulator.helpers import (
    AUTH,
    WebhookReceiver,
    destination_session,
    fixture_resources,
    onboarded_account,
    pay,
)
from tests.emulator.stripe_api_snapshot import SNAPSHOT

RESOURCE_TYPES = [
    "checkout.session", "payment_intent", "charge", "refund", "product", "price", "event", "item",
    "payment_method", "account", "deleted_account", "bank_account", "account_link", "login_link",
    "transfer", "transfer_reversal", "application_fee", "fee_refund", "balance",
    "balance_transaction", "payout", "dispute", "coupon", "promotion_code", "discount",
    "customer", "deleted_customer", "setup_intent",
    "subscription", "subscription_item", "invoice_payment", "billing_portal.session",
]
# In Stripe's fixture file but not the same object type name the emulator keys by.
NOT_IN_FIXTURES = {"payment_method"}
# Objects only ever nested in others (a Checkout Session's discount is {coupon, promotion_code}).
NEVER_EMITTED = {"discount"}


def stripe_api() -> dict[str, Any]:
    return json.loads(SNAPSHOT.read_text())


@pytest.fixture
def emitted(
    client: stripe.StripeClient,
    http: httpx.Client,
    make_session: Any,
    receiver: WebhookReceiver,
    emulator: EmulatorServer,
) -> dict[str, list[dict[str, Any]]]:
    """Exercise every resource and collect the raw JSON the API and webhooks return."""
    objects: dict[str, list[dict[str, Any]]] = {t: [] for t in RESOURCE_TYPES}

    def get(path: str, account: str | None = None) -> Any:
        headers = {"Stripe-Account": account} if account else {}
        response = http.get(path, auth=AUTH, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    def post(path: str, data: dict[str, Any], account: str | None = None) -> Any:
        headers = {"Stripe-Account": account} if account else {}
        response = http.post(path, data=data, auth=AUTH, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    product = post("/v1/products", {"name": "Room"})
    price = post("/v1/prices", {"product": product["id"], "currency": "gbp", "unit_amount": "900"})
    session = make_session(line_items=[{"price": price["id"], "quantity": 1}])
    declined = make_session()
    pay(http, declined.id, card="4000000000000002")
    result = pay(http, session.id)
    pay(http, make_session().id, card="4000000000000259")  # Stripe's test card for a disputed payment
    objects["refund"].append(
        post("/v1/refunds", {"payment_intent": result["payment_intent"]["id"], "amount": "100"})
    )
    account = onboarded_account(client)
    connected = destination_session(client, receiver, account.id)
    paid = pay(http, connected.id)
    post("/v1/refunds", {"charge": paid["charge"]["id"], "amount": "2500", "reverse_transfer": "true",
                         "refund_application_fee": "true"})
    objects["account_link"].append(
        post("/v1/account_links", {"account": account.id, "type": "account_onboarding",
                                   "refresh_url": "http://app.test/r", "return_url": "http://app.test/d"})
    )
    objects["login_link"].append(post(f"/v1/accounts/{account.id}/login_links", {}))
    coupon = post("/v1/coupons", {"percent_off": "25.5", "max_redemptions": "3"})
    code = post("/v1/promotion_codes", {"promotion[type]": "coupon", "promotion[coupon]": coupon["id"]})
    pay(http, make_session(discounts=[{"promotion_code": code["id"]}]).id)
    emulator.emulator.advance(4 * 24 * 3600)  # funds available, a payout made and paid
    objects["balance"] += [get("/v1/balance"), get("/v1/balance", account.id)]
    doomed = post("/v1/accounts", {"type": "express", "capabilities[transfers][requested]": "true"})
    deleted = http.delete(f"/v1/accounts/{doomed['id']}", auth=AUTH)
    objects["deleted_account"].append(deleted.json())
    fee_id = paid["charge"]["application_fee"]
    objects["fee_refund"] += get(f"/v1/application_fees/{fee_id}/refunds")["data"]
    transfer_id = paid["charge"]["transfer"]
    objects["transfer_reversal"] += get(f"/v1/transfers/{transfer_id}/reversals")["data"]
    objects["bank_account"] += account.to_dict()["external_accounts"]["data"]
    # Memberships: a subscription through Checkout, its invoice payment, a portal session, a renewal.
    monthly = post("/v1/prices", {"product": product["id"], "currency": "gbp", "unit_amount": "4000",
                                  "recurring[interval]": "month"})
    subscribing = client.v1.checkout.sessions.create(params={
        "mode": "subscription", "line_items": [{"price": monthly["id"], "quantity": 1}],
        "success_url": "http://app.test/s", "customer_email": "member@example.com"})
    pay(http, subscribing.id)
    subscription = get(f"/v1/subscriptions/{client.v1.checkout.sessions.retrieve(subscribing.id).subscription}")
    objects["subscription"].append(subscription)
    objects["subscription_item"] += subscription["items"]["data"]
    objects["billing_portal.session"].append(
        post("/v1/billing_portal/sessions", {"customer": subscription["customer"]}))
    emulator.emulator.advance_months(1)
    objects["invoice_payment"] += get("/v1/invoice_payments")["data"]
    lists = [
        "/v1/checkout/sessions?expand[]=data.line_items", "/v1/payment_intents", "/v1/charges",
        "/v1/events", "/v1/refunds", "/v1/products", "/v1/prices", "/v1/accounts", "/v1/transfers",
        "/v1/application_fees", "/v1/balance_transactions", "/v1/disputes", "/v1/coupons", "/v1/promotion_codes",
    ]
    for path in lists:
        for obj in get(path)["data"]:
            objects[obj["object"]].append(obj)
            if obj["object"] == "checkout.session":
                objects["item"].extend(obj["line_items"]["data"])
    for path in ("/v1/payouts", "/v1/balance_transactions", "/v1/charges", "/v1/events"):
        for obj in get(path, account.id)["data"]:
            objects[obj["object"]].append(obj)
    objects["payment_method"].append(get(f"/v1/payment_methods/{result['charge']['payment_method']}"))
    customer = post("/v1/customers", {"email": "ada@example.com", "name": "Ada"})
    objects["customer"] += [customer, post(f"/v1/customers/{customer['id']}", {"phone": "+44 20"})]
    objects["customer"] += get("/v1/customers")["data"]
    keeper = post("/v1/customers", {"email": "grace@example.com"})
    setup = post("/v1/checkout/sessions", {"mode": "setup", "currency": "gbp", "customer": keeper["id"],
                                           "success_url": receiver.base_url + "/success"})
    pay(http, setup["id"], card="4000002500003155")
    setup_intent_id = get("/v1/checkout/sessions/" + setup["id"])["setup_intent"]
    saved = get(f"/v1/setup_intents/{setup_intent_id}")
    objects["setup_intent"] += [saved, *get("/v1/setup_intents")["data"]]
    post("/v1/payment_intents", {"amount": "900", "currency": "gbp", "customer": keeper["id"], "confirm": "true",
                                 "payment_method": saved["payment_method"], "off_session": "true"})
    objects["deleted_customer"].append(http.delete(f"/v1/customers/{customer['id']}", auth=AUTH).json())
    receiver.wait_for("payout.paid")
    for event in receiver.events:
        objects["event"].append(event)
        data_object = event["data"]["object"]
        objects.setdefault(data_object["object"], []).append(data_object)
    return objects


def test_fixture_copy_covers_the_resource_types() -> None:
    assert set(RESOURCE_TYPES) - NOT_IN_FIXTURES <= set(fixture_resources())


def test_snapshot_is_of_the_announced_api_version() -> None:
    assert stripe_api()["api_version"] == API_VERSION
    assert set(RESOURCE_TYPES) == set(stripe_api()["objects"])


@pytest.mark.parametrize("resource", [r for r in RESOURCE_TYPES if r not in NEVER_EMITTED])
def test_every_fixture_key_and_version_member_is_present(
    resource: str, emitted: dict[str, list[dict[str, Any]]]
) -> None:
    expected = set(fixture_resources().get(resource, {}))
    members = stripe_api()["objects"][resource]
    always = {name for name, member in members.items() if not member["optional"]}
    objects = emitted[resource]
    assert objects, f"nothing of type {resource} was emitted"
    for obj in objects:
        keys = set(obj)
        assert not expected - keys, f"{resource} {obj.get('id')} lacks fixture keys {sorted(expected - keys)}"
        assert not always - keys, f"{resource} {obj.get('id')} lacks {API_VERSION} members {sorted(always - keys)}"
        assert not keys - set(members), f"{resource} {obj.get('id')} has keys {API_VERSION} lacks: {sorted(keys - set(members))}"


@pytest.mark.parametrize("resource", RESOURCE_TYPES)
def test_packaged_defaults_match_the_fixture_and_the_version(resource: str) -> None:
    defaults = set(DEFAULTS[resource])
    members = stripe_api()["objects"][resource]
    assert set(fixture_resources().get(resource, {})) <= defaults
    assert {name for name, member in members.items() if not member["optional"]} <= defaults
    assert defaults <= set(members)
