"""Clients sharing one network (an office, a campus, a mobile carrier's address) each book and pay, one after
another, through the JSON API and Stripe (the emulator over real HTTP): none is turned away, because only
holds still unpaid and unexpired count against the network."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from booking.client import receipts
from booking.core.config import get_settings
from booking.core.models import Booking, BookingStatus
from booking.payments.gateway import StripeGateway
from booking_ui import api, deps
from tests.factories import make_builder, make_session_type
from tests.support.stripe_events import WEBHOOK_SECRET


@pytest.fixture
def gateway(emulator, monkeypatch) -> StripeGateway:
    real = StripeGateway(secret_key="sk_test_integration", webhook_secret=WEBHOOK_SECRET, api_base=emulator.url)
    monkeypatch.setattr(deps, "gateway", lambda: real)
    return real


@pytest.fixture
def session_type(session: Session):
    builder = make_builder(session, name="Ada")
    st = make_session_type(session, builder, price_amount=5000, currency="gbp", name="Pairing")
    session.commit()
    return st


@pytest.mark.parametrize("cap", [None, "2"], ids=["default-cap", "cap-of-two"])
def test_six_clients_on_one_address_each_book_and_pay(engine, gateway, emulator, session_type, monkeypatch, cap):
    if cap is not None:  # even a cap of two never refuses a network whose clients pay
        monkeypatch.setenv("MAX_HOLDS_PER_IP", cap)
    get_settings.cache_clear()
    office = TestClient(api.build_api(), client=("203.0.113.7", 50000))
    day = (datetime.now(timezone.utc) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)

    outcomes = []
    for n in range(6):
        email = f"colleague{n}@example.com"
        response = office.post("/api/payments/create-checkout-session", json={
            "session_type_id": str(session_type.id), "start_time": day.replace(hour=9 + n).isoformat(),
            "client_name": f"Colleague {n}", "client_email": email})
        assert response.status_code == 201, response.text
        session_id = response.json()["checkout_session_id"]
        emulator.emulator.pay(session_id, number="4242424242424242", expiry="12/34", cvc="123", email=email,
                              name=f"Colleague {n}")
        outcomes.append(receipts.confirm_from_success_page(engine=engine, gateway=gateway,
                                                           checkout_session_id=session_id).state)

    assert outcomes == ["confirmed"] * 6
    with Session(engine) as s:
        assert [b.status for b in s.exec(select(Booking)).all()] == [BookingStatus.CONFIRMED] * 6
