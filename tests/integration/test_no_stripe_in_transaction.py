"""No Stripe call while a database transaction is open (on SQLite that is the global write lock; on
PostgreSQL, row locks held across an HTTP round trip): every money path, through a gateway that records
a violation whenever it is called while any connection of the engine is checked out (a transaction)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.accounts.authz import Actor
from booking.client import holds, manage, receipts
from booking.core.config import load_settings
from booking.core.models import Booking, BookingStatus, Builder, Refund, RefundStatus, UserRole
from booking.events import webhooks
from booking.lifecycle import checkout as payments
from booking.lifecycle import refunds
from booking.notifications import manage_links
from booking.payments.gateway import ConnectedAccount
from tests.factories import make_builder, make_session_type
from tests.support import stripe_events as se
from tests.support.admin_states import make_user
from tests.support.fake_gateway import FakeGateway
from tests.support.ledger import money

SETTINGS = load_settings(PUBLIC_URL="https://book.example")
_NOT_STRIPE = {"verify_webhook", "pay", "complete_onboarding"}  # local: signature checks, test helpers


class NoTransactionGateway:
    """A FakeGateway whose every Stripe call first checks that no database transaction is open."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.fake = FakeGateway()
        self.calls: list[str] = []
        self.violations: list[str] = []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.fake, name)
        if name.startswith("_") or name in _NOT_STRIPE or not callable(target):
            return target

        def checked(*args: Any, **kwargs: Any) -> Any:
            open_transactions = self.engine.pool.checkedout()
            if open_transactions:
                # Recorded (a flow may catch the error), and raised, so the path under test fails loudly.
                self.violations.append(f"{name} with {open_transactions} transaction(s) open")
                raise AssertionError(f"Stripe call {name} inside a database transaction")
            self.calls.append(name)
            return target(*args, **kwargs)

        return checked


@pytest.fixture
def gateway(engine) -> NoTransactionGateway:
    checked = NoTransactionGateway(engine)
    yield checked
    assert checked.violations == []


@pytest.fixture
def session_type(session: Session):
    builder = make_builder(session, name="Ada")
    st = make_session_type(session, builder, price_amount=5000, currency="gbp", name="Pairing")
    session.commit()
    session.close()  # nothing of the test's own left checked out
    return st


def slot(hour: int = 10) -> datetime:
    return (datetime.now(timezone.utc) + timedelta(days=3)).replace(hour=hour, minute=0, second=0, microsecond=0)


def begin(engine, gateway, session_type, *, email="ann@example.com", hour=10, browser_hold_key=None):
    return payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS, session_type_id=session_type.id,
                                   start_time=slot(hour), client_name="Ann", client_email=email,
                                   browser_hold_key=browser_hold_key)


def deliver(engine, gateway, event: dict) -> webhooks.WebhookResult:
    payload = se.encode(event)
    return webhooks.handle_webhook(engine=engine, gateway=gateway, payload=payload, signature=se.sign(payload))


def pay(engine, gateway, started, payment_intent: str) -> webhooks.WebhookResult:
    paid = gateway.fake.pay(started.checkout_session_id, payment_intent)
    return deliver(engine, gateway, se.event("checkout.session.completed", se.checkout_session(
        started.booking_id, paid.id, payment_intent=payment_intent)))


def booking(engine, booking_id: str) -> Booking:
    with Session(engine) as s:
        return s.get(Booking, booking_id)


def test_begin_checkout_and_a_browser_replacing_its_hold(engine, gateway, session_type):
    first = begin(engine, gateway, session_type, browser_hold_key="browser-1")
    # The first hold ends first: its session is looked at (a paid one would be fulfilled), then expired.
    begin(engine, gateway, session_type, hour=11, browser_hold_key="browser-1")

    assert gateway.calls == ["create_checkout_session", "retrieve_checkout_session", "expire_checkout_session",
                             "create_checkout_session"]
    assert gateway.fake.expired == [first.checkout_session_id]


def test_retry_continue_and_release(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)

    retried = payments.retry_checkout(engine=engine, gateway=gateway, settings=SETTINGS, booking_id=started.booking_id)
    continued = holds.continue_checkout(engine=engine, gateway=gateway, settings=SETTINGS,
                                        booking_id=started.booking_id)
    released = payments.release_hold_and_expire(engine=engine, gateway=gateway, booking_id=started.booking_id)

    assert continued.checkout_session_id == retried.checkout_session_id and released
    assert {"retrieve_checkout_session", "expire_checkout_session", "create_checkout_session"} <= set(gateway.calls)


def test_the_late_payment_refund_of_a_webhook_is_sent_after_its_transaction(engine, gateway, session_type):
    late = begin(engine, gateway, session_type, email="late@example.com")
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    assert payments.sweep_expired_holds(engine=engine, gateway=gateway, now=later) == 1  # the hold lapses...
    begin(engine, gateway, session_type, email="other@example.com")  # ...someone else takes the slot

    result = pay(engine, gateway, late, "pi_late")  # and then the first client's payment lands

    assert result.status_code == 200 and result.body["outcome"] == "fulfilment:refunded"
    assert [r["key"] for r in gateway.fake.refunds] == [f"booking-{late.booking_id}-late-payment-refund"]
    with Session(engine) as s:
        [row] = s.exec(select(Refund)).all()
        assert (row.status, row.amount) == (RefundStatus.SUCCEEDED, 5000)
    assert money(engine, late.booking_id).status == "refunded"


