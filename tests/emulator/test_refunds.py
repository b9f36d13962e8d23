"""Refunds through the SDK: full and partial, by payment_intent or charge, with their events."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from tests.emulator.helpers import WebhookReceiver, pay


@pytest.fixture
def paid(make_session: Any, http: httpx.Client) -> dict[str, Any]:
    session = make_session()
    result = pay(http, session.id)
    assert result["status"] == "succeeded"
    return result


def test_partial_then_full_refund(client: stripe.StripeClient, paid: dict[str, Any], receiver: WebhookReceiver) -> None:
    pi_id = paid["payment_intent"]["id"]
    charge_id = paid["charge"]["id"]
    partial = client.v1.refunds.create(
        params={"payment_intent": pi_id, "amount": 2000, "reason": "requested_by_customer", "metadata": {"booking_id": "42"}},
        options={"idempotency_key": "refund-42-1"},
    )
    assert partial.object == "refund" and partial.id.startswith("re_")
    assert (partial.amount, partial.currency, partial.status) == (2000, "gbp", "succeeded")
    assert (partial.charge, partial.payment_intent, partial.reason) == (charge_id, pi_id, "requested_by_customer")
    assert partial.metadata.to_dict() == {"booking_id": "42"}
    charge = client.v1.charges.retrieve(charge_id)
    assert (charge.amount_refunded, charge.refunded) == (2000, False)

    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create(params={"payment_intent": pi_id, "amount": 3001})
    assert info.value.param == "amount" and info.value.http_status == 400
    assert "£30.01" in str(info.value) and "£30.00" in str(info.value)

    rest = client.v1.refunds.create(params={"charge": charge_id})
    assert rest.amount == 3000
    charge = client.v1.charges.retrieve(charge_id)
    assert (charge.amount_refunded, charge.refunded) == (5000, True)
    assert [r.id for r in charge.refunds.data] == [rest.id, partial.id]
    pi = client.v1.payment_intents.retrieve(pi_id)
    assert pi.status == "succeeded" and pi.amount_received == 5000  # refunds leave the PI alone

    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create(params={"payment_intent": pi_id})
    assert info.value.code == "charge_already_refunded"

    refunded_events = receiver.wait_for("charge.refunded", count=2)
    assert [e["data"]["object"]["amount_refunded"] for e in refunded_events] == [2000, 5000]
    assert [e["data"]["object"]["refunded"] for e in refunded_events] == [False, True]
    assert refunded_events[0]["data"]["previous_attributes"] == {"amount_refunded": 0, "refunded": False}
    created = receiver.wait_for("refund.created", count=2)
    assert created[0]["data"]["object"]["id"] == partial.id
    assert created[0]["request"]["idempotency_key"] == "refund-42-1"
    types = receiver.types()
    assert types.index("refund.created") < types.index("charge.refunded")


def test_retrieve_and_list_refunds(client: stripe.StripeClient, paid: dict[str, Any], http: httpx.Client) -> None:
    pi_id = paid["payment_intent"]["id"]
    first = client.v1.refunds.create(params={"payment_intent": pi_id, "amount": 100})
    second = client.v1.refunds.create(params={"payment_intent": pi_id, "amount": 200})
    assert client.v1.refunds.retrieve(first.id).amount == 100
    listed = client.v1.refunds.list(params={"payment_intent": pi_id})
    assert [r.id for r in listed.data] == [second.id, first.id]
    expanded = client.v1.refunds.retrieve(first.id, params={"expand": ["charge", "payment_intent"]})
    assert expanded.charge.amount_refunded == 300 and expanded.payment_intent.status == "succeeded"
    by_charge = http.get(f"/v1/charges/{paid['charge']['id']}/refunds", auth=("sk_test_1", ""))
    assert [r["id"] for r in by_charge.json()["data"]] == [second.id, first.id]


def test_refund_errors(client: stripe.StripeClient, make_session: Any, http: httpx.Client) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create(params={})
    assert info.value.param == "payment_intent"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create(params={"payment_intent": "pi_missing"})
    assert info.value.code == "resource_missing" and info.value.param == "payment_intent"
    session = make_session()
    failed = pay(http, session.id, card="4000000000000002")
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create(params={"payment_intent": failed["payment_intent"]["id"]})
    assert info.value.code == "charge_not_refundable"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create(params={"charge": failed["charge"]["id"]})
    assert info.value.code == "charge_not_refundable"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create(params={"payment_intent": "pi_x", "reason": "because"})
    assert info.value.param == "reason"
