"""Session expiry on the emulator clock, and the test-mode control API."""

from __future__ import annotations

import time
from typing import Any

import httpx
import stripe

from stripe_emulator.testing import EmulatorServer
from tests.emulator.helpers import WebhookReceiver, pay, wait_until


def test_advancing_the_clock_expires_sessions(
    client: stripe.StripeClient, make_session: Any, http: httpx.Client, receiver: WebhookReceiver
) -> None:
    session = make_session(expires_at=int(time.time()) + 3600)
    keeps = make_session()  # default: 24 h
    before = http.get("/_emulator/clock").json()
    assert before["offset"] == 0
    response = http.post("/_emulator/clock/advance", json={"seconds": 3601})
    assert response.status_code == 200
    body = response.json()
    assert body["expired_sessions"] == [session.id]
    assert body["offset"] == 3601 and body["now"] >= before["now"] + 3601
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    assert client.v1.checkout.sessions.retrieve(keeps.id).status == "open"
    event = receiver.wait_for("checkout.session.expired")[0]
    assert event["data"]["object"]["id"] == session.id
    assert event["created"] >= session.expires_at
    # form-encoded works too
    http.post("/_emulator/clock/advance", data={"seconds": str(24 * 3600)})
    assert client.v1.checkout.sessions.retrieve(keeps.id).status == "expired"
    assert http.post("/_emulator/clock/advance", json={"seconds": -5}).status_code == 400
    assert http.post("/_emulator/clock/advance", json={}).status_code == 400


def test_expiry_cancels_a_payment_intent_left_by_a_failed_attempt(
    client: stripe.StripeClient, make_session: Any, http: httpx.Client, receiver: WebhookReceiver
) -> None:
    session = make_session()
    failed = pay(http, session.id, card="4000000000000002")
    http.post("/_emulator/clock/advance", json={"seconds": 25 * 3600})
    pi = client.v1.payment_intents.retrieve(failed["payment_intent"]["id"])
    assert pi.status == "canceled" and pi.cancellation_reason == "abandoned"
    receiver.wait_for("checkout.session.expired")
    assert receiver.types().index("payment_intent.canceled") < receiver.types().index("checkout.session.expired")


