"""schemathesis against /api/openapi.json: every public operation, generated from the document, never answers
5xx, and every answer (status, content type, headers, body) is one the document describes. Then the same
checks on real data: a seeded session type, its slots, a hold, the signed webhook that confirms it and its
invite. Runs on SQLite and PostgreSQL (the `engine` fixture is parametrised when TEST_POSTGRES_URL is set)."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session

from booking.core.config import get_settings
from booking.core.models import Booking, Builder, MembershipPlan
from booking.notifications import calendar_feed, invites, manage_links
from booking_ui import api, deps, routes
from booking_ui.middleware import HardeningMiddleware, HardeningSettings
from tests.factories import make_builder, make_session_type
from tests.support import stripe_events as se
from tests.support.fake_gateway import FakeGateway

MAX_EXAMPLES = 40  # per operation: the whole file stays well under a minute per database
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]


@pytest.fixture
def gateway(monkeypatch) -> FakeGateway:
    fake = FakeGateway()
    monkeypatch.setattr(deps, "gateway", lambda: fake)
    return fake


@pytest.fixture
def session_type(session: Session):
    builder = make_builder(session, time_zone="Europe/London", hours=(time(9), time(17)))
    row = make_session_type(session, builder, price_amount=5000, currency="gbp", duration_minutes=60)
    session.commit()
    return row


APP = HardeningMiddleware(api.build_api(), HardeningSettings(public_url="http://localhost:3000"))
schema = schemathesis.openapi.from_asgi(routes.API_OPENAPI, APP)  # the served document, not the module's dict
# Data that fits the document and data that breaks it (wrong types, missing fields, unsupported methods...).
schema.config.generation.update(max_examples=MAX_EXAMPLES, modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], deterministic=True)
schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])
# A body over the cap is refused with 413 before it is read (documented on every operation that takes one).
_rejection = schema.config.checks.negative_data_rejection
_rejection.expected_statuses = [*_rejection.expected_statuses, "413"]


@pytest.fixture
def seeded(engine, gateway, session_type, monkeypatch):
    """A migrated database with one bookable session type; the app's settings point at it."""
    # Every request comes from one test client: the abuse limits (tested on their own) would end the run early.
    for name, value in {"MAX_HOLDS_PER_EMAIL": "0", "MAX_HOLDS_PER_IP": "0", "CHECKOUT_RATE_LIMIT": ""}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return session_type


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_every_operation_keeps_to_the_document(case, seeded):
    response = case.call_and_validate(checks=CHECKS)

    if case.operation.path == routes.API_WEBHOOK and case.method.upper() == "POST":
        # The document can't sign, so every event it makes is refused (other methods are probed too: 405).
        assert response.status_code == 400, (case.as_curl_command(), response.text)


def operation(path: str, method: str):
    return schema[path][method]


def test_real_ids_keep_to_the_document(seeded, engine):
    session_type = seeded
    """The answers random data can't reach (slots, 201, 409, a signed webhook, invites, the feed, a builder's
membership plans and subscribing, a manage POST from our own page with its CSRF token) keep to the document
too."""
    listed = operation(routes.API_SESSION_TYPES, "GET").Case().call_and_validate(checks=CHECKS)
    assert [row["id"] for row in listed.json()] == [str(session_type.id)]

    day = (datetime.now(timezone.utc) + timedelta(days=3)).date().isoformat()
    slots = operation(routes.API_SLOTS, "GET").Case(
        path_parameters={"session_type_id": str(session_type.id)},
        query={"from": day, "days": 2, "tz": "America/New_York"},
    ).call_and_validate(checks=CHECKS)
    assert slots.status_code == 200 and slots.json()["slots"]

    checkout = operation(routes.API_CREATE_CHECKOUT, "POST")
    body = {"session_type_id": str(session_type.id), "start_time": slots.json()["slots"][0]["start_time"],
            "client_name": "Ann", "client_email": "ann@example.com", "client_time_zone": "America/New_York"}
    held = checkout.Case(body=body, media_type="application/json").call_and_validate(checks=CHECKS)
    assert held.status_code == 201
    taken = checkout.Case(body={**body, "client_email": "bo@example.com"},
                          media_type="application/json").call_and_validate(checks=CHECKS)
    assert taken.status_code == 409

    booking_id, session_id = held.json()["booking_id"], held.json()["checkout_session_id"]
    payload = se.encode(se.event("checkout.session.completed", se.checkout_session(booking_id, session_id)))
    webhook = operation(routes.API_WEBHOOK, "POST")
    confirmed = webhook.Case(body=payload, media_type="application/json",
                             headers={"Stripe-Signature": se.sign(payload)}).call_and_validate(checks=CHECKS)
    assert confirmed.status_code == 200 and confirmed.json()["received"] is True

    with Session(engine) as db:  # the success page hands the paying browser a signed link by the invite's UID
        invite_uid = db.get(Booking, booking_id).invite_uid
    invite = operation(routes.API_ICS, "GET").Case(
        path_parameters={"invite_uid": invite_uid, "token": invites.invite_token(invite_uid)},
    ).call_and_validate(checks=CHECKS)
    assert invite.status_code == 200 and b"BEGIN:VEVENT" in invite.content

    with Session(engine, expire_on_commit=False) as db:  # the link in the client's emails, the builder's feed
        token = manage_links.issue(session=db, booking=db.get(Booking, booking_id))
        feed_token = calendar_feed.issue_token(session=db, builder_id=session_type.builder_id)
        db.commit()
    manage_invite = operation(routes.API_MANAGE_ICS, "GET").Case(
        path_parameters={"token": token}).call_and_validate(checks=CHECKS)
    assert manage_invite.status_code == 200 and b"BEGIN:VEVENT" in manage_invite.content
    feed = operation(routes.CALENDAR_FEED, "GET").Case(path_parameters={"token": feed_token}).call_and_validate(
        checks=CHECKS)
    assert feed.status_code == 200 and b"BEGIN:VCALENDAR" in feed.content

    with Session(engine) as db:  # a membership plan of the same builder (already in Stripe)
        builder = db.get(Builder, session_type.builder_id)
        plan = MembershipPlan(builder_id=builder.id, name="Monthly four", sessions_per_period=4, amount=4000,
                              currency="gbp", stripe_product_id="prod_contract", stripe_price_id="price_contract")
        db.add(plan)
        db.commit()
        slug, plan_id = builder.slug, plan.id
    plans = operation(routes.API_BUILDER_PLANS, "GET").Case(path_parameters={"slug": slug}).call_and_validate(
        checks=CHECKS)
    assert [row["id"] for row in plans.json()] == [str(plan_id)]
    subscribed = operation(routes.API_CREATE_MEMBERSHIP_CHECKOUT, "POST").Case(
        body={"plan_id": str(plan_id), "client_name": "Ann", "client_email": "ann@example.com", "currency": "GBP"},
        media_type="application/json").call_and_validate(checks=CHECKS)
    assert subscribed.status_code == 201 and subscribed.json()["checkout_url"]

    form = {"csrf_token": manage_links.csrf_token(manage_links.token_hash(token), "cancel")}
    cancelled = operation(routes.API_MANAGE_ACTION, "POST").Case(
        path_parameters={"token": token, "action": "cancel"}, body=form,
        media_type="application/x-www-form-urlencoded", headers={"Origin": get_settings().public_url},
    ).call_and_validate(checks=CHECKS)
    assert cancelled.status_code == 303 and "?done=" in cancelled.headers["location"][0]
