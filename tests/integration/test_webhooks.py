"""Signed webhooks against a real migrated database: every event type, duplicates, order, failures."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import Session, select

from booking.core.models import (
    Booking,
    BookingStatus,
    Client,
    EndCause,
    EventStatus,
    Notification,
    PaymentStatus,
    StripeEvent,
)
from booking.events.webhooks import handle_webhook
from tests.factories import hold_session_id, make_hold
from tests.support import stripe_events as se
from tests.support.fake_gateway import FakeGateway
from tests.support.ledger import money


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


def deliver(engine, gateway, evt, *, signature=None):
    payload = se.encode(evt)
    return handle_webhook(engine=engine, gateway=gateway, payload=payload,
                          signature=signature if signature is not None else se.sign(payload))


@pytest.fixture
def hold(session: Session) -> Booking:
    booking = make_hold(session)
    session.commit()
    return booking


def reload(engine, booking_id) -> Booking:
    with Session(engine) as s:
        return s.get(Booking, booking_id)


def notifications(engine, booking_id) -> list[tuple[str, str]]:
    with Session(engine) as s:
        rows = s.exec(select(Notification).where(Notification.booking_id == booking_id)).all()
        return sorted((n.kind, n.recipient) for n in rows)


def hold_client_email(engine, hold: Booking) -> str:
    with Session(engine) as s:
        return s.get(Client, hold.client_id).email


def completed(hold: Booking, **kw):
    return se.event("checkout.session.completed", se.checkout_session(hold.id, hold_session_id(hold), **kw))


def test_checkout_completed_and_paid_confirms_the_booking_and_queues_emails(engine, gateway, hold):
    result = deliver(engine, gateway, completed(hold))

    assert result.status_code == 200
    booking = reload(engine, hold.id)
    assert booking.status == BookingStatus.CONFIRMED
    assert money(engine, hold.id).status == PaymentStatus.PAID
    assert money(engine, hold.id).payment_intent_id == "pi_test_1"
    assert [kind for kind, _ in notifications(engine, hold.id)] == ["booking_confirmed", "booking_confirmed"]


def test_checkout_completed_unpaid_waits_for_the_async_payment(engine, gateway, hold):
    deliver(engine, gateway, completed(hold, payment_status="unpaid"))
    assert money(engine, hold.id).status == PaymentStatus.PROCESSING
    assert reload(engine, hold.id).status == BookingStatus.PENDING

    obj = se.checkout_session(hold.id, hold_session_id(hold), payment_status="paid")
    deliver(engine, gateway, se.event("checkout.session.async_payment_succeeded", obj))

    assert reload(engine, hold.id).status == BookingStatus.CONFIRMED


def test_async_payment_failure_releases_the_hold_and_tells_the_client(engine, gateway, hold):
    deliver(engine, gateway, completed(hold, payment_status="unpaid"))
    obj = se.checkout_session(hold.id, hold_session_id(hold), payment_status="unpaid")

    deliver(engine, gateway, se.event("checkout.session.async_payment_failed", obj))

    booking = reload(engine, hold.id)
    assert booking.status == BookingStatus.CANCELLED
    # One email, to the client only: the builder was never told of the booking.
    assert notifications(engine, hold.id) == [("debit_failed", hold_client_email(engine, hold))]


def test_session_expired_releases_the_hold(engine, gateway, hold):
    obj = se.checkout_session(hold.id, hold_session_id(hold), status="expired", payment_status="unpaid")

    deliver(engine, gateway, se.event("checkout.session.expired", obj))

    assert reload(engine, hold.id).status == BookingStatus.EXPIRED


def test_expiry_of_a_replaced_session_keeps_the_hold(engine, gateway, hold):
    obj = se.checkout_session(hold.id, "cs_test_previous_attempt", status="expired", payment_status="unpaid")

    deliver(engine, gateway, se.event("checkout.session.expired", obj))

    assert reload(engine, hold.id).status == BookingStatus.PENDING


def test_payment_intent_succeeded_confirms_a_pending_booking(engine, gateway, hold):
    deliver(engine, gateway, se.event("payment_intent.succeeded", se.payment_intent(hold.id, "pi_42")))

    booking = reload(engine, hold.id)
    assert booking.status == BookingStatus.CONFIRMED
    assert money(engine, hold.id).payment_intent_id == "pi_42"


def test_payment_failure_keeps_the_hold_and_emails_nothing_while_checkout_is_open(engine, gateway, hold):
    failed = se.payment_intent(hold.id, "pi_7", status="requires_payment_method")

    deliver(engine, gateway, se.event("payment_intent.payment_failed", failed))
    deliver(engine, gateway, se.event("payment_intent.payment_failed", failed))  # second card, same PI

    booking = reload(engine, hold.id)
    assert booking.status == BookingStatus.PENDING
    assert money(engine, hold.id).status == PaymentStatus.FAILED
    assert notifications(engine, hold.id) == []  # the decline shows on the Checkout page


def test_payment_failure_after_success_changes_nothing_and_sends_nothing(engine, gateway, hold):
    deliver(engine, gateway, completed(hold))
    failed = se.payment_intent(hold.id, "pi_test_1", status="requires_payment_method")

    deliver(engine, gateway, se.event("payment_intent.payment_failed", failed))

    assert reload(engine, hold.id).status == BookingStatus.CONFIRMED
    assert "payment_failed" not in [kind for kind, _ in notifications(engine, hold.id)]


def test_full_refund_cancels_and_frees_the_slot(engine, gateway, hold):
    deliver(engine, gateway, completed(hold))

    deliver(engine, gateway, se.event("charge.refunded", se.charge("pi_test_1", amount=5000, amount_refunded=5000)))

    booking = reload(engine, hold.id)
    assert (booking.status, booking.end_cause) == (BookingStatus.CANCELLED, EndCause.REFUNDED)
    assert money(engine, hold.id).status == PaymentStatus.REFUNDED
    assert money(engine, hold.id).amount_refunded == 5000
    # One message each side: the cancellation, carrying the refund (and the CANCEL invite).
    kinds = [k for k, _ in notifications(engine, hold.id)]
    assert (kinds.count("booking_cancelled"), kinds.count("booking_refunded")) == (2, 0)


def test_partial_refund_keeps_the_booking(engine, gateway, hold):
    deliver(engine, gateway, completed(hold))

    deliver(engine, gateway, se.event("charge.refunded", se.charge("pi_test_1", amount=5000, amount_refunded=2000)))

    booking = reload(engine, hold.id)
    assert booking.status == BookingStatus.CONFIRMED
    assert money(engine, hold.id).status == PaymentStatus.PARTIALLY_REFUNDED
    assert money(engine, hold.id).amount_refunded == 2000


def test_the_same_event_ten_times_has_one_effect(engine, gateway, hold):
    evt = completed(hold)

    results = [deliver(engine, gateway, evt) for _ in range(10)]

    assert [r.status_code for r in results] == [200] * 10
    assert sum(1 for r in results if r.body.get("duplicate")) == 9
    assert len(notifications(engine, hold.id)) == 2
    with Session(engine) as s:
        assert s.get(StripeEvent, evt["id"]).status == EventStatus.PROCESSED


def test_concurrent_duplicates_confirm_once(engine, gateway, hold):
    evt = completed(hold)
    other_evt = se.event("payment_intent.succeeded", se.payment_intent(hold.id))

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda e: deliver(engine, gateway, e), [evt] * 5 + [other_evt] * 5))

    assert all(r.status_code == 200 for r in results)
    assert reload(engine, hold.id).status == BookingStatus.CONFIRMED
    assert len(notifications(engine, hold.id)) == 2


def test_reversed_order_reaches_the_same_state(engine, gateway, hold):
    events = [
        se.event("charge.succeeded", {"id": "ch_1", "object": "charge", "payment_intent": "pi_test_1"}),
        se.event("payment_intent.succeeded", se.payment_intent(hold.id)),
        completed(hold),
    ]

    for evt in reversed(events):
        assert deliver(engine, gateway, evt).status_code == 200

    booking = reload(engine, hold.id)
    assert (booking.status, money(engine, hold.id).status, money(engine, hold.id).payment_intent_id) == (
        BookingStatus.CONFIRMED, PaymentStatus.PAID, "pi_test_1")
    assert len(notifications(engine, hold.id)) == 2


def test_refund_before_completion_is_not_undone_by_the_late_completion(engine, gateway, hold):
    deliver(engine, gateway, se.event("payment_intent.succeeded", se.payment_intent(hold.id)))
    deliver(engine, gateway, se.event("charge.refunded", se.charge("pi_test_1", amount=5000, amount_refunded=5000)))

    deliver(engine, gateway, completed(hold))

    assert reload(engine, hold.id).status == BookingStatus.CANCELLED


@pytest.mark.parametrize("signature", ["t=1,v1=00", "", "nonsense"])
def test_bad_signature_is_rejected_and_nothing_is_stored(engine, gateway, hold, signature):
    evt = completed(hold)

    result = deliver(engine, gateway, evt, signature=signature)

    assert result.status_code == 400
    assert reload(engine, hold.id).status == BookingStatus.PENDING
    with Session(engine) as s:
        assert s.get(StripeEvent, evt["id"]) is None


def test_stale_signature_is_rejected(engine, gateway, hold):
    evt = completed(hold)
    payload = se.encode(evt)

    result = handle_webhook(engine=engine, gateway=gateway, payload=payload,
                            signature=se.sign(payload, timestamp=1_000_000_000))

    assert result.status_code == 400
    assert reload(engine, hold.id).status == BookingStatus.PENDING


def test_unknown_booking_is_acknowledged_and_stored_without_effect(engine, gateway):
    evt = se.event("checkout.session.completed", se.checkout_session("no-such-booking", "cs_test_x"))

    result = deliver(engine, gateway, evt)

    assert result.status_code == 200
    with Session(engine) as s:
        assert s.get(StripeEvent, evt["id"]).status == EventStatus.IGNORED


def test_unhandled_event_type_is_stored_and_acknowledged(engine, gateway):
    evt = se.event("customer.created", {"id": "cus_1"})

    assert deliver(engine, gateway, evt).status_code == 200
    with Session(engine) as s:
        assert s.get(StripeEvent, evt["id"]).status == EventStatus.IGNORED


def test_handler_error_is_kept_on_the_event_and_answered_500_so_stripe_retries(engine, gateway, hold, monkeypatch):
    from booking.events import webhooks

    def broken(*_args):
        raise RuntimeError("database hiccup")

    monkeypatch.setitem(webhooks.HANDLERS, "checkout.session.completed", broken)
    evt = completed(hold)

    result = deliver(engine, gateway, evt)

    assert result.status_code == 500
    with Session(engine) as s:
        row = s.get(StripeEvent, evt["id"])
        assert row.status == EventStatus.FAILED and "database hiccup" in row.error
    monkeypatch.undo()
    assert deliver(engine, gateway, evt).status_code == 200  # Stripe's retry succeeds
    assert reload(engine, hold.id).status == BookingStatus.CONFIRMED


def test_payment_after_the_hold_was_given_away_is_refunded(engine, gateway, session):
    from datetime import datetime, timedelta, timezone

    from tests.factories import make_builder, make_session_type

    builder = make_builder(session)
    session_type = make_session_type(session, builder)
    late = make_hold(session, builder=builder, session_type=session_type, status=BookingStatus.EXPIRED)
    make_hold(session, builder=builder, session_type=session_type, start=late.start_time)  # the next client
    session.commit()
    assert late.hold_expires_at > datetime.now(timezone.utc) - timedelta(hours=1)

    deliver(engine, gateway, completed(late, payment_intent="pi_late"))

    booking = reload(engine, late.id)
    assert booking.status == BookingStatus.EXPIRED
    assert gateway.refunds == [{"payment_intent": "pi_late", "amount": None,
                                "key": f"booking-{late.id}-late-payment-refund"}]


def test_payment_after_the_hold_lapsed_keeps_the_slot_when_it_is_still_free(engine, gateway, session):
    late = make_hold(session, status=BookingStatus.EXPIRED)
    session.commit()

    deliver(engine, gateway, completed(late))

    assert reload(engine, late.id).status == BookingStatus.CONFIRMED
    assert gateway.refunds == []


def test_a_refund_that_overtakes_the_payment_events_still_cancels_the_booking(engine, gateway, hold):
    from booking.payments.gateway import CheckoutPaymentStatus, CheckoutSession, CheckoutStatus

    # Stripe knows the paid session; our payment events are still on their way.
    gateway.sessions[hold_session_id(hold)] = CheckoutSession(
        id=hold_session_id(hold), url=None, status=CheckoutStatus.COMPLETE, payment_status=CheckoutPaymentStatus.PAID,
        payment_intent_id="pi_fast",
        amount_total=5000, currency="gbp", metadata={"booking_id": hold.id}, client_reference_id=hold.id)

    deliver(engine, gateway, se.event("charge.refunded", se.charge("pi_fast", amount=5000, amount_refunded=5000)))
    deliver(engine, gateway, completed(hold, payment_intent="pi_fast"))
    deliver(engine, gateway, se.event("payment_intent.succeeded", se.payment_intent(hold.id, "pi_fast")))

    booking = reload(engine, hold.id)
    assert (booking.status, money(engine, hold.id).status, money(engine, hold.id).payment_intent_id) == (
        BookingStatus.CANCELLED, PaymentStatus.REFUNDED, "pi_fast")
