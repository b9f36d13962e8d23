"""The payouts page (/admin/payouts) driven as the browser would: set up payouts, come back from
Stripe's onboarding, the refresh link, the Express dashboard, the balance and each booking's transfer;
a platform admin's fee report and builder choice; another builder sees only their own."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from booking.accounts.authz import Actor, Forbidden
from booking.core.models import AuditEntry, Builder, Payment, UserRole
from booking.events.webhooks import handle_webhook
from booking.lifecycle import checkout as payments
from booking.payments import connect
from booking.payments.gateway import BalanceAmount, ConnectedBalance, DestinationCharge, StripePayout
from booking_ui import deps, routes
from booking_ui.admin.payouts import PayoutsState
from booking_ui.admin.session_types import SessionTypesState
from tests.factories import make_builder, make_session_type
from tests.support import stripe_events as se
from tests.support.admin_states import call, make_user, redirect_path, state_of, token_for
from tests.support.fake_gateway import FakeGateway

NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)


@pytest.fixture
def gateway(monkeypatch) -> FakeGateway:
    fake = FakeGateway()
    monkeypatch.setattr(deps, "gateway", lambda: fake)
    return fake


@pytest.fixture
def world(engine, session: Session, monkeypatch):
    monkeypatch.setenv("PUBLIC_URL", "https://book.example")
    monkeypatch.setenv("PLATFORM_FIXED_FEES", "gbp:30")
    from booking.core.config import get_settings

    get_settings.cache_clear()
    ada = make_builder(session, name="Ada", email="ada@example.test", time_zone="Europe/London")
    grace = make_builder(session, name="Grace", email="grace@example.test")
    ada_type = make_session_type(session, ada, price_amount=5000, currency="gbp", name="Consult")
    session.commit()
    users = {
        "ada": make_user(engine, email="ada-user@example.test", builder_id=ada.id),
        "grace": make_user(engine, email="grace-user@example.test", builder_id=grace.id),
        "admin": make_user(engine, email="root@example.test", role=UserRole.ADMIN),
    }
    yield {"ada": ada.id, "grace": grace.id, "ada_type": ada_type.id, "users": users}
    get_settings.cache_clear()


def page_for(engine, world, who, query: str = "") -> PayoutsState:
    router = None
    if query:
        key, value = query.split("=")
        router = {"pathname": routes.ADMIN_PAYOUTS, "asPath": f"{routes.ADMIN_PAYOUTS}?{query}",
                  "query": {key: value}, "headers": {"origin": "https://book.example"}}
    state = state_of(PayoutsState, token_for(engine, world["users"][who]), router)
    LOADS[id(state)] = call(state, "load")  # the page asks Stripe for the balance right after, if any
    return state


LOADS: dict[int, object] = {}


def account_of(engine, builder_id) -> Builder:
    with Session(engine) as s:
        return s.get(Builder, builder_id)


def test_a_builder_sets_up_payouts_and_comes_back_enabled(engine, gateway, world):
    state = page_for(engine, world, "ada")
    assert (state.account_state, state.account_label) == ("not_started", "Not set up")
    assert state.fee_rule == "10% of each payment + a fixed £0.30 (by currency)"

    result = call(state, "set_up_payouts")

    account_id = account_of(engine, world["ada"]).stripe_account_id
    assert redirect_path(result) == f"https://connect.example/setup/{account_id}/1"
    link = gateway.connect.links[0]
    assert (link["return_url"], link["refresh_url"]) == ("https://book.example/admin/payouts/return",
                                                         "https://book.example/admin/payouts/refresh")
    assert account_id not in str({name: getattr(state, name) for name in PayoutsState.base_vars})

    # Stripe's hosted onboarding, completed; the browser lands on the return page.
    gateway.complete_onboarding(account_id)
    back = call(state_of(PayoutsState, token_for(engine, world["users"]["ada"])), "finish_onboarding")
    assert redirect_path(back) == f"{routes.ADMIN_PAYOUTS}?onboarding=returned"

    shown = page_for(engine, world, "ada", "onboarding=returned")
    assert (shown.account_state, shown.account_label, shown.payouts_enabled) == ("enabled", "Payouts enabled", True)
    assert "Payouts are set up" in shown.notice
    assert LOADS[id(shown)] is not None


def test_an_unfinished_onboarding_shows_what_is_missing_and_the_refresh_page_makes_a_new_link(engine, gateway,
                                                                                            world):
    state = page_for(engine, world, "ada")
    call(state, "set_up_payouts")

    shown = page_for(engine, world, "ada")
    assert shown.account_state == "incomplete"
    assert shown.requirements == ["A bank account for payouts", "Accepting Stripe's services agreement"]

    again = call(state_of(PayoutsState, token_for(engine, world["users"]["ada"])), "renew_onboarding")
    assert redirect_path(again).endswith("/2") and len(gateway.connect.accounts) == 1


def test_the_express_dashboard_opens_once_onboarded(engine, gateway, world):
    state = page_for(engine, world, "ada")
    call(state, "open_express_dashboard")
    assert "Finish setting up payouts first" in state.action_error

    call(state, "set_up_payouts")
    account_id = account_of(engine, world["ada"]).stripe_account_id
    gateway.complete_onboarding(account_id)
    call(state, "check_status")
    assert state.account_state == "enabled"

    assert redirect_path(call(state, "open_express_dashboard")) == f"https://connect.example/express/{account_id}"


def test_the_page_shows_balance_and_each_bookings_fee_net_and_transfer(engine, gateway, world):
    state = page_for(engine, world, "ada")
    call(state, "set_up_payouts")
    account_id = account_of(engine, world["ada"]).stripe_account_id
    gateway.complete_onboarding(account_id)
    call(state, "check_status")
    start = (NOW + timedelta(days=2)).replace(hour=10, minute=0)
    from booking.core.config import get_settings

    started = payments.begin_checkout(engine=engine, gateway=gateway, settings=get_settings(),
                                      session_type_id=world["ada_type"], start_time=start, client_name="Cleo",
                                      client_email="cleo@example.com")
    gateway.pay(started.checkout_session_id, "pi_admin_view")
    obj = se.checkout_session(started.booking_id, started.checkout_session_id, payment_intent="pi_admin_view")
    payload = se.encode(se.event("checkout.session.completed", obj))
    handle_webhook(engine=engine, gateway=gateway, payload=payload, signature=se.sign(payload))
    gateway.connect.balances[account_id] = ConnectedBalance(available=[], pending=[BalanceAmount(4470, "gbp")])
    gateway.connect.payouts[account_id] = [StripePayout(id="po_page", amount=4470, currency="gbp", status="paid",
                                                        arrival_date=int(NOW.timestamp()), created=int(NOW.timestamp()))]
    gateway.connect.charges["pi_admin_view"] = DestinationCharge(
        charge_id="ch_page", destination_account_id=account_id, transfer_id="tr_page", application_fee_id="fee_page",
        application_fee_amount=530)

    shown = page_for(engine, world, "ada")
    call(shown, "refresh_from_stripe")

    assert (shown.available, shown.pending) == ([], ["£44.70"])
    [row] = shown.transfers
    assert (row.amount, row.fee, row.net, row.transfer_id, row.held_by_platform) == (
        "£50.00", "£5.30", "£44.70", "tr_page", False)
    assert [(p.payout_id, p.status) for p in shown.payouts] == [("po_page", "paid")]
    with Session(engine) as s:
        assert s.exec(select(Payment.transfer_id)).one() == "tr_page"
        assert "payouts.sync" in s.exec(select(AuditEntry.action)).all()


def test_a_platform_admin_sees_the_fee_report_and_any_builders_payouts_but_does_not_onboard(engine, gateway, world):
    state = page_for(engine, world, "admin")
    assert state.viewed_builder_id == "" and {c.name for c in state.builder_choices} >= {"Ada", "Grace"}
    assert state.fee_months == [] and state.connected == []

    call(state, "set_up_payouts")
    assert "builder themselves" in state.action_error and gateway.connect.accounts == {}

    result = call(state, "choose_builder", str(world["ada"]))
    assert state.viewed_builder_name == "Ada" and state.account_state == "not_started"
    assert result is not None  # then asks Stripe for the figures


def test_another_builder_sees_only_their_own_payouts_whatever_the_browser_sends(engine, gateway, world):
    ada = page_for(engine, world, "ada")
    call(ada, "set_up_payouts")

    grace = page_for(engine, world, "grace")
    call(grace, "choose_builder", str(world["ada"]))
    grace.viewed_builder_id = str(world["ada"])
    call(grace, "check_status")

    assert grace.viewed_builder_name == "Grace" and grace.account_state == "not_started"
    assert account_of(engine, world["grace"]).stripe_account_id is None
    with Session(engine) as s, pytest.raises(Forbidden):
        connect.fee_report(session=s, actor=Actor(0, "x", UserRole.BUILDER, world["grace"]))


def test_signed_out_goes_to_sign_in(engine, gateway, world):
    state = state_of(PayoutsState, "")
    assert redirect_path(call(state, "set_up_payouts")) == routes.ADMIN_LOGIN
    assert gateway.connect.accounts == {}


def test_session_types_show_the_fee_next_to_the_price(engine, gateway, world):
    state = state_of(SessionTypesState, token_for(engine, world["users"]["ada"]))
    call(state, "load")
    [row] = state.rows
    assert state.fee_notes[row.id] == "Fee £5.30 · you get £44.70"


def test_held_money_a_negative_balance_and_a_payment_s_breakdown_on_the_page(engine, gateway, world):
    state = page_for(engine, world, "ada")
    call(state, "set_up_payouts")  # onboarding not finished: the payment is held
    account_id = account_of(engine, world["ada"]).stripe_account_id
    start = (NOW + timedelta(days=2)).replace(hour=10, minute=0)
    from booking.core.config import get_settings

    started = payments.begin_checkout(engine=engine, gateway=gateway, settings=get_settings(),
                                      session_type_id=world["ada_type"], start_time=start, client_name="Cleo",
                                      client_email="cleo@example.com")
    gateway.pay(started.checkout_session_id, "pi_held_view")
    obj = se.checkout_session(started.booking_id, started.checkout_session_id, payment_intent="pi_held_view")
    payload = se.encode(se.event("checkout.session.completed", obj))
    handle_webhook(engine=engine, gateway=gateway, payload=payload, signature=se.sign(payload))
    gateway.connect.balances[account_id] = ConnectedBalance(available=[BalanceAmount(-6300, "gbp")], pending=[])

    shown = page_for(engine, world, "ada")
    call(shown, "refresh_from_stripe")
    assert (shown.held_amounts, shown.held_bookings) == (["£44.70"], 1)
    assert shown.held_reason == "Stripe onboarding isn't finished, so Stripe can't pay you yet."
    assert shown.held_when.startswith("As soon as your payouts are enabled: usually within a few minutes")
    assert shown.available == ["−£63.00"] and shown.balance_note.startswith("Refunds after payout")
    call(shown, "show_breakdown", started.booking_id)  # a builder: not theirs to see
    assert shown.breakdown_booking == "" and shown.breakdown_lines == []

    admin = page_for(engine, world, "admin")
    call(admin, "choose_builder", str(world["ada"]))
    call(admin, "show_breakdown", started.booking_id)
    assert admin.breakdown_title == "£50.00 paid" and admin.breakdown_balanced
    assert [(line.label, line.amount) for line in admin.breakdown_lines] == [("The client paid", "£50.00")]
    assert {p.party: p.amount for p in admin.breakdown_parties}["Platform"] == "£50.00"


def test_held_money_waits_while_stripe_is_unreachable_then_goes_out_once(engine, gateway, world):
    from booking.core.config import get_settings
    from booking.payments import release
    from booking.payments.gateway import ChargeFee

    state = page_for(engine, world, "ada")
    call(state, "set_up_payouts")
    account_id = account_of(engine, world["ada"]).stripe_account_id
    start = (NOW + timedelta(days=3)).replace(hour=10, minute=0)
    started = payments.begin_checkout(engine=engine, gateway=gateway, settings=get_settings(),
                                      session_type_id=world["ada_type"], start_time=start, client_name="Cleo",
                                      client_email="cleo@example.com")
    gateway.pay(started.checkout_session_id, "pi_wait")
    obj = se.checkout_session(started.booking_id, started.checkout_session_id, payment_intent="pi_wait")
    payload = se.encode(se.event("checkout.session.completed", obj))
    handle_webhook(engine=engine, gateway=gateway, payload=payload, signature=se.sign(payload))
    gateway.complete_onboarding(account_id)
    call(state, "check_status")
    gateway.connect.fees["pi_wait"] = ChargeFee(charge_id="ch_wait", balance_transaction_id="txn_wait", fee=165,
                                                currency="gbp")

    gateway.down = True
    assert release.release_held_funds(engine=engine, gateway=gateway, settings=get_settings()).failed == 1
    with Session(engine) as s:
        assert s.exec(select(Payment.release_transfer_id)).one() is None
    gateway.down = False
    assert release.release_held_funds(engine=engine, gateway=gateway, settings=get_settings()).released == 1
    assert not release.release_held_funds(engine=engine, gateway=gateway, settings=get_settings())
    [transfer] = gateway.connect.transfers.values()
    assert (transfer.amount, transfer.destination) == (4470, account_id)
    with Session(engine) as s:
        assert s.exec(select(Payment.release_transfer_id)).one() == transfer.id
