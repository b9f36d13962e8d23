"""Fault injection: the emulator fails its next N API calls as a network or Stripe can, and logs every call."""

from __future__ import annotations

import time

import httpx
import pytest
import stripe

from stripe_emulator.testing import EmulatorServer

CHECKOUT = "/v1/checkout/sessions"


def params() -> dict:
    return {
        "mode": "payment",
        "success_url": "http://shop.example/ok?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://shop.example/cancel",
        "metadata": {"booking_id": "42"},
        "line_items": [{"quantity": 1, "price_data": {"currency": "gbp", "unit_amount": 5000,
                                                      "product_data": {"name": "Sea view room"}}}],
    }


def retrying_client(emulator: EmulatorServer, *, timeout: float = 0.5, retries: int = 2) -> stripe.StripeClient:
    return emulator.client(max_network_retries=retries, http_client=stripe.RequestsClient(timeout=timeout))


def arm(http: httpx.Client, **fault) -> dict:
    response = http.post("/_emulator/faults", json=fault)
    assert response.status_code == 200, response.text
    return response.json()["fault"]


def logged(http: httpx.Client, prefix: str = CHECKOUT) -> list[dict]:
    return http.get("/_emulator/requests", params={"path_prefix": prefix}).json()["requests"]


def sessions_made(emulator: EmulatorServer) -> int:
    return emulator.emulator.store.count("checkout.session")


def test_a_500_is_retried_by_the_sdk_with_the_same_idempotency_key(emulator, http):
    arm(http, kind="500", count=2, path_prefix=CHECKOUT)

    made = retrying_client(emulator).v1.checkout.sessions.create(params=params(), options={"idempotency_key": "k-1"})

    calls = logged(http)
    assert [(c["fault"], c["status"], c["idempotency_key"]) for c in calls] == [
        ("500", 500, "k-1"), ("500", 500, "k-1"), (None, 200, "k-1")]
    assert made.id.startswith("cs_") and sessions_made(emulator) == 1


def test_a_429_carries_retry_after_and_executes_nothing(emulator, http):
    arm(http, kind="429", retry_after=7)

    response = http.post(CHECKOUT, data={"mode": "payment"}, headers={"Authorization": "Bearer sk_test_x"})

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["error"]["code"] == "rate_limit"
    with pytest.raises(stripe.RateLimitError):  # the SDK itself never retries a 429: the app must
        arm(http, kind="429")
        retrying_client(emulator).v1.checkout.sessions.create(params=params(), options={"idempotency_key": "k-2"})
    assert sessions_made(emulator) == 0


def test_a_timeout_executes_the_request_and_the_retry_gets_the_saved_answer(emulator, http):
    arm(http, kind="timeout", delay=2, path_prefix=CHECKOUT)
    started = time.monotonic()

    made = retrying_client(emulator, timeout=0.4).v1.checkout.sessions.create(
        params=params(), options={"idempotency_key": "k-3"})

    assert time.monotonic() - started < 2  # the client gave up on the held answer and retried
    first, retry = logged(http)
    assert (first["fault"], first["extra"]["executed_status"]) == ("timeout", 200)
    assert (retry["fault"], retry["status"], retry["replayed"]) == (None, 200, True)
    assert first["idempotency_key"] == retry["idempotency_key"] == "k-3"
    assert sessions_made(emulator) == 1 and emulator.emulator.store.get("checkout.session", made.id)


def test_a_dropped_connection_gets_no_answer_and_executes_nothing(emulator, http):
    arm(http, kind="drop")

    # The socket is closed without an answer: the client sees either the close or, when the close
    # overtakes its unread request bytes, a reset. Either way no response arrives.
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        http.post(CHECKOUT, data={"mode": "payment"}, headers={"Authorization": "Bearer sk_test_x"})

    assert logged(http)[0]["status"] is None
    made = retrying_client(emulator).v1.checkout.sessions.create(params=params(), options={"idempotency_key": "k-4"})
    assert made.id and sessions_made(emulator) == 1


def test_faults_are_counted_and_can_be_limited_to_a_path_and_method(emulator, http):
    arm(http, kind="500", count=1, path_prefix="/v1/refunds", method="post")
    client = emulator.client()  # no retries

    client.v1.checkout.sessions.create(params=params())  # another path: untouched
    assert http.get("/_emulator/faults").json()["armed"][0]["remaining"] == 1
    with pytest.raises(stripe.APIError):
        client.v1.refunds.create(params={"payment_intent": "pi_missing"})
    assert http.get("/_emulator/faults").json()["armed"] == []
    with pytest.raises(stripe.InvalidRequestError):  # the fault is used up: the real answer again
        client.v1.refunds.create(params={"payment_intent": "pi_missing"})


def test_a_bad_fault_is_refused_naming_the_field_and_reset_clears_everything(emulator, http):
    assert http.post("/_emulator/faults", json={"kind": "teapot"}).json()["error"]["param"] == "kind"
    assert http.post("/_emulator/faults", json={"kind": "500", "count": 0}).json()["error"]["param"] == "count"
    assert http.post("/_emulator/faults", json={"kind": "500", "path_prefix": "/_emulator"}).status_code == 400
    arm(http, kind="500", count=3)

    assert http.post("/_emulator/reset").json() == {"ok": True}
    assert http.get("/_emulator/faults").json() == {"armed": []}
    assert logged(http, "/v1/") == []
    arm(http, kind="500")
    assert http.delete("/_emulator/faults").json() == {"ok": True}
    assert http.get("/_emulator/faults").json() == {"armed": []}


def test_without_test_mode_faults_cannot_be_armed():
    with EmulatorServer(test_mode=False) as server, httpx.Client(base_url=server.url) as http:
        assert http.post("/_emulator/faults", json={"kind": "500"}).status_code == 404
        assert http.get("/_emulator/requests").status_code == 404