def test_the_late_payment_refund_found_by_the_success_page_is_sent_after_its_transaction(engine, gateway, session_type):
    late = begin(engine, gateway, session_type, email="late@example.com")
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    payments.sweep_expired_holds(engine=engine, gateway=gateway, now=later)
    begin(engine, gateway, session_type, email="other@example.com")
    gateway.fake.pay(late.checkout_session_id, "pi_late_page")

    receipt = receipts.confirm_from_success_page(engine=engine, gateway=gateway,
                                                 checkout_session_id=late.checkout_session_id)

    # Requested in the fulfilment's transaction, sent once it committed (the gateway checks no transaction
    # is open), as the webhook does: not left for the sweeper.
    assert receipt.state == "refunded" and len(gateway.fake.refunds) == 1
    with Session(engine) as s:
        assert s.exec(select(Refund.status)).one() == RefundStatus.SUCCEEDED
    payments.sweep_expired_holds(engine=engine, gateway=gateway, now=later + payments.LATE_REFUND_RETRY_AFTER)
    assert len(gateway.fake.refunds) == 1  # never twice


def test_a_payment_intent_is_traced_to_its_booking_outside_the_transaction(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)
    gateway.fake.pay(started.checkout_session_id, "pi_only_stripe_knows")
    charge = se.charge("pi_only_stripe_knows", amount=5000, amount_refunded=5000)  # no booking id on it

    result = deliver(engine, gateway, se.event("charge.refunded", charge))

    assert (result.status_code, result.body["outcome"]) == (200, "refund recorded")
    assert gateway.calls.count("booking_id_for_payment_intent") == 1 and "list_refunds" in gateway.calls
    assert money(engine, started.booking_id).payment_intent_id == "pi_only_stripe_knows"


def test_the_handler_runs_once_on_answers_fetched_before_its_transaction(engine, gateway, session_type,
                                                                         monkeypatch):
    """Two things to ask Stripe (whose payment, and its refunds): both asked first, then one run of the
    handler; no rolled-back attempts."""
    started = begin(engine, gateway, session_type)
    gateway.fake.pay(started.checkout_session_id, "pi_asked_first")
    runs = []
    handler = webhooks.HANDLERS["charge.refunded"]
    monkeypatch.setitem(webhooks.HANDLERS, "charge.refunded", lambda *args: runs.append(1) or handler(*args))
    gateway.calls.clear()

    result = deliver(engine, gateway, se.event("charge.refunded", se.charge("pi_asked_first", amount=5000,
                                                                             amount_refunded=5000)))

    assert (result.status_code, result.body["outcome"]) == (200, "refund recorded")
    assert runs == [1]
    assert gateway.calls == ["booking_id_for_payment_intent", "list_refunds"]


def test_a_handler_asking_for_what_was_not_prefetched_fails_the_event_without_calling_stripe(
        engine, gateway, session_type, monkeypatch):
    def greedy(session, stripe, event):
        return str(stripe.retrieve_checkout_session("cs_never_prefetched"))

    monkeypatch.setitem(webhooks.HANDLERS, "customer.created", greedy)
    gateway.calls.clear()

    result = deliver(engine, gateway, se.event("customer.created", {"id": "cus_1", "object": "customer"}))

    assert result.status_code == 500  # kept on the event's row; Stripe delivers it again
    assert gateway.calls == []


def test_a_stale_account_event_reads_the_account_outside_the_transaction(engine, gateway, session):
    builder = make_builder(session, name="Grace", stripe_account_id="acct_fake_stale",
                           account_updated_at=datetime.now(timezone.utc) + timedelta(hours=1))
    session.commit()
    session.close()
    gateway.fake.connect.accounts["acct_fake_stale"] = ConnectedAccount(
        id="acct_fake_stale", email=None, charges_enabled=True, payouts_enabled=True, details_submitted=True,
        requirements_due=[])
    event = se.event("account.updated", {"id": "acct_fake_stale", "object": "account", "charges_enabled": False,
                                         "payouts_enabled": False, "details_submitted": False, "requirements": {}})
    event["created"] = int(datetime.now(timezone.utc).timestamp())
    event["account"] = "acct_fake_stale"  # a Connect event names the account it is about

    result = deliver(engine, gateway, event)

    assert result.status_code == 200 and gateway.calls == ["retrieve_connected_account"]
    with Session(engine) as s:
        assert s.get(Builder, builder.id).payouts_enabled is True  # Stripe's current word, not the stale event


def test_admin_refunds_and_client_cancels(engine, gateway, session_type):
    admin = Actor(user_id=make_user(engine, email="root@example.com", role=UserRole.ADMIN), email="root@example.com",
                  role=UserRole.ADMIN, builder_id=None)
    refunded = begin(engine, gateway, session_type, email="one@example.com", hour=10)
    cancelled = begin(engine, gateway, session_type, email="two@example.com", hour=12)
    assert pay(engine, gateway, refunded, "pi_admin").status_code == 200
    assert pay(engine, gateway, cancelled, "pi_client").status_code == 200
    gateway.calls.clear()

    outcome = refunds.request_refund(engine=engine, gateway=gateway, actor=admin, booking_id=refunded.booking_id,
                                     amount=1000, reason="requested_by_customer", request_key="form-1")
    by_client = manage.cancel_by_client(engine=engine, gateway=gateway,
                                        token=manage_links.derive_token(cancelled.booking_id))

    assert outcome.ok and by_client.code
    assert gateway.calls == ["refund", "refund"]
    assert booking(engine, cancelled.booking_id).status == BookingStatus.CANCELLED


def test_the_check_itself_catches_a_call_inside_a_transaction(engine, session_type):
    from booking.core.db import session_scope

    watched = NoTransactionGateway(engine)
    started = begin(engine, watched, session_type)
    with pytest.raises(AssertionError), session_scope(engine) as s:  # what the old fulfilment did
        s.get(Booking, started.booking_id)
        watched.retrieve_checkout_session(started.checkout_session_id)
    assert watched.violations == ["retrieve_checkout_session with 1 transaction(s) open"]
