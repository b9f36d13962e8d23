"""Prices in several currencies on a real database: a session type sold in GBP, EUR and USD is one Stripe
Price with `currency_options`; the client pays in EUR; the fee, the refund, the journal and the fee report
stay in EUR, never added to GBP.

The first part runs against the in-memory gateway with Connect (the fee of a destination charge); the
second through the Stripe emulator over HTTP with the official SDK."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from booking.accounts.authz import Actor
from booking.client import catalog, receipts
from booking.client.booking_page import page_summary
from booking.core.config import load_settings
from booking.core.models import MoneyMovement, Payment, PriceOption, Refund, UserAccount, UserRole
from booking.lifecycle import checkout as payments
from booking.lifecycle import refunds
from booking.lifecycle.checkout import InvalidRequest
from booking.payments import connect
from booking.payments.gateway import StripeGateway, checkout_params
from booking.workspace.session_types import (
    InvalidSessionType,
    create_session_type,
    parse_form,
    update_session_type,
)
from stripe_emulator.server import EmulatorServer
from tests.factories import make_builder, make_session_type
from tests.support import stripe_events as se
from tests.support.admin_states import make_user
from tests.support.fake_gateway import FakeGateway

NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)
SETTINGS = load_settings(PUBLIC_URL="https://book.example", HOLD_MINUTES=30, PLATFORM_FEE_PERCENT="10",
                         PLATFORM_FIXED_FEES="gbp:30,eur:25")
FORM = {"name": "Consult", "description": "", "duration_minutes": "60", "price": "50.00", "currency": "gbp",
        "other_prices": "EUR 45.00, USD 60.00", "location": ""}


def actor_for(engine, user_id: int) -> Actor:
    with Session(engine) as s:
        return Actor.of(s.get(UserAccount, user_id))


def start_time(days: int = 2) -> datetime:
    return (NOW + timedelta(days=days)).replace(hour=10, minute=0)


def book(engine, gateway, session_type_id, *, currency=None, days=2, settings=SETTINGS):
    return payments.begin_checkout(engine=engine, gateway=gateway, settings=settings,
                                   session_type_id=session_type_id, start_time=start_time(days),
                                   client_name="Cleo", client_email="cleo@example.com", currency=currency)


def payment_of(engine, booking_id) -> Payment:
    with Session(engine) as s:
        return s.exec(select(Payment).where(Payment.booking_id == booking_id)).one()


# --- the in-memory gateway: Connect, fees, refunds, the report ---------------------------------------------


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway(webhook_secret=[se.WEBHOOK_SECRET])


@pytest.fixture
def ada(engine, gateway, session: Session):
    builder = make_builder(session, name="Ada", email="ada@example.test", time_zone="Europe/London")
    session.commit()
    actor = actor_for(engine, make_user(engine, email="ada-user@example.test", builder_id=builder.id))
    saved = create_session_type(engine=engine, gateway=gateway, actor=actor, data=parse_form(FORM))
    connect.start_onboarding(engine=engine, gateway=gateway, actor=actor, return_url="https://book.example/r",
                             refresh_url="https://book.example/f")
    with Session(engine) as s:
        from booking.core.models import Builder
        account_id = s.get(Builder, builder.id).stripe_account_id
    gateway.complete_onboarding(account_id, payouts_enabled=True)
    connect.sync_account(engine=engine, gateway=gateway, actor=actor)
    return {"builder_id": builder.id, "actor": actor, "type_id": saved.session_type_id, "account": account_id}


def pay(engine, gateway, started, payment_intent):
    from booking.events.webhooks import handle_webhook

    paid = gateway.pay(started.checkout_session_id, payment_intent)
    obj = se.checkout_session(started.booking_id, paid.id, payment_intent=payment_intent,
                              amount=paid.amount_total, currency=paid.currency)
    payload = se.encode(se.event("checkout.session.completed", obj))
    answer = handle_webhook(engine=engine, gateway=gateway, payload=payload,
                            signature=se.sign(payload, se.WEBHOOK_SECRET))
    assert answer.status_code == 200


def test_the_form_saves_other_currencies_as_one_price_with_currency_options(engine, gateway, ada):
    with Session(engine) as s:
        stored = {o.currency: o.unit_amount for o in s.exec(select(PriceOption)).all()}
    assert stored == {"eur": 4500, "usd": 6000}
    (price,) = [p for p in gateway.catalog.prices.values() if p.active]
    assert (price.unit_amount, price.currency, price.currency_options) == (5000, "gbp", {"eur": 4500, "usd": 6000})

    saved = update_session_type(engine=engine, gateway=gateway, actor=ada["actor"], session_type_id=ada["type_id"],
                                data=parse_form({**FORM, "other_prices": "EUR 48.00"}))
    (price,) = [p for p in gateway.catalog.prices.values() if p.active]
    assert price.currency_options == {"eur": 4800} and not saved.warning
    with Session(engine) as s:
        assert [(o.currency, o.unit_amount) for o in s.exec(select(PriceOption)).all()] == [("eur", 4800)]


def test_a_price_below_stripes_minimum_is_refused_when_saved_and_nothing_changes(engine, gateway, ada):
    with pytest.raises(InvalidSessionType) as info:
        update_session_type(engine=engine, gateway=gateway, actor=ada["actor"], session_type_id=ada["type_id"],
                            data=parse_form({**FORM, "other_prices": "JPY 40"}))
    assert info.value.errors == {"other_prices": "JPY: Stripe's minimum charge in JPY is ¥50."}
    with Session(engine) as s:
        assert len(s.exec(select(PriceOption)).all()) == 2


def test_the_client_sees_their_locales_currency_and_may_pick_another(engine, ada):
    with Session(engine) as s:
        german = page_summary(session=s, session_type_id=ada["type_id"], locale="de")
        american = page_summary(session=s, session_type_id=ada["type_id"], locale="en-US")
        picked = page_summary(session=s, session_type_id=ada["type_id"], locale="de", currency="gbp")
        japanese = page_summary(session=s, session_type_id=ada["type_id"], locale="ja")
        views = catalog.list_active_session_types(session=s, locale="de")
    assert (german.currency, german.price) == ("eur", "45,00\u00a0€")
    assert (american.currency, american.price) == ("usd", "$60.00")
    assert (picked.currency, picked.price) == ("gbp", "50,00\u00a0£")
    assert japanese.currency == "gbp"  # not sold in yen: the type's own
    assert [c.currency for c in german.price_choices] == ["gbp", "eur", "usd"]
    assert views[0].price.currency == "eur" and [p.currency for p in views[0].prices] == ["gbp", "eur", "usd"]


def test_checkout_charges_in_eur_and_the_fee_refund_and_report_stay_in_eur(engine, gateway, ada):
    admin = actor_for(engine, make_user(engine, email="ops@example.test", role=UserRole.ADMIN))
    in_eur = book(engine, gateway, ada["type_id"], currency="EUR")
    request, _key = gateway.created[-1]
    assert (request.amount, request.currency, request.currency_option) == (4500, "eur", True)
    assert request.application_fee_amount == 475  # 10 % of €45.00 + the €0.25 fixed fee
    params = checkout_params(request)
    assert params["currency"] == "eur" and params["line_items"][0]["price"] == request.price_id
    pay(engine, gateway, in_eur, "pi_eur")
    in_gbp = book(engine, gateway, ada["type_id"], days=3)
    assert gateway.created[-1][0].currency == "gbp" and "currency" not in checkout_params(gateway.created[-1][0])
    pay(engine, gateway, in_gbp, "pi_gbp")

    paid = payment_of(engine, in_eur.booking_id)
    assert (paid.amount, paid.currency, paid.application_fee_amount) == (4500, "eur", 475)
    refunds.request_refund(engine=engine, gateway=gateway, actor=ada["actor"], cancel_session=False,
                           booking_id=in_eur.booking_id, amount=1500, reason="requested_by_customer",
                           request_key="eur-refund")
    with Session(engine) as s:
        refund = s.exec(select(Refund).where(Refund.booking_id == in_eur.booking_id)).one()
        movements = {m.currency for m in s.exec(select(MoneyMovement).where(
            MoneyMovement.payment_id == paid.id)).all()}
        report = connect.fee_report(session=s, actor=admin)
    assert (refund.amount, refund.currency, refund.application_fee_refunded) == (1500, "eur", 158)
    assert movements == {"eur"}
    month = NOW.strftime("%Y-%m")
    assert [(r.month, r.currency, r.payments, r.gross, r.fees, r.fees_refunded) for r in report] == [
        (month, "EUR", 1, "€30.00", "€4.75", "€1.58"),
        (month, "GBP", 1, "£50.00", "£5.30", "£0.00"),
    ]


def test_try_again_keeps_the_currency_the_client_chose(engine, gateway, ada):
    started = book(engine, gateway, ada["type_id"], currency="usd")
    renewed = payments.retry_checkout(engine=engine, gateway=gateway, settings=SETTINGS, booking_id=started.booking_id)
    assert renewed.checkout_session_id != started.checkout_session_id
    assert [(r.amount, r.currency) for r, _key in gateway.created] == [(6000, "usd"), (6000, "usd")]


def test_a_currency_the_type_is_not_sold_in_is_refused_and_nothing_is_held(engine, gateway, ada):
    with pytest.raises(InvalidRequest) as info:
        book(engine, gateway, ada["type_id"], currency="jpy")
    assert info.value.field == "currency" and "JPY" in info.value.message
    assert gateway.created == []


# --- through the emulator over HTTP ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def emulator():
    with EmulatorServer(webhook_url=None, webhook_secret=se.WEBHOOK_SECRET) as server:
        yield server


def test_the_emulator_charges_and_refunds_the_currency_option(engine, session: Session, emulator):
    gateway = StripeGateway(secret_key="sk_test_currencies", webhook_secret=se.WEBHOOK_SECRET, api_base=emulator.url)
    plain = load_settings(PUBLIC_URL="https://book.example", HOLD_MINUTES=30)
    builder = make_builder(session, name="Kenji", time_zone="Europe/Paris")
    session.commit()
    actor = actor_for(engine, make_user(engine, email="kenji@example.test", builder_id=builder.id))
    saved = create_session_type(engine=engine, gateway=gateway, actor=actor,
                                data=parse_form({**FORM, "other_prices": "EUR 45.00, JPY 7000"}))
    stripe = emulator.client()
    with Session(engine) as s:
        from booking.core.models import SessionType
        price_id = s.get(SessionType, saved.session_type_id).stripe_price_id
    price = stripe.v1.prices.retrieve(price_id, params={"expand": ["currency_options"]})
    assert {code: option["unit_amount"] for code, option in price.currency_options.to_dict().items()} == \
        {"gbp": 5000, "eur": 4500, "jpy": 7000}

    started = book(engine, gateway, saved.session_type_id, currency="jpy", settings=plain)
    checkout = stripe.v1.checkout.sessions.retrieve(started.checkout_session_id)
    assert (checkout.amount_total, checkout.currency) == (7000, "jpy")
    emulator.emulator.pay(started.checkout_session_id, number="4242424242424242", expiry="12/34", cvc="123",
                          email="cleo@example.com", name="Cleo")
    assert receipts.confirm_from_success_page(engine=engine, gateway=gateway,
                                              checkout_session_id=started.checkout_session_id).state == "confirmed"
    paid = payment_of(engine, started.booking_id)
    assert (paid.amount, paid.currency) == (7000, "jpy")

    outcome = refunds.request_refund(engine=engine, gateway=gateway, actor=actor, cancel_session=False,
                                     booking_id=started.booking_id, amount=2000, reason="requested_by_customer",
                                     request_key="jpy-refund")
    assert outcome.ok
    (at_stripe,) = stripe.v1.refunds.list(params={"payment_intent": paid.payment_intent_id}).data
    assert (at_stripe.amount, at_stripe.currency) == (2000, "jpy")


def test_the_emulator_refuses_a_session_below_the_minimum_in_the_chosen_currency(session: Session, emulator):
    stripe = emulator.client()
    product = stripe.v1.products.create(params={"name": "Tiny"})
    price = stripe.v1.prices.create(params={"product": product.id, "currency": "gbp", "unit_amount": 500,
                                            "currency_options": {"jpy": {"unit_amount": 40}}})
    import stripe as stripe_sdk

    with pytest.raises(stripe_sdk.InvalidRequestError) as info:
        stripe.v1.checkout.sessions.create(params={
            "mode": "payment", "currency": "jpy", "success_url": "https://book.example/ok",
            "line_items": [{"price": price.id, "quantity": 1}]})
    assert info.value.code == "amount_too_small" and "¥50" in str(info.value)


# --- the JSON API ------------------------------------------------------------------------------------------


def test_the_api_lists_every_price_and_charges_the_currency_asked_for(engine, session: Session, monkeypatch):
    from datetime import time

    from starlette.testclient import TestClient

    from booking_ui import api, deps

    fake = FakeGateway()
    monkeypatch.setattr(deps, "gateway", lambda: fake)
    builder = make_builder(session, time_zone="Europe/London", hours=(time(9), time(12)))
    session_type = make_session_type(session, builder, price_amount=5000, currency="gbp")
    session.add(PriceOption(session_type_id=session_type.id, currency="eur", unit_amount=4500))
    session.commit()
    client = TestClient(api.build_api())

    (listed,) = [t for t in client.get("/api/session-types").json() if t["id"] == str(session_type.id)]
    assert [(p["amount"], p["currency"]) for p in listed["prices"]] == [(5000, "gbp"), (4500, "eur")]
    day = (NOW + timedelta(days=3)).date().isoformat()
    starts = [s["start_time"] for s in client.get(f"/api/session-types/{session_type.id}/slots",
                                                   params={"from": day, "days": 1}).json()["slots"]]
    body = {"session_type_id": str(session_type.id), "client_name": "Ann", "client_email": "ann@example.com"}

    for currency, field in (("jpy", "currency"), ("e1", "currency"), (7, "currency")):
        refused = client.post("/api/payments/create-checkout-session",
                              json={**body, "start_time": starts[0], "currency": currency})
        assert refused.status_code == 422 and refused.json()["error"]["field"] == field
    created = client.post("/api/payments/create-checkout-session",
                          json={**body, "start_time": starts[0], "currency": "EUR"})
    assert created.status_code == 201
    assert [(r.amount, r.currency) for r, _key in fake.created] == [(4500, "eur")]
