"""Refunds and cancellations from the workspace, through the Stripe emulator: the booking, its Payment
and Refund rows and the client's emails; the webhook and the API answer applied once in either order;
double clicks; refusals that change nothing; another builder's booking."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlmodel import Session, select

from booking.accounts import authz
from booking.accounts.authz import Actor
from booking.core.config import load_settings
from booking.core.models import (
    AuditEntry,
    Booking,
    BookingStatus,
    Client,
    EndCause,
    Notification,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    UserAccount,
)
from booking.events.webhooks import handle_webhook
from booking.lifecycle import checkout as payments
from booking.lifecycle import refunds
from tests.factories import make_builder, make_session_type
from tests.support import stripe_events as se
from tests.support.admin_states import make_user
from tests.support.ledger import money

SETTINGS = load_settings(PUBLIC_URL="https://book.example", HOLD_MINUTES=30)
CLIENT_EMAIL = "ann@example.com"


def actor_for(engine, user_id: int) -> Actor:
    with Session(engine) as s:
        return Actor.of(s.get(UserAccount, user_id))


@pytest.fixture
def shop(engine, session: Session):
    builder = make_builder(session, time_zone="Europe/London", name="Ada")
    session_type = make_session_type(session, builder, price_amount=5000, currency="gbp", name="Consult")
    session.commit()
    return builder, session_type, actor_for(engine, make_user(engine, email="ada@example.test", builder_id=builder.id))


@pytest.fixture
def other_builder(engine, session: Session) -> Actor:
    builder = make_builder(session, name="Grace")
    session.commit()
    return actor_for(engine, make_user(engine, email="grace@example.test", builder_id=builder.id))


# --- helpers ----------------------------------------------------------------------------------------


def emulator_events(emulator, *, about: set[str], types: set[str] | None = None) -> list[dict]:
    """The events the emulator recorded about these objects (not delivered: we deliver them)."""
    found = []
    for event in emulator.emulator.snapshot()["events"]:
        obj = event["data"]["object"]
        if (obj.get("id") in about or obj.get("payment_intent") in about) and (types is None or event["type"] in types):
            found.append({k: v for k, v in event.items() if k != "delivery_status"})
    return sorted(found, key=lambda e: (e["created"], e["id"]))


def deliver(engine, gateway, evt: dict) -> int:
    payload = json.dumps(evt).encode()
    return handle_webhook(engine=engine, gateway=gateway, payload=payload, signature=se.sign(payload)).status_code


def stripe_refunds(emulator, payment_intent: str) -> list[dict]:
    return [r for r in emulator.emulator.snapshot()["refunds"] if r["payment_intent"] == payment_intent]


def paid_booking(engine, gateway, emulator, session_type, *, days: int = 3) -> tuple[str, str]:
    """A confirmed booking, paid with 4242 through the emulator's control API; (booking id, payment intent)."""
    start = (datetime.now(timezone.utc) + timedelta(days=days)).replace(hour=10, minute=0, second=0, microsecond=0)
    started = payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS,
                                      session_type_id=session_type.id, start_time=start, client_name="Ann",
                                      client_email=CLIENT_EMAIL)
    result = httpx.post(f"{emulator.url}/_emulator/checkout/sessions/{started.checkout_session_id}/complete",
                        json={"card": "4242424242424242", "email": CLIENT_EMAIL, "name": "Ann"}, timeout=10).json()
    assert result["status"] == "succeeded"
    payment_intent = result["payment_intent"]["id"]
    for evt in emulator_events(emulator, about={started.checkout_session_id},
                               types={"checkout.session.completed"}):
        assert deliver(engine, gateway, evt) == 200
    return started.booking_id, payment_intent


def booking_of(engine, booking_id) -> Booking:
    with Session(engine) as s:
        return s.get(Booking, booking_id)


def payment_of(engine, booking_id) -> Payment:
    with Session(engine) as s:
        return s.exec(select(Payment).where(Payment.booking_id == booking_id)).one()


