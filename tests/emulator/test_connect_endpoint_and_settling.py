"""The emulator's Connect side as Stripe documents it: a Connect endpoint with its own secret gets the
events of connected accounts; refunds of Stripe's test cards stay pending, or fail later, on the
emulator's clock; payouts to the failing test bank account fail; `balance.available` and
`capability.updated` are sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from stripe_emulator.core.cards import REFUND_SETTLE_SECONDS
from stripe_emulator.testing import EmulatorServer
from tests.emulator.conftest import FAST_RETRIES
from tests.emulator.helpers import (
    FAILING_BANK,
    WEBHOOK_SECRET,
    WebhookReceiver,
    destination_session,
    onboarded_account,
    pay,
    wait_until,
)

CONNECT_SECRET = "whsec_test_connect_endpoint"


@pytest.fixture
def connect_receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver(CONNECT_SECRET).start()
    yield hook
    hook.stop()


@pytest.fixture
def two_endpoints(receiver: WebhookReceiver, connect_receiver: WebhookReceiver) -> Iterator[EmulatorServer]:
    with EmulatorServer(
        webhook_url=receiver.url,
        webhook_secret=WEBHOOK_SECRET,
        connect_webhook_url=connect_receiver.url,
        connect_webhook_secret=CONNECT_SECRET,
        retry_schedule=FAST_RETRIES,
        webhook_timeout=2.0,
    ) as server:
        yield server


def test_connect_events_go_to_the_connect_endpoint_signed_with_its_secret(
    two_endpoints: EmulatorServer, receiver: WebhookReceiver, connect_receiver: WebhookReceiver
) -> None:
    client = two_endpoints.client()
    account = onboarded_account(client)
    updated = connect_receiver.wait_for("account.updated")
    capabilities = connect_receiver.wait_for("capability.updated", count=2)
    assert {event["account"] for event in updated + capabilities} == {account.id}
    assert {event["data"]["object"]["id"] for event in capabilities} == {"card_payments", "transfers"}
    assert all(event["data"]["object"]["status"] == "active" for event in capabilities)
    # Each was verified with the Connect secret (the receiver refuses anything else)...
    assert all(request["status"] == 200 for request in connect_receiver.requests)
    # ...and none went to the platform's endpoint.
    with httpx.Client(base_url=two_endpoints.url) as http:
        session = destination_session(client, receiver, account.id)
        pay(http, session.id)
    receiver.wait_for("checkout.session.completed")
    assert two_endpoints.emulator.wait_for_deliveries()
    assert not [event for event in receiver.events if event.get("account")]
    assert "account.updated" not in receiver.types()
    # The platform's secret does not verify a Connect delivery.
    body = connect_receiver.requests[0]["body"]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, connect_receiver.requests[0]["signature"], WEBHOOK_SECRET)


def test_balance_available_is_sent_when_funds_become_available(
    two_endpoints: EmulatorServer, receiver: WebhookReceiver, connect_receiver: WebhookReceiver
) -> None:
    client = two_endpoints.client()
    account = onboarded_account(client)
    with httpx.Client(base_url=two_endpoints.url) as http:
        pay(http, destination_session(client, receiver, account.id).id)
        assert "balance.available" not in receiver.types()
        http.post("/_emulator/clock/advance", json={"seconds": 8 * 24 * 3600}).raise_for_status()
    platform = receiver.wait_for("balance.available")[0]
    connected = connect_receiver.wait_for("balance.available")[0]
    assert "account" not in platform and platform["data"]["object"]["available"][0]["amount"] > 0
    assert connected["account"] == account.id


def refund_of(client: stripe.StripeClient, http: httpx.Client, make_session: Any, card: str) -> Any:
    result = pay(http, make_session().id, card=card)
    return client.v1.refunds.create(params={"payment_intent": result["payment_intent"]["id"]})


def test_a_pending_refund_succeeds_on_the_clock(
    client: stripe.StripeClient, http: httpx.Client, make_session: Any, receiver: WebhookReceiver
) -> None:
    refund = refund_of(client, http, make_session, "4000000000007726")
    assert refund.status == "pending"
    http.post("/_emulator/clock/advance", json={"seconds": REFUND_SETTLE_SECONDS - 60}).raise_for_status()
    assert client.v1.refunds.retrieve(refund.id).status == "pending"
    http.post("/_emulator/clock/advance", json={"seconds": 120}).raise_for_status()
    assert client.v1.refunds.retrieve(refund.id).status == "succeeded"
    updated = receiver.wait_for("charge.refund.updated")[0]
    assert updated["data"]["object"]["status"] == "succeeded"
    assert updated["data"]["previous_attributes"] == {"status": "pending"}
    assert receiver.wait_for("refund.updated")[0]["data"]["object"]["id"] == refund.id


def test_a_refund_of_the_failing_card_succeeds_then_fails(
    client: stripe.StripeClient, http: httpx.Client, make_session: Any, receiver: WebhookReceiver
) -> None:
    refund = refund_of(client, http, make_session, "4000000000005126")
    assert refund.status == "succeeded"
    assert client.v1.charges.retrieve(refund.charge).amount_refunded == 5000
    http.post("/_emulator/clock/advance", json={"seconds": REFUND_SETTLE_SECONDS + 1}).raise_for_status()
    failed = client.v1.refunds.retrieve(refund.id)
    assert failed.status == "failed" and failed.failure_reason == "expired_or_canceled_card"
    assert client.v1.charges.retrieve(refund.charge).amount_refunded == 0
    assert receiver.wait_for("refund.failed")[0]["data"]["object"]["id"] == refund.id
    assert receiver.wait_for("charge.refund.updated")[0]["data"]["object"]["status"] == "failed"
    receipt = httpx.get(client.v1.charges.retrieve(refund.charge).receipt_url).text
    assert "Refund" in receipt and "failed" in receipt


def test_an_ordinary_card_refund_succeeds_at_once_and_shows_on_the_receipt(
    client: stripe.StripeClient, http: httpx.Client, make_session: Any, receiver: WebhookReceiver
) -> None:
    refund = refund_of(client, http, make_session, "4242424242424242")
    assert refund.status == "succeeded"
    http.post("/_emulator/clock/advance", json={"seconds": REFUND_SETTLE_SECONDS + 1}).raise_for_status()
    assert client.v1.refunds.retrieve(refund.id).status == "succeeded"
    assert "charge.refund.updated" not in receiver.types()
    receipt = httpx.get(client.v1.charges.retrieve(refund.charge).receipt_url).text
    assert "Refund" in receipt and "succeeded" in receipt


def test_a_payout_is_pending_then_paid_or_failed_for_the_failing_bank(
    two_endpoints: EmulatorServer, receiver: WebhookReceiver, connect_receiver: WebhookReceiver
) -> None:
    client = two_endpoints.client()
    good = onboarded_account(client, email="good@example.com")
    bad = onboarded_account(client, bank_account=FAILING_BANK, email="bad@example.com")
    with httpx.Client(base_url=two_endpoints.url) as http:
        for account in (good, bad):
            pay(http, destination_session(client, receiver, account.id).id)
        http.post("/_emulator/clock/advance", json={"seconds": 3 * 24 * 3600}).raise_for_status()
        payouts = {
            account.id: client.v1.payouts.list(options={"stripe_account": account.id}).data
            for account in (good, bad)
        }
        assert payouts[good.id] and payouts[bad.id]
        created = connect_receiver.wait_for("payout.created", count=2)
        assert {event["data"]["object"]["status"] for event in created} == {"in_transit"}
        assert "payout.paid" not in connect_receiver.types()
        http.post("/_emulator/clock/advance", json={"seconds": 2 * 24 * 3600}).raise_for_status()
    paid = connect_receiver.wait_for("payout.paid")[0]
    failed = connect_receiver.wait_for("payout.failed")[0]
    assert paid["account"] == good.id and failed["account"] == bad.id
    assert failed["data"]["object"]["failure_code"] == "no_account"
    wait_until(lambda: not two_endpoints.emulator.pending_deliveries())
    assert not [event for event in receiver.events if event["type"].startswith("payout.")]