def test_background_expiry_loop(receiver: WebhookReceiver) -> None:
    with EmulatorServer(webhook_url=receiver.url, webhook_secret=receiver.secret, expiry_interval=0.05) as server:
        assert server.emulator is not None
        client = server.client()
        session = client.v1.checkout.sessions.create(
            params={"mode": "payment", "success_url": receiver.base_url, "line_items": [{"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 100, "product_data": {"name": "x"}}}]}
        )
        server.emulator.clock.advance(24 * 3600 + 1)  # no immediate check: the loop must notice
        receiver.wait_for("checkout.session.expired")
        assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"


def test_complete_endpoint_outcomes(client: stripe.StripeClient, make_session: Any, http: httpx.Client) -> None:
    session = make_session()
    declined = pay(http, session.id, card="4000 0000 0000 0002")
    assert declined["ok"] is False and declined["status"] == "failed"
    assert declined["error"]["code"] == "card_declined"
    assert declined["error"]["decline_code"] == "generic_decline"
    assert declined["error"]["message"] == "Your card was declined."
    pi = client.v1.payment_intents.retrieve(declined["payment_intent"]["id"])
    assert pi.status == "requires_payment_method"
    assert pi.last_payment_error.code == "card_declined"
    assert pi.last_payment_error.decline_code == "generic_decline"
    assert client.v1.charges.retrieve(declined["charge"]["id"]).status == "failed"

    poor = pay(http, session.id, card="4000000000009995")
    assert poor["error"]["decline_code"] == "insufficient_funds"
    assert poor["error"]["message"] == "Your card has insufficient funds."
    assert poor["payment_intent"]["id"] == pi.id  # one PaymentIntent per session

    invalid = pay(http, session.id, card="4242 4242 4242 4241")
    assert invalid["status"] == "invalid" and invalid["error"]["code"] == "invalid_number"
    assert invalid["field_errors"] == {"number": "Your card number is invalid."}

    challenge = pay(http, session.id, card="4000002760003184")
    assert challenge["status"] == "requires_action" and challenge["challenge_id"]
    assert challenge["payment_intent"]["status"] == "requires_action"
    assert challenge["next_url"].endswith(f"/authenticate/{challenge['challenge_id']}")
    failed_3ds = pay(http, session.id, card="4000002760003184", three_d_secure="fail")
    assert failed_3ds["status"] == "failed"
    assert failed_3ds["error"]["code"] == "payment_intent_authentication_failure"
    ok_3ds = pay(http, session.id, card="4000002760003184", three_d_secure="complete")
    assert ok_3ds["ok"] is True and ok_3ds["status"] == "succeeded"
    assert ok_3ds["charge"]["payment_method_details"]["card"]["three_d_secure"]["result"] == "authenticated"
    assert ok_3ds["next_url"].endswith(f"/success?session_id={session.id}")
    paid = client.v1.checkout.sessions.retrieve(session.id)
    assert (paid.status, paid.payment_status, paid.payment_intent) == ("complete", "paid", pi.id)

    again = http.post(f"/_emulator/checkout/sessions/{session.id}/complete", json={"card": "4242424242424242"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "checkout_session_complete"
    missing = http.post("/_emulator/checkout/sessions/cs_test_nope/complete", json={})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "resource_missing"


def test_3ds_then_decline_card(make_session: Any, http: httpx.Client) -> None:
    session = make_session()
    result = pay(http, session.id, card="4000008260003178", three_d_secure="complete")
    assert result["status"] == "failed" and result["error"]["decline_code"] == "insufficient_funds"


def test_reset_and_state(client: stripe.StripeClient, make_session: Any, http: httpx.Client, emulator: EmulatorServer, receiver: WebhookReceiver) -> None:
    session = make_session()
    pay(http, session.id)
    receiver.wait_for("checkout.session.completed")
    http.post("/_emulator/clock/advance", json={"seconds": 60})
    state = http.get("/_emulator/state").json()
    assert [s["id"] for s in state["checkout_sessions"]] == [session.id]
    assert len(state["payment_intents"]) == 1 and len(state["charges"]) == 1
    assert {e["type"] for e in state["events"]} >= {"checkout.session.completed"}
    assert state["clock_offset"] == 60
    assert http.post("/_emulator/reset").json() == {"ok": True}
    state = http.get("/_emulator/state").json()
    assert state["checkout_sessions"] == [] and state["events"] == [] and state["deliveries"] == []
    assert state["clock_offset"] == 0
    assert client.v1.checkout.sessions.list().data == []


def test_control_api_is_404_without_test_mode() -> None:
    with EmulatorServer(test_mode=False) as server:
        for method, path in [
            ("POST", "/_emulator/reset"),
            ("GET", "/_emulator/deliveries"),
            ("POST", "/_emulator/clock/advance"),
            ("POST", "/_emulator/checkout/sessions/cs_test_x/complete"),
            ("POST", "/_emulator/events/evt_x/resend"),
            ("GET", "/_emulator/state"),
        ]:
            response = httpx.request(method, server.url + path, json={"seconds": 1})
            assert response.status_code == 404, path
        assert httpx.get(server.url + "/").status_code == 200  # the dashboard is always on
        assert httpx.get(server.url + "/healthz").json() == {"ok": True}


def test_dashboard_lists_what_happened(make_session: Any, http: httpx.Client, client: stripe.StripeClient, receiver: WebhookReceiver) -> None:
    session = make_session()
    result = pay(http, session.id)
    client.v1.refunds.create(params={"payment_intent": result["payment_intent"]["id"], "amount": 100})
    receiver.wait_for("charge.refunded")
    wait_until(lambda: "charge.refunded" in http.get("/").text)
    page = http.get("/").text
    for needle in (session.id, result["payment_intent"]["id"], result["charge"]["id"], "checkout.session.completed", "£50.00", "Webhook deliveries", "Refunds"):
        assert needle in page
    detail = http.get(f"/objects/{session.id}")
    assert detail.status_code == 200 and "payment_status" in detail.text
    assert http.get("/objects/nope").status_code == 404