def refund_rows(engine, booking_id) -> list[Refund]:
    with Session(engine) as s:
        return list(s.exec(select(Refund).where(Refund.booking_id == booking_id).order_by(Refund.id)).all())


def emails(engine, booking_id, kind: str) -> list[tuple[str, str]]:
    with Session(engine) as s:
        rows = s.exec(select(Notification).where(Notification.booking_id == booking_id,
                                                 Notification.kind == kind)).all()
        return sorted((n.recipient, n.dedupe_key.rsplit(":", 1)[-1]) for n in rows)


def audit_actions(engine) -> list[str]:
    with Session(engine) as s:
        return [e.action for e in s.exec(select(AuditEntry).order_by(AuditEntry.id)).all()]


def refund(engine, gateway, actor, booking_id, amount=None, key="key-1", reason="requested_by_customer",
           cancel_session=None):
    return refunds.request_refund(engine=engine, gateway=gateway, actor=actor, booking_id=booking_id, amount=amount,
                                  reason=reason, request_key=key, cancel_session=cancel_session)


# --- full and partial -------------------------------------------------------------------------------


def test_a_full_refund_keeping_the_session_records_it_and_emails_the_client(engine, gateway, emulator, shop):
    _builder, session_type, actor = shop
    booking_id, payment_intent = paid_booking(engine, gateway, emulator, session_type)

    outcome = refund(engine, gateway, actor, booking_id, cancel_session=False)

    assert (outcome.ok, outcome.status, outcome.message) == (True, "succeeded", "Refunded £50.00.")
    booking = booking_of(engine, booking_id)
    assert (booking.status, money(engine, booking.id).status, money(engine, booking.id).amount_refunded) == (
        BookingStatus.CONFIRMED, PaymentStatus.REFUNDED, 5000)
    payment = payment_of(engine, booking_id)
    assert (payment.status, payment.amount_refunded) == (PaymentStatus.REFUNDED, 5000)
    [row] = refund_rows(engine, booking_id)
    [at_stripe] = stripe_refunds(emulator, payment_intent)
    assert (row.stripe_refund_id, row.amount, row.status, row.reason, row.requested_by) == (
        at_stripe["id"], 5000, RefundStatus.SUCCEEDED, "requested_by_customer", "ada@example.test")
    assert at_stripe["metadata"] == {"booking_id": booking_id, "refund_id": str(row.id)}
    assert (CLIENT_EMAIL, "full") in emails(engine, booking_id, "booking_refunded")
    assert audit_actions(engine) == ["refund.request", "refund.answer"]


def test_partial_refunds_keep_the_booking_until_nothing_is_left(engine, gateway, emulator, shop):
    _builder, session_type, actor = shop
    booking_id, payment_intent = paid_booking(engine, gateway, emulator, session_type)

    first = refund(engine, gateway, actor, booking_id, amount=2000, key="part-1")

    assert first.message == "Refunded £20.00."
    booking = booking_of(engine, booking_id)
    assert (booking.status, money(engine, booking.id).status, money(engine, booking.id).amount_refunded) == (
        BookingStatus.CONFIRMED, PaymentStatus.PARTIALLY_REFUNDED, 2000)
    assert payment_of(engine, booking_id).status == PaymentStatus.PARTIALLY_REFUNDED
    assert emails(engine, booking_id, "booking_refunded") == sorted([
        (CLIENT_EMAIL, "partial-2000"), (booking_builder_email(engine, booking_id), "partial-2000")])

    refund(engine, gateway, actor, booking_id, amount=3000, key="part-2", cancel_session=True)

    booking = booking_of(engine, booking_id)
    assert (booking.status, money(engine, booking.id).status, money(engine, booking.id).amount_refunded) == (
        BookingStatus.CANCELLED, PaymentStatus.REFUNDED, 5000)
    assert [(r.amount, r.status) for r in refund_rows(engine, booking_id)] == [
        (2000, RefundStatus.SUCCEEDED), (3000, RefundStatus.SUCCEEDED)]
    assert len(stripe_refunds(emulator, payment_intent)) == 2


