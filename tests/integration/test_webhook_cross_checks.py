"""Webhook cross-checks: a completed Checkout Session (or a succeeded PaymentIntent) must be one we made for
the booking, for the amount and currency we asked; otherwise it is recorded, shown to the admin, and
confirms nothing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from booking.client import receipts
from booking.core.config import load_settings
from booking.core.db import session_scope
from booking.core.models import (
    Booking,
    BookingStatus,
    Notification,
    Payment,
    PaymentMismatch,
    PaymentStatus,
    UserRole,
)
from booking.events import webhooks
from booking.lifecycle import checkout as payments
from booking.payments.gateway import CheckoutSession
from booking.workspace import monitor
from tests.factories import make_builder, make_session_type
from tests.support import stripe_events as se
from tests.support.admin_states import call, make_user, state_of, token_for
from tests.support.fake_gateway import FakeGateway
from tests.support.ledger import money

SETTINGS = load_settings(PUBLIC_URL="https://book.example")


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def session_type(session: Session):
    builder = make_builder(session, name="Ada")
    st = make_session_type(session, builder, price_amount=5000, currency="gbp", name="Pairing")
    session.commit()
    return st


@pytest.fixture
def started(engine, gateway, session_type) -> payments.CheckoutStarted:
    start = (datetime.now(timezone.utc) + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    return payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS, session_type_id=session_type.id,
                                   start_time=start, client_name="Ann", client_email="ann@example.com")


def deliver(engine, gateway, event: dict) -> webhooks.WebhookResult:
    payload = se.encode(event)
    return webhooks.handle_webhook(engine=engine, gateway=gateway, payload=payload, signature=se.sign(payload))


def completed(booking_id: str, session_id: str, **fields) -> dict:
    return se.event("checkout.session.completed", se.checkout_session(booking_id, session_id, **fields))


def state(engine, booking_id: str) -> tuple[BookingStatus, PaymentStatus, list[PaymentStatus]]:
    with Session(engine) as s:
        booking = s.get(Booking, booking_id)
        attempts = s.exec(select(Payment.status).where(Payment.booking_id == booking_id)).all()
        return booking.status, money(s, booking_id).status, list(attempts)


def mismatches(engine) -> list[tuple[str, str, str, str | None]]:
    with Session(engine) as s:
        return [(m.kind, m.expected, m.actual, m.stripe_object_id)
                for m in s.exec(select(PaymentMismatch).order_by(PaymentMismatch.id)).all()]


def test_the_right_session_amount_and_currency_confirm(engine, gateway, started):
    result = deliver(engine, gateway, completed(started.booking_id, started.checkout_session_id))

    assert result.body["outcome"] == "fulfilment:confirmed"
    assert state(engine, started.booking_id) == (BookingStatus.CONFIRMED, PaymentStatus.PAID, [PaymentStatus.PAID])
    assert mismatches(engine) == []


@pytest.mark.parametrize("fields,expected", [
    ({"amount": 500}, ("amount", "£50.00", "£5.00")),
    ({"currency": "usd"}, ("currency", "GBP", "USD")),
    ({"amount": None}, ("amount", "£50.00", "none")),  # no amount_total: not proof of payment
])
def test_a_session_with_another_amount_or_currency_is_recorded_and_confirms_nothing(engine, gateway, started,
                                                                                     fields, expected):
    event = completed(started.booking_id, started.checkout_session_id, **fields)

    first = deliver(engine, gateway, event)
    resent = deliver(engine, gateway, {**event, "id": event["id"] + "_again"})  # the same news, another event

    assert first.status_code == 200 and first.body["outcome"] == "fulfilment:mismatch"
    assert resent.body["outcome"] == "fulfilment:mismatch"
    assert mismatches(engine) == [(*expected, started.checkout_session_id)]  # recorded once
    assert state(engine, started.booking_id) == (BookingStatus.PENDING, PaymentStatus.OPEN, [PaymentStatus.OPEN])
    with Session(engine) as s:
        assert not s.exec(select(Notification).where(Notification.kind == "booking_confirmed")).all()
        [row] = s.exec(select(PaymentMismatch)).all()
        assert (row.booking_id, row.event_id) == (started.booking_id, event["id"])


def test_a_session_we_never_made_is_recorded_and_confirms_nothing(engine, gateway, started):
    result = deliver(engine, gateway, completed(started.booking_id, "cs_test_someone_elses"))

    assert result.body["outcome"] == "fulfilment:mismatch"
    assert mismatches(engine) == [("session_id", started.checkout_session_id, "cs_test_someone_elses",
                                   "cs_test_someone_elses")]
    assert state(engine, started.booking_id)[0] == BookingStatus.PENDING


def test_our_session_naming_another_booking_is_recorded(engine, gateway, started, session_type):
    start = (datetime.now(timezone.utc) + timedelta(days=2)).replace(hour=12, minute=0, second=0, microsecond=0)
    other = payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS,
                                    session_type_id=session_type.id, start_time=start, client_name="Bo",
                                    client_email="bo@example.com")
    event = completed(other.booking_id, started.checkout_session_id)

    assert deliver(engine, gateway, event).body["outcome"] == "fulfilment:mismatch"
    assert [m[0] for m in mismatches(engine)] == ["booking"]
    assert state(engine, started.booking_id)[0] == state(engine, other.booking_id)[0] == BookingStatus.PENDING


def test_a_payment_intent_for_another_amount_confirms_nothing(engine, gateway, started):
    intent = {**se.payment_intent(started.booking_id, "pi_short"), "amount": 4999, "amount_received": 4999,
              "currency": "gbp"}

    result = deliver(engine, gateway, se.event("payment_intent.succeeded", intent))

    assert result.body["outcome"] == "mismatch recorded; not confirmed"
    assert mismatches(engine) == [("amount", "£50.00", "£49.99", "pi_short")]
    assert state(engine, started.booking_id)[0] == BookingStatus.PENDING


def test_the_success_page_does_not_confirm_a_mismatched_session(engine, gateway, started):
    paid = gateway.pay(started.checkout_session_id, "pi_cheap")
    gateway.sessions[paid.id] = CheckoutSession(**{**paid.__dict__, "amount_total": 1})

    receipt = receipts.confirm_from_success_page(engine=engine, gateway=gateway,
                                                 checkout_session_id=started.checkout_session_id)

    assert receipt.state == "mismatch"
    assert state(engine, started.booking_id)[0] == BookingStatus.PENDING
    assert mismatches(engine) == [("amount", "£50.00", "£0.01", started.checkout_session_id)]


def test_a_session_of_an_attempt_still_being_recorded_is_ours(engine, gateway, session_type):
    start = (datetime.now(timezone.utc) + timedelta(days=2)).replace(hour=14, minute=0, second=0, microsecond=0)
    with session_scope(engine) as s:  # txn 1 only: Stripe answered, our commit did not happen yet
        attempt = payments.write_hold(session=s, settings=SETTINGS, session_type_id=session_type.id,
                                      start_time=start, client_name="Cy", client_email="cy@example.com")
    made = gateway.create_checkout_session(attempt.request, idempotency_key=attempt.idempotency_key)

    result = deliver(engine, gateway, completed(attempt.booking_id, made.id))

    assert result.body["outcome"] == "fulfilment:confirmed" and mismatches(engine) == []


def test_the_admin_sees_mismatches_and_a_builder_only_their_own(engine, gateway, started, session, session_type):
    from booking_ui.admin.payments import PaymentsState

    deliver(engine, gateway, completed(started.booking_id, started.checkout_session_id, amount=1))
    other_builder = make_builder(session, name="Bob")
    session.commit()
    admin_id = make_user(engine, email="root@example.com", role=UserRole.ADMIN)
    owner_id = make_user(engine, email="ada@example.com", role=UserRole.BUILDER, builder_id=session_type.builder_id)
    stranger_id = make_user(engine, email="bob@example.com", role=UserRole.BUILDER, builder_id=other_builder.id)

    admin = state_of(PaymentsState, token_for(engine, admin_id))
    call(admin, "load")
    owner = state_of(PaymentsState, token_for(engine, owner_id))
    call(owner, "load")
    stranger = state_of(PaymentsState, token_for(engine, stranger_id))
    call(stranger, "load")

    assert admin.mismatches_total == owner.mismatches_total == 1 and stranger.mismatches_total == 0
    [row] = admin.mismatches
    assert (row.kind, row.booking_id, row.expected, row.actual, row.client) == (
        "Amount differs", started.booking_id, "£50.00", "£0.01", "Ann")
    call(admin, "show_mismatches_page", 7)
    assert admin.mismatches_page == 1  # clamped to the pages there are
    with Session(engine) as s:
        page = monitor.mismatches(session=s, builder_id=None, zone=timezone.utc)
        assert page.total == 1
