"""Webhook delivery: signatures the SDK accepts, ordering, retries with backoff, the delivery log."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
import stripe

from stripe_emulator.testing import EmulatorServer
from tests.emulator.helpers import WEBHOOK_SECRET, WebhookReceiver, pay, wait_until


def test_payment_events_are_signed_and_ordered(make_session: Any, http: httpx.Client, receiver: WebhookReceiver) -> None:
    session = make_session()
    result = pay(http, session.id)
    receiver.wait_for("checkout.session.completed")
    assert receiver.types() == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]
    for request in receiver.requests:
        assert request["status"] == 200  # signature verified by stripe.Webhook.construct_event
        assert request["signature"].startswith("t=") and ",v1=" in request["signature"]
        assert request["headers"]["Content-Type"].startswith("application/json")
    charge, pi, completed = (receiver.events_of(t)[0] for t in ("charge.succeeded", "payment_intent.succeeded", "checkout.session.completed"))
    assert charge["data"]["object"]["paid"] is True and charge["data"]["object"]["captured"] is True
    assert charge["data"]["object"]["payment_method_details"]["card"]["last4"] == "4242"
    assert charge["data"]["object"]["payment_method_details"]["card"]["brand"] == "visa"
    assert pi["data"]["object"]["latest_charge"] == charge["data"]["object"]["id"]
    session_obj = completed["data"]["object"]
    assert session_obj["id"] == session.id and session_obj["payment_status"] == "paid"
    assert session_obj["payment_intent"] == result["payment_intent"]["id"]
    assert session_obj["metadata"] == {"booking_id": "42"}
    assert session_obj["client_reference_id"] == "booking-42"
    assert session_obj["customer_details"]["email"] == "guest@example.com"
    for event in receiver.events:
        assert event["object"] == "event" and event["livemode"] is False
        assert event["id"].startswith("evt_") and event["api_version"]
        assert set(event["request"]) == {"id", "idempotency_key"}


def test_a_receiver_with_another_secret_rejects_the_signature(
    client: stripe.StripeClient, make_session: Any, receiver: WebhookReceiver, emulator: EmulatorServer
) -> None:
    receiver.secret = "whsec_not_the_one"
    session = make_session()
    client.v1.checkout.sessions.expire(session.id)
    assert emulator.emulator is not None and emulator.emulator.wait_for_deliveries(10)
    assert receiver.events == []
    assert [r["status"] for r in receiver.requests] == [400] * 4
    assert "signature" in receiver.requests[0]["error"].lower()


def test_failed_deliveries_are_retried_until_success(
    client: stripe.StripeClient, make_session: Any, receiver: WebhookReceiver, emulator: EmulatorServer, http: httpx.Client
) -> None:
    receiver.fail_with.extend([500, 503])
    session = make_session()
    client.v1.checkout.sessions.expire(session.id)
    event = receiver.wait_for("checkout.session.expired")[0]
    assert [r["status"] for r in receiver.requests] == [500, 503, 200]
    # every attempt carried the same event, each signed afresh
    assert {json.loads(r["body"])["id"] for r in receiver.requests} == {event["id"]}
    idle = http.get("/_emulator/deliveries/wait", params={"timeout": 10}).json()
    assert idle == {"idle": True, "pending": 0}
    log = [d for d in http.get("/_emulator/deliveries").json() if d["event_id"] == event["id"]]
    assert [d["attempt"] for d in log] == [1, 2, 3]
    assert [d["status_code"] for d in log] == [500, 503, 200]
    assert [d["succeeded"] for d in log] == [False, False, True]
    assert [d["final"] for d in log] == [False, False, True]
    assert all(d["duration_ms"] >= 0 and d["url"] == receiver.url for d in log)
    assert http.get("/_emulator/deliveries", params={"event_id": event["id"]}).json() == log


def test_retries_give_up_after_the_schedule(
    client: stripe.StripeClient, make_session: Any, receiver: WebhookReceiver, emulator: EmulatorServer
) -> None:
    receiver.fail_with.extend([500] * 10)
    session = make_session()
    client.v1.checkout.sessions.expire(session.id)
    assert emulator.emulator is not None and emulator.emulator.wait_for_deliveries(10)
    attempts = emulator.emulator.deliveries()
    assert [d["attempt"] for d in attempts] == [1, 2, 3, 4]  # 1 + len(FAST_RETRIES)
    assert attempts[-1]["final"] is True and attempts[-1]["succeeded"] is False


def test_timeouts_and_connection_errors_are_retried(make_session: Any) -> None:
    slow = WebhookReceiver().start()
    slow.delays.append(1.0)
    try:
        with EmulatorServer(
            webhook_url=slow.url, webhook_secret=WEBHOOK_SECRET, retry_schedule=(0.05,), webhook_timeout=0.2
        ) as server:
            client = server.client()
            session = client.v1.checkout.sessions.create(
                params={"mode": "payment", "success_url": slow.base_url, "line_items": [{"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 100, "product_data": {"name": "x"}}}]}
            )
            client.v1.checkout.sessions.expire(session.id)
            assert server.emulator is not None and server.emulator.wait_for_deliveries(10)
            attempts = server.emulator.deliveries()
            assert attempts[0]["status_code"] is None and "timeout" in attempts[0]["error"]
            assert attempts[1]["status_code"] == 200 and attempts[1]["succeeded"]
    finally:
        slow.stop()
    with EmulatorServer(webhook_url="http://127.0.0.1:9/nothing-listens", retry_schedule=(0.01,)) as server:
        assert server.emulator is not None
        server.emulator.create_product({"name": "x"})
        assert server.emulator.wait_for_deliveries(10)
        attempts = server.emulator.deliveries()
        assert len(attempts) == 2 and all(a["error"] and not a["succeeded"] for a in attempts)


def test_a_slow_session_does_not_hold_up_another(
    client: stripe.StripeClient, make_session: Any, receiver: WebhookReceiver
) -> None:
    receiver.delays.append(1.0)  # the first delivery hangs for a second
    first = make_session()
    client.v1.checkout.sessions.expire(first.id)
    wait_until(lambda: receiver.started >= 1, message="first delivery to begin")
    second = make_session()
    client.v1.checkout.sessions.expire(second.id)
    delivered = receiver.wait_for("checkout.session.expired")
    assert delivered[0]["data"]["object"]["id"] == second.id  # while the first still hangs
    delivered = receiver.wait_for("checkout.session.expired", count=2)
    assert delivered[1]["data"]["object"]["id"] == first.id


def test_attempts_are_logged_without_secrets(
    client: stripe.StripeClient, make_session: Any, receiver: WebhookReceiver, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="stripe_emulator")
    receiver.fail_with.append(500)
    session = make_session()
    client.v1.checkout.sessions.expire(session.id)
    receiver.wait_for("checkout.session.expired")
    assert emulator.emulator is not None and emulator.emulator.wait_for_deliveries(10)
    lines = [r.getMessage() for r in caplog.records if r.name == "stripe_emulator.webhooks"]
    assert any("attempt=1/4 status=500" in line for line in lines), lines
    assert any("attempt=2/4 status=200" in line for line in lines), lines
    assert all("duration_ms=" in line for line in lines)
    assert not any(WEBHOOK_SECRET in r.getMessage() for r in caplog.records)


def test_without_webhook_url_events_are_recorded_not_delivered() -> None:
    with EmulatorServer() as server:
        assert server.emulator is not None
        client = server.client()
        session = client.v1.checkout.sessions.create(
            params={"mode": "payment", "success_url": "http://127.0.0.1/s", "line_items": [{"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 100, "product_data": {"name": "x"}}}]}
        )
        client.v1.checkout.sessions.expire(session.id)
        events = client.v1.events.list().data
        assert [e.type for e in events] == ["checkout.session.expired"]
        assert events[0].pending_webhooks == 0
        assert server.emulator.deliveries() == []
        response = httpx.post(f"{server.url}/_emulator/events/{events[0].id}/resend")
        assert response.status_code == 409


def test_resend_delivers_again(client: stripe.StripeClient, make_session: Any, receiver: WebhookReceiver, http: httpx.Client) -> None:
    session = make_session()
    client.v1.checkout.sessions.expire(session.id)
    event = receiver.wait_for("checkout.session.expired")[0]
    response = http.post(f"/_emulator/events/{event['id']}/resend")
    assert response.json() == {"ok": True, "event_id": event["id"], "queued": True}
    again = receiver.wait_for("checkout.session.expired", count=2)
    assert again[1]["id"] == event["id"]
    assert http.post("/_emulator/events/evt_nope/resend").status_code == 404
