"""The booking JSON API: slots and create-checkout-session, exactly as architecture.md specifies."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from booking.core.models import Booking, BookingStatus
from booking_ui import api, deps
from tests.factories import make_builder, make_session_type
from tests.support import stripe_events as se
from tests.support.fake_gateway import FakeGateway
from tests.support.ledger import money


@pytest.fixture
def gateway(monkeypatch) -> FakeGateway:
    fake = FakeGateway()
    monkeypatch.setattr(deps, "gateway", lambda: fake)
    return fake


@pytest.fixture
def client(engine, gateway) -> TestClient:
    return TestClient(api.build_api())


@pytest.fixture
def session_type(session: Session):
    builder = make_builder(session, time_zone="Europe/London", hours=(time(9), time(12)))
    st = make_session_type(session, builder, price_amount=5000, currency="gbp", duration_minutes=60)
    session.commit()
    return st


def a_day_ahead() -> str:
    return (datetime.now(timezone.utc) + timedelta(days=3)).date().isoformat()


def test_slots_are_listed_in_the_requested_zone_with_its_offset(client, session_type):
    day = a_day_ahead()

    response = client.get(f"/api/session-types/{session_type.id}/slots",
                          params={"from": day, "days": 1, "tz": "America/New_York"})

    assert response.status_code == 200
    body = response.json()
    assert body["time_zone"] == "America/New_York"
    starts = [datetime.fromisoformat(s["start_time"]) for s in body["slots"]]
    assert starts, "a weekday-and-weekend builder has slots every day"
    for slot, start in zip(body["slots"], starts):
        assert start.utcoffset() == ZoneInfo("America/New_York").utcoffset(start.replace(tzinfo=None))
        assert datetime.fromisoformat(slot["end_time"]) - start == timedelta(minutes=60)
        london = start.astimezone(ZoneInfo("Europe/London"))
        assert time(9) <= london.time() and (london + timedelta(hours=1)).time() <= time(12)


def test_a_held_slot_disappears_from_the_list(client, session_type):
    day = a_day_ahead()
    url = f"/api/session-types/{session_type.id}/slots"
    first = client.get(url, params={"from": day, "days": 1, "tz": "Europe/London"}).json()["slots"][0]

    created = client.post("/api/payments/create-checkout-session", json={
        "session_type_id": str(session_type.id), "start_time": first["start_time"],
        "client_name": "Ann", "client_email": "ann@example.com"})

    assert created.status_code == 201
    after = client.get(url, params={"from": day, "days": 1, "tz": "Europe/London"}).json()["slots"]
    assert first["start_time"] not in [s["start_time"] for s in after]


@pytest.mark.parametrize("params,field", [
    ({"tz": "Mars/Olympus"}, "tz"), ({"from": "tomorrow"}, "from"), ({"days": "0"}, "days"),
    ({"days": "400"}, "days"), ({"days": "x"}, "days"),
])
def test_bad_slot_queries_name_the_field(client, session_type, params, field):
    response = client.get(f"/api/session-types/{session_type.id}/slots", params=params)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["field"] == field


@pytest.mark.parametrize("type_id", ["999999", "abc"])
def test_slots_of_an_unknown_session_type_are_404(client, type_id):
    response = client.get(f"/api/session-types/{type_id}/slots")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "session_type_not_found"


def first_slot(client, session_type) -> str:
    return client.get(f"/api/session-types/{session_type.id}/slots",
                      params={"from": a_day_ahead(), "days": 1}).json()["slots"][0]["start_time"]


def test_create_checkout_session_contract(client, session_type, gateway, engine):
    response = client.post("/api/payments/create-checkout-session", json={
        "session_type_id": str(session_type.id), "start_time": first_slot(client, session_type),
        "client_name": "Ann", "client_email": "ann@example.com"})

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"booking_id", "checkout_session_id", "checkout_url", "expires_at"}
    assert body["checkout_session_id"] in gateway.sessions
    assert datetime.fromisoformat(body["expires_at"]) > datetime.now(timezone.utc) + timedelta(minutes=30)
    with Session(engine) as s:
        assert money(s, body["booking_id"]).checkout_session_id == body["checkout_session_id"]


def test_create_checkout_for_a_taken_slot_is_409(client, session_type):
    payload = {"session_type_id": str(session_type.id), "start_time": first_slot(client, session_type),
               "client_name": "Ann", "client_email": "ann@example.com"}
    assert client.post("/api/payments/create-checkout-session", json=payload).status_code == 201

    response = client.post("/api/payments/create-checkout-session", json={**payload, "client_email": "b@x.io"})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "slot_unavailable"


@pytest.mark.parametrize("change,field", [
    ({"client_email": "nope"}, "client_email"), ({"client_name": ""}, "client_name"),
    ({"start_time": "next tuesday"}, "start_time"), ({"start_time": None}, "start_time"),
    ({"session_type_id": None}, "session_type_id"), ({"client_time_zone": "Nowhere/Land"}, "client_time_zone"),
])
def test_create_checkout_with_bad_input_names_the_field_and_changes_nothing(client, session_type, engine, change, field):
    payload = {"session_type_id": str(session_type.id), "start_time": first_slot(client, session_type),
               "client_name": "Ann", "client_email": "ann@example.com", **change}

    response = client.post("/api/payments/create-checkout-session", json=payload)

    assert response.status_code == 422
    assert response.json()["error"] == {"code": "invalid_request", "message": response.json()["error"]["message"],
                                         "field": field}
    with Session(engine) as s:
        assert s.exec(select(Booking)).all() == []


def test_create_checkout_body_must_be_json(client):
    response = client.post("/api/payments/create-checkout-session", content=b"{not json")

    assert response.status_code == 422


def test_create_checkout_for_unknown_session_type_is_404(client):
    response = client.post("/api/payments/create-checkout-session", json={
        "session_type_id": "424242", "start_time": "2030-01-01T10:00:00+00:00",
        "client_name": "Ann", "client_email": "ann@example.com"})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "session_type_not_found"


def test_stripe_error_is_502_and_the_hold_is_released(client, session_type, gateway, engine):
    gateway.down = True

    response = client.post("/api/payments/create-checkout-session", json={
        "session_type_id": str(session_type.id), "start_time": first_slot(client, session_type),
        "client_name": "Ann", "client_email": "ann@example.com"})

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "payment_provider_error"
    with Session(engine) as s:  # written before Stripe was asked, released when it could not be reached
        assert [b.status for b in s.exec(select(Booking)).all()] == [BookingStatus.CANCELLED]
    gateway.down = False
    again = client.post("/api/payments/create-checkout-session", json={
        "session_type_id": str(session_type.id), "start_time": first_slot(client, session_type),
        "client_name": "Ann", "client_email": "ann@example.com"})
    assert again.status_code == 201  # the slot is free again


def test_webhook_route_verifies_the_raw_body(client, engine, session, monkeypatch):
    from tests.factories import hold_session_id, make_hold

    hold = make_hold(session)
    session.commit()
    evt = se.event("checkout.session.completed", se.checkout_session(hold.id, hold_session_id(hold)))
    payload = se.encode(evt)

    bad = client.post("/api/payments/webhook", content=payload, headers={"Stripe-Signature": "t=1,v1=00"})
    good = client.post("/api/payments/webhook", content=payload, headers={"Stripe-Signature": se.sign(payload)})

    assert bad.status_code == 400
    assert good.status_code == 200


def test_invite_download_for_a_confirmed_booking_only(client, session, engine):
    from booking.notifications.invites import invite_path
    from tests.factories import make_hold

    hold = make_hold(session)
    session.commit()
    assert client.get(invite_path(hold.invite_uid)).status_code == 404

    hold.status = "confirmed"
    session.add(hold)
    session.commit()
    response = client.get(invite_path(hold.invite_uid))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert b"BEGIN:VEVENT" in response.content
