"""Reconcile: Stripe's record against ours. Through the emulator with webhooks withheld (events are
recorded, never delivered), and with the in-memory gateway for the mismatches that are hard to stage."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from booking.core.config import get_settings, load_settings
from booking.core.models import (
    AuditEntry,
    Booking,
    BookingStatus,
    EndCause,
    Notification,
    Payment,
    PaymentStatus,
    StripeEvent,
    UserRole,
)
from booking.events.reconcile import MismatchKind, format_report, parse_since, reconcile
from booking.lifecycle import checkout as payments
from booking.payments.gateway import (
    CheckoutPaymentStatus,
    CheckoutSession,
    CheckoutStatus,
    PaymentIntentRecord,
    PaymentIntentStatus,
    Refund,
    RefundState,
)
from tests.factories import make_builder, make_hold, make_session_type
from tests.support.fake_gateway import FakeGateway
from tests.support.ledger import money
from tests.support.stripe_events import WEBHOOK_SECRET

SETTINGS = load_settings(PUBLIC_URL="https://book.example")
WEEK = timedelta(days=7)


@pytest.fixture
def session_type(session: Session):
    builder = make_builder(session, name="Grace", email="grace@builder.test")
    st = make_session_type(session, builder, price_amount=5000, currency="gbp", name="Review")
    session.commit()
    return st


def start(engine, gateway, session_type):
    start_time = (datetime.now(timezone.utc) + timedelta(days=2)).replace(hour=11, minute=0, second=0, microsecond=0)
    return payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS,
                                   session_type_id=session_type.id, start_time=start_time,
                                   client_name="Ann", client_email="ann@example.com")


def pay_with_test_card(emulator, checkout_session_id: str) -> dict:
    """The emulator's test-mode control API: pay a session with a card, no browser."""
    request = urllib.request.Request(
        f"{emulator.url}/_emulator/checkout/sessions/{checkout_session_id}/complete",
        data=json.dumps({"card": "4242 4242 4242 4242", "email": "ann@example.com", "name": "Ann"}).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def booking_of(engine, booking_id) -> Booking:
    with Session(engine) as s:
        return s.get(Booking, booking_id)


def confirmation_emails(engine, booking_id) -> list[str]:
    with Session(engine) as s:
        return sorted(n.recipient for n in s.exec(select(Notification).where(
            Notification.booking_id == booking_id, Notification.kind == "booking_confirmed")).all())


def stored_events(engine) -> list[tuple[str, str, str, str]]:
    with Session(engine) as s:
        return sorted((e.id, e.type, e.source, e.status) for e in s.exec(select(StripeEvent)).all())


def test_reconcile_repairs_a_withheld_checkout_completed_exactly_once(engine, gateway, emulator, session_type):
    started = start(engine, gateway, session_type)
    assert pay_with_test_card(emulator, started.checkout_session_id)["status"] == "succeeded"
    assert booking_of(engine, started.booking_id).status == BookingStatus.PENDING  # no webhook came

    first = reconcile(engine=engine, gateway=gateway, since=WEEK)

    booking = booking_of(engine, started.booking_id)
    assert booking.status == BookingStatus.CONFIRMED
    assert money(engine, started.booking_id).status == PaymentStatus.PAID
    assert confirmation_emails(engine, started.booking_id) == ["ann@example.com", "grace@builder.test"]
    completed = [e for e in stored_events(engine) if e[1] == "checkout.session.completed"]
    assert len(completed) == 1
    assert completed[0][2:] == ("reconcile", "processed")
    assert first.events_applied >= 1 and first.events_failed == 0
    assert first.mismatches == []

    events_after_first = stored_events(engine)
    second = reconcile(engine=engine, gateway=gateway, since=WEEK)

    assert second.events_applied == 0 and second.events_failed == 0
    assert len(second.mismatches) <= len(first.mismatches)
    assert stored_events(engine) == events_after_first
    assert confirmation_emails(engine, started.booking_id) == ["ann@example.com", "grace@builder.test"]


def test_an_amount_changed_here_is_reported_on_every_run(engine, gateway, emulator, session_type):
    started = start(engine, gateway, session_type)
    pay_with_test_card(emulator, started.checkout_session_id)
    reconcile(engine=engine, gateway=gateway, since=WEEK)
    with Session(engine) as s:
        payment = s.exec(select(Payment).where(Payment.booking_id == started.booking_id)).one()
        payment.amount = 4000
        s.add(payment)
        s.commit()

    reports = [reconcile(engine=engine, gateway=gateway, since=WEEK) for _ in range(2)]

    for report in reports:
        amounts = [m for m in report.mismatches if m.kind == MismatchKind.AMOUNT_DIFFERS]
        assert [(m.booking_id, m.ours, m.stripe) for m in amounts][:1] == [(started.booking_id, "£40.00", "£50.00")]
        assert report.events_applied == 0
    assert "Amount differs" in format_report(reports[0])


def test_a_refund_made_at_stripe_while_webhooks_were_withheld_lands_once(engine, gateway, emulator, session_type):
    started = start(engine, gateway, session_type)
    pay_with_test_card(emulator, started.checkout_session_id)
    reconcile(engine=engine, gateway=gateway, since=WEEK)
    payment_intent = money(engine, started.booking_id).payment_intent_id
    emulator.client().v1.refunds.create(params={"payment_intent": payment_intent, "amount": 1500})

    first = reconcile(engine=engine, gateway=gateway, since=WEEK)
    second = reconcile(engine=engine, gateway=gateway, since=WEEK)

    held = money(engine, started.booking_id)
    assert (held.amount_refunded, held.status) == (1500, PaymentStatus.PARTIALLY_REFUNDED)
    assert first.events_applied >= 1 and first.mismatches == []
    assert (second.events_applied, second.mismatches) == (0, [])
    with Session(engine) as s:
        refund_emails = s.exec(select(Notification).where(Notification.booking_id == started.booking_id,
                                                          Notification.kind == "booking_refunded")).all()
    assert sorted(n.recipient for n in refund_emails) == ["ann@example.com", "grace@builder.test"]


def test_a_booking_confirmed_here_but_unpaid_at_stripe_is_reported(engine, gateway, session_type):
    started = start(engine, gateway, session_type)
    with Session(engine) as s:
        booking = s.get(Booking, started.booking_id)
        booking.status, booking.confirmed_at = BookingStatus.CONFIRMED, datetime.now(timezone.utc)
        payment = s.exec(select(Payment).where(Payment.booking_id == started.booking_id)).one()
        payment.status = PaymentStatus.PAID
        s.add_all([booking, payment])
        s.commit()

    report = reconcile(engine=engine, gateway=gateway, since=WEEK)

    assert [(m.kind, m.booking_id, m.stripe_object) for m in report.mismatches] == [
        (MismatchKind.CONFIRMED_NOT_PAID, started.booking_id, started.checkout_session_id)]


def test_the_cli_prints_the_counts_and_the_mismatch_table(engine, gateway, emulator, session_type, monkeypatch):
    from booking.ops.cli import cli

    started = start(engine, gateway, session_type)
    pay_with_test_card(emulator, started.checkout_session_id)
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_reconcile")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("STRIPE_API_BASE", emulator.url)
    get_settings.cache_clear()
    runner = CliRunner()

    first = runner.invoke(cli, ["reconcile", "--since", "7d"])
    assert first.exit_code == 0, first.output
    assert "events applied: " in first.output and "no mismatches" in first.output
    assert booking_of(engine, started.booking_id).status == BookingStatus.CONFIRMED

    with Session(engine) as s:
        payment = s.exec(select(Payment).where(Payment.booking_id == started.booking_id)).one()
        payment.currency = "eur"
        s.add(payment)
        s.commit()
    second = runner.invoke(cli, ["reconcile", "--since", "12h"])
    assert second.exit_code == 3
    assert "events applied: 0" in second.output
    assert "Currency differs" in second.output and started.booking_id in second.output

    wrong = runner.invoke(cli, ["reconcile", "--since", "7 weeks"])
    assert wrong.exit_code == 2 and "7d, 12h or 30m" in wrong.output


def test_since_accepts_days_hours_and_minutes():
    assert parse_since("7d") == timedelta(days=7)
    assert parse_since("12h") == timedelta(hours=12)
    assert parse_since(" 30M ") == timedelta(minutes=30)
    for bad in ("", "7", "0d", "-1d", "7w", "d7", "1.5h"):
        with pytest.raises(ValueError):
            parse_since(bad)


# --- mismatches staged with the in-memory gateway ----------------------------------------------------------


class NoTransactionGateway(FakeGateway):
    """Fails the test if reconcile asks Stripe anything while it holds a database connection."""

    def __init__(self, engine) -> None:
        super().__init__()
        self.engine = engine
        self.calls = 0

    def _check(self) -> None:
        self.calls += 1
        assert self.engine.pool.checkedout() == 0, "a Stripe call was made inside a database transaction"
        super()._check()


def test_a_refund_at_stripe_missing_here_and_a_payment_we_never_confirmed_are_reported(engine, session):
    paid_here = make_hold(session, checkout_session_id="cs_test_paid_here", payment_intent_id="pi_test_paid_here",
                          status=BookingStatus.CONFIRMED, payment_status=PaymentStatus.PAID)
    released = make_hold(session, checkout_session_id="cs_test_released", status=BookingStatus.CANCELLED,
                         end_cause=EndCause.RELEASED_BY_CLIENT, payment_status=PaymentStatus.EXPIRED)
    session.commit()
    gateway = NoTransactionGateway(engine)
    gateway.sessions["cs_test_paid_here"] = CheckoutSession(
        id="cs_test_paid_here", url=None, status=CheckoutStatus.COMPLETE, payment_status=CheckoutPaymentStatus.PAID,
        payment_intent_id="pi_test_paid_here", amount_total=5000, currency="gbp",
        metadata={"booking_id": paid_here.id}, client_reference_id=paid_here.id)
    gateway.sessions["cs_test_released"] = CheckoutSession(
        id="cs_test_released", url=None, status=CheckoutStatus.COMPLETE, payment_status=CheckoutPaymentStatus.PAID,
        payment_intent_id="pi_test_late",
        amount_total=5000, currency="gbp", metadata={"booking_id": released.id},
        client_reference_id=released.id)
    gateway.listed_payment_intents = [PaymentIntentRecord(
        id="pi_test_paid_here", status=PaymentIntentStatus.SUCCEEDED, amount=5000, amount_received=5000,
        currency="gbp", metadata={"booking_id": paid_here.id})]
    gateway.listed_refunds = [Refund(id="re_test_elsewhere", amount=1500, status=RefundState.SUCCEEDED,
                                     currency="gbp", payment_intent_id="pi_test_paid_here")]

    report = reconcile(engine=engine, gateway=gateway, since=WEEK)

    assert gateway.calls >= 4
    found = {(m.kind, m.booking_id): m for m in report.mismatches}
    assert set(found) == {(MismatchKind.PAID_NOT_CONFIRMED, released.id),
                          (MismatchKind.REFUND_MISSING, paid_here.id)}
    missing = found[(MismatchKind.REFUND_MISSING, paid_here.id)]
    assert (missing.stripe_object, missing.ours, missing.stripe) == (
        "re_test_elsewhere", "£0.00 refunded, 1 of 1 refunds unrecorded", "£15.00 refunded")
    assert found[(MismatchKind.PAID_NOT_CONFIRMED, released.id)].ours == "cancelled / expired"


def test_an_event_whose_handler_fails_is_stored_failed_and_counted(engine, session, monkeypatch):
    from booking.events import webhooks
    from tests.support import stripe_events as se

    hold = make_hold(session)
    session.commit()
    gateway = FakeGateway()
    refunded = se.event("charge.refunded", se.charge("pi_test_elsewhere", amount=5000, amount_refunded=5000))
    refunded["data"]["object"]["metadata"] = {"booking_id": hold.id}
    gateway.listed_events = [refunded]

    def broken(*_args):
        raise RuntimeError("handler bug")

    with monkeypatch.context() as patch:
        patch.setitem(webhooks.HANDLERS, "charge.refunded", broken)
        report = reconcile(engine=engine, gateway=gateway, since=WEEK)

    assert (report.events_applied, report.events_failed) == (0, 1)
    with Session(engine) as s:
        row = s.get(StripeEvent, refunded["id"])
        assert (row.status, row.source, row.attempts) == ("failed", "reconcile", 1)
        assert "handler bug" in row.error

    again = reconcile(engine=engine, gateway=gateway, since=WEEK)  # the bug is fixed: applied now, once
    assert (again.events_applied, again.events_failed) == (1, 0)
    assert money(engine, hold.id).status == PaymentStatus.REFUNDED
    assert reconcile(engine=engine, gateway=gateway, since=WEEK).events_applied == 0


def test_a_run_from_the_workspace_is_audited(engine, session):
    from booking.accounts.authz import Actor

    session.commit()
    admin = Actor(user_id=None, email="admin@example.test", role=UserRole.ADMIN, builder_id=None)
    reconcile(engine=engine, gateway=FakeGateway(), since=WEEK, actor=admin)
    with Session(engine) as s:
        entries = s.exec(select(AuditEntry)).all()
    assert [(e.action, e.actor_email) for e in entries] == [("reconcile.run", "admin@example.test")]
    assert json.loads(entries[0].after)["mismatches"] == 0