def booking_builder_email(engine, booking_id) -> str:
    from booking.core.models import Builder

    with Session(engine) as s:
        return s.get(Builder, s.get(Booking, booking_id).builder_id).email


# --- the webhook and the API answer, in either order, applied once ---------------------------------------


def refund_events(emulator, payment_intent):
    return emulator_events(emulator, about={payment_intent}, types={"charge.refunded", "refund.created"})


def test_api_answer_first_then_the_webhooks_apply_it_once(engine, gateway, emulator, shop):
    _builder, session_type, actor = shop
    booking_id, payment_intent = paid_booking(engine, gateway, emulator, session_type)

    refund(engine, gateway, actor, booking_id, amount=2000)
    for evt in refund_events(emulator, payment_intent) * 2:  # and each delivered twice
        assert deliver(engine, gateway, evt) == 200

    assert money(engine, booking_id).amount_refunded == 2000
    assert payment_of(engine, booking_id).amount_refunded == 2000
    assert len(refund_rows(engine, booking_id)) == 1
    assert len(emails(engine, booking_id, "booking_refunded")) == 2  # the client and the builder, once each


def test_webhooks_first_then_the_api_answer_applies_it_once(engine, gateway, emulator, shop):
    _builder, session_type, actor = shop
    booking_id, payment_intent = paid_booking(engine, gateway, emulator, session_type)
    real_refund = gateway.refund

    def refund_and_webhooks_overtake_the_answer(**kwargs):
        answer = real_refund(**kwargs)
        for evt in refund_events(emulator, payment_intent):  # Stripe's events land before our txn 2
            assert deliver(engine, gateway, evt) == 200
        [row] = refund_rows(engine, booking_id)
        assert (row.status, row.stripe_refund_id) == (RefundStatus.SUCCEEDED, answer.id)
        return answer

    gateway.refund = refund_and_webhooks_overtake_the_answer

    outcome = refund(engine, gateway, actor, booking_id, amount=2000)

    assert outcome.message == "Refunded £20.00."
    [row] = refund_rows(engine, booking_id)
    assert (row.amount, row.request_key, row.requested_by) == (2000, "key-1", "ada@example.test")
    assert money(engine, booking_id).amount_refunded == 2000
    assert payment_of(engine, booking_id).amount_refunded == 2000
    assert len(emails(engine, booking_id, "booking_refunded")) == 2


# --- double clicks, limits, failures -------------------------------------------------------------------------


def test_the_same_request_key_twice_makes_one_stripe_refund(engine, gateway, emulator, shop):
    _builder, session_type, actor = shop
    booking_id, payment_intent = paid_booking(engine, gateway, emulator, session_type)

    first = refund(engine, gateway, actor, booking_id, amount=1000, key="double-click")
    second = refund(engine, gateway, actor, booking_id, amount=1000, key="double-click")

    assert first.refund_id == second.refund_id
    assert len(stripe_refunds(emulator, payment_intent)) == 1
    assert money(engine, booking_id).amount_refunded == 1000


def test_two_concurrent_clicks_with_one_key_refund_once(engine, gateway, emulator, shop):
    _builder, session_type, actor = shop
    booking_id, payment_intent = paid_booking(engine, gateway, emulator, session_type)

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda _: refund(engine, gateway, actor, booking_id, amount=1000, key="race"),
                                 range(2)))

    assert {o.refund_id for o in outcomes} == {refund_rows(engine, booking_id)[0].id}
    assert len(stripe_refunds(emulator, payment_intent)) == 1


def test_more_than_is_left_is_refused_with_a_message_and_nothing_written(engine, gateway, emulator, shop):
    _builder, session_type, actor = shop
    booking_id, payment_intent = paid_booking(engine, gateway, emulator, session_type)
    refund(engine, gateway, actor, booking_id, amount=2000, key="first")

    with pytest.raises(refunds.Refused) as refused:
        refund(engine, gateway, actor, booking_id, amount=3001, key="second")

    assert refused.value.message == "At most £30.00 is left to refund."
    assert len(refund_rows(engine, booking_id)) == 1
    assert len(stripe_refunds(emulator, payment_intent)) == 1
    assert audit_actions(engine) == ["refund.request", "refund.answer"]


