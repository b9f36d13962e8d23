"""Faults: Stripe failing (through the emulator's fault injection, over real HTTP), a database failing in
the middle of a webhook, and a crash between Stripe's answer and our commit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from starlette.testclient import TestClient

from booking.core.config import load_settings
from booking.core.db import session_scope
from booking.core.models import (
    Booking,
    BookingStatus,
    EndCause,
    EventStatus,
    Notification,
    Payment,
    PaymentStatus,
    StripeEvent,
)
from booking.events import reconcile, webhooks
from booking.lifecycle import checkout as payments
from booking.payments import ledger as payment_records
from booking.payments.gateway import PaymentProviderError, StripeGateway
from booking_ui import api, deps
from stripe_emulator.server import EmulatorServer
from tests.factories import make_builder, make_session_type
from tests.support import stripe_events as se
from tests.support.fake_gateway import FakeGateway
from tests.support.ledger import money
from tests.support.stripe_events import WEBHOOK_SECRET

SETTINGS = load_settings(PUBLIC_URL="https://book.example")
CHECKOUT_PATH = "/v1/checkout/sessions"
CLIENT_TIMEOUT = 0.5  # seconds: the injected timeouts hold their answer longer


@pytest.fixture
def stripe_http(emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        http.post("/_emulator/reset")
        yield http


@pytest.fixture
def gateway(emulator, stripe_http) -> StripeGateway:
    return StripeGateway(secret_key="sk_test_faults", webhook_secret=WEBHOOK_SECRET, api_base=emulator.url,
                         timeout_seconds=CLIENT_TIMEOUT, max_network_retries=2)


@pytest.fixture
def client(engine, gateway, monkeypatch) -> TestClient:
    monkeypatch.setattr(deps, "gateway", lambda: gateway)
    return TestClient(api.build_api())


@pytest.fixture
def session_type(session: Session):
    builder = make_builder(session, time_zone="Europe/London", name="Grace")
    st = make_session_type(session, builder, price_amount=5000, currency="gbp", name="Code review")
    session.commit()
    return st


def a_slot(hours_ahead: int = 0) -> str:
    day = (datetime.now(timezone.utc) + timedelta(days=2)).replace(hour=10 + hours_ahead, minute=0, second=0,
                                                                    microsecond=0)
    return day.isoformat()


def book(client: TestClient, session_type, start: str | None = None, email: str = "ann@example.com"):
    return client.post("/api/payments/create-checkout-session", json={
        "session_type_id": str(session_type.id), "start_time": start or a_slot(),
        "client_name": "Ann", "client_email": email})


def arm(http: httpx.Client, **fault) -> None:
    response = http.post("/_emulator/faults", json=fault)
    assert response.status_code == 200, response.text


def creates(http: httpx.Client) -> list[dict]:
    """The create-checkout requests the emulator received (its request log)."""
    return [r for r in http.get("/_emulator/requests", params={"path_prefix": CHECKOUT_PATH}).json()["requests"]
            if r["method"] == "POST" and r["path"] == CHECKOUT_PATH]


def sessions_at_stripe(emulator: EmulatorServer) -> int:
    return emulator.emulator.store.count("checkout.session")


def only_booking(engine) -> tuple[Booking, list[Payment]]:
    with Session(engine) as s:
        [booking] = s.exec(select(Booking)).all()
        return booking, list(s.exec(select(Payment).order_by(Payment.attempt)).all())


# --- Stripe failing while a checkout is created ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["500", "timeout", "drop"])
def test_a_failed_create_is_retried_with_the_same_idempotency_key_and_makes_one_session(
        client, engine, emulator, stripe_http, session_type, kind):
    arm(stripe_http, kind=kind, count=1, path_prefix=CHECKOUT_PATH, method="POST", delay=CLIENT_TIMEOUT * 4)

    response = book(client, session_type)

    assert response.status_code == 201, response.text
    booking_id = response.json()["booking_id"]
    tries = creates(stripe_http)
    # The stripe SDK's retry (max_network_retries) resends the very request, Idempotency-Key included.
    assert [t["idempotency_key"] for t in tries] == [f"booking-{booking_id}-checkout-1"] * 2
    assert tries[0]["fault"] == kind and tries[1]["status"] == 200
    if kind == "timeout":  # Stripe made it the first time; the retry got that answer back, not a second session
        assert tries[0]["extra"]["executed_status"] == 200 and tries[1]["replayed"] is True
    assert sessions_at_stripe(emulator) == 1
    booking, [payment] = only_booking(engine)
    assert money(engine, booking.id).checkout_session_id == response.json()["checkout_session_id"] \
        == payment.checkout_session_id
    assert (booking.status, payment.status) == (BookingStatus.PENDING, PaymentStatus.OPEN)


def test_a_429_is_waited_out_and_retried_with_the_same_key(client, emulator, stripe_http, session_type):
    arm(stripe_http, kind="429", retry_after=1, path_prefix=CHECKOUT_PATH, method="POST")
    started = time.monotonic()

    response = book(client, session_type)

    assert response.status_code == 201
    assert time.monotonic() - started >= 1  # Retry-After honoured (the SDK alone would not retry a 429)
    first, second = creates(stripe_http)
    assert (first["status"], second["status"]) == (429, 200)
    assert first["idempotency_key"] == second["idempotency_key"]
    assert sessions_at_stripe(emulator) == 1


def test_when_stripe_gives_up_the_hold_is_released_and_the_client_is_told(
        client, engine, emulator, stripe_http, session_type):
    arm(stripe_http, kind="500", count=3, path_prefix=CHECKOUT_PATH, method="POST")  # 1 try + 2 retries

    response = book(client, session_type)

    assert response.status_code == 502
    assert response.json()["error"] == {
        "code": "payment_provider_error",
        "message": "We could not reach the payment provider. Nothing was charged and the slot was released."}
    assert len(creates(stripe_http)) == 3 and sessions_at_stripe(emulator) == 0
    booking, [payment] = only_booking(engine)
    assert (booking.status, booking.end_cause) == (BookingStatus.CANCELLED, EndCause.PROVIDER_UNREACHABLE)
    assert payment.status == PaymentStatus.EXPIRED and "Stripe could not create" in payment.failure_message
    assert book(client, session_type).status_code == 201  # the slot is free again


def test_the_booking_page_says_so_when_stripe_gives_up(engine, gateway, stripe_http, session_type, monkeypatch):
    from tests.integration.test_client_defects import _book_state
    from tests.support.admin_states import call

    monkeypatch.setattr(deps, "gateway", lambda: gateway)
    page = _book_state(session_type.id)
    call(page, "load")
    call(page, "set_browser_preferences", {"tz": "Europe/London", "hour12": False})
    call(page, "choose", page.times[0].start)
    call(page, "pay", {"client_name": "Ann", "client_email": "ann@example.com"})
    arm(stripe_http, kind="drop", count=3, path_prefix=CHECKOUT_PATH, method="POST")

    assert call(page, "start_payment") is None  # no redirect

    assert not page.paying
    assert page.notice == ("We could not reach the payment provider. Nothing was charged and your time was not "
                           "held — please try again in a moment.")
    assert [b.status for b in only_booking_list(engine)] == [BookingStatus.CANCELLED]


def only_booking_list(engine) -> list[Booking]:
    with Session(engine) as s:
        return list(s.exec(select(Booking)).all())


def hold(engine, gateway, session_type) -> payments.CheckoutStarted:
    return payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS,
                                   session_type_id=session_type.id, start_time=datetime.fromisoformat(a_slot()),
                                   client_name="Ann", client_email="ann@example.com")


def test_try_again_releases_the_hold_when_the_old_session_cannot_be_closed(engine, gateway, stripe_http,
                                                                           session_type):
    started = hold(engine, gateway, session_type)
    arm(stripe_http, kind="500", count=3, path_prefix=CHECKOUT_PATH, method="POST")  # the expire call gets them

    with pytest.raises(PaymentProviderError):
        payments.retry_checkout(engine=engine, gateway=gateway, settings=SETTINGS, booking_id=started.booking_id)

    # The old page may still take a payment: with the hold released, that is a late payment (kept while
    # the slot is free, else refunded), never a second payment beside a new session.
    booking, attempts = only_booking(engine)
    assert booking.status == BookingStatus.CANCELLED
    assert [(p.attempt, p.status) for p in attempts] == [(1, PaymentStatus.EXPIRED), (2, PaymentStatus.EXPIRED)]


def test_try_again_keeps_the_hold_when_only_the_new_session_fails(engine, gateway, emulator, stripe_http,
                                                                  session_type):
    started = hold(engine, gateway, session_type)
    emulator.client().v1.checkout.sessions.expire(started.checkout_session_id)  # closed already: nothing to expire
    arm(stripe_http, kind="500", count=3, path_prefix=CHECKOUT_PATH, method="POST")

    with pytest.raises(PaymentProviderError):
        payments.retry_checkout(engine=engine, gateway=gateway, settings=SETTINGS, booking_id=started.booking_id)

    booking, attempts = only_booking(engine)
    assert booking.status == BookingStatus.PENDING and money(engine, booking.id).checkout_session_id is None
    assert [(p.attempt, p.status) for p in attempts] == [(1, PaymentStatus.EXPIRED), (2, PaymentStatus.EXPIRED)]
    again = payments.retry_checkout(engine=engine, gateway=gateway, settings=SETTINGS, booking_id=started.booking_id)
    booking, attempts = only_booking(engine)
    assert money(engine, booking.id).checkout_session_id == again.checkout_session_id
    assert [(p.attempt, p.status) for p in attempts][-1] == (3, PaymentStatus.OPEN)


def test_payouts_onboarding_says_so_when_stripe_gives_up(engine, gateway, stripe_http, session, monkeypatch):
    from booking.core.models import Builder, UserRole
    from booking_ui.admin.payouts import PayoutsState
    from tests.support.admin_states import call, make_user, state_of, token_for

    builder = make_builder(session, name="Linus")
    session.commit()
    monkeypatch.setattr(deps, "gateway", lambda: gateway)
    state = state_of(PayoutsState, token_for(engine, make_user(engine, email="linus@example.com",
                                                                role=UserRole.BUILDER, builder_id=builder.id)))
    call(state, "load")
    arm(stripe_http, kind="500", count=3, path_prefix="/v1/accounts", method="POST")

    call(state, "set_up_payouts")

    assert state.action_error.startswith("Stripe could not") and not state.working
    with Session(engine) as s:
        assert s.get(Builder, builder.id).stripe_account_id is None
    assert call(state, "set_up_payouts") is not None  # Stripe is back: on to the onboarding page
    assert state.action_error == ""


def test_a_client_cancel_while_stripe_refuses_refunds_keeps_the_booking_and_can_be_tried_again(
        engine, gateway, emulator, stripe_http, session_type):
    from booking.client import manage, receipts
    from booking.notifications import manage_links

    started = hold(engine, gateway, session_type)
    emulator.emulator.pay(started.checkout_session_id, number="4242424242424242", expiry="12/34", cvc="123",
                          email="ann@example.com", name="Ann")
    assert receipts.confirm_from_success_page(engine=engine, gateway=gateway,
                                              checkout_session_id=started.checkout_session_id).state == "confirmed"
    token = manage_links.derive_token(started.booking_id)
    arm(stripe_http, kind="500", count=3, path_prefix="/v1/refunds", method="POST")

    refused = manage.cancel_by_client(engine=engine, gateway=gateway, token=token)

    assert (refused.ok, refused.code) == (False, "refund_failed")
    assert "still confirmed" in refused.message
    assert only_booking(engine)[0].status == BookingStatus.CONFIRMED
    done = manage.cancel_by_client(engine=engine, gateway=gateway, token=token)  # Stripe is back
    assert (done.ok, done.code) == (True, "cancelled")
    booking, _ = only_booking(engine)
    assert (booking.status, money(engine, booking.id).amount_refunded) == (BookingStatus.CANCELLED, 5000)


# --- a database failure in the middle of a webhook -------------------------------------------------------------


def test_a_database_failure_mid_webhook_is_a_500_that_keeps_the_event_and_the_redelivery_applies_it_once(
        engine, session_type, monkeypatch):
    fake = FakeGateway()
    started = payments.begin_checkout(engine=engine, gateway=fake, settings=SETTINGS,
                                      session_type_id=session_type.id, start_time=datetime.fromisoformat(a_slot()),
                                      client_name="Ann", client_email="ann@example.com")
    payload = se.encode(se.event("checkout.session.completed", se.checkout_session(
        started.booking_id, started.checkout_session_id, payment_intent="pi_db_fault")))
    real_mark_paid, calls = payment_records.mark_paid, []

    def mark_paid_then_lose_the_database(**kwargs):
        real_mark_paid(**kwargs)  # the booking is confirmed and its emails queued in this transaction...
        calls.append(1)
        if len(calls) == 1:  # ...when the database goes away, the first time only
            raise sa.exc.OperationalError("UPDATE payment", {}, Exception("server closed the connection"))

    monkeypatch.setattr(payment_records, "mark_paid", mark_paid_then_lose_the_database)

    first = webhooks.handle_webhook(engine=engine, gateway=fake, payload=payload, signature=se.sign(payload))

    assert first.status_code == 500
    with Session(engine) as s:
        [event] = s.exec(select(StripeEvent)).all()
        assert (event.status, event.attempts) == (EventStatus.FAILED, 1)
        assert "server closed the connection" in event.error
        assert s.get(Booking, started.booking_id).status == BookingStatus.PENDING  # all of it rolled back
        assert s.exec(select(Notification)).all() == []

    again = webhooks.handle_webhook(engine=engine, gateway=fake, payload=payload, signature=se.sign(payload))
    third = webhooks.handle_webhook(engine=engine, gateway=fake, payload=payload, signature=se.sign(payload))

    assert (again.status_code, again.body["outcome"]) == (200, "fulfilment:confirmed")
    assert third.body == {"received": True, "duplicate": True}
    with Session(engine) as s:
        booking = s.get(Booking, started.booking_id)
        assert (booking.status, money(s, booking.id).status) == (BookingStatus.CONFIRMED, PaymentStatus.PAID)
        assert s.exec(select(StripeEvent.status, StripeEvent.attempts)).one() == (EventStatus.PROCESSED, 2)
        kinds = sorted(n.kind for n in s.exec(select(Notification)).all())
        assert kinds == ["booking_confirmed", "booking_confirmed"]  # the client's and the builder's, once each
        [payment] = s.exec(select(Payment)).all()
        assert (payment.status, payment.payment_intent_id) == (PaymentStatus.PAID, "pi_db_fault")


def test_a_database_failure_seen_by_the_emulator_is_redelivered_until_applied(engine, session_type, monkeypatch):
    """The emulator's own retry schedule, against the webhook route served over HTTP."""
    from stripe_emulator.server import bind_socket, uvicorn_server

    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn_server(api.build_api())
    import threading

    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    with EmulatorServer(webhook_url=f"http://127.0.0.1:{port}/api/payments/webhook", webhook_secret=WEBHOOK_SECRET,
                        retry_schedule=(0.1, 0.2, 0.4)) as stripe_server:
        live = StripeGateway(secret_key="sk_test_faults", webhook_secret=WEBHOOK_SECRET, api_base=stripe_server.url)
        monkeypatch.setattr(deps, "gateway", lambda: live)
        thread.start()
        try:
            while not server.started:
                time.sleep(0.01)
            started = payments.begin_checkout(engine=engine, gateway=live, settings=SETTINGS,
                                              session_type_id=session_type.id,
                                              start_time=datetime.fromisoformat(a_slot()),
                                              client_name="Ann", client_email="ann@example.com")
            real_confirm, failures = payments.bookings.confirm_paid, []

            def confirm_then_fail_once(**kwargs):
                outcome = real_confirm(**kwargs)
                if not failures:
                    failures.append(1)
                    raise sa.exc.OperationalError("UPDATE booking", {}, Exception("deadlock detected"))
                return outcome

            monkeypatch.setattr(payments.bookings, "confirm_paid", confirm_then_fail_once)
            stripe_server.emulator.pay(started.checkout_session_id, number="4242424242424242", expiry="12/34",
                                       cvc="123", email="ann@example.com", name="Ann")
            with httpx.Client(base_url=stripe_server.url) as http:
                assert http.get("/_emulator/deliveries/wait", params={"timeout": 20}).json()["idle"]
                deliveries = http.get("/_emulator/deliveries").json()
        finally:
            server.should_exit = True
            thread.join(10)
            sock.close()

    statuses = [d["status_code"] for d in deliveries if d["event_type"] in (
        "checkout.session.completed", "payment_intent.succeeded")]
    assert 500 in statuses and statuses.count(200) == 2  # one failure, then each event applied
    with Session(engine) as s:
        booking = s.get(Booking, started.booking_id)
        assert booking.status == BookingStatus.CONFIRMED
        confirmations = s.exec(select(Notification).where(Notification.kind == "booking_confirmed")).all()
        assert len(confirmations) == 2  # the client's and the builder's, once each


