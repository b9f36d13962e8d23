"""Checkout sessions through the official stripe SDK: create, retrieve, expand, list, expire,
plus the wire-level behaviour every endpoint shares (auth, errors, idempotency, lists)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import stripe

from stripe_emulator.testing import EmulatorServer
from tests.emulator.helpers import pay


def test_create_session_with_price_data(client: stripe.StripeClient, make_session: Any, emulator: EmulatorServer) -> None:
    before = int(time.time())
    session = make_session()
    assert session.object == "checkout.session"
    assert session.id.startswith("cs_test_")
    assert session.url == f"{emulator.url}/c/pay/{session.id}"
    assert session.status == "open" and session.payment_status == "unpaid"
    assert (session.amount_total, session.amount_subtotal, session.currency) == (5000, 5000, "gbp")
    assert session.mode == "payment" and session.livemode is False
    assert session.payment_method_types == ["card", "bacs_debit", "paypal"]  # dynamic: what GBP offers
    assert session.metadata.to_dict() == {"booking_id": "42"}
    assert session.client_reference_id == "booking-42"
    assert session.customer_email == "guest@example.com"
    assert session.payment_intent is None  # created when the payer first tries to pay
    assert before - 2 <= session.created <= int(time.time()) + 2
    assert session.expires_at == pytest.approx(session.created + 24 * 3600, abs=2)


def test_retrieve_with_expand_and_line_items(client: stripe.StripeClient, make_session: Any, http: httpx.Client) -> None:
    session = make_session(expires_at=int(time.time()) + 3600)
    result = pay(http, session.id)
    assert result["status"] == "succeeded"
    fetched = client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent", "line_items"]}
    )
    assert fetched.status == "complete" and fetched.payment_status == "paid"
    pi = fetched.payment_intent
    assert isinstance(pi, stripe.PaymentIntent)
    assert pi.status == "succeeded" and pi.amount == 5000 and pi.currency == "gbp"
    assert pi.metadata.to_dict() == {"booking_id": "42"}  # from payment_intent_data[metadata]
    assert pi.latest_charge.startswith("ch_")
    item = fetched.line_items.data[0]
    assert (item.object, item.description, item.quantity, item.amount_total) == ("item", "Sea view room", 1, 5000)
    assert item.price.unit_amount == 5000 and item.price.product.startswith("prod_")
    nested = client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent.latest_charge"]}
    )
    assert nested.payment_intent.latest_charge.paid is True
    plain = client.v1.checkout.sessions.retrieve(session.id)
    assert plain.payment_intent == pi.id
    assert "line_items" not in plain


def test_line_items_endpoint(client: stripe.StripeClient, make_session: Any) -> None:
    session = make_session(
        line_items=[
            {"quantity": 2, "price_data": {"currency": "jpy", "unit_amount": 2500, "product_data": {"name": "Bed"}}},
            {"quantity": 1, "price_data": {"currency": "jpy", "unit_amount": 1000, "product_data": {"name": "Breakfast"}}},
        ]
    )
    assert session.amount_total == 6000
    items = client.v1.checkout.sessions.line_items.list(session.id)
    assert [item.description for item in items.data] == ["Bed", "Breakfast"]


def test_list_filtered_by_payment_intent_and_status(client: stripe.StripeClient, make_session: Any, http: httpx.Client) -> None:
    paid = make_session()
    other = make_session()
    pi_id = pay(http, paid.id)["payment_intent"]["id"]
    by_pi = client.v1.checkout.sessions.list(params={"payment_intent": pi_id})
    assert [s.id for s in by_pi.data] == [paid.id]
    assert by_pi.object == "list" and by_pi.has_more is False and by_pi.url == "/v1/checkout/sessions"
    open_ones = client.v1.checkout.sessions.list(params={"status": "open"})
    assert [s.id for s in open_ones.data] == [other.id]


def test_list_pagination(client: stripe.StripeClient, make_session: Any) -> None:
    ids = [make_session().id for _ in range(5)]
    newest_first = list(reversed(ids))
    page1 = client.v1.checkout.sessions.list(params={"limit": 2})
    assert [s.id for s in page1.data] == newest_first[:2] and page1.has_more
    page2 = client.v1.checkout.sessions.list(params={"limit": 2, "starting_after": page1.data[-1].id})
    assert [s.id for s in page2.data] == newest_first[2:4] and page2.has_more
    page3 = client.v1.checkout.sessions.list(params={"limit": 2, "starting_after": page2.data[-1].id})
    assert [s.id for s in page3.data] == newest_first[4:] and not page3.has_more
    before = client.v1.checkout.sessions.list(params={"limit": 2, "ending_before": newest_first[3]})
    assert [s.id for s in before.data] == newest_first[1:3] and before.has_more
    everything = [s.id for s in client.v1.checkout.sessions.list(params={"limit": 2}).auto_paging_iter()]
    assert everything == newest_first


def test_expire_open_session_then_refuse_second_expire(client: stripe.StripeClient, make_session: Any, receiver: Any) -> None:
    session = make_session()
    expired = client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired" and expired.url is None
    event = receiver.wait_for("checkout.session.expired")[0]
    assert event["data"]["object"]["id"] == session.id
    assert event["request"]["id"] is not None  # caused by an API request
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.checkout.sessions.expire(session.id)
    assert info.value.http_status == 400
    assert "status of `open`" in info.value.user_message


def test_cannot_expire_a_completed_session(client: stripe.StripeClient, make_session: Any, http: httpx.Client) -> None:
    session = make_session()
    pay(http, session.id)
    with pytest.raises(stripe.InvalidRequestError, match="complete"):
        client.v1.checkout.sessions.expire(session.id)


@pytest.mark.parametrize(
    ("overrides", "param", "code"),
    [
        ({"success_url": None}, "success_url", "parameter_missing"),
        ({"mode": None}, "mode", "parameter_missing"),
        ({"line_items": None}, "line_items", "parameter_missing"),
        ({"success_url": "not a url"}, "success_url", "url_invalid"),
        ({"customer_email": "nope"}, "customer_email", "email_invalid"),
        ({"bogus": "1"}, "bogus", "parameter_unknown"),
        ({"line_items": [{"quantity": 1, "price_data": {"currency": "uds", "unit_amount": 5, "product_data": {"name": "x"}}}]},
         "line_items[0][price_data][currency]", None),  # Stripe has no code for a bad value
        ({"line_items": [{"quantity": 0, "price_data": {"currency": "gbp", "unit_amount": 5, "product_data": {"name": "x"}}}]},
         "line_items[0][quantity]", "parameter_invalid_integer"),
        ({"line_items": [{"quantity": 1, "price_data": {"currency": "gbp", "product_data": {"name": "x"}}}]},
         "line_items[0][price_data][unit_amount]", "parameter_missing"),
        ({"line_items": [{"quantity": 1, "price": "price_missing"}]}, "line_items[0][price]", "resource_missing"),
        ({"payment_method_types": ["card"]}, "payment_method_types", "parameter_unknown"),  # not in 2026-10-28
        ({"allowed_payment_method_types": ["sofort"]}, "allowed_payment_method_types", None),
    ],
)
def test_validation_errors_name_the_param(make_session: Any, overrides: dict[str, Any], param: str, code: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        make_session(**overrides)
    assert info.value.http_status == 400
    assert info.value.param == param
    assert info.value.code == code
    assert info.value.error.type == "invalid_request_error"


@pytest.mark.parametrize("offset", [10 * 60, 25 * 3600, -60])
def test_expires_at_must_be_30_minutes_to_24_hours_ahead(make_session: Any, offset: int) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        make_session(expires_at=int(time.time()) + offset)
    assert info.value.param == "expires_at"


@pytest.mark.parametrize("offset", [30 * 60 + 5, 24 * 3600])
def test_expires_at_boundaries_accepted(make_session: Any, offset: int) -> None:
    expires_at = int(time.time()) + offset
    assert make_session(expires_at=expires_at).expires_at == expires_at


def test_expires_at_follows_the_emulator_clock(make_session: Any, emulator: EmulatorServer) -> None:
    assert emulator.emulator is not None
    emulator.emulator.advance_clock(2 * 3600)
    with pytest.raises(stripe.InvalidRequestError):
        make_session(expires_at=int(time.time()) + 3600)  # only -1h on the emulator clock
    assert make_session(expires_at=int(time.time()) + 3 * 3600).status == "open"


def test_unknown_id_is_404_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.checkout.sessions.retrieve("cs_test_nope")
    error = info.value
    assert (error.http_status, error.code, error.param) == (404, "resource_missing", "id")
    assert "No such checkout.session: 'cs_test_nope'" in str(error)
    for call in (
        lambda: client.v1.payment_intents.retrieve("pi_nope"),
        lambda: client.v1.charges.retrieve("ch_nope"),
        lambda: client.v1.refunds.retrieve("re_nope"),
        lambda: client.v1.events.retrieve("evt_nope"),
        lambda: client.v1.products.retrieve("prod_nope"),
        lambda: client.v1.prices.retrieve("price_nope"),
    ):
        with pytest.raises(stripe.InvalidRequestError) as info:
            call()
        assert info.value.code == "resource_missing" and info.value.http_status == 404


def test_authentication_errors(emulator: EmulatorServer, http: httpx.Client) -> None:
    with pytest.raises(stripe.AuthenticationError) as info:
        emulator.client("sk_live_123").v1.checkout.sessions.list()
    assert info.value.http_status == 401
    assert "sk_live_" in str(info.value) and "123" not in str(info.value).split("sk_live_")[1][:3]
    response = http.get("/v1/checkout/sessions")
    assert response.status_code == 401
    body = response.json()
    assert body["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in body["error"]["message"]
    assert response.headers["Request-Id"].startswith("req_")
    basic = http.get("/v1/checkout/sessions", auth=("sk_test_abc", ""))
    assert basic.status_code == 200


def test_configured_api_key_is_the_only_one_accepted() -> None:
    with EmulatorServer(api_key="sk_test_only_this") as server:
        assert server.client("sk_test_only_this").v1.checkout.sessions.list().data == []
        with pytest.raises(stripe.AuthenticationError):
            server.client("sk_test_other").v1.checkout.sessions.list()


def test_idempotent_replay_and_conflict(client: stripe.StripeClient, make_session: Any, receiver: Any) -> None:
    params = {
        "mode": "payment",
        "success_url": receiver.base_url + "/success",
        "line_items": [{"quantity": 1, "price_data": {"currency": "eur", "unit_amount": 1200, "product_data": {"name": "Tour"}}}],
    }
    first = client.v1.checkout.sessions.create(params=params, options={"idempotency_key": "booking-1"})
    again = client.v1.checkout.sessions.create(params=params, options={"idempotency_key": "booking-1"})
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.last_response.headers
    assert again.last_response.request_id == first.last_response.request_id
    assert len(client.v1.checkout.sessions.list().data) == 1
    changed = {**params, "client_reference_id": "other"}
    with pytest.raises(stripe.IdempotencyError) as info:
        client.v1.checkout.sessions.create(params=changed, options={"idempotency_key": "booking-1"})
    assert info.value.http_status == 400
    assert info.value.error.type == "idempotency_error"
    with pytest.raises(stripe.IdempotencyError):
        client.v1.refunds.create(params={"payment_intent": "pi_x"}, options={"idempotency_key": "booking-1"})


def test_failed_validation_is_not_saved_under_the_idempotency_key(client: stripe.StripeClient, receiver: Any) -> None:
    bad = {"mode": "payment", "line_items": [{"quantity": 1, "price": "price_nope"}], "success_url": receiver.base_url}
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.create(params=bad, options={"idempotency_key": "k"})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.create(params=bad, options={"idempotency_key": "k"})


def test_wire_format_by_hand(http: httpx.Client, receiver: Any) -> None:
    headers = {"Authorization": "Bearer sk_test_123", "Idempotency-Key": "raw-1"}
    form = {
        "mode": "payment",
        "success_url": receiver.base_url + "/s?id={CHECKOUT_SESSION_ID}",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "1999",
        "line_items[0][price_data][product_data][name]": "Kayak",
        "line_items[0][quantity]": "1",
        "metadata[booking_id]": "9",
        "expand[]": "line_items",
    }
    response = http.post("/v1/checkout/sessions", data=form, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["Request-Id"].startswith("req_")
    body = response.json()
    assert body["line_items"]["data"][0]["amount_total"] == 1999
    assert body["metadata"] == {"booking_id": "9"}
    replay = http.post("/v1/checkout/sessions", data=form, headers=headers)
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json()["id"] == body["id"]
    unknown = http.get("/v1/nothing/here", headers=headers)
    assert unknown.status_code == 404
    assert "Unrecognized request URL (GET: /v1/nothing/here)" in unknown.json()["error"]["message"]
    bad_expand = http.get(f"/v1/checkout/sessions/{body['id']}?expand[]=mode", headers=headers)
    assert bad_expand.status_code == 400 and bad_expand.json()["error"]["param"] == "expand"
    bad_limit = http.get("/v1/checkout/sessions?limit=500", headers=headers)
    assert bad_limit.status_code == 400 and bad_limit.json()["error"]["param"] == "limit"


def test_metadata_update(client: stripe.StripeClient, make_session: Any) -> None:
    session = make_session()
    updated = client.v1.checkout.sessions.update(session.id, params={"metadata": {"booking_id": "", "note": "hi"}})
    assert updated.metadata.to_dict() == {"note": "hi"}
