"""Builders get paid (Stripe Connect) on a real database: onboarding, account.updated, destination
charges with the platform fee, refunds that reverse the transfer and give back the fee's share, payouts
(a failed one notifies the builder and the admins), the fee report, and Connect events verified with
their own endpoint secret.

The first part runs against the in-memory gateway (our side of the contract); the second, at the end,
through the Stripe emulator with the official SDK."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import stripe
from sqlmodel import Session, select
from starlette.testclient import TestClient

from booking.accounts.authz import Actor, Forbidden
from booking.client import catalog
from booking.core.config import get_settings, load_settings
from booking.core.models import (
    AuditEntry,
    Booking,
    Builder,
    EventStatus,
    Notification,
    Payment,
    PaymentStatus,
    Payout,
    PayoutStatus,
    Refund,
    StripeEvent,
    UserAccount,
    UserRole,
)
from booking.events.webhooks import handle_webhook
from booking.lifecycle import checkout as payments
from booking.lifecycle import refunds
from booking.notifications.outbox import build_message
from booking.notifications.templates import NotificationKind
from booking.payments import connect
from booking.payments.gateway import (
    BalanceAmount,
    ConnectedBalance,
    DestinationCharge,
    StripeGateway,
    StripePayout,
    checkout_params,
)
from booking_ui import api, deps
from tests.factories import make_builder, make_session_type
from tests.support import stripe_events as se
from tests.support.admin_states import make_user
from tests.support.fake_gateway import FakeGateway

NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)
SETTINGS = load_settings(PUBLIC_URL="https://book.example", HOLD_MINUTES=30, PLATFORM_FEE_PERCENT="10",
                         PLATFORM_FIXED_FEES="gbp:30,jpy:50")
STRICT = load_settings(PUBLIC_URL="https://book.example", HOLD_MINUTES=30, REQUIRE_PAYOUTS="true")
RETURN_URL, REFRESH_URL = "https://book.example/admin/payouts/return", "https://book.example/admin/payouts/refresh"
CONNECT_SECRET = "whsec_connect_" + "c" * 24


@pytest.fixture
def gateway() -> FakeGateway:
    # The account endpoint's secret and the Connect endpoint's, as deps.gateway() passes them.
    return FakeGateway(webhook_secret=[se.WEBHOOK_SECRET, CONNECT_SECRET])


def actor_for(engine, user_id: int) -> Actor:
    with Session(engine) as s:
        return Actor.of(s.get(UserAccount, user_id))


@pytest.fixture
def ada(engine, session: Session):
    builder = make_builder(session, name="Ada", email="ada@example.test", time_zone="Europe/London")
    gbp = make_session_type(session, builder, price_amount=5000, currency="gbp", name="Consult")
    jpy = make_session_type(session, builder, price_amount=5555, currency="jpy", name="Tokyo consult")
    session.commit()
    actor = actor_for(engine, make_user(engine, email="ada-user@example.test", builder_id=builder.id))
    return {"builder_id": builder.id, "gbp": gbp, "jpy": jpy, "actor": actor}


@pytest.fixture
def admin(engine) -> Actor:
    return actor_for(engine, make_user(engine, email="ops@example.test", role=UserRole.ADMIN))


def builder_row(engine, builder_id) -> Builder:
    with Session(engine) as s:
        return s.get(Builder, builder_id)


def onboard(engine, gateway, ada, *, payouts_enabled=True) -> str:
    connect.start_onboarding(engine=engine, gateway=gateway, actor=ada["actor"], return_url=RETURN_URL,
                             refresh_url=REFRESH_URL)
    account_id = builder_row(engine, ada["builder_id"]).stripe_account_id
    gateway.complete_onboarding(account_id, payouts_enabled=payouts_enabled)
    connect.sync_account(engine=engine, gateway=gateway, actor=ada["actor"])
    return account_id


def deliver(engine, gateway, evt, secret=se.WEBHOOK_SECRET):
    payload = se.encode(evt)
    return handle_webhook(engine=engine, gateway=gateway, payload=payload, signature=se.sign(payload, secret))


def book(engine, gateway, session_type, settings=SETTINGS, days=2):
    start = (NOW + timedelta(days=days)).replace(hour=10, minute=0)
    return payments.begin_checkout(engine=engine, gateway=gateway, settings=settings,
                                   session_type_id=session_type.id, start_time=start, client_name="Cleo",
                                   client_email="cleo@example.com")


def pay(engine, gateway, started, payment_intent="pi_connect_1"):
    paid = gateway.pay(started.checkout_session_id, payment_intent)
    obj = se.checkout_session(started.booking_id, paid.id, payment_intent=payment_intent,
                              amount=paid.amount_total, currency=paid.currency)
    assert deliver(engine, gateway, se.event("checkout.session.completed", obj)).status_code == 200


def payment_of(engine, booking_id) -> Payment:
    with Session(engine) as s:
        return s.exec(select(Payment).where(Payment.booking_id == booking_id)).one()


def account_event(event_type, obj, account_id):
    evt = se.event(event_type, obj)
    evt["account"] = account_id
    return evt


def account_object(account_id, *, payouts_enabled, details_submitted=True, due=()):
    return {"id": account_id, "object": "account", "charges_enabled": payouts_enabled,
            "payouts_enabled": payouts_enabled, "details_submitted": details_submitted,
            "requirements": {"currently_due": list(due), "past_due": [], "disabled_reason": None}}


# --- onboarding --------------------------------------------------------------------------------------------


def test_set_up_payouts_creates_one_express_account_and_a_fresh_link_each_time(engine, gateway, ada):
    first = connect.start_onboarding(engine=engine, gateway=gateway, actor=ada["actor"], return_url=RETURN_URL,
                                     refresh_url=REFRESH_URL)
    second = connect.renew_onboarding_link(engine=engine, gateway=gateway, actor=ada["actor"],
                                           return_url=RETURN_URL, refresh_url=REFRESH_URL)

    builder = builder_row(engine, ada["builder_id"])
    assert builder.stripe_account_id.startswith("acct_") and len(gateway.connect.accounts) == 1
    assert first != second  # Account Links are single-use: each visit gets its own
    assert [(link["return_url"], link["refresh_url"]) for link in gateway.connect.links] == [(RETURN_URL, REFRESH_URL)] * 2
    assert len({link["key"] for link in gateway.connect.links}) == 2
    assert gateway.connect.keys == [connect.account_idempotency_key(builder)]
    assert gateway.connect.countries == ["GB"]  # Europe/London: paid out in pounds
    assert f"builder-{builder.id}-" in gateway.connect.keys[0]
    assert connect.account_state(builder) == connect.AccountState.INCOMPLETE
    assert connect.requirement_labels(connect.requirements_of(builder)) == [
        "A bank account for payouts", "Accepting Stripe's services agreement"]
    with Session(engine) as s:
        assert s.exec(select(AuditEntry.action).where(AuditEntry.builder_id == builder.id)).all() == [
            "payouts.account_create"]


def test_a_lost_answer_is_retried_with_the_same_key_and_gets_the_same_account(engine, gateway, ada):
    with Session(engine) as s:
        builder = s.get(Builder, ada["builder_id"])
        key = connect.account_idempotency_key(builder)
    made = gateway.create_connected_account(email="ada@example.test", metadata={}, idempotency_key=key)

    connect.start_onboarding(engine=engine, gateway=gateway, actor=ada["actor"], return_url=RETURN_URL,
                             refresh_url=REFRESH_URL)

    assert builder_row(engine, ada["builder_id"]).stripe_account_id == made.id
    assert len(gateway.connect.accounts) == 1


def test_the_return_page_rereads_the_account(engine, gateway, ada):
    account_id = onboard(engine, gateway, ada)

    builder = builder_row(engine, ada["builder_id"])
    assert (builder.stripe_account_id, builder.payouts_enabled, builder.details_submitted) == (account_id, True, True)
    assert connect.account_state(builder) == connect.AccountState.ENABLED
    assert connect.requirements_of(builder) == []


def test_a_platform_admin_does_not_onboard_and_sees_a_reason(engine, gateway, admin):
    with pytest.raises(Forbidden):
        connect.start_onboarding(engine=engine, gateway=gateway, actor=admin, return_url=RETURN_URL,
                                 refresh_url=REFRESH_URL)
    assert gateway.connect.accounts == {}


def test_the_express_dashboard_link_needs_a_finished_onboarding(engine, gateway, ada):
    connect.start_onboarding(engine=engine, gateway=gateway, actor=ada["actor"], return_url=RETURN_URL,
                             refresh_url=REFRESH_URL)
    with pytest.raises(connect.PayoutsNotReady):
        connect.login_link(engine=engine, gateway=gateway, actor=ada["actor"])
    account_id = builder_row(engine, ada["builder_id"]).stripe_account_id
    gateway.complete_onboarding(account_id)
    connect.sync_account(engine=engine, gateway=gateway, actor=ada["actor"])
    assert connect.login_link(engine=engine, gateway=gateway, actor=ada["actor"]).endswith(account_id)


# --- account.updated ----------------------------------------------------------------------------------------


def test_account_updated_with_payouts_disabled_flags_the_builder(engine, gateway, ada):
    account_id = onboard(engine, gateway, ada)
    evt = account_event("account.updated", account_object(
        account_id, payouts_enabled=False, due=["individual.verification.document", "external_account"]),
        account_id)
    evt["created"] = int(datetime.now(timezone.utc).timestamp()) + 5

    result = deliver(engine, gateway, evt, secret=CONNECT_SECRET)

    assert result.status_code == 200 and "flagged" in result.body["outcome"]
    builder = builder_row(engine, ada["builder_id"])
    assert (builder.payouts_enabled, builder.charges_enabled) == (False, False)
    assert connect.account_state(builder) == connect.AccountState.RESTRICTED
    assert connect.requirement_labels(connect.requirements_of(builder)) == [
        "An identity document", "A bank account for payouts"]
    # New bookings no longer go to the account: the platform holds the money (REQUIRE_PAYOUTS off).
    book(engine, gateway, ada["gbp"])
    assert gateway.created[-1][0].destination_account_id is None


def test_an_older_account_update_does_not_undo_a_newer_one(engine, gateway, ada):
    account_id = onboard(engine, gateway, ada)
    stale = account_event("account.updated", account_object(account_id, payouts_enabled=False,
                                                             details_submitted=False), account_id)
    stale["created"] = int((datetime.now(timezone.utc) - timedelta(hours=1)).timestamp())

    deliver(engine, gateway, stale, secret=CONNECT_SECRET)

    assert builder_row(engine, ada["builder_id"]).payouts_enabled


def test_an_account_we_do_not_know_is_acknowledged(engine, gateway):
    evt = account_event("account.updated", account_object("acct_stranger", payouts_enabled=True), "acct_stranger")
    result = deliver(engine, gateway, evt, secret=CONNECT_SECRET)
    assert result.status_code == 200 and "no builder" in result.body["outcome"]


# --- charging ----------------------------------------------------------------------------------------------


def test_a_builder_with_payouts_gets_a_destination_charge_with_the_fee(engine, gateway, ada):
    account_id = onboard(engine, gateway, ada)

    started = book(engine, gateway, ada["gbp"])

    request, _key = gateway.created[-1]
    assert (request.destination_account_id, request.application_fee_amount) == (account_id, 530)  # 10% + 30p
    params = checkout_params(request)["payment_intent_data"]
    assert params["transfer_data"] == {"destination": account_id}
    assert params["application_fee_amount"] == 530
    payment = payment_of(engine, started.booking_id)
    assert (payment.destination_account_id, payment.application_fee_amount, payment.net_amount) == (
        account_id, 530, None)


def test_the_fee_of_a_zero_decimal_currency_is_in_whole_yen(engine, gateway, ada):
    onboard(engine, gateway, ada)
    book(engine, gateway, ada["jpy"])
    assert gateway.created[-1][0].application_fee_amount == 556 + 50  # ¥555.5 rounds half up, + ¥50


def test_without_payouts_the_platform_holds_the_money_unless_payouts_are_required(engine, gateway, ada):
    book(engine, gateway, ada["gbp"])
    request = gateway.created[-1][0]
    assert (request.destination_account_id, request.application_fee_amount) == (None, None)
    assert "transfer_data" not in checkout_params(request)["payment_intent_data"]

    with pytest.raises(payments.InvalidRequest) as refused:
        book(engine, gateway, ada["gbp"], settings=STRICT, days=3)
    assert refused.value.field == "session_type_id" and "setting up how they get paid" in refused.value.message
    with Session(engine) as s:  # nothing held, nothing sent to Stripe
        assert len(s.exec(select(Booking)).all()) == 1
    assert len(gateway.created) == 1
    assert not connect.is_bookable(builder_row(engine, ada["builder_id"]), STRICT)


def test_paid_destination_charge_records_the_net_and_the_transfer(engine, gateway, ada):
    account_id = onboard(engine, gateway, ada)
    started = book(engine, gateway, ada["gbp"])
    pay(engine, gateway, started)

    payment = payment_of(engine, started.booking_id)
    assert (payment.status, payment.net_amount, payment.transfer_id) == (PaymentStatus.PAID, 4470, None)

    charge = {"id": "ch_connect_1", "object": "charge", "payment_intent": "pi_connect_1", "amount": 5000,
              "transfer": "tr_connect_1", "application_fee_amount": 530,
              "transfer_data": {"destination": account_id}, "metadata": {}}
    deliver(engine, gateway, se.event("charge.succeeded", charge))
    transfer = {"id": "tr_connect_1", "object": "transfer", "destination": account_id, "amount": 5000,
                "source_transaction": "ch_connect_1", "transfer_group": "group_pi_connect_1"}
    assert deliver(engine, gateway, se.event("transfer.created", transfer)).body["outcome"] == "already recorded"

    assert payment_of(engine, started.booking_id).transfer_id == "tr_connect_1"


def test_a_transfer_event_alone_links_through_its_transfer_group(engine, gateway, ada):
    account_id = onboard(engine, gateway, ada)
    started = book(engine, gateway, ada["gbp"])
    pay(engine, gateway, started, payment_intent="pi_grouped")
    transfer = {"id": "tr_grouped", "object": "transfer", "destination": account_id, "amount": 5000,
                "source_transaction": "ch_grouped", "transfer_group": "group_pi_grouped"}

    assert deliver(engine, gateway, se.event("transfer.created", transfer)).body["outcome"] == "transfer recorded"
    assert payment_of(engine, started.booking_id).transfer_id == "tr_grouped"


# --- refunds ------------------------------------------------------------------------------------------------


def paid_destination_booking(engine, gateway, ada):
    onboard(engine, gateway, ada)
    started = book(engine, gateway, ada["gbp"])
    pay(engine, gateway, started)
    return started.booking_id


def test_a_full_refund_reverses_the_transfer_and_returns_the_whole_fee(engine, gateway, ada):
    booking_id = paid_destination_booking(engine, gateway, ada)

    outcome = refunds.request_refund(engine=engine, gateway=gateway, actor=ada["actor"], cancel_session=False, booking_id=booking_id,
                                     amount=None, reason="requested_by_customer", request_key="full-1")

    assert outcome.ok
    assert gateway.refunds[-1]["reverse_transfer"] and gateway.refunds[-1]["refund_application_fee"]
    with Session(engine) as s:
        [row] = s.exec(select(Refund).where(Refund.booking_id == booking_id)).all()
        assert (row.reverse_transfer, row.application_fee_refunded) == (True, 530)
    payment = payment_of(engine, booking_id)
    assert (payment.status, payment.net_amount) == (PaymentStatus.REFUNDED, 0)


def test_partial_refunds_return_the_fees_share_and_never_more_than_the_fee(engine, gateway, ada):
    booking_id = paid_destination_booking(engine, gateway, ada)

    for key, amount in (("part-1", 1234), ("part-2", 2001), ("part-3", 1765)):
        refunds.request_refund(engine=engine, gateway=gateway, actor=ada["actor"], cancel_session=False, booking_id=booking_id,
                               amount=amount, reason="requested_by_customer", request_key=key)

    with Session(engine) as s:
        shares = [r.application_fee_refunded for r in s.exec(select(Refund).where(Refund.booking_id == booking_id)
                                                             .order_by(Refund.id)).all()]
    # round_half_up(530 × 1234/5000) = 131; then 343 − 131 = 212; the last returns the rest.
    assert shares == [131, 212, 187] and sum(shares) == 530
    assert payment_of(engine, booking_id).net_amount == 0


def test_a_partial_refund_leaves_the_builder_their_share(engine, gateway, ada):
    booking_id = paid_destination_booking(engine, gateway, ada)

    refunds.request_refund(engine=engine, gateway=gateway, actor=ada["actor"], cancel_session=False, booking_id=booking_id,
                           amount=2500, reason="requested_by_customer", request_key="half")

    # 5000 − 2500 refunded − (530 − 265 fee given back) = 2235
    assert payment_of(engine, booking_id).net_amount == 2235


def test_a_refund_of_money_the_platform_holds_does_not_touch_transfers(engine, gateway, ada):
    started = book(engine, gateway, ada["gbp"])
    pay(engine, gateway, started)

    refunds.request_refund(engine=engine, gateway=gateway, actor=ada["actor"], cancel_session=False, booking_id=started.booking_id,
                           amount=None, reason="requested_by_customer", request_key="held")

    assert "reverse_transfer" not in gateway.refunds[-1]
    with Session(engine) as s:
        row = s.exec(select(Refund).where(Refund.booking_id == started.booking_id)).one()
        assert (row.reverse_transfer, row.application_fee_refunded) == (False, 0)


# --- payouts ------------------------------------------------------------------------------------------------


def payout_object(payout_id, status, *, amount=4470, failure_code=None, failure_message=None):
    return {"id": payout_id, "object": "payout", "amount": amount, "currency": "gbp", "status": status,
            "arrival_date": int((NOW + timedelta(days=2)).timestamp()), "created": int(NOW.timestamp()),
            "failure_code": failure_code, "failure_message": failure_message}


def test_a_failed_payout_notifies_the_builder_and_every_admin_once(engine, gateway, ada, admin):
    account_id = onboard(engine, gateway, ada)
    deliver(engine, gateway, account_event("payout.created", payout_object("po_1", "pending"), account_id),
            secret=CONNECT_SECRET)
    failed = account_event("payout.failed", payout_object("po_1", "failed", failure_code="account_closed",
                                                          failure_message="The bank account has been closed."),
                           account_id)

    result = deliver(engine, gateway, failed, secret=CONNECT_SECRET)
    deliver(engine, gateway, {**failed, "id": failed["id"] + "x"}, secret=CONNECT_SECRET)  # Stripe resends

    assert result.status_code == 200
    with Session(engine) as s:
        payout = s.exec(select(Payout).where(Payout.stripe_payout_id == "po_1")).one()
        assert (payout.status, payout.builder_id, payout.failure_code) == (
            PayoutStatus.FAILED, ada["builder_id"], "account_closed")
        sent = s.exec(select(Notification).where(Notification.kind == NotificationKind.PAYOUT_FAILED.value)).all()
        assert sorted(n.recipient for n in sent) == ["ada@example.test", "ops@example.test"]
        message = build_message(notification_id=sent[0].id, kind=sent[0].kind, recipient=sent[0].recipient,
                                payload=sent[0].payload, now=NOW)
    assert "£44.70" in message["Subject"] and "account_closed" in message.get_body(("plain",)).get_content()


def test_a_paid_payout_is_kept_and_a_late_created_event_does_not_move_it_back(engine, gateway, ada):
    account_id = onboard(engine, gateway, ada)
    deliver(engine, gateway, account_event("payout.paid", payout_object("po_2", "paid"), account_id))
    deliver(engine, gateway, account_event("payout.created", payout_object("po_2", "pending"), account_id))

    with Session(engine) as s:
        assert s.exec(select(Payout.status).where(Payout.stripe_payout_id == "po_2")).one() == PayoutStatus.PAID
        assert s.exec(select(Notification)).all() == []


def test_connect_events_need_one_of_our_secrets(engine, gateway, ada):
    account_id = onboard(engine, gateway, ada)
    evt = account_event("payout.paid", payout_object("po_3", "paid"), account_id)
    payload = se.encode(evt)

    stranger = handle_webhook(engine=engine, gateway=gateway, payload=payload,
                              signature=se.sign(payload, "whsec_someone_else"))
    assert stranger.status_code == 400
    with Session(engine) as s:
        assert s.exec(select(Payout)).all() == []


# --- the payouts view and the fee report -------------------------------------------------------------------


def test_the_payouts_view_shows_balance_payouts_and_each_bookings_transfer(engine, gateway, ada):
    account_id = onboard(engine, gateway, ada)
    started = book(engine, gateway, ada["gbp"])
    pay(engine, gateway, started, payment_intent="pi_view")
    booking_id = started.booking_id
    gateway.connect.balances[account_id] = ConnectedBalance(available=[BalanceAmount(4470, "gbp")],
                                                            pending=[BalanceAmount(0, "gbp")])
    gateway.connect.payouts[account_id] = [StripePayout(id="po_api", amount=1000, currency="gbp", status="in_transit",
                                                        arrival_date=None, created=int(NOW.timestamp()))]
    gateway.connect.charges["pi_view"] = DestinationCharge(
        charge_id="ch_view", destination_account_id=account_id, transfer_id="tr_view", application_fee_id="fee_1",
        application_fee_amount=530, transfer_amount=5000)

    money = connect.refresh_money(engine=engine, gateway=gateway, actor=ada["actor"])
    with Session(engine) as s:
        view = connect.payouts_view(session=s, actor=ada["actor"], settings=SETTINGS)

    assert connect.balance_lines(money.balance) == (["£44.70"], ["£0.00"])
    assert money.transfers_recorded == 1
    assert view.account.label == "Payouts enabled" and view.account.fee_rule.startswith("10% of each payment")
    [row] = view.transfers
    assert (row.booking_id, row.amount, row.fee, row.net, row.transfer_id) == (
        booking_id, "£50.00", "£5.30", "£44.70", "tr_view")
    assert [(p.payout_id, p.status) for p in view.payouts] == [("po_api", "in_transit")]
    assert [(t.currency, t.gross, t.fees, t.net) for t in view.totals] == [("GBP", "£50.00", "£5.30", "£44.70")]


def test_the_fee_report_sums_fees_per_month_and_currency(engine, gateway, ada, admin):
    onboard(engine, gateway, ada)
    first = book(engine, gateway, ada["gbp"])
    pay(engine, gateway, first, payment_intent="pi_fee_1")
    second = book(engine, gateway, ada["jpy"], days=3)
    pay(engine, gateway, second, payment_intent="pi_fee_2")
    refunds.request_refund(engine=engine, gateway=gateway, actor=ada["actor"], cancel_session=False, booking_id=first.booking_id,
                           amount=2500, reason="requested_by_customer", request_key="fee-report")
    # A builder without payouts: the platform holds their money.
    with Session(engine) as s:
        other = make_builder(s, name="Kenji")
        held_type = make_session_type(s, other, price_amount=3000, currency="gbp")
        s.commit()
        s.refresh(held_type)
        s.expunge(held_type)
    held = book(engine, gateway, held_type)
    pay(engine, gateway, held, payment_intent="pi_held")

    with Session(engine) as s:
        report = connect.fee_report(session=s, actor=admin)
        with pytest.raises(Forbidden):
            connect.fee_report(session=s, actor=ada["actor"])

    month = NOW.strftime("%Y-%m")
    assert [(r.month, r.currency, r.payments, r.fees, r.fees_refunded, r.fees_kept, r.held) for r in report] == [
        (month, "GBP", 2, "£5.30", "£2.65", "£2.65", "£30.00"),
        (month, "JPY", 1, "¥606", "¥0", "¥606", "¥0"),
    ]


def test_month_starts_cross_the_year():
    starts = connect.month_starts(datetime(2027, 2, 10, tzinfo=timezone.utc), 3)
    assert [s.strftime("%Y-%m") for s in starts] == ["2026-12", "2027-01", "2027-02"]


def test_requirement_names_in_words():
    assert connect.requirement_label("individual.address.line1") == "Your home address"
    assert connect.requirement_label("person_1AbC.verification.document") == "Details about a person on your account"
    assert connect.requirement_label("some_new.thing") == "Some new thing"
    assert json.loads(Builder().requirements_due) == []


# --- through the Stripe emulator (the official SDK against its Connect endpoints) ------------------------


@pytest.fixture
def stripe_gateway(emulator) -> StripeGateway:
    return StripeGateway(secret_key="sk_test_connect", webhook_secret=[se.WEBHOOK_SECRET, CONNECT_SECRET],
                         api_base=emulator.url)


@pytest.fixture
def sdk(emulator) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_connect", base_addresses={"api": emulator.url})


class Deliveries:
    """Hands the emulator's events to our webhook in the order it made them, each once (the emulator
    runs without a webhook URL here, so the test decides when events arrive)."""

    def __init__(self, engine, gateway, emulator) -> None:
        self.engine, self.gateway, self.emulator = engine, gateway, emulator
        self.done = {event["id"] for event in emulator.emulator.snapshot()["events"]}

    def flush(self) -> list[tuple[str, int, str]]:
        events = sorted(self.emulator.emulator.snapshot()["events"], key=lambda e: (e["created"], e["id"]))
        answers = []
        for event in events:
            if event["id"] in self.done:
                continue
            self.done.add(event["id"])
            body = {k: v for k, v in event.items() if k != "delivery_status"}
            payload = json.dumps(body).encode()
            result = handle_webhook(engine=self.engine, gateway=self.gateway, payload=payload,
                                    signature=se.sign(payload))
            assert result.status_code == 200, (event["type"], result.body)
            answers.append((event["type"], result.status_code, str(result.body.get("outcome", ""))))
        return answers


def control(emulator, path: str, **body) -> dict:
    response = httpx.post(f"{emulator.url}/_emulator/{path}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def onboard_at_emulator(engine, gateway, emulator, deliveries, ada, *, choice="complete",
                        bank_account="000123456789") -> str:
    url = connect.start_onboarding(engine=engine, gateway=gateway, actor=ada["actor"], return_url=RETURN_URL,
                                   refresh_url=REFRESH_URL)
    account_id = builder_row(engine, ada["builder_id"]).stripe_account_id
    assert url.startswith(emulator.url) and account_id in url  # the hosted onboarding page
    control(emulator, f"accounts/{account_id}/onboarding", choice=choice, bank_account=bank_account)
    deliveries.flush()  # account.updated
    return account_id


def pending_of(balance, currency="gbp") -> int:
    return sum(item.amount for item in balance.pending if item.currency == currency)


def test_emulator_a_paid_booking_pays_the_builder_less_the_fee(engine, stripe_gateway, emulator, sdk, ada):
    deliveries = Deliveries(engine, stripe_gateway, emulator)
    account_id = onboard_at_emulator(engine, stripe_gateway, emulator, deliveries, ada)
    assert connect.account_state(builder_row(engine, ada["builder_id"])) == connect.AccountState.ENABLED
    before = pending_of(stripe_gateway.retrieve_balance(account_id))

    started = book(engine, stripe_gateway, ada["gbp"])
    paid = control(emulator, f"checkout/sessions/{started.checkout_session_id}/complete", card="4242424242424242")
    assert paid["status"] == "succeeded"
    outcomes = dict((kind, outcome) for kind, _code, outcome in deliveries.flush())

    intent = sdk.v1.payment_intents.retrieve(paid["payment_intent"]["id"])
    assert intent.application_fee_amount == 530 and intent.transfer_data.destination == account_id
    [transfer] = sdk.v1.transfers.list(params={"destination": account_id}).data
    assert (transfer.amount, transfer.currency) == (5000, "gbp")
    payment = payment_of(engine, started.booking_id)
    assert (payment.transfer_id, payment.application_fee_amount, payment.net_amount) == (transfer.id, 530, 4470)
    assert outcomes["checkout.session.completed"] == "fulfilment:confirmed"
    # The connected account's balance rises by the net amount (pending until the payout delay passes).
    assert pending_of(stripe_gateway.retrieve_balance(account_id)) - before == 4470


def test_emulator_a_refund_reverses_the_transfer_and_refunds_the_fee(engine, stripe_gateway, emulator, sdk, ada):
    deliveries = Deliveries(engine, stripe_gateway, emulator)
    account_id = onboard_at_emulator(engine, stripe_gateway, emulator, deliveries, ada)
    started = book(engine, stripe_gateway, ada["gbp"])
    control(emulator, f"checkout/sessions/{started.checkout_session_id}/complete", card="4242424242424242")
    deliveries.flush()

    half = refunds.request_refund(engine=engine, gateway=stripe_gateway, actor=ada["actor"], cancel_session=False,
                                  booking_id=started.booking_id, amount=2500, reason="requested_by_customer",
                                  request_key="emu-half")
    rest = refunds.request_refund(engine=engine, gateway=stripe_gateway, actor=ada["actor"], cancel_session=False,
                                  booking_id=started.booking_id, amount=None, reason="requested_by_customer",
                                  request_key="emu-rest")
    deliveries.flush()

    assert half.ok and rest.ok
    payment = payment_of(engine, started.booking_id)
    transfer = sdk.v1.transfers.retrieve(payment.transfer_id)
    [fee] = sdk.v1.application_fees.list(params={"charge": transfer.destination_payment}).data
    assert (transfer.amount_reversed, transfer.reversed) == (5000, True)
    assert (fee.amount, fee.amount_refunded) == (530, 530)
    with Session(engine) as s:
        shares = [r.application_fee_refunded for r in s.exec(select(Refund).where(
            Refund.booking_id == started.booking_id).order_by(Refund.id)).all()]
    assert shares == [265, 265]  # Stripe's (the emulator's) rounding and ours agree
    assert (payment.status, payment.net_amount) == (PaymentStatus.REFUNDED, 0)
    # Nothing is left for the builder (the reversal counts at once, the payment was still pending).
    balance = stripe_gateway.retrieve_balance(account_id)
    assert sum(i.amount for i in balance.available + balance.pending if i.currency == "gbp") == 0


def test_emulator_leaving_onboarding_incomplete_shows_what_is_missing(engine, stripe_gateway, emulator, ada):
    deliveries = Deliveries(engine, stripe_gateway, emulator)
    onboard_at_emulator(engine, stripe_gateway, emulator, deliveries, ada, choice="incomplete")

    builder = builder_row(engine, ada["builder_id"])
    assert connect.account_state(builder) == connect.AccountState.INCOMPLETE and not builder.payouts_enabled
    assert {"A bank account for payouts", "An identity document"} <= set(
        connect.requirement_labels(connect.requirements_of(builder)))
    # Bookable, with the platform holding the money (REQUIRE_PAYOUTS off).
    book(engine, stripe_gateway, ada["gbp"])


def test_emulator_a_failed_payout_flags_the_builder_and_notifies_both(engine, stripe_gateway, emulator, ada, admin):
    deliveries = Deliveries(engine, stripe_gateway, emulator)
    account_id = onboard_at_emulator(engine, stripe_gateway, emulator, deliveries, ada,
                                     bank_account="000111111113")  # payouts fail: account_closed
    started = book(engine, stripe_gateway, ada["gbp"])
    control(emulator, f"checkout/sessions/{started.checkout_session_id}/complete", card="4242424242424242")
    deliveries.flush()

    for _day in range(4):  # the funds become available, are paid out at midnight, and the payout bounces
        control(emulator, "clock/advance", seconds=86400)
    outcomes = deliveries.flush()

    assert any(kind == "payout.failed" for kind, _code, _outcome in outcomes)
    builder = builder_row(engine, ada["builder_id"])
    assert connect.account_state(builder) == connect.AccountState.RESTRICTED  # flagged
    with Session(engine) as s:
        payout = s.exec(select(Payout).where(Payout.stripe_account_id == account_id)).one()
        assert (payout.status, payout.amount, payout.failure_code) == (PayoutStatus.FAILED, 4470, "account_closed")
        told = s.exec(select(Notification.recipient).where(
            Notification.kind == NotificationKind.PAYOUT_FAILED.value)).all()
    assert sorted(told) == ["ada@example.test", "ops@example.test"]

    money = connect.refresh_money(engine=engine, gateway=stripe_gateway, actor=ada["actor"])
    assert money.problem == "" and money.payouts_seen == 1
    with Session(engine) as s:
        view = connect.payouts_view(session=s, actor=ada["actor"], settings=SETTINGS)
    assert [(p.status, p.amount) for p in view.payouts] == [("failed", "£44.70")]


def test_emulator_the_express_dashboard_link(engine, stripe_gateway, emulator, ada):
    deliveries = Deliveries(engine, stripe_gateway, emulator)
    account_id = onboard_at_emulator(engine, stripe_gateway, emulator, deliveries, ada)
    url = connect.login_link(engine=engine, gateway=stripe_gateway, actor=ada["actor"])
    assert url.startswith(emulator.url) and account_id in url
    assert httpx.get(url, timeout=10).status_code == 200


def test_the_api_refuses_a_builder_without_payouts_when_payouts_are_required(engine, ada, monkeypatch):
    fake = FakeGateway()
    monkeypatch.setattr(deps, "gateway", lambda: fake)
    monkeypatch.setenv("REQUIRE_PAYOUTS", "true")
    get_settings.cache_clear()
    start = (NOW + timedelta(days=2)).replace(hour=10, minute=0)
    try:
        response = TestClient(api.build_api()).post("/api/payments/create-checkout-session", json={
            "session_type_id": str(ada["gbp"].id), "start_time": start.isoformat(), "client_name": "Cleo",
            "client_email": "cleo@example.com"})
    finally:
        get_settings.cache_clear()

    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_request", "session_type_id")
    assert "Ada can't take bookings yet" in error["message"]
    assert fake.created == []


def test_a_builder_without_payouts_is_shown_as_not_bookable_before_any_slot_is_picked(engine, ada, monkeypatch):
    from booking.core.db import session_scope
    from tests.integration.test_client_defects import _book_state
    from tests.support.admin_states import call

    monkeypatch.setenv("REQUIRE_PAYOUTS", "true")
    get_settings.cache_clear()
    try:
        listed = TestClient(api.build_api()).get("/api/session-types").json()
        with session_scope(engine) as s:
            slug = s.get(Builder, ada["builder_id"]).slug
            page = catalog.get_builder(session=s, slug=slug)
        book_page = _book_state(ada["gbp"].id)
        call(book_page, "load")
    finally:
        get_settings.cache_clear()

    reason = "Ada can't take bookings yet: they are still setting up how they get paid."
    assert {(item["bookable"], item["not_bookable_reason"]) for item in listed} == {(False, reason)}
    assert (page.bookable, page.not_bookable_reason) == (False, reason)
    assert book_page.not_bookable_reason == reason  # the page says so instead of offering times
    monkeypatch.delenv("REQUIRE_PAYOUTS")
    get_settings.cache_clear()
    assert TestClient(api.build_api()).get("/api/session-types").json()[0]["bookable"] is True  # the demo's way


def test_a_payout_failed_email_reaches_an_internationalised_address(engine, session):
    from booking.notifications.outbox import queue_payout_failed

    builder = make_builder(session, name="Ünï Builder", email="ünï@exämple.com")
    payout = Payout(builder_id=builder.id, stripe_payout_id="po_intl", stripe_account_id="acct_intl", amount=4470,
                    currency="gbp", status=PayoutStatus.FAILED, failure_code="account_closed")
    session.add(payout)
    session.flush()
    [row] = queue_payout_failed(session=session, payout=payout, builder=builder)
    session.commit()

    message = build_message(notification_id=row.id, kind=row.kind, recipient=row.recipient, payload=row.payload,
                            now=NOW)

    assert message["To"].addresses[0].addr_spec == "ünï@exämple.com"
    assert message["To"].addresses[0].display_name == "Ünï Builder"


# --- a signed event from one account about another's object is refused ---------------------------------------


def stored_event(engine, event_id) -> StripeEvent:
    with Session(engine) as s:
        return s.get(StripeEvent, event_id)


def test_an_account_update_sent_by_another_account_is_refused_and_changes_nothing(engine, gateway, ada, session):
    account_id = onboard(engine, gateway, ada)
    make_builder(session, name="Mallory", stripe_account_id="acct_mallory")
    session.commit()
    evt = account_event("account.updated", account_object(account_id, payouts_enabled=False), "acct_mallory")
    evt["created"] = int(datetime.now(timezone.utc).timestamp()) + 5

    result = deliver(engine, gateway, evt, secret=CONNECT_SECRET)

    assert result.status_code == 200 and "refused" in result.body["outcome"]
    assert builder_row(engine, ada["builder_id"]).payouts_enabled
    row = stored_event(engine, evt["id"])
    assert row.status == EventStatus.IGNORED and "acct_mallory" in row.error and account_id in row.error


def test_a_payout_event_sent_by_another_account_is_refused_and_changes_nothing(engine, gateway, ada, session):
    account_id = onboard(engine, gateway, ada)
    make_builder(session, name="Mallory", stripe_account_id="acct_mallory")
    session.commit()
    deliver(engine, gateway, account_event("payout.created", payout_object("po_ada", "pending"), account_id),
            secret=CONNECT_SECRET)
    hijack = account_event("payout.failed", payout_object("po_ada", "failed", failure_code="account_closed"),
                           "acct_mallory")
    stranger = account_event("payout.paid", payout_object("po_stranger", "paid"), "acct_stranger")

    results = [deliver(engine, gateway, evt, secret=CONNECT_SECRET) for evt in (hijack, stranger)]

    assert all(r.status_code == 200 and "refused" in r.body["outcome"] for r in results)
    with Session(engine) as s:
        assert [(p.stripe_payout_id, p.status, p.builder_id) for p in s.exec(select(Payout)).all()] == [
            ("po_ada", PayoutStatus.PENDING, ada["builder_id"])]
        assert s.exec(select(Notification)).all() == []
    for evt in (hijack, stranger):
        row = stored_event(engine, evt["id"])
        assert row.status == EventStatus.IGNORED and "refused" in row.error