# --- a crash between Stripe's answer and our commit ------------------------------------------------------------


def test_a_crash_after_stripe_answered_is_repaired_by_reconcile(engine, gateway, emulator, session_type):
    with session_scope(engine) as s:  # txn 1: the hold and its `creating` attempt
        attempt = payments.write_hold(session=s, settings=SETTINGS, session_type_id=session_type.id,
                                      start_time=datetime.fromisoformat(a_slot()), client_name="Ann",
                                      client_email="ann@example.com")
    made = gateway.create_checkout_session(attempt.request, idempotency_key=attempt.idempotency_key)
    # ...and the process dies here: txn 2 never runs.
    booking, [payment] = only_booking(engine)
    assert (money(engine, booking.id).checkout_session_id, payment.status) == (None, PaymentStatus.CREATING)

    too_soon = reconcile.reconcile(engine=engine, gateway=gateway, since=timedelta(days=1))
    assert too_soon.checkouts_repaired == 0  # it may still be in flight
    report = reconcile.reconcile(engine=engine, gateway=gateway, since=timedelta(days=1),
                                 now=datetime.now(timezone.utc) + payments.INTERRUPTED_AFTER + timedelta(seconds=1))

    assert report.checkouts_repaired == 1
    booking, [payment] = only_booking(engine)
    assert (payment.status, payment.checkout_session_id) == (PaymentStatus.EXPIRED, made.id)
    assert (booking.status, booking.end_cause) == (BookingStatus.CANCELLED, EndCause.REPAIRED_BY_RECONCILE)
    assert emulator.client().v1.checkout.sessions.retrieve(made.id).status == "expired"  # nobody can pay it
    again = reconcile.reconcile(engine=engine, gateway=gateway, since=timedelta(days=1),
                                now=datetime.now(timezone.utc) + payments.INTERRUPTED_AFTER + timedelta(seconds=1))
    assert again.checkouts_repaired == 0


def test_a_commit_failing_after_stripe_answered_expires_the_session_and_releases_the_hold(
        engine, gateway, emulator, session_type, monkeypatch):
    def broken(**_kwargs):
        raise sa.exc.OperationalError("UPDATE payment", {}, Exception("disk I/O error"))

    monkeypatch.setattr(payment_records, "attempt_created", broken)

    with pytest.raises(sa.exc.OperationalError):
        payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS, session_type_id=session_type.id,
                                start_time=datetime.fromisoformat(a_slot()), client_name="Ann",
                                client_email="ann@example.com")

    booking, [payment] = only_booking(engine)
    assert booking.status == BookingStatus.CANCELLED and payment.status == PaymentStatus.EXPIRED
    [made] = emulator.emulator.store.all("checkout.session")
    assert made["status"] == "expired"