@pytest.mark.parametrize("amount,reason,key,message", [
    (0, "requested_by_customer", "k", "Enter an amount greater than zero."),
    (-5, "requested_by_customer", "k", "Enter an amount greater than zero."),
    (100, "because", "k", "Choose a reason from the list."),
    (100, "requested_by_customer", "", "This form has expired. Open the booking again."),
])
def test_bad_input_is_refused_and_nothing_written(engine, gateway, emulator, shop, amount, reason, key, message):
    _builder, session_type, actor = shop
    booking_id, _payment_intent = paid_booking(engine, gateway, emulator, session_type)

    with pytest.raises(refunds.Refused) as refused:
        refund(engine, gateway, actor, booking_id, amount=amount, key=key, reason=reason)

    assert refused.value.message == message
    assert refund_rows(engine, booking_id) == []


def test_a_stripe_refusal_leaves_a_failed_refund_and_the_booking_as_it_was(engine, gateway, emulator, shop):
    _builder, session_type, actor = shop
    booking_id, payment_intent = paid_booking(engine, gateway, emulator, session_type)
    # Refunded in Stripe's dashboard; its webhooks never reached us, so we think £50.00 is left.
    emulator.client().v1.refunds.create(params={"payment_intent": payment_intent})

    outcome = refund(engine, gateway, actor, booking_id, amount=2000)

    assert not outcome.ok and outcome.status == "failed"
    assert "charge_already_refunded" in outcome.message and "has already been refunded" in outcome.message
    [row] = refund_rows(engine, booking_id)
    assert (row.status, row.stripe_refund_id) == (RefundStatus.FAILED, None)
    assert "has already been refunded" in row.failure_reason
    booking = booking_of(engine, booking_id)
    assert (booking.status, money(engine, booking.id).status, money(engine, booking.id).amount_refunded) == (
        BookingStatus.CONFIRMED, PaymentStatus.PAID, 0)
    assert payment_of(engine, booking_id).status == PaymentStatus.PAID
    assert emails(engine, booking_id, "booking_refunded") == []
    assert audit_actions(engine) == ["refund.request", "refund.failed"]


def test_a_failed_refund_can_be_retried_once(engine, gateway, emulator, shop):
    _builder, session_type, actor = shop
    booking_id, payment_intent = paid_booking(engine, gateway, emulator, session_type)
    real_refund = gateway.refund

    def stripe_down(**_kwargs):
        from booking.payments.gateway import PaymentProviderError
        raise PaymentProviderError("Stripe could not create a refund (APIConnectionError)")

    gateway.refund = stripe_down
    failed = refund(engine, gateway, actor, booking_id, amount=1500)
    gateway.refund = real_refund

    retried = refunds.retry_refund(engine=engine, gateway=gateway, actor=actor, refund_id=str(failed.refund_id))
    again = refunds.retry_refund(engine=engine, gateway=gateway, actor=actor, refund_id=str(failed.refund_id))

    assert (failed.ok, retried.ok, retried.message) == (False, True, "Refunded £15.00.")
    assert again.refund_id == retried.refund_id
    assert [(r.amount, r.status) for r in refund_rows(engine, booking_id)] == [
        (1500, RefundStatus.FAILED), (1500, RefundStatus.SUCCEEDED)]
    assert len(stripe_refunds(emulator, payment_intent)) == 1
    assert money(engine, booking_id).amount_refunded == 1500


# --- cancel ----------------------------------------------------------------------------------------------


def cancel(engine, gateway, actor, booking_id, refund_choice, amount=None, key="cancel-1"):
    return refunds.cancel_booking(engine=engine, gateway=gateway, actor=actor, booking_id=booking_id,
                                  refund=refunds.RefundChoice(refund_choice), amount=amount,
                                  refund_reason="requested_by_customer",
                                  request_key=key, reason="Builder is ill")


