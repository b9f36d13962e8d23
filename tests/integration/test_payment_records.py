"""Payment rows (one per Checkout attempt) and Refund rows, kept right by checkout, the success page and
every webhook, in any order; events filed under their booking for the webhook log."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlmodel import Session, select

from booking.client import receipts
from booking.core.config import load_settings
from booking.core.models import (
    Booking,
    BookingStatus,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    StripeEvent,
)
from booking.events.webhooks import handle_webhook
from booking.lifecycle import checkout as payments
from booking.payments.gateway import StripeGateway
from tests.factories import hold_session_id, make_builder, make_hold, make_session_type
from tests.support import stripe_events as se
from tests.support.fake_gateway import FakeGateway
from tests.support.ledger import money

SETTINGS = load_settings(PUBLIC_URL="https://book.example", HOLD_MINUTES=30)


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def session_type(session: Session):
    builder = make_builder(session, time_zone="UTC")
    st = make_session_type(session, builder, price_amount=5000, currency="gbp")
    session.commit()
    return st


def begin(engine, gateway, session_type, email="ann@example.com"):
    start = (datetime.now(timezone.utc) + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    return payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS, session_type_id=session_type.id,
                                   start_time=start, client_name="Ann", client_email=email)


def deliver(engine, gateway, evt):
    payload = se.encode(evt)
    return handle_webhook(engine=engine, gateway=gateway, payload=payload, signature=se.sign(payload))


def payment_rows(engine, booking_id) -> list[Payment]:
    with Session(engine) as s:
        return list(s.exec(select(Payment).where(Payment.booking_id == booking_id).order_by(Payment.attempt)).all())


def refund_rows(engine, booking_id) -> list[Refund]:
    with Session(engine) as s:
        return list(s.exec(select(Refund).where(Refund.booking_id == booking_id).order_by(Refund.id)).all())


def event_row(engine, event_id) -> StripeEvent:
    with Session(engine) as s:
        return s.get(StripeEvent, event_id)


def completed(booking_id, session_id, **kw):
    return se.event("checkout.session.completed", se.checkout_session(booking_id, session_id, **kw))


# --- one row per Checkout attempt ---------------------------------------------------------------------


def test_checkout_opens_a_payment_row_for_its_attempt(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)

    [payment] = payment_rows(engine, started.booking_id)
    assert (payment.attempt, payment.status, payment.checkout_session_id) == (
        1, PaymentStatus.OPEN, started.checkout_session_id)
    assert (payment.amount, payment.currency, payment.payment_intent_id) == (5000, "gbp", None)


def test_try_again_expires_the_replaced_attempt_and_opens_the_next(engine, gateway, session_type):
    first = begin(engine, gateway, session_type)

    second = payments.retry_checkout(engine=engine, gateway=gateway, settings=SETTINGS, booking_id=first.booking_id)

    rows = payment_rows(engine, first.booking_id)
    assert [(p.attempt, p.checkout_session_id, p.status) for p in rows] == [
        (1, first.checkout_session_id, PaymentStatus.EXPIRED),
        (2, second.checkout_session_id, PaymentStatus.OPEN),
    ]


def test_a_paid_session_marks_its_payment_paid_and_files_the_event_under_the_booking(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)
    evt = completed(started.booking_id, started.checkout_session_id, payment_intent="pi_paid")

    deliver(engine, gateway, evt)

    [payment] = payment_rows(engine, started.booking_id)
    assert (payment.status, payment.payment_intent_id) == (PaymentStatus.PAID, "pi_paid")
    assert payment.paid_at is not None
    assert event_row(engine, evt["id"]).booking_id == started.booking_id


def test_the_success_page_records_the_payment_too(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)
    gateway.pay(started.checkout_session_id, payment_intent_id="pi_page")

    receipts.confirm_from_success_page(engine=engine, gateway=gateway, checkout_session_id=started.checkout_session_id)

    [payment] = payment_rows(engine, started.booking_id)
    assert (payment.status, payment.payment_intent_id) == (PaymentStatus.PAID, "pi_page")


def test_a_decline_records_its_code_and_message_and_a_later_success_still_pays(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)
    declined = se.payment_intent(started.booking_id, "pi_try", status="requires_payment_method")
    declined["last_payment_error"] = {"code": "card_declined", "decline_code": "insufficient_funds",
                                      "message": "Your card has insufficient funds."}

    deliver(engine, gateway, se.event("payment_intent.payment_failed", declined))

    [payment] = payment_rows(engine, started.booking_id)
    assert (payment.status, payment.failure_code, payment.failure_message) == (
        PaymentStatus.FAILED, "insufficient_funds", "Your card has insufficient funds.")
    assert payment.failed_at is not None

    deliver(engine, gateway, completed(started.booking_id, started.checkout_session_id, payment_intent="pi_try"))
    assert payment_rows(engine, started.booking_id)[0].status == PaymentStatus.PAID


def test_a_decline_without_a_decline_code_keeps_the_error_code(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)

    deliver(engine, gateway, se.event("payment_intent.payment_failed",
                                      se.payment_intent(started.booking_id, "pi_x", status="requires_payment_method")))

    assert payment_rows(engine, started.booking_id)[0].failure_code == "card_declined"


def test_a_decline_after_the_payment_landed_changes_nothing(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)
    deliver(engine, gateway, completed(started.booking_id, started.checkout_session_id))

    deliver(engine, gateway, se.event("payment_intent.payment_failed",
                                      se.payment_intent(started.booking_id, "pi_test_1", status="requires_payment_method")))

    assert payment_rows(engine, started.booking_id)[0].status == PaymentStatus.PAID


def test_a_delayed_method_is_processing_then_failed(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)
    deliver(engine, gateway, completed(started.booking_id, started.checkout_session_id, payment_status="unpaid"))
    assert payment_rows(engine, started.booking_id)[0].status == PaymentStatus.PROCESSING

    obj = se.checkout_session(started.booking_id, started.checkout_session_id, payment_status="unpaid")
    deliver(engine, gateway, se.event("checkout.session.async_payment_failed", obj))

    assert payment_rows(engine, started.booking_id)[0].status == PaymentStatus.FAILED


def test_an_expired_session_expires_its_payment(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)
    obj = se.checkout_session(started.booking_id, started.checkout_session_id, status="expired",
                              payment_status="unpaid", payment_intent=None)

    deliver(engine, gateway, se.event("checkout.session.expired", obj))

    assert payment_rows(engine, started.booking_id)[0].status == PaymentStatus.EXPIRED


def test_the_sweeper_and_pick_another_time_expire_the_payment(engine, gateway, session_type):
    swept = begin(engine, gateway, session_type)
    payments.sweep_expired_holds(engine=engine, gateway=gateway, now=datetime.now(timezone.utc) + timedelta(minutes=40))
    released = begin(engine, gateway, session_type, email="bob@example.com")
    payments.release_hold_and_expire(engine=engine, gateway=gateway, booking_id=released.booking_id)

    assert payment_rows(engine, swept.booking_id)[0].status == PaymentStatus.EXPIRED
    assert payment_rows(engine, released.booking_id)[0].status == PaymentStatus.EXPIRED


def test_an_event_about_no_booking_is_filed_under_none(engine, gateway):
    evt = completed("no-such-booking", "cs_test_nobody")

    deliver(engine, gateway, evt)

    assert event_row(engine, evt["id"]).booking_id is None


def test_a_failed_event_is_still_filed_under_its_booking(engine, gateway, session_type, monkeypatch):
    from booking.events import webhooks

    started = begin(engine, gateway, session_type)
    monkeypatch.setitem(webhooks.HANDLERS, "checkout.session.completed",
                        lambda *_: (_ for _ in ()).throw(RuntimeError("bug")))
    evt = completed(started.booking_id, started.checkout_session_id)

    assert deliver(engine, gateway, evt).status_code == 500
    assert event_row(engine, evt["id"]).booking_id == started.booking_id


# --- refunds from Stripe's events -------------------------------------------------------------------------


def refund_obj(refund_id, pi, amount, *, status="succeeded", metadata=None):
    return {"id": refund_id, "object": "refund", "amount": amount, "currency": "gbp", "payment_intent": pi,
            "status": status, "reason": "requested_by_customer", "metadata": metadata or {}}


def refunded_charge(pi, amount_refunded, refunds):
    charge = se.charge(pi, amount=5000, amount_refunded=amount_refunded)
    charge["refunds"] = {"object": "list", "data": refunds, "has_more": False}
    return charge


def test_charge_refunded_upserts_one_row_per_stripe_refund_however_often_it_comes(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)
    deliver(engine, gateway, completed(started.booking_id, started.checkout_session_id, payment_intent="pi_r"))
    first = refund_obj("re_one", "pi_r", 1000)
    second = refund_obj("re_two", "pi_r", 1500)

    deliver(engine, gateway, se.event("charge.refunded", refunded_charge("pi_r", 1000, [first])))
    deliver(engine, gateway, se.event("charge.refunded", refunded_charge("pi_r", 2500, [second, first])))
    deliver(engine, gateway, se.event("charge.refunded", refunded_charge("pi_r", 1000, [first])))  # a late, older one

    rows = refund_rows(engine, started.booking_id)
    assert sorted((r.stripe_refund_id, r.amount, r.status, r.requested_by) for r in rows) == [
        ("re_one", 1000, RefundStatus.SUCCEEDED, "stripe"), ("re_two", 1500, RefundStatus.SUCCEEDED, "stripe")]
    [payment] = payment_rows(engine, started.booking_id)
    assert (payment.status, payment.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 2500)
    assert (money(engine, started.booking_id).status, money(engine, started.booking_id).amount_refunded) == (
        PaymentStatus.PARTIALLY_REFUNDED, 2500)


def test_charge_refunded_without_the_list_asks_stripe_for_the_refunds(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)
    deliver(engine, gateway, completed(started.booking_id, started.checkout_session_id, payment_intent="pi_l"))
    made = gateway.refund(payment_intent_id="pi_l", amount=5000, reason="duplicate", idempotency_key="dashboard-1",
                          metadata={})

    deliver(engine, gateway, se.event("charge.refunded", se.charge("pi_l", amount=5000, amount_refunded=5000)))

    [row] = refund_rows(engine, started.booking_id)
    assert (row.stripe_refund_id, row.amount, row.reason) == (made.id, 5000, "duplicate")
    assert payment_rows(engine, started.booking_id)[0].status == PaymentStatus.REFUNDED
    with Session(engine) as s:
        assert s.get(Booking, started.booking_id).status == BookingStatus.CANCELLED


def test_a_pending_refund_becomes_succeeded_through_refund_updated(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)
    deliver(engine, gateway, completed(started.booking_id, started.checkout_session_id, payment_intent="pi_p"))
    pending = refund_obj("re_slow", "pi_p", 2000, status="pending", metadata={"booking_id": started.booking_id})

    deliver(engine, gateway, se.event("refund.created", pending))
    assert [(r.status, r.amount) for r in refund_rows(engine, started.booking_id)] == [(RefundStatus.PENDING, 2000)]
    deliver(engine, gateway, se.event("refund.updated", {**pending, "status": "succeeded"}))
    deliver(engine, gateway, se.event("refund.created", pending))  # a late copy never goes back

    [row] = refund_rows(engine, started.booking_id)
    assert row.status == RefundStatus.SUCCEEDED
    assert payment_rows(engine, started.booking_id)[0].amount_refunded == 2000


def test_the_automatic_late_payment_refund_gets_a_system_row(engine, gateway, session):
    builder = make_builder(session)
    session_type = make_session_type(session, builder)
    late = make_hold(session, builder=builder, session_type=session_type, status=BookingStatus.EXPIRED)
    make_hold(session, builder=builder, session_type=session_type, start=late.start_time)
    session.commit()

    deliver(engine, gateway, completed(late.id, hold_session_id(late), payment_intent="pi_late"))
    # Stripe's charge.refunded for that refund, delivered twice: still one row.
    for _ in range(2):
        deliver(engine, gateway, se.event("charge.refunded", se.charge("pi_late", amount=5000, amount_refunded=5000)))

    [row] = refund_rows(engine, late.id)
    assert (row.requested_by, row.status, row.amount) == ("system", RefundStatus.SUCCEEDED, 5000)
    assert row.stripe_refund_id and row.stripe_refund_id.startswith("re_")
    assert len(gateway.refunds) == 1
    [payment] = payment_rows(engine, late.id)
    assert (payment.status, payment.amount_refunded) == (PaymentStatus.REFUNDED, 5000)


# --- through the emulator: a real decline, then a real payment --------------------------------------------


def emulator_events(emulator, *, about: set[str]) -> list[dict]:
    """The events the emulator recorded about these objects, oldest first."""
    found = []
    for event in emulator.emulator.snapshot()["events"]:
        obj = event["data"]["object"]
        if obj.get("id") in about or obj.get("payment_intent") in about:
            found.append({k: v for k, v in event.items() if k != "delivery_status"})
    return sorted(found, key=lambda e: (e["created"], e["id"]))


def complete_with_card(emulator, checkout_session_id: str, card: str) -> dict:
    response = httpx.post(f"{emulator.url}/_emulator/checkout/sessions/{checkout_session_id}/complete",
                          json={"card": card, "email": "ann@example.com", "name": "Ann"}, timeout=10)
    return response.json()


def test_a_real_decline_then_payment_through_the_emulator(engine, emulator, session_type):
    gateway = StripeGateway(secret_key="sk_test_records", webhook_secret=se.WEBHOOK_SECRET, api_base=emulator.url)
    started = begin(engine, gateway, session_type)

    declined = complete_with_card(emulator, started.checkout_session_id, "4000000000009995")
    paid = complete_with_card(emulator, started.checkout_session_id, "4242424242424242")
    assert (declined["status"], paid["status"]) == ("failed", "succeeded")
    payment_intent = paid["payment_intent"]["id"]
    for evt in emulator_events(emulator, about={started.checkout_session_id, payment_intent}):
        if evt["type"] == "payment_intent.payment_failed":
            payload = json.dumps(evt).encode()
            handle_webhook(engine=engine, gateway=gateway, payload=payload, signature=se.sign(payload))
    [payment] = payment_rows(engine, started.booking_id)
    assert (payment.status, payment.failure_code) == (PaymentStatus.FAILED, "insufficient_funds")
    assert payment.failure_message == "Your card has insufficient funds."

    for evt in emulator_events(emulator, about={started.checkout_session_id, payment_intent}):
        payload = json.dumps(evt).encode()
        assert handle_webhook(engine=engine, gateway=gateway, payload=payload, signature=se.sign(payload)).status_code == 200

    [payment] = payment_rows(engine, started.booking_id)
    assert (payment.status, payment.payment_intent_id) == (PaymentStatus.PAID, payment_intent)
    with Session(engine) as s:
        filed = s.exec(select(StripeEvent.type).where(StripeEvent.booking_id == started.booking_id)).all()
    assert {"payment_intent.payment_failed", "payment_intent.succeeded", "checkout.session.completed"} <= set(filed)


def test_an_event_type_we_do_not_handle_is_still_filed_under_its_booking(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)
    deliver(engine, gateway, completed(started.booking_id, started.checkout_session_id, payment_intent="pi_seen"))
    evt = se.event("charge.succeeded", {"id": "ch_seen", "object": "charge", "payment_intent": "pi_seen"})

    deliver(engine, gateway, evt)

    assert event_row(engine, evt["id"]).booking_id == started.booking_id
