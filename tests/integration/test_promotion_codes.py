"""Promotion codes on a real database (SQLite and PostgreSQL): a builder's and the platform's codes synced
to Stripe, the discounted Checkout and its fee, the last use raced for, a use given back when the hold
ends unpaid, a 100 % code confirming without payment, and the fee report's discounted sales."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from booking.accounts.authz import Actor, NotFound
from booking.core.config import load_settings
from booking.core.models import (
    Booking,
    BookingStatus,
    EndCause,
    Payment,
    PromotionRedemption,
    RedemptionStatus,
    UserRole,
)
from booking.lifecycle import checkout as payments
from booking.lifecycle import transitions
from booking.payments import promotions
from booking.payments.connect import fee_report
from booking.workspace import promotions as workspace_codes
from booking_ui import api, deps
from tests.factories import make_builder, make_session_type
from tests.support.fake_gateway import FakeGateway

NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)
SETTINGS = load_settings(PUBLIC_URL="https://book.example", HOLD_MINUTES=30, PLATFORM_FEE_PERCENT="10")
ADMIN = Actor(user_id=None, email="admin@example.com", role=UserRole.ADMIN, builder_id=None)


def ten_am(days: int = 2) -> datetime:
    return (NOW + timedelta(days=days)).replace(hour=10, minute=0)


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def paid_type(session: Session):
    builder = make_builder(session, time_zone="UTC", stripe_account_id="acct_promo1", charges_enabled=True,
                           payouts_enabled=True, details_submitted=True)
    session_type = make_session_type(session, builder, price_amount=5000, currency="gbp", name="Pairing")
    session.commit()
    return session_type


def make_code(engine, gateway, actor=ADMIN, **form):
    data = workspace_codes.parse_form({"code": "WELCOME10", "kind": "percent", "percent_off": "10", **form})
    return workspace_codes.create_promotion_code(engine=engine, gateway=gateway, actor=actor, data=data)


def begin(engine, gateway, session_type, *, code=None, email="ann@example.com", days=2):
    return payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS, session_type_id=session_type.id,
                                   start_time=ten_am(days), client_name="Ann", client_email=email,
                                   promotion_code=code)


def redemptions(engine) -> list[PromotionRedemption]:
    with Session(engine) as s:
        return list(s.exec(select(PromotionRedemption).order_by(PromotionRedemption.id)).all())


def test_a_code_is_synced_to_stripe_once_with_keys_from_its_row(engine, gateway, paid_type):
    row = make_code(engine, gateway, max_uses="5", first_booking_only="on")
    assert row.synced and row.discount == "10 % off" and "0 of 5 uses" in row.limits
    coupon_key, promo_key = [key for key in gateway.catalog.keys if key.startswith("promotion-code-")]
    assert coupon_key.endswith("-coupon") and promo_key.endswith("-promotion-code")
    with pytest.raises(workspace_codes.InvalidPromotionCode) as taken:
        make_code(engine, gateway, code="welcome10")
    assert "taken" in taken.value.errors["code"]


def test_the_form_names_every_bad_field():
    with pytest.raises(workspace_codes.InvalidPromotionCode) as bad:
        workspace_codes.parse_form({"code": "x!", "kind": "percent", "percent_off": "150", "max_uses": "0",
                                    "expires_on": "31/12/2026"})
    assert set(bad.value.errors) == {"code", "percent_off", "max_uses", "expires_on"}
    with pytest.raises(workspace_codes.InvalidPromotionCode) as amount:
        workspace_codes.parse_form({"code": "FIVE", "kind": "amount", "currency": "gbp", "amount_off": "abc"})
    assert set(amount.value.errors) == {"amount_off"}


def test_a_builder_makes_codes_only_for_their_own_session_types(engine, gateway, session, paid_type):
    other = make_builder(session, time_zone="UTC")
    session.commit()
    owner = Actor(user_id=None, email="b@example.com", role=UserRole.BUILDER, builder_id=paid_type.builder_id)
    mine = make_code(engine, gateway, actor=owner, code="MINE", session_type_id=str(paid_type.id))
    assert mine.applies_to.startswith("Pairing")
    stranger = Actor(user_id=None, email="c@example.com", role=UserRole.BUILDER, builder_id=other.id)
    with pytest.raises(NotFound):
        make_code(engine, gateway, actor=stranger, code="THEIRS", session_type_id=str(paid_type.id))
    with Session(engine) as s:
        assert [r.code for r in workspace_codes.list_promotion_codes(session=s, actor=stranger)] == []


def test_checkout_gets_the_discount_and_the_fee_is_on_what_the_client_pays(engine, gateway, paid_type):
    make_code(engine, gateway)
    started = begin(engine, gateway, paid_type, code=" welcome10 ")
    request, _key = gateway.created[0]
    assert (request.amount, request.list_amount) == (4500, 5000)
    assert request.promotion_code_id and request.promotion_code_id.startswith("promo_fake")
    assert request.application_fee_amount == 450  # 10 % of £45.00, not of £50.00
    with Session(engine) as s:
        payment = s.exec(select(Payment).where(Payment.booking_id == started.booking_id)).one()
        assert (payment.amount, payment.application_fee_amount) == (4500, 450)
    [use] = redemptions(engine)
    assert (use.status, use.list_amount, use.discount_amount, use.payment_id) == (
        RedemptionStatus.RESERVED, 5000, 500, payment.id)
    gateway.pay(started.checkout_session_id)
    payments.fulfil_flow(engine=engine, gateway=gateway,
                         checkout=gateway.retrieve_checkout_session(started.checkout_session_id))
    assert redemptions(engine)[0].status == RedemptionStatus.REDEEMED
    with Session(engine) as s:
        [month] = fee_report(session=s, actor=ADMIN)
    assert (month.discounted_sales, month.discounts) == (1, "£5.00")


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"max_uses": "1"}, "used up"),
        ({"minimum_amount": "60.00"}, "at least £60.00"),
        ({"minimum_amount": "5000", "minimum_currency": "jpy"}, "for prices in JPY (from ¥5,000)"),
        ({"kind": "amount", "currency": "eur", "amount_off": "5"}, "in EUR"),
    ],
)
def test_a_code_that_cannot_be_used_holds_nothing(engine, gateway, paid_type, form, reason):
    make_code(engine, gateway, **form)
    if "max_uses" in form:
        begin(engine, gateway, paid_type, code="WELCOME10", days=3)
    with pytest.raises(promotions.PromotionCodeInvalid) as refused:
        begin(engine, gateway, paid_type, code="WELCOME10", email="bob@example.com")
    assert reason in refused.value.message
    with Session(engine) as s:
        assert s.exec(select(Booking).where(Booking.start_time == ten_am(2))).first() is None


def test_an_unknown_or_expired_code_says_so(engine, gateway, session, paid_type):
    with pytest.raises(promotions.PromotionCodeInvalid, match="does not exist"):
        begin(engine, gateway, paid_type, code="NOPE")
    make_code(engine, gateway, code="OLD", expires_on=(NOW - timedelta(days=2)).date().isoformat())
    with pytest.raises(promotions.PromotionCodeInvalid, match="expired"):
        begin(engine, gateway, paid_type, code="OLD")


def test_two_browsers_racing_for_the_last_use_get_one(engine, gateway, session):
    # The platform's code, for two builders: only the code's own row serialises the race.
    types = [make_session_type(session, make_builder(session, time_zone="UTC"), price_amount=5000) for _ in range(2)]
    session.commit()
    make_code(engine, gateway, code="LASTONE", max_uses="1")

    def attempt(n: int) -> str:
        try:
            begin(engine, gateway, types[n % 2], code="LASTONE", email=f"c{n}@example.com", days=2 + n // 2)
            return "held"
        except promotions.PromotionCodeInvalid:
            return "refused"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert outcomes.count("held") == 1
    assert [u.status for u in redemptions(engine)] == [RedemptionStatus.RESERVED]


def test_the_use_is_given_back_when_the_hold_expires(engine, gateway, paid_type):
    make_code(engine, gateway, max_uses="1")
    begin(engine, gateway, paid_type, code="WELCOME10")
    released = payments.sweep_expired_holds(engine=engine, gateway=gateway, now=NOW + timedelta(hours=1))
    assert released == 1
    assert redemptions(engine)[0].status == RedemptionStatus.RELEASED
    begin(engine, gateway, paid_type, code="WELCOME10", email="bob@example.com", days=3)  # the use is free again


def test_the_use_is_given_back_when_the_payment_fails(engine, gateway, paid_type):
    make_code(engine, gateway, max_uses="1")
    started = begin(engine, gateway, paid_type, code="WELCOME10")
    with Session(engine) as s:
        assert transitions.end_hold_now(session=s, booking_id=started.booking_id, cause=EndCause.PAYMENT_FAILED)
        s.commit()
    assert redemptions(engine)[0].status == RedemptionStatus.RELEASED


def test_a_full_discount_confirms_the_booking_without_payment(engine, gateway, paid_type):
    make_code(engine, gateway, code="FREE", percent_off="100")
    started = begin(engine, gateway, paid_type, code="FREE")
    request, _key = gateway.created[0]
    assert (request.amount, request.application_fee_amount) == (0, 0)
    done = gateway.pay_free(started.checkout_session_id)
    fulfilment = payments.fulfil_flow(engine=engine, gateway=gateway, checkout=done)
    assert fulfilment.booking.status == BookingStatus.CONFIRMED
    with Session(engine) as s:
        payment = s.exec(select(Payment).where(Payment.booking_id == started.booking_id)).one()
        assert (payment.amount, payment.payment_intent_id, payment.application_fee_amount) == (0, None, 0)
    assert redemptions(engine)[0].status == RedemptionStatus.REDEEMED


def test_first_booking_only_refuses_a_client_who_booked_before(engine, gateway, paid_type):
    make_code(engine, gateway, code="FIRST", first_booking_only="on")
    started = begin(engine, gateway, paid_type)
    payments.fulfil_flow(engine=engine, gateway=gateway, checkout=gateway.pay(started.checkout_session_id))
    with pytest.raises(promotions.PromotionCodeInvalid, match="first booking"):
        begin(engine, gateway, paid_type, code="FIRST", days=3)
    begin(engine, gateway, paid_type, code="FIRST", email="new@example.com", days=4)


def test_the_api_takes_a_code_and_names_why_one_is_refused(engine, gateway, paid_type, monkeypatch):
    monkeypatch.setattr(deps, "gateway", lambda: gateway)
    client = TestClient(api.build_api())
    make_code(engine, gateway, max_uses="1")
    body = {"session_type_id": str(paid_type.id), "start_time": ten_am(2).isoformat(), "client_name": "Ann",
            "client_email": "ann@example.com"}
    unknown = client.post("/api/payments/create-checkout-session", json={**body, "promotion_code": "NOPE"})
    assert unknown.status_code == 422
    assert unknown.json()["error"] == {"code": "promotion_code_invalid", "field": "promotion_code",
                                       "message": "The code NOPE does not exist."}
    created = client.post("/api/payments/create-checkout-session", json={**body, "promotion_code": "welcome10"})
    assert created.status_code == 201, created.text
    assert gateway.created[-1][0].amount == 4500
    used_up = client.post("/api/payments/create-checkout-session", json={
        **body, "start_time": ten_am(3).isoformat(), "client_email": "bob@example.com", "promotion_code": "WELCOME10"})
    assert (used_up.status_code, used_up.json()["error"]["code"]) == (422, "promotion_code_invalid")
    assert "used up" in used_up.json()["error"]["message"]
    wrong_type = client.post("/api/payments/create-checkout-session", json={**body, "promotion_code": 10})
    assert wrong_type.json()["error"]["code"] == "invalid_request"
