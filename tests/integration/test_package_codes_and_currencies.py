"""Packages with promotion codes and prices in several currencies, on a real database (SQLite and
PostgreSQL): a code for a package discounts its Checkout and the platform fee, its use is redeemed when the
sale is paid and given back when it is left unpaid; a package priced in a second currency is sold through
the emulator's Checkout in it, grants its credits and records the payment in that currency."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from booking.accounts.authz import Actor, NotFound
from booking.client import packages
from booking.core.config import load_settings
from booking.core.models import (
    CreditPackage,
    Payment,
    PaymentStatus,
    PriceOption,
    PromotionRedemption,
    RedemptionStatus,
    UserRole,
)
from booking.payments import credits, package_sales, promotions
from booking.payments.gateway import StripeGateway
from booking.workspace import packages as workspace_packages
from booking.workspace import promotions as workspace_codes
from stripe_emulator.server import EmulatorServer
from tests.factories import make_builder, make_session_type
from tests.integration.test_packages import CARD, deliver_all
from tests.support import stripe_events as se
from tests.support.fake_gateway import FakeGateway

SETTINGS = load_settings(PUBLIC_URL="https://book.example", PLATFORM_FEE_PERCENT="10")


def make_shop(engine, gateway, *, account: bool, **package_form) -> dict:
    """Ada, her 1:1 call and a 3-session package of it (£135.00), made through the workspace."""
    with Session(engine) as s:
        extra = dict(stripe_account_id="acct_pkgcodes", charges_enabled=True, payouts_enabled=True,
                     details_submitted=True) if account else {}
        builder = make_builder(s, name="Ada", time_zone="UTC", **extra)
        session_type = make_session_type(s, builder, price_amount=5000, currency="gbp", name="1:1 call")
        s.commit()
        ids = {"builder": builder.id, "session_type": session_type.id}
    actor = Actor(user_id=None, email="ada@example.com", role=UserRole.BUILDER, builder_id=ids["builder"])
    data = workspace_packages.parse_package_form({
        "name": "Three calls", "session_count": "3", "price": "135.00", "currency": "gbp", "validity_days": "60",
        "session_type_ids": [str(ids["session_type"])], **package_form})
    ids["package"] = workspace_packages.create_package(engine=engine, gateway=gateway, actor=actor, data=data,
                                                       settings=SETTINGS)
    return {**ids, "actor": actor}


def uses(engine) -> list[PromotionRedemption]:
    with Session(engine) as s:
        return list(s.exec(select(PromotionRedemption).order_by(PromotionRedemption.id)).all())


def sale_payment(engine, purchase_id: int) -> Payment:
    with Session(engine) as s:
        return s.exec(select(Payment).where(Payment.package_purchase_id == purchase_id)).one()


# --- promotion codes (the fake gateway records what Checkout was asked for) ------------------------------


@pytest.fixture
def fake() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def code_shop(engine, fake) -> dict:
    shop = make_shop(engine, fake, account=True)
    data = workspace_codes.parse_form({"code": "PACK20", "kind": "percent", "percent_off": "20", "max_uses": "1",
                                       "package_id": str(shop["package"])})
    row = workspace_codes.create_promotion_code(engine=engine, gateway=fake, actor=shop["actor"], data=data)
    assert row.applies_to == "Package Three calls (Ada)"
    return shop


def buy_with_code(engine, fake, shop, code="pack20", email="ann@example.com"):
    return packages.begin_package_purchase(engine=engine, gateway=fake, settings=SETTINGS,
                                           package_id=shop["package"], client_name="Ann", client_email=email,
                                           promotion_code=code)


def test_a_package_code_discounts_the_charge_and_the_fee_and_is_redeemed_when_paid(engine, fake, code_shop):
    with Session(engine) as s:  # shown before Checkout, nothing reserved
        assert packages.package_price_with_code(session=s, package_id=code_shop["package"], code="pack20",
                                                settings=SETTINGS) == "£108.00 (PACK20: −£27.00)"
    assert uses(engine) == []
    started = buy_with_code(engine, fake, code_shop)
    request, _key = fake.created[-1]
    assert (request.amount, request.list_amount) == (10800, 13500)  # £135.00 less 20 %
    assert request.promotion_code_id and request.application_fee_amount == 1080  # 10 % of what Ann pays
    payment = sale_payment(engine, started.purchase_id)
    assert (payment.amount, payment.application_fee_amount) == (10800, 1080)
    [use] = uses(engine)
    assert (use.status, use.package_purchase_id, use.booking_id, use.payment_id, use.discount_amount) == (
        RedemptionStatus.RESERVED, started.purchase_id, None, payment.id, 2700)

    paid = fake.pay(payment.checkout_session_id)
    with Session(engine) as s:
        package_sales.fulfil_sale(session=s, payment=s.get(Payment, payment.id), checkout=paid)
        s.commit()
        assert credits.balance(session=s, client_email="ann@example.com",
                               now=datetime.now(timezone.utc)).available == 3
    assert [u.status for u in uses(engine)] == [RedemptionStatus.REDEEMED]
    with pytest.raises(promotions.PromotionCodeInvalid, match="used up"):  # max_uses=1
        buy_with_code(engine, fake, code_shop, email="bob@example.com")


def test_a_package_codes_use_is_given_back_when_the_purchase_is_left_unpaid(engine, fake, code_shop):
    started = buy_with_code(engine, fake, code_shop)
    payment = sale_payment(engine, started.purchase_id)
    with Session(engine) as s:
        package_sales.mark_sale_unpaid(session=s, payment=s.get(Payment, payment.id), expired=True)
        s.commit()
    assert [u.status for u in uses(engine)] == [RedemptionStatus.RELEASED]
    again = buy_with_code(engine, fake, code_shop, email="bob@example.com")  # the one use is free again
    assert sale_payment(engine, again.purchase_id).amount == 10800


def test_a_refused_code_writes_nothing_and_codes_stay_on_their_own_offer(engine, fake, code_shop):
    with pytest.raises(promotions.PromotionCodeInvalid, match="does not exist"):
        buy_with_code(engine, fake, code_shop, code="NOPE")
    with Session(engine) as s:
        assert s.exec(select(Payment)).all() == []
    assert uses(engine) == []
    session_code = workspace_codes.parse_form({"code": "CALLS", "kind": "percent", "percent_off": "10",
                                               "session_type_id": str(code_shop["session_type"])})
    workspace_codes.create_promotion_code(engine=engine, gateway=fake, actor=code_shop["actor"], data=session_code)
    with pytest.raises(promotions.PromotionCodeInvalid, match="not valid for this package"):
        buy_with_code(engine, fake, code_shop, code="CALLS")
    with Session(engine) as s:
        other = make_builder(s, time_zone="UTC")
        s.commit()
        stranger = Actor(user_id=None, email="c@example.com", role=UserRole.BUILDER, builder_id=other.id)
    with pytest.raises(NotFound):  # a builder can't aim a code at another builder's package
        workspace_codes.create_promotion_code(engine=engine, gateway=fake, actor=stranger, data=workspace_codes.parse_form(
            {"code": "THEIRS", "kind": "percent", "percent_off": "10", "package_id": str(code_shop["package"])}))


# --- prices in several currencies (through the emulator) ----------------------------------------------------


@pytest.fixture(scope="module")
def emulator():
    with EmulatorServer(webhook_url=None, webhook_secret=se.WEBHOOK_SECRET) as server:
        yield server


@pytest.fixture
def stripe(emulator) -> StripeGateway:
    return StripeGateway(secret_key="sk_test_integration", webhook_secret=se.WEBHOOK_SECRET, api_base=emulator.url)


def test_a_package_bought_in_a_second_currency_grants_credits_and_is_paid_in_it(engine, stripe, emulator):
    shop = make_shop(engine, stripe, account=False, other_prices="EUR 155.00, USD 170")
    with Session(engine) as s:
        package = s.get(CreditPackage, shop["package"])
        assert {(o.currency, o.unit_amount) for o in s.exec(select(PriceOption).where(
            PriceOption.package_id == package.id))} == {("eur", 15500), ("usd", 17000)}
        price = emulator.client().v1.prices.retrieve(package.stripe_price_id, params={"expand": ["currency_options"]})
        assert price.currency_options["eur"].unit_amount == 15500
        [offer] = packages.package_offers(session=s, builder_id=shop["builder"], settings=SETTINGS, currency="eur")
        assert "155" in offer.price_display and offer.currencies == ("gbp", "eur", "usd")

    started = packages.begin_package_purchase(engine=engine, gateway=stripe, settings=SETTINGS,
                                              package_id=shop["package"], client_name="Ann",
                                              client_email="ann@example.com", currency="EUR")
    payment = sale_payment(engine, started.purchase_id)
    assert (payment.amount, payment.currency) == (15500, "eur")
    emulator.emulator.pay(payment.checkout_session_id, **CARD)
    deliver_all(engine, stripe, emulator)

    paid = sale_payment(engine, started.purchase_id)
    assert (paid.status, paid.amount, paid.currency) == (PaymentStatus.PAID, 15500, "eur")
    with Session(engine) as s:
        assert credits.balance(session=s, client_email="ann@example.com",
                               now=datetime.now(timezone.utc)).available == 3
    with pytest.raises(packages.InvalidRequest, match="isn't sold in JPY"):
        packages.begin_package_purchase(engine=engine, gateway=stripe, settings=SETTINGS, package_id=shop["package"],
                                        client_name="Ann", client_email="ann@example.com", currency="jpy")


def test_the_package_form_refuses_a_second_price_below_stripes_minimum():
    with pytest.raises(workspace_packages.InvalidPackage) as bad:
        workspace_packages.parse_package_form({"name": "Tiny", "session_count": "2", "price": "10.00",
                                               "currency": "gbp", "validity_days": "30", "session_type_ids": ["1"],
                                               "other_prices": "USD 0.20"})
    assert set(bad.value.errors) == {"other_prices"} and "minimum" in bad.value.errors["other_prices"]


def test_a_price_option_belongs_to_exactly_one_offer(engine, fake):
    shop = make_shop(engine, fake, account=False)
    for both_or_neither in ({"session_type_id": shop["session_type"], "package_id": shop["package"]}, {}):
        with Session(engine) as s:
            s.add(PriceOption(currency="eur", unit_amount=1000, **both_or_neither))
            with pytest.raises(IntegrityError):
                s.commit()


@pytest.mark.parametrize("percent, charged", [("20", 10800), ("100", 0)])
def test_a_package_code_through_the_emulator_charges_the_discounted_amount(engine, stripe, emulator, percent,
                                                                            charged):
    shop = make_shop(engine, stripe, account=False)
    code = f"PACKOFF{percent}"  # the emulator outlives the database: a code per case
    data = workspace_codes.parse_form({"code": code, "kind": "percent", "percent_off": percent,
                                       "package_id": str(shop["package"])})
    workspace_codes.create_promotion_code(engine=engine, gateway=stripe, actor=shop["actor"], data=data)
    started = packages.begin_package_purchase(engine=engine, gateway=stripe, settings=SETTINGS,
                                              package_id=shop["package"], client_name="Ann",
                                              client_email="ann@example.com", promotion_code=code)
    payment = sale_payment(engine, started.purchase_id)
    checkout = stripe.retrieve_checkout_session(payment.checkout_session_id)
    assert (checkout.amount_total, payment.amount) == (charged, charged)
    if charged:
        emulator.emulator.pay(payment.checkout_session_id, **CARD)
        deliver_all(engine, stripe, emulator)
    else:  # a free order: completed on the hosted page with no card, then the return page fulfils it
        page = httpx.post(f"{emulator.url}/c/pay/{payment.checkout_session_id}",
                          data={"email": "ann@example.com"}, timeout=10)
        assert page.status_code == 303
        assert packages.finish_package_purchase(engine=engine, gateway=stripe,
                                                checkout_session_id=payment.checkout_session_id).paid
    with Session(engine) as s:
        assert credits.balance(session=s, client_email="ann@example.com",
                               now=datetime.now(timezone.utc)).available == 3
    assert [u.status for u in uses(engine)] == [RedemptionStatus.REDEEMED]


def test_an_expired_package_checkout_gives_the_codes_use_back_through_the_webhook(engine, stripe, emulator):
    shop = make_shop(engine, stripe, account=False)
    data = workspace_codes.parse_form({"code": "PACKEXPIRE", "kind": "percent", "percent_off": "10",
                                       "max_uses": "1", "package_id": str(shop["package"])})
    workspace_codes.create_promotion_code(engine=engine, gateway=stripe, actor=shop["actor"], data=data)
    started = packages.begin_package_purchase(engine=engine, gateway=stripe, settings=SETTINGS,
                                              package_id=shop["package"], client_name="Ann",
                                              client_email="ann@example.com", promotion_code="PACKEXPIRE")
    payment = sale_payment(engine, started.purchase_id)
    stripe.expire_checkout_session(payment.checkout_session_id, idempotency_key=f"test-expire-{payment.id}")
    deliver_all(engine, stripe, emulator)
    assert sale_payment(engine, started.purchase_id).status == PaymentStatus.EXPIRED
    assert [u.status for u in uses(engine)] == [RedemptionStatus.RELEASED]