def slot_is_free(engine, gateway, session_type, booking_id) -> bool:
    booking = booking_of(engine, booking_id)
    try:
        payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS, session_type_id=session_type.id,
                                start_time=booking.start_time, client_name="Bob", client_email="bob@example.com")
    except payments.SlotUnavailable:
        return False
    return True


def test_cancel_with_a_partial_refund_frees_the_slot_and_emails_the_client(engine, gateway, emulator, shop):
    _builder, session_type, actor = shop
    booking_id, payment_intent = paid_booking(engine, gateway, emulator, session_type)

    outcome = cancel(engine, gateway, actor, booking_id, "partial", amount=1500)

    assert outcome.cancelled and outcome.refund.ok
    booking = booking_of(engine, booking_id)
    assert (booking.status, booking.end_cause, booking.end_note, money(engine, booking.id).status,
            money(engine, booking.id).amount_refunded) == (
        BookingStatus.CANCELLED, EndCause.CANCELLED_BY_BUILDER, "Builder is ill", PaymentStatus.PARTIALLY_REFUNDED, 1500)
    assert (CLIENT_EMAIL, "cancelled-by-builder") in emails(engine, booking_id, "booking_cancelled")
    assert emails(engine, booking_id, "booking_refunded") == []  # the cancellation carries the refund
    assert [r["amount"] for r in stripe_refunds(emulator, payment_intent)] == [1500]
    assert audit_actions(engine) == ["booking.cancel", "refund.request", "refund.answer"]
    assert slot_is_free(engine, gateway, session_type, booking_id)


def test_cancel_without_a_refund_frees_the_slot_and_keeps_the_money(engine, gateway, emulator, shop):
    _builder, session_type, actor = shop
    booking_id, payment_intent = paid_booking(engine, gateway, emulator, session_type)

    outcome = cancel(engine, gateway, actor, booking_id, "none")

    assert outcome.cancelled and outcome.refund is None
    booking = booking_of(engine, booking_id)
    assert (booking.status, money(engine, booking.id).status) == (BookingStatus.CANCELLED, PaymentStatus.PAID)
    assert stripe_refunds(emulator, payment_intent) == []
    assert (CLIENT_EMAIL, "cancelled-by-builder") in emails(engine, booking_id, "booking_cancelled")
    assert slot_is_free(engine, gateway, session_type, booking_id)


def test_cancel_with_a_full_refund_clicked_twice_cancels_and_refunds_once(engine, gateway, emulator, shop):
    _builder, session_type, actor = shop
    booking_id, payment_intent = paid_booking(engine, gateway, emulator, session_type)

    first = cancel(engine, gateway, actor, booking_id, "full")
    second = cancel(engine, gateway, actor, booking_id, "full")

    assert first.cancelled and not second.cancelled
    assert first.refund.refund_id == second.refund.refund_id
    assert [r["amount"] for r in stripe_refunds(emulator, payment_intent)] == [5000]
    booking = booking_of(engine, booking_id)
    assert (booking.status, money(engine, booking.id).status, booking.end_cause, booking.end_note) == (
        BookingStatus.CANCELLED, PaymentStatus.REFUNDED, EndCause.CANCELLED_BY_BUILDER, "Builder is ill")


def test_cancel_of_a_hold_expires_its_checkout_first(engine, gateway, emulator, shop):
    _builder, session_type, actor = shop
    start = (datetime.now(timezone.utc) + timedelta(days=4)).replace(hour=11, minute=0, second=0, microsecond=0)
    started = payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS,
                                      session_type_id=session_type.id, start_time=start, client_name="Ann",
                                      client_email=CLIENT_EMAIL)

    with pytest.raises(refunds.Refused):  # nothing was paid: no refund to choose
        cancel(engine, gateway, actor, started.booking_id, "full")
    outcome = cancel(engine, gateway, actor, started.booking_id, "none")

    assert outcome.cancelled
    assert gateway.retrieve_checkout_session(started.checkout_session_id).status == "expired"
    booking = booking_of(engine, started.booking_id)
    assert (booking.status, booking.end_cause, booking.end_note) == (
        BookingStatus.CANCELLED, EndCause.CANCELLED_BY_BUILDER, "Builder is ill")
    assert audit_actions(engine) == ["booking.cancel"]  # written with the ending, in its transaction
    assert payment_of(engine, started.booking_id).status == PaymentStatus.EXPIRED


