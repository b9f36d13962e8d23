"""The events API: retrieve, list filters (type, types[], created, delivery_success), shape."""

from __future__ import annotations

from typing import Any

import httpx
import stripe

from stripe_emulator.testing import EmulatorServer
from tests.emulator.helpers import WebhookReceiver, pay


def test_event_shape_and_filters(
    client: stripe.StripeClient, make_session: Any, http: httpx.Client, receiver: WebhookReceiver, emulator: EmulatorServer
) -> None:
    session = make_session()
    pay(http, session.id)
    receiver.wait_for("checkout.session.completed")
    assert emulator.emulator is not None and emulator.emulator.wait_for_deliveries(10)

    events = client.v1.events.list()
    types = [e.type for e in events.data]
    # newest first
    assert types[:3] == ["checkout.session.completed", "payment_intent.succeeded", "charge.succeeded"]
    completed = client.v1.events.list(params={"type": "checkout.session.completed"}).data
    assert len(completed) == 1
    event = client.v1.events.retrieve(completed[0].id)
    assert event.object == "event" and event.id.startswith("evt_")
    assert event.livemode is False and event.api_version == emulator.config.api_version
    assert event.data.object.id == session.id and event.data.object.object == "checkout.session"
    assert event.pending_webhooks == 0  # delivered
    assert event.request.id is None and event.request.idempotency_key is None

    several = client.v1.events.list(params={"types": ["charge.succeeded", "payment_intent.succeeded"]})
    assert sorted(e.type for e in several.data) == ["charge.succeeded", "payment_intent.succeeded"]
    wildcard = client.v1.events.list(params={"type": "payment_intent.*"})
    assert {e.type for e in wildcard.data} == {"payment_intent.created", "payment_intent.succeeded"}

    created = event.created
    assert len(client.v1.events.list(params={"created": {"gte": created}}).data) >= 1
    assert client.v1.events.list(params={"created": {"gt": created + 5}}).data == []
    assert client.v1.events.list(params={"created": {"lt": created - 5}}).data == []
    assert len(client.v1.events.list(params={"created": {"lte": created + 5}}).data) == len(events.data)
    assert client.v1.events.list(params={"delivery_success": False}).data == []
    assert len(client.v1.events.list(params={"delivery_success": True}).data) == len(events.data)


def test_undelivered_events_are_listed_with_delivery_success_false(client: stripe.StripeClient, make_session: Any, receiver: WebhookReceiver, emulator: EmulatorServer) -> None:
    receiver.fail_with.extend([500] * 4)  # exhaust: 1 attempt + 3 retries
    session = make_session()
    client.v1.checkout.sessions.expire(session.id)
    assert emulator.emulator is not None and emulator.emulator.wait_for_deliveries(10)
    failed = client.v1.events.list(params={"delivery_success": False}).data
    assert [e.type for e in failed] == ["checkout.session.expired"]
    assert failed[0].pending_webhooks == 1
