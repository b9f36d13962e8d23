"""Our StripeGateway against the emulator over real HTTP: the request Stripe receives, and the
success page confirming a paid session while the webhook is withheld."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from booking.client import receipts
from booking.core.config import load_settings
from booking.core.models import Booking, BookingStatus
from booking.lifecycle import checkout as payments
from booking.payments.gateway import PaymentProviderError, StripeGateway
from tests.factories import make_builder, make_session_type
from tests.support.ledger import money
from tests.support.stripe_events import WEBHOOK_SECRET

SETTINGS = load_settings(PUBLIC_URL="https://book.example")


@pytest.fixture
def session_type(session: Session):
    builder = make_builder(session, time_zone="Asia/Tokyo", name="Kenji")
    st = make_session_type(session, builder, price_amount=5000, currency="jpy", name="Quick consult")
    session.commit()
    return st


def start(engine, gateway, session_type):
    start_time = (datetime.now(timezone.utc) + timedelta(days=2)).replace(hour=3, minute=0, second=0, microsecond=0)
    return payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS,
                                   session_type_id=session_type.id, start_time=start_time,
                                   client_name="Ann", client_email="ann@example.com")


def test_stripe_receives_the_server_side_price_metadata_and_hold_expiry(engine, gateway, emulator, session_type):
    started = start(engine, gateway, session_type)

    stripe_session = emulator.client().v1.checkout.sessions.retrieve(started.checkout_session_id)
    assert (stripe_session.amount_total, stripe_session.currency) == (5000, "jpy")
    assert stripe_session.metadata["booking_id"] == started.booking_id
    assert stripe_session.client_reference_id == started.booking_id
    assert stripe_session.expires_at == int(started.expires_at.timestamp())
    assert stripe_session.url == started.checkout_url


def test_success_page_confirms_a_paid_session_without_any_webhook(engine, gateway, emulator, session_type):
    started = start(engine, gateway, session_type)
    emulator.emulator.pay(started.checkout_session_id, number="4242424242424242", expiry="12/34", cvc="123",
                          email="ann@example.com", name="Ann")

    receipt = receipts.confirm_from_success_page(engine=engine, gateway=gateway,
                                                 checkout_session_id=started.checkout_session_id)

    assert receipt.state == "confirmed"
    with Session(engine) as s:
        booking = s.get(Booking, started.booking_id)
        assert booking.status == BookingStatus.CONFIRMED
        assert money(s, booking.id).payment_intent_id.startswith("pi_")


def test_emulator_unreachable_is_a_provider_error_and_releases_the_hold(engine, session_type):
    down = StripeGateway(secret_key="sk_test_x", webhook_secret=WEBHOOK_SECRET, api_base="http://127.0.0.1:9",
                         max_network_retries=0)

    with pytest.raises(PaymentProviderError):
        start(engine, down, session_type)

    with Session(engine) as s:
        assert [b.status for b in s.exec(select(Booking)).all()] == [BookingStatus.CANCELLED]


def test_a_payment_is_traced_back_to_its_booking_through_stripe(engine, gateway, emulator, session_type):
    started = start(engine, gateway, session_type)
    result = emulator.emulator.pay(started.checkout_session_id, number="4242424242424242", expiry="12/34",
                                   cvc="123", email="ann@example.com", name="Ann")
    payment_intent = gateway.retrieve_checkout_session(started.checkout_session_id).payment_intent_id

    assert payment_intent and result is not None
    assert gateway.booking_id_for_payment_intent(payment_intent) == started.booking_id
    assert gateway.booking_id_for_payment_intent("pi_unknown") is None
