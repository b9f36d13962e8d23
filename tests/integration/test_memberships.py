"""Memberships on a real database (SQLite and PostgreSQL), through the Stripe emulator and the official SDK: a
plan is a Product with a monthly Price; a client subscribes through Checkout (the builder's account gets each
invoice, the platform keeps its share); `invoice.paid` records the invoice in the ledger and grants the period's
credits once; the clock moves a month and the renewal grants again; a card that fails on charge leaves the
membership past due, emails the client once with a link to the customer portal and grants nothing. Replays and
events out of order change nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from babel.dates import format_date as babel_date
from sqlmodel import Session, select

from booking.accounts.authz import Actor
from booking.client import memberships as client_memberships
from booking.core.config import get_settings
from booking.core.models import (
    Builder,
    CreditGrant,
    Membership,
    MembershipInvoice,
    MembershipInvoiceStatus,
    MembershipPlan,
    MembershipStatus,
    MovementKind,
    Notification,
    Payment,
    PaymentKind,
    UnusedCredits,
    UserAccount,
    UserRole,
)
from booking.core.time import format_money
from booking.lifecycle.checkout import InvalidRequest
from booking.notifications import wallet_links
from booking.notifications.membership_emails import membership_of_token
from booking.notifications.outbox import build_message
from booking.payments import connect, memberships, movements
from booking.payments.gateway import StripeGateway
from booking.payments.memberships import PlanInput
from booking.workspace import dashboard
from stripe_emulator.server import EmulatorServer
from tests.factories import make_builder, make_session_type
from tests.support import stripe_events as se
from tests.support.admin_states import make_user
from tests.support.deliveries import Deliveries, control

FAILING_CARD = "4000000000000341"  # attaches to a customer, fails when charged


@pytest.fixture(scope="module")
def emulator():
    with EmulatorServer(webhook_url=None, webhook_secret=se.WEBHOOK_SECRET) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_emulator(emulator):
    emulator.emulator.reset()
    yield


@pytest.fixture
def gateway(emulator) -> StripeGateway:
    return StripeGateway(secret_key="sk_test_memberships", webhook_secret=se.WEBHOOK_SECRET, api_base=emulator.url)


@pytest.fixture
def deliveries(engine, gateway, emulator) -> Deliveries:
    return Deliveries(engine, gateway, emulator)


@pytest.fixture
def ada(engine, session: Session):
    builder = make_builder(session, name="Ada", email="ada@example.test")
    make_session_type(session, builder, price_amount=5000, currency="gbp", name="Consult")
    session.commit()
    user_id = make_user(engine, email="ada-user@example.test", builder_id=builder.id)
    with Session(engine) as s:
        actor = Actor.of(s.get(UserAccount, user_id))
    return {"builder_id": builder.id, "actor": actor}


def onboard(engine, gateway, emulator, deliveries, ada) -> str:
    connect.start_onboarding(engine=engine, gateway=gateway, actor=ada["actor"],
                             return_url="https://book.example/r", refresh_url="https://book.example/f")
    with Session(engine) as s:
        account_id = s.get(Builder, ada["builder_id"]).stripe_account_id
    control(emulator, f"accounts/{account_id}/onboarding", choice="complete")
    deliveries.flush()
    return account_id


def make_plan(engine, gateway, ada, *, unused=UnusedCredits.LAPSE) -> int:
    return memberships.create_plan(engine=engine, gateway=gateway, actor=ada["actor"], data=PlanInput(
        name="Monthly four", sessions_per_period=4, amount=4000, currency="gbp", unused_credits=unused))


def subscribe(engine, gateway, emulator, plan_id: int, card: str = "4242424242424242",
              client_locale: str | None = None,
              client_time_zone: str | None = None) -> memberships.MembershipCheckout:
    started = memberships.start_membership_checkout(
        engine=engine, gateway=gateway, plan_id=plan_id, client_name="Cleo", client_email="cleo@example.com",
        success_url="https://book.example/membership/thanks", cancel_url="https://book.example/b/ada",
        client_locale=client_locale, client_time_zone=client_time_zone)
    paid = control(emulator, f"checkout/sessions/{started.checkout_session_id}/complete", card=card)
    assert paid["status"] == "succeeded", paid
    return started


def grants(engine) -> list[CreditGrant]:
    with Session(engine) as s:
        return list(s.exec(select(CreditGrant).order_by(CreditGrant.id)).all())


def membership_row(engine, membership_id: int) -> Membership:
    with Session(engine) as s:
        return s.get(Membership, membership_id)


def invoices(engine) -> list[MembershipInvoice]:
    with Session(engine) as s:
        return list(s.exec(select(MembershipInvoice).order_by(MembershipInvoice.id)).all())


def test_a_plan_is_a_product_with_a_monthly_price(engine, gateway, emulator, ada) -> None:
    plan_id = make_plan(engine, gateway, ada)
    with Session(engine) as s:
        plan = s.get(MembershipPlan, plan_id)
    assert plan.active and plan.stripe_product_id and plan.stripe_price_id
    price = httpx.get(f"{emulator.url}/v1/prices/{plan.stripe_price_id}", auth=("sk_test_x", "")).json()
    assert price["recurring"]["interval"] == "month" and price["unit_amount"] == 4000
    with Session(engine) as s:
        assert [view.name for view in memberships.offered_plans(session=s, builder_id=ada["builder_id"])] == [
            "Monthly four"]


def test_subscribing_grants_the_first_month_once_and_journals_the_invoice(
        engine, gateway, emulator, deliveries, ada) -> None:
    account_id = onboard(engine, gateway, emulator, deliveries, ada)
    plan_id = make_plan(engine, gateway, ada)
    started = subscribe(engine, gateway, emulator, plan_id)
    outcomes = deliveries.flush()
    assert "invoice paid; 4 credits granted" in outcomes and "membership active" in outcomes
    row = membership_row(engine, started.membership_id)
    assert row.status == MembershipStatus.ACTIVE and row.stripe_subscription_id and row.stripe_customer_id
    assert row.current_period_end is not None
    [invoice] = invoices(engine)
    assert invoice.status == MembershipInvoiceStatus.PAID and invoice.amount == 4000
    assert invoice.destination_account_id == account_id
    with Session(engine) as s:
        payment = s.get(Payment, invoice.payment_id)
        assert payment.kind == PaymentKind.MEMBERSHIP and payment.booking_id is None
        journal = movements.movements_of(session=s, payment_id=payment.id)
    kinds = {move.kind: move.amount for move in journal}
    fee = invoice.application_fee_amount
    assert kinds[MovementKind.CHARGE] == 4000 and kinds[MovementKind.TRANSFER] == 4000
    assert kinds[MovementKind.APPLICATION_FEE] == fee > 0
    # Stripe took the same fee from the builder's transfer as the ledger says.
    charges = httpx.get(f"{emulator.url}/v1/application_fees", auth=("sk_test_x", "")).json()["data"]
    assert [charge["amount"] for charge in charges] == [fee]
    [grant] = grants(engine)
    assert grant.quantity == 4 and grant.client_email == "cleo@example.com"
    assert grant.expires_at == invoice.period_end  # unused credits lapse at the period's end
    # The platform's fee report shows the membership as its own kind of sale.
    admin = Actor(0, "ops@example.test", UserRole.ADMIN, None)
    with Session(engine) as s:
        [row] = connect.fee_report(session=s, actor=admin)
    assert (row.kind, row.payments, row.gross, row.fees_kept) == ("Memberships", 1, "£40.00", format_money(fee, "gbp"))
    # Every event again: nothing twice.
    replay = [{**event, "id": event["id"] + "_again"} for event in deliveries.delivered]
    deliveries.deliver(replay)
    assert len(grants(engine)) == 1 and len(invoices(engine)) == 1
    # The welcome, once: the plan, its sessions a month, the renewal and the wallet link (nothing of a package).
    token = wallet_links.derive_token(ada["builder_id"], "cleo@example.com")
    with Session(engine) as s:
        emails = s.exec(select(Notification).where(Notification.recipient == "cleo@example.com")).all()
        assert [email.kind for email in emails] == ["membership_started"]
        assert client_memberships.wallet_has_membership(session=s, token=token)
    welcome = build_message(notification_id=emails[0].id, kind=emails[0].kind, recipient=emails[0].recipient,
                            payload=emails[0].payload, now=datetime.now(UTC))
    text = welcome.get_body(("plain",)).get_content()
    assert welcome["Subject"] == "Your Monthly four membership with Ada has started"
    assert "Sessions a month: 4" in text and "Price: £40.00 a month" in text
    renews = invoice.period_end.replace(tzinfo=UTC)
    assert f"Renews on: {renews:%-d %b %Y, %H:%M} UTC" in text
    assert f"/wallet/{token}" in text and token not in emails[0].payload
    assert not {"package", "valid", "expire"} & set(text.lower().replace(":", " ").split())
    with Session(engine) as s:
        assert not client_memberships.wallet_has_membership(session=s, token="x" * 43)
    url = client_memberships.portal_for_wallet(engine=engine, gateway=gateway, token=token,
                                               return_url="https://book.example/wallet")
    assert "/p/session/bps_" in url and "Monthly four" in httpx.get(url).text


def test_a_month_later_the_renewal_grants_again_then_a_failing_card_emails_and_grants_nothing(
        engine, gateway, emulator, deliveries, ada) -> None:
    onboard(engine, gateway, emulator, deliveries, ada)
    plan_id = make_plan(engine, gateway, ada, unused=UnusedCredits.ROLL_OVER)
    started = subscribe(engine, gateway, emulator, plan_id)
    deliveries.flush()
    control(emulator, "clock/advance", months=1)
    assert "invoice paid; 4 credits granted" in deliveries.flush()
    assert [grant.quantity for grant in grants(engine)] == [4, 4]
    with Session(engine) as s:  # the renewal brings credits, not another welcome
        assert len(s.exec(select(Notification).where(Notification.kind == "membership_started")).all()) == 1
    first, second = invoices(engine)
    assert second.period_start == first.period_end
    assert (grants(engine)[1].expires_at - second.period_end).days == memberships.ROLLOVER_DAYS

    url = memberships.open_portal(engine=engine, gateway=gateway, return_url="https://book.example/wallet",
                                  membership_id=started.membership_id)
    portal_path = url.split(emulator.url, 1)[1]
    changed = httpx.post(f"{emulator.url}{portal_path}/payment-method",
                         data={"number": FAILING_CARD, "expiry": "12/34", "cvc": "123", "name": "Cleo"})
    assert changed.status_code == 303
    control(emulator, "clock/advance", months=1)
    new = deliveries.new_events()
    outcomes = deliveries.deliver(new)
    assert "payment failure recorded; client emailed" in outcomes
    assert len(grants(engine)) == 2  # no credits for the unpaid month
    assert membership_row(engine, started.membership_id).status == MembershipStatus.PAST_DUE
    assert invoices(engine)[-1].status == MembershipInvoiceStatus.FAILED
    with Session(engine) as s:  # the builder's dashboard lists it with the failed payments
        [failed] = dashboard.failed_payments(session=s, builder_id=ada["builder_id"], now=datetime.now(UTC)).recent
    assert (failed.kind, failed.subject, failed.client_name, failed.amount) == (
        dashboard.FailedPaymentKind.MEMBERSHIP, "Monthly four", "Cleo", 4000)
    deliveries.deliver([{**event, "id": event["id"] + "_again"} for event in new])
    with Session(engine) as s:
        [email] = s.exec(select(Notification).where(Notification.kind == "membership_payment_failed")).all()
    message = build_message(notification_id=email.id, kind=email.kind, recipient=email.recipient,
                            payload=email.payload, now=datetime.now(UTC))
    text = message.get_body(("plain",)).get_content()
    assert "Update your card" in message.get_body(("html",)).get_content() and "£40.00" in text
    link = next(line for line in text.splitlines() if "/membership/portal/" in line)
    token = link.rsplit("/", 1)[1]
    assert membership_of_token(token) == started.membership_id and membership_of_token(token + "x") is None


def welcome_text(engine) -> str:
    """The plain text of the one "membership started" email."""
    with Session(engine) as s:
        [email] = s.exec(select(Notification).where(Notification.kind == "membership_started")).all()
    return build_message(notification_id=email.id, kind=email.kind, recipient=email.recipient,
                         payload=email.payload, now=datetime.now(UTC)).get_body(("plain",)).get_content()


@pytest.mark.parametrize("given,kept", [("fr_fr", "fr-FR"), ("<script>", None)])
def test_a_french_member_reads_the_welcome_in_french_and_a_garbage_locale_is_not_kept(
        engine, gateway, emulator, deliveries, ada, given, kept) -> None:
    onboard(engine, gateway, emulator, deliveries, ada)
    started = subscribe(engine, gateway, emulator, make_plan(engine, gateway, ada), client_locale=given)
    deliveries.flush()
    assert membership_row(engine, started.membership_id).client_locale == kept
    text = welcome_text(engine)
    renews = invoices(engine)[0].period_end.replace(tzinfo=UTC)
    if kept:  # the words stay English; the amount and the date are French
        assert "Price: 40,00\N{NO-BREAK SPACE}£GB a month" in text
        assert f"Renews on: {babel_date(renews, 'd MMM y', locale='fr_FR')}" in text
    else:
        assert "Price: £40.00 a month" in text and f"Renews on: {renews:%-d %b %Y, %H:%M} UTC" in text


@pytest.mark.parametrize("zone", ["America/New_York", None])
def test_the_welcome_tells_the_renewal_in_the_members_zone_else_in_utc(
        engine, gateway, emulator, deliveries, ada, zone) -> None:
    onboard(engine, gateway, emulator, deliveries, ada)
    started = subscribe(engine, gateway, emulator, make_plan(engine, gateway, ada), client_time_zone=zone)
    deliveries.flush()
    assert membership_row(engine, started.membership_id).client_time_zone == zone
    text = welcome_text(engine)
    renews = invoices(engine)[0].period_end.replace(tzinfo=UTC)
    if zone:  # New York's clock, labelled with its zone
        local = renews.astimezone(ZoneInfo(zone))
        assert f"Renews on: {local:%-d %b %Y, %H:%M} {local:%Z}" in text
        assert "Time zone: " in text and "(America/New_York)" in text
    else:
        assert f"Renews on: {renews:%-d %b %Y, %H:%M} UTC" in text and "Time zone" not in text


def test_a_zone_the_server_does_not_know_is_refused_naming_it_and_saves_nothing(engine, gateway, ada) -> None:
    plan_id = make_plan(engine, gateway, ada)

    with pytest.raises(InvalidRequest) as refused:
        client_memberships.subscribe(engine=engine, gateway=gateway, plan_id=plan_id, client_name="Cleo",
                                     client_email="cleo@example.com", client_time_zone="Mars/Olympus_Mons")

    assert refused.value.field == "client_time_zone"
    with Session(engine) as s:
        assert s.exec(select(Membership)).all() == []


def test_events_out_of_order_end_in_the_same_state(engine, gateway, emulator, deliveries, ada) -> None:
    onboard(engine, gateway, emulator, deliveries, ada)
    plan_id = make_plan(engine, gateway, ada)
    started = subscribe(engine, gateway, emulator, plan_id)
    deliveries.deliver(list(reversed(deliveries.new_events())))
    row = membership_row(engine, started.membership_id)
    assert row.status == MembershipStatus.ACTIVE and row.stripe_subscription_id
    assert [grant.quantity for grant in grants(engine)] == [4]


def test_cancel_at_period_end_then_deleted_and_a_late_update_does_not_revive_it(
        engine, gateway, emulator, deliveries, ada) -> None:
    onboard(engine, gateway, emulator, deliveries, ada)
    plan_id = make_plan(engine, gateway, ada)
    started = subscribe(engine, gateway, emulator, plan_id)
    deliveries.flush()
    url = memberships.open_portal(engine=engine, gateway=gateway, return_url="https://book.example/wallet",
                                  client_email="Cleo@example.com")
    row = membership_row(engine, started.membership_id)
    response = httpx.post(url + "/cancel", data={"subscription": row.stripe_subscription_id})
    assert response.status_code == 303
    updates = deliveries.new_events()
    deliveries.deliver(updates)
    row = membership_row(engine, started.membership_id)
    assert row.status == MembershipStatus.ACTIVE and row.cancel_at_period_end
    control(emulator, "clock/advance", months=1)
    deliveries.flush()
    assert membership_row(engine, started.membership_id).status == MembershipStatus.CANCELED
    assert len(grants(engine)) == 1  # a canceled membership is not billed again
    stale = [{**event, "id": event["id"] + "_late"} for event in updates]
    deliveries.deliver(stale)
    assert membership_row(engine, started.membership_id).status == MembershipStatus.CANCELED
    with Session(engine) as s:
        subscribers = memberships.subscribers(session=s, actor=ada["actor"])
    assert [(sub.client_email, sub.status) for sub in subscribers] == [("cleo@example.com", "Canceled")]


def test_an_invoice_of_someone_else_is_ignored(engine, gateway, deliveries) -> None:
    foreign = se.event("invoice.paid", {"id": "in_foreign", "object": "invoice", "amount_paid": 100,
                                        "currency": "gbp", "parent": None, "lines": {"data": []}})
    assert deliveries.deliver([foreign]) == ["no booking membership of an unknown object"]
    assert invoices(engine) == []


def test_fee_percent_matches_the_platform_fee(monkeypatch) -> None:
    settings = get_settings()
    from booking.payments import pricing

    percent = pricing.membership_fee_percent(4000, "gbp", settings)
    assert pricing.membership_fee(4000, percent) == pricing.quote(4000, "gbp", settings).platform_fee


def test_the_demo_membership_is_synced_to_stripe(engine, gateway, emulator, session: Session) -> None:
    from booking.ops.demo import add_demo_builders

    add_demo_builders(session=session)
    session.commit()
    assert memberships.sync_plans(engine=engine, gateway=gateway) == 1
    assert memberships.sync_plans(engine=engine, gateway=gateway) == 0
    with Session(engine) as s:
        ada = s.exec(select(Builder).where(Builder.slug == "ada")).one()
        [plan] = memberships.offered_plans(session=s, builder_id=ada.id)
    assert (plan.name, plan.sessions_per_period, plan.price) == ("Monthly mentoring", 4, "£160.00 a month")
