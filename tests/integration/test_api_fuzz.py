"""A hypothesis fuzz over the JSON API and the webhook: every answer is 2xx or 4xx, never a 500, and a
4xx writes nothing (every table's row count unchanged). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta, timezone
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlmodel import Session
from starlette.testclient import TestClient

from booking.core.config import get_settings
from booking_ui import api, deps
from booking_ui.middleware import HardeningMiddleware, HardeningSettings
from tests.factories import make_builder, make_session_type
from tests.support import stripe_events as se
from tests.support.db_counts import row_counts
from tests.support.fake_gateway import FakeGateway

FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Text of every kind: NUL and control characters, non-ASCII digits, surrogates excluded (not UTF-8).
any_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)
digits = st.text(st.sampled_from("0123456789²³¹١٢٣०१"), min_size=1, max_size=25)
huge_ints = st.integers(min_value=-(2**70), max_value=2**70)
json_scalars = st.one_of(st.none(), st.booleans(), huge_ints, st.floats(allow_nan=False, allow_infinity=False), any_text)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                                 st.dictionaries(any_text, inner, max_size=3)),
                           max_leaves=6)
extreme_days = st.dates(min_value=datetime(1, 1, 1).date(), max_value=datetime(9999, 12, 31).date())


def mostly(valid: st.SearchStrategy, junk: st.SearchStrategy) -> st.SearchStrategy:
    """Valid three times in four: each request then goes wrong in one or two places, and gets deep."""
    return st.integers(0, 3).flatmap(lambda n: junk if n == 0 else valid)


zones = st.one_of(st.sampled_from(["UTC", "Europe/London", "Pacific/Kiritimati", "Etc/GMT+12", "America/New_York"]),
                  any_text)


@pytest.fixture
def gateway(monkeypatch) -> FakeGateway:
    fake = FakeGateway()
    monkeypatch.setattr(deps, "gateway", lambda: fake)
    return fake


@pytest.fixture
def client(engine, gateway, monkeypatch) -> TestClient:
    # All requests come from one test client: the abuse limits (tested on their own) would stop the fuzz
    # from reaching past them after a few holds.
    for name, value in {"MAX_HOLDS_PER_EMAIL": "0", "MAX_HOLDS_PER_IP": "0", "CHECKOUT_RATE_LIMIT": ""}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    app = HardeningMiddleware(api.build_api(), HardeningSettings(public_url="http://localhost:3000"))
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def session_type(session: Session):
    builder = make_builder(session, time_zone="Europe/London", hours=(time(0), time(23)))
    st_row = make_session_type(session, builder, price_amount=5000, currency="gbp", duration_minutes=60)
    session.commit()
    return st_row


@pytest.fixture
def open_slots(client, session_type) -> list[str]:
    day = (datetime.now(timezone.utc) + timedelta(days=2)).date().isoformat()
    found = client.get(f"/api/session-types/{session_type.id}/slots", params={"from": day, "days": 7}).json()
    return [slot["start_time"] for slot in found["slots"]]


def check(engine, send) -> None:
    """Send one request: never a 5xx, and a 4xx leaves every table as it was."""
    before = row_counts(engine)
    response = send()
    is_json = response.headers.get("content-type", "").startswith("application/json")
    field = response.json()["error"].get("field", "") if is_json and response.status_code >= 400 else ""
    event(f"HTTP {response.status_code} {field}".strip())  # --hypothesis-show-statistics: how deep it got
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if 400 <= response.status_code < 500:
        assert row_counts(engine) == before, response.text[:500]
        if is_json:
            assert set(response.json()["error"]) >= {"code", "message"}


@FUZZ
@given(raw_id=st.one_of(digits, any_text, huge_ints.map(str)), use_real_id=st.booleans(),
       from_day=mostly(st.integers(-400, 1200).map(lambda n: str(datetime.now(timezone.utc).date() + timedelta(days=n))),
                       st.one_of(extreme_days.map(str), any_text)),
       days=mostly(st.integers(1, 62).map(str), st.one_of(digits, any_text, huge_ints.map(str))),
       tz=mostly(st.sampled_from(["UTC", "Europe/London", "Pacific/Kiritimati", "Etc/GMT+12"]), zones))
def test_slot_search_never_fails(client, engine, session_type, raw_id, from_day, days, tz, use_real_id):
    type_id = str(session_type.id) if use_real_id else quote(raw_id, safe="") or "x"
    check(engine, lambda: client.get(f"/api/session-types/{type_id}/slots",
                                     params={"from": from_day, "days": days, "tz": tz}))


def start_times(slots: list[str]):
    return st.one_of(
        st.sampled_from(slots) if slots else st.nothing(),
        st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                     timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=14)),
                                                timezone(timedelta(hours=-12))])).map(datetime.isoformat),
        st.datetimes().map(datetime.isoformat),  # no offset
        any_text, json_values,
    )


@FUZZ
@given(data=st.data())
def test_create_checkout_never_fails(client, engine, session_type, open_slots, data):
    body = {
        "session_type_id": data.draw(mostly(st.sampled_from([str(session_type.id), session_type.id]),
                                            st.one_of(digits, huge_ints, json_values))),
        "start_time": data.draw(mostly(st.sampled_from(open_slots), start_times(open_slots))),
        "client_name": data.draw(mostly(st.text(st.characters(codec="utf-8", categories=["L", "Zs", "Pd"]),
                                                min_size=1, max_size=130), st.one_of(any_text, json_values))),
        "client_email": data.draw(mostly(st.emails(), st.one_of(any_text, json_values))),
    }
    if data.draw(st.booleans()):
        body["client_time_zone"] = data.draw(st.one_of(zones, json_values))
    for field in data.draw(st.lists(st.sampled_from(sorted(body)), max_size=2)):
        body.pop(field, None)
    check(engine, lambda: client.post("/api/payments/create-checkout-session", json=body))


@FUZZ
@given(raw=st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode())),
       content_type=st.sampled_from(["application/json", "text/plain", "application/json; charset=utf-8",
                                     "multipart/form-data; boundary=x", ""]))
def test_create_checkout_with_any_body_never_fails(client, engine, session_type, raw, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    check(engine, lambda: client.post("/api/payments/create-checkout-session", content=raw, headers=headers))


stripe_ids = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"), min_size=1,
                     max_size=24)


@FUZZ
@given(event_id=mostly(stripe_ids.map(lambda t: "evt_" + t),
                       st.one_of(any_text.map(lambda t: "evt_" + t), st.text(min_size=250, max_size=300).map(
                           lambda t: "evt_" + t), json_values)),
       event_type=mostly(st.sampled_from(["checkout.session.completed", "checkout.session.expired",
                                          "payment_intent.succeeded", "charge.refunded", "account.updated",
                                          "customer.created"]), st.one_of(any_text, json_values)),
       # Stripe's own objects are well typed (an id is a string); any value of the right type may come.
       obj=st.fixed_dictionaries({"id": stripe_ids},
                                 optional={"object": any_text, "metadata": st.dictionaries(any_text, any_text),
                                           "status": any_text, "payment_status": any_text,
                                           "amount_total": huge_ints, "currency": any_text,
                                           "client_reference_id": st.one_of(st.none(), any_text),
                                           "payment_intent": st.one_of(st.none(), stripe_ids)}),
       signed=mostly(st.just(True), st.just(False)))
def test_the_webhook_never_fails(client, engine, event_id, event_type, obj, signed):
    """Unsigned or unstorable: 400, nothing stored. Signed with Stripe's shapes, any values: never a 500."""
    payload = json.dumps({"id": event_id, "type": event_type, "object": "event",
                          "data": {"object": obj}}).encode()
    signature = se.sign(payload) if signed else "t=1,v1=00"
    check(engine, lambda: client.post("/api/payments/webhook", content=payload,
                                      headers={"Stripe-Signature": signature, "Content-Type": "application/json"}))


@FUZZ
@given(booking_id=any_text, token=any_text)
def test_calendar_downloads_never_fail(client, engine, booking_id, token):
    check(engine, lambda: client.get(f"/api/invites/{quote(booking_id, safe='') or 'x'}/{quote(token, safe='') or 'x'}"
                                     "/invite.ics"))
    check(engine, lambda: client.get(f"/calendar/{quote(token, safe='') or 'x'}.ics"))
