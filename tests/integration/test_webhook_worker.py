"""WEBHOOK_PROCESSING=worker (booking/events/processor.py): the route answers once the event is stored; the
processor (a job of `python -m booking.worker`: tests/integration/test_job_worker.py) applies stored events
on the webhook's own code path, keeps failures and retries them."""

from __future__ import annotations

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from booking.core.config import get_settings
from booking.core.models import Booking, BookingStatus, EventStatus, StripeEvent
from booking.events import webhooks
from booking.events.processor import StoredEventProcessor, accept_webhook, pending_events
from booking_ui import api, deps
from tests.factories import make_hold
from tests.support import stripe_events as se
from tests.support.fake_gateway import FakeGateway


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def hold(session: Session) -> Booking:
    booking = make_hold(session)
    session.commit()
    return booking


def accept(engine, gateway, event, *, signature=None):
    payload = se.encode(event)
    return accept_webhook(engine=engine, gateway=gateway, payload=payload,
                          signature=signature if signature is not None else se.sign(payload))


def completed(hold: Booking) -> dict:
    return se.event("checkout.session.completed", se.checkout_session(hold.id, hold.checkout_session_id))


def status_of(engine, booking_id: str) -> BookingStatus:
    with Session(engine) as s:
        return s.get(Booking, booking_id).status


def event_row(engine, event_id: str) -> StripeEvent:
    with Session(engine) as s:
        return s.get(StripeEvent, event_id)


def processor_for(engine, gateway) -> StoredEventProcessor:
    return StoredEventProcessor(engine_factory=lambda: engine, gateway_factory=lambda: gateway)


def test_the_event_is_stored_and_answered_then_applied_by_the_processor(engine, gateway, hold):
    event = completed(hold)

    answer = accept(engine, gateway, event)

    assert answer.status_code == 200 and answer.body["queued"] is True
    assert status_of(engine, hold.id) == BookingStatus.PENDING  # not applied yet
    assert pending_events(engine=engine) == 1

    assert processor_for(engine, gateway)() == 1

    assert status_of(engine, hold.id) == BookingStatus.CONFIRMED
    assert event_row(engine, event["id"]).status == EventStatus.PROCESSED
    assert pending_events(engine=engine) == 0
    assert processor_for(engine, gateway)() == 0  # nothing left to do


def test_a_bad_signature_is_400_and_nothing_is_stored(engine, gateway, hold):
    event = completed(hold)

    answer = accept(engine, gateway, event, signature="t=1,v1=00")

    assert answer.status_code == 400
    assert event_row(engine, event["id"]) is None


def test_a_redelivery_of_an_applied_event_is_a_duplicate_with_no_effect(engine, gateway, hold):
    event = completed(hold)
    accept(engine, gateway, event)
    processor_for(engine, gateway)()

    again = accept(engine, gateway, event)

    assert again.status_code == 200 and again.body["duplicate"] is True
    assert processor_for(engine, gateway)() == 0


def test_a_failure_is_kept_on_the_event_and_retried_after_a_backoff(engine, gateway, hold, monkeypatch):
    def broken(*_args):
        raise RuntimeError("database hiccup")

    monkeypatch.setitem(webhooks.HANDLERS, "checkout.session.completed", broken)
    event = completed(hold)
    accept(engine, gateway, event)
    processor = processor_for(engine, gateway)

    assert processor() == 0
    row = event_row(engine, event["id"])
    assert row.status == EventStatus.FAILED and "database hiccup" in row.error and row.attempts == 1
    assert processor() == 0  # backing off: not retried at once
    monkeypatch.undo()
    processor._retry_at.clear()  # the backoff has run out

    assert processor() == 1
    assert status_of(engine, hold.id) == BookingStatus.CONFIRMED
    assert event_row(engine, event["id"]).attempts == 2


def test_the_route_answers_before_applying_in_worker_mode(engine, gateway, hold, monkeypatch):
    monkeypatch.setenv("WEBHOOK_PROCESSING", "worker")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", se.WEBHOOK_SECRET)
    get_settings.cache_clear()
    monkeypatch.setattr(deps, "gateway", lambda: gateway)
    event = completed(hold)
    payload = se.encode(event)

    answer = TestClient(api.build_api()).post("/api/payments/webhook", content=payload,
                                              headers={"Stripe-Signature": se.sign(payload)})

    assert answer.status_code == 200 and answer.json()["queued"] is True
    assert status_of(engine, hold.id) == BookingStatus.PENDING
    get_settings.cache_clear()
