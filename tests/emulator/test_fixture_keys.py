"""Every object the emulator emits carries every top-level key of Stripe's published fixture
for that resource (tests/fixtures/stripe/fixtures3.json, MIT, see LICENSE-openapi there)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from stripe_emulator.defaults import DEFAULTS
from tests.emulator.helpers import WebhookReceiver, fixture_resources, pay

RESOURCE_TYPES = ["checkout.session", "payment_intent", "charge", "refund", "product", "price", "event", "item"]


@pytest.fixture
def emitted(http: httpx.Client, make_session: Any, receiver: WebhookReceiver) -> dict[str, list[dict[str, Any]]]:
    """Exercise every resource and collect the raw JSON the API and webhooks return."""
    auth = ("sk_test_keys", "")
    product = http.post("/v1/products", data={"name": "Room"}, auth=auth).json()
    price = http.post("/v1/prices", data={"product": product["id"], "currency": "gbp", "unit_amount": "900"}, auth=auth).json()
    session = make_session(line_items=[{"price": price["id"], "quantity": 1}])
    declined = make_session()
    pay(http, declined.id, card="4000000000000002")
    result = pay(http, session.id)
    refund = http.post("/v1/refunds", data={"payment_intent": result["payment_intent"]["id"], "amount": "100"}, auth=auth).json()
    receiver.wait_for("charge.refunded")
    objects: dict[str, list[dict[str, Any]]] = {t: [] for t in RESOURCE_TYPES}
    objects["product"].append(product)
    objects["price"].append(price)
    objects["refund"].append(refund)
    for path in ("/v1/checkout/sessions?expand[]=data.line_items", "/v1/payment_intents", "/v1/charges", "/v1/events", "/v1/refunds", "/v1/products", "/v1/prices"):
        for obj in http.get(path, auth=auth).json()["data"]:
            objects[obj["object"]].append(obj)
            if obj["object"] == "checkout.session":
                objects["item"].extend(obj["line_items"]["data"])
    for event in receiver.events:
        objects["event"].append(event)
        data_object = event["data"]["object"]
        objects.setdefault(data_object["object"], []).append(data_object)
    return objects


def test_fixture_copy_covers_the_resource_types() -> None:
    assert set(RESOURCE_TYPES) <= set(fixture_resources())


@pytest.mark.parametrize("resource", RESOURCE_TYPES)
def test_every_fixture_key_is_present(resource: str, emitted: dict[str, list[dict[str, Any]]]) -> None:
    expected = set(fixture_resources()[resource])
    objects = emitted[resource]
    assert objects, f"nothing of type {resource} was emitted"
    for obj in objects:
        missing = expected - set(obj)
        assert not missing, f"{resource} {obj.get('id')} lacks {sorted(missing)}"
        assert obj["object"] == resource


@pytest.mark.parametrize("resource", RESOURCE_TYPES)
def test_packaged_defaults_match_the_fixture_keys(resource: str) -> None:
    assert set(fixture_resources()[resource]) <= set(DEFAULTS[resource])
