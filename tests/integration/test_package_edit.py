"""Editing a package in the workspace, against the Stripe emulator (SQLite and PostgreSQL): new terms are
what the shop and the next Checkout sell (a new Stripe Price, the old one archived), a client who bought
before keeps exactly what they bought (credits, expiry, session types, and a refund from what they paid),
another builder cannot edit it, and a bad price is refused with nothing changed."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlmodel import Session, select

from booking.accounts.authz import Actor, NotFound
from booking.client import packages
from booking.core.config import load_settings
from booking.core.models import AuditEntry, CreditGrant, CreditPackage, Payment, UserRole
from booking.payments import credits
from booking.workspace import packages as workspace_packages
from tests.factories import make_builder, make_session_type
from tests.integration.test_packages import CARD, deliver_all

SETTINGS = load_settings(PUBLIC_URL="https://book.example")
FORM = {"name": "Three calls", "description": "", "session_count": "3", "price": "135.00", "currency": "gbp",
        "validity_days": "60"}


@pytest.fixture
def shop(engine, gateway):
    """Ada, her 1:1 call and her group call, and a 3-session package of the 1:1 call (£135.00)."""
    with Session(engine) as s:
        builder = make_builder(s, name="Ada", min_notice_minutes=0)
        one_to_one = make_session_type(s, builder, price_amount=5000, currency="gbp", name="1:1 call")
        group = make_session_type(s, builder, price_amount=2000, currency="gbp", name="Group call")
        s.commit()
        ids = {"builder": builder.id, "one_to_one": one_to_one.id, "group": group.id}
    actor = Actor(user_id=None, email="ada@example.com", role=UserRole.BUILDER, builder_id=ids["builder"])
    data = workspace_packages.parse_package_form({**FORM, "session_type_ids": [str(ids["one_to_one"])]})
    ids["package"] = workspace_packages.create_package(engine=engine, gateway=gateway, actor=actor, data=data,
                                                       settings=SETTINGS)
    return {**ids, "actor": actor}


def edit(engine, gateway, shop, actor=None, **changes) -> workspace_packages.PackageSaved:
    form = {**FORM, "session_type_ids": [str(shop["one_to_one"])], **changes}
    return workspace_packages.update_package(engine=engine, gateway=gateway, actor=actor or shop["actor"],
                                             package_id=shop["package"],
                                             data=workspace_packages.parse_package_form(form), settings=SETTINGS)


def buy(engine, gateway, emulator, shop, email: str) -> Payment:
    started = packages.begin_package_purchase(engine=engine, gateway=gateway, settings=SETTINGS,
                                              package_id=shop["package"], client_name="Ann", client_email=email)
    with Session(engine) as s:
        payment = s.exec(select(Payment).where(Payment.package_purchase_id == started.purchase_id)).one()
    emulator.emulator.pay(payment.checkout_session_id, **{**CARD, "email": email})
    deliver_all(engine, gateway, emulator)
    with Session(engine) as s:
        return s.get(Payment, payment.id)


def package_row(engine, shop) -> CreditPackage:
    with Session(engine) as s:
        return s.get(CreditPackage, shop["package"])


def test_a_new_price_is_a_new_stripe_price_the_old_one_archived_and_the_next_checkout_uses_it(
        engine, gateway, emulator, shop):
    before = package_row(engine, shop)

    saved = edit(engine, gateway, shop, name="Five calls", session_count="5", price="200.00",
                 other_prices="EUR 230.00")

    after = package_row(engine, shop)
    assert (saved.changed, saved.warning) == (True, "")
    assert (after.name, after.session_count, after.price_amount) == ("Five calls", 5, 20000)
    assert after.stripe_product_id == before.stripe_product_id and after.stripe_price_id != before.stripe_price_id
    stripe = emulator.client().v1
    old, new = stripe.prices.retrieve(before.stripe_price_id), stripe.prices.retrieve(after.stripe_price_id)
    assert (old.active, old.unit_amount) == (False, 13500)
    assert (new.active, new.unit_amount, new.currency) == (True, 20000, "gbp")
    assert stripe.products.retrieve(after.stripe_product_id).name == "Five calls"
    with Session(engine) as s:
        [offer] = packages.package_offers(session=s, builder_id=shop["builder"], settings=SETTINGS)
    assert (offer.name, offer.session_count, offer.price_display, offer.currencies) == (
        "Five calls", 5, "£200.00", ("gbp", "eur"))

    payment = buy(engine, gateway, emulator, shop, "bob@example.com")

    assert (payment.amount, payment.currency) == (20000, "gbp")
    with Session(engine) as s:
        assert credits.balance(session=s, client_email="bob@example.com",
                               now=datetime.now(timezone.utc)).available == 5
    # Saving the same terms again changes nothing, at Stripe or here.
    again = edit(engine, gateway, shop, name="Five calls", session_count="5", price="200.00",
                 other_prices="EUR 230.00")
    assert again.changed is False and package_row(engine, shop).stripe_price_id == after.stripe_price_id


def test_a_client_who_bought_before_keeps_their_credits_and_their_refund_is_from_what_they_paid(
        engine, gateway, emulator, shop):
    buy(engine, gateway, emulator, shop, "ann@example.com")
    with Session(engine) as s:
        grant_before = s.exec(select(CreditGrant)).one()

    edit(engine, gateway, shop, session_count="10", price="300.00", validity_days="7",
         session_type_ids=[str(shop["group"])])

    with Session(engine) as s:
        held = credits.balance(session=s, client_email="ann@example.com", now=datetime.now(timezone.utc))
        [grant] = held.grants
        assert (grant.quantity, grant.available, grant.expires_at, grant.session_type_ids) == (
            3, 3, grant_before.expires_at, (shop["one_to_one"],))
        [sale] = workspace_packages.list_sales(session=s, actor=shop["actor"])
        assert (sale.paid, sale.bought, sale.refundable) == ("£135.00", 3, "£135.00")

    said = workspace_packages.refund_unused_credits(engine=engine, gateway=gateway, actor=shop["actor"],
                                                    grant_id=sale.grant_id)

    assert said == "Refunded £135.00 for 3 unused credit(s)."


def test_a_client_paying_while_the_package_is_edited_gets_what_they_were_sold(engine, gateway, emulator, shop):
    started = packages.begin_package_purchase(engine=engine, gateway=gateway, settings=SETTINGS,
                                              package_id=shop["package"], client_name="Ann",
                                              client_email="ann@example.com")
    edit(engine, gateway, shop, session_count="10", validity_days="7", session_type_ids=[str(shop["group"])])
    with Session(engine) as s:
        payment = s.exec(select(Payment).where(Payment.package_purchase_id == started.purchase_id)).one()
    emulator.emulator.pay(payment.checkout_session_id, **{**CARD, "email": "ann@example.com"})
    deliver_all(engine, gateway, emulator)

    with Session(engine) as s:
        [grant] = credits.balance(session=s, client_email="ann@example.com", now=datetime.now(timezone.utc)).grants
    assert (grant.quantity, grant.session_type_ids) == (3, (shop["one_to_one"],))  # the 1:1 call, as sold


def test_another_builder_cannot_edit_the_package_but_the_platform_admin_can(engine, gateway, shop):
    with Session(engine) as s:
        other = make_builder(s, name="Bo")
        s.commit()
        stranger = Actor(user_id=None, email="bo@example.com", role=UserRole.BUILDER, builder_id=other.id)
    before = package_row(engine, shop)

    with pytest.raises(NotFound):
        edit(engine, gateway, shop, actor=stranger, name="Mine now", price="1.00")

    assert package_row(engine, shop) == before
    admin = Actor(user_id=None, email="admin@example.com", role=UserRole.ADMIN, builder_id=None)
    edit(engine, gateway, shop, actor=admin, name="Three calls (admin)")
    assert package_row(engine, shop).name == "Three calls (admin)"


@pytest.mark.parametrize(("price", "message"), [("0.10", "minimum charge"), ("1000000.00", "at most")])
def test_a_bad_price_is_refused_and_nothing_changes(engine, gateway, emulator, shop, price, message):
    before = package_row(engine, shop)

    with pytest.raises(workspace_packages.InvalidPackage) as refused:
        edit(engine, gateway, shop, name="Cheap", price=price)

    assert message in refused.value.errors["price"]
    assert package_row(engine, shop) == before
    prices = emulator.client().v1.prices.list(params={"product": before.stripe_product_id}).data
    assert [(price.id, price.active) for price in prices] == [(before.stripe_price_id, True)]


def test_session_types_of_another_builder_are_refused_and_nothing_changes(engine, gateway, emulator, shop):
    with Session(engine) as s:
        theirs = make_session_type(s, make_builder(s, name="Bo"), name="Not Ada's")
        s.commit()
        theirs_id = theirs.id
    before = package_row(engine, shop)

    with pytest.raises(workspace_packages.InvalidPackage) as refused:
        edit(engine, gateway, shop, price="150.00", session_type_ids=[str(theirs_id)])

    assert refused.value.errors == {"session_type_ids": "Choose session types of this builder."}
    assert package_row(engine, shop) == before
    with Session(engine) as s:
        assert s.exec(select(AuditEntry).where(AuditEntry.action == "package.update")).all() == []