def test_a_partial_refund_over_what_is_left_refuses_the_cancel_too(engine, gateway, emulator, shop):
    _builder, session_type, actor = shop
    booking_id, payment_intent = paid_booking(engine, gateway, emulator, session_type)

    with pytest.raises(refunds.Refused) as refused:
        cancel(engine, gateway, actor, booking_id, "partial", amount=6000)

    assert refused.value.message == "At most £50.00 is left to refund."
    assert booking_of(engine, booking_id).status == BookingStatus.CONFIRMED
    assert audit_actions(engine) == []


# --- another builder ---------------------------------------------------------------------------------------


def test_another_builders_booking_is_refused_and_nothing_changes(engine, gateway, emulator, shop, other_builder):
    _builder, session_type, _actor = shop
    booking_id, payment_intent = paid_booking(engine, gateway, emulator, session_type)

    with pytest.raises(authz.NotFound):
        refund(engine, gateway, other_builder, booking_id)
    with pytest.raises(authz.NotFound):
        cancel(engine, gateway, other_builder, booking_id, "full")

    booking = booking_of(engine, booking_id)
    assert (booking.status, money(engine, booking.id).status) == (BookingStatus.CONFIRMED, PaymentStatus.PAID)
    assert refund_rows(engine, booking_id) == [] and stripe_refunds(emulator, payment_intent) == []
    assert audit_actions(engine) == []
    with Session(engine) as s:
        assert s.exec(select(Client).where(Client.email == CLIENT_EMAIL)).one()  # untouched


def test_a_request_key_of_another_booking_is_not_a_way_in(engine, gateway, emulator, shop):
    _builder, session_type, actor = shop
    first, _ = paid_booking(engine, gateway, emulator, session_type, days=3)
    second, _ = paid_booking(engine, gateway, emulator, session_type, days=5)
    refund(engine, gateway, actor, first, amount=100, key="shared")

    with pytest.raises(authz.NotFound):
        refund(engine, gateway, actor, second, amount=100, key="shared")
    assert refund_rows(engine, second) == []


def test_a_refund_stuck_without_its_answer_is_resent_with_the_same_key(engine, gateway, emulator, shop):
    _builder, session_type, actor = shop
    booking_id, payment_intent = paid_booking(engine, gateway, emulator, session_type)
    real_refund = gateway.refund

    def crash_after_stripe_refunded(**kwargs):
        real_refund(**kwargs)
        raise RuntimeError("worker died before recording the answer")

    gateway.refund = crash_after_stripe_refunded
    with pytest.raises(RuntimeError):
        refund(engine, gateway, actor, booking_id, amount=1200)
    gateway.refund = real_refund
    [stuck] = refund_rows(engine, booking_id)
    assert stuck.status == RefundStatus.REQUESTED

    with pytest.raises(refunds.Refused):  # too early to tell it from one still on its way
        refunds.retry_refund(engine=engine, gateway=gateway, actor=actor, refund_id=str(stuck.id))
    outcome = refunds.retry_refund(engine=engine, gateway=gateway, actor=actor, refund_id=str(stuck.id),
                                   now=datetime.now(timezone.utc) + refunds.STUCK_AFTER + timedelta(seconds=1))

    assert outcome.message == "Refunded £12.00."
    assert [(r.id, r.status) for r in refund_rows(engine, booking_id)] == [(stuck.id, RefundStatus.SUCCEEDED)]
    assert len(stripe_refunds(emulator, payment_intent)) == 1  # Stripe answered the same key with the same refund
    assert money(engine, booking_id).amount_refunded == 1200
