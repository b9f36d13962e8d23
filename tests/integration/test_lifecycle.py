"""The lifecycle on a real database: every move of the table happens (once), every path that ends a hold
records its cause, and a hold whose Checkout Session was paid is fulfilled, never released."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from booking.client import receipts
from booking.core.config import load_settings
from booking.core.db import session_scope
from booking.core.models import Attendance, Booking, BookingStatus, EndCause, Notification, Payment, PaymentStatus
from booking.events.webhooks import handle_webhook
from booking.lifecycle import checkout as payments
from booking.lifecycle import transitions as bookings
from booking.lifecycle.transitions import ONLY_AFTER, TRANSITIONS, Event
from booking.payments.gateway import (
    PAID_CHECKOUT,
    CheckoutPaymentStatus,
    CheckoutSession,
    CheckoutStatus,
    PaymentProviderError,
)
from tests.factories import hold_session_id, make_builder, make_hold, make_session_type
from tests.support import stripe_events as se
from tests.support.fake_gateway import FakeGateway

NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)
SETTINGS = load_settings(PUBLIC_URL="https://book.example", HOLD_MINUTES=30)


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def session_type(session: Session):
    builder = make_builder(session, time_zone="UTC")
    st = make_session_type(session, builder, price_amount=5000, currency="gbp", name="Pairing")
    session.commit()
    return st


def begin(engine, gateway, session_type, hour=10, email="ann@example.com", **kw):
    start = (NOW + timedelta(days=2)).replace(hour=hour, minute=0)
    return payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS,
                                   session_type_id=session_type.id, start_time=start, client_name="Ann",
                                   client_email=email, **kw)


def booking_of(engine, booking_id) -> Booking:
    with Session(engine) as s:
        return s.get(Booking, booking_id)


def ending(engine, booking_id) -> tuple[BookingStatus, EndCause | None]:
    booking = booking_of(engine, booking_id)
    return booking.status, booking.end_cause


def deliver(engine, gateway, evt) -> None:
    payload = se.encode(evt)
    assert handle_webhook(engine=engine, gateway=gateway, payload=payload, signature=se.sign(payload)).status_code == 200


# --- the table, on the database ------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "trigger"), sorted(TRANSITIONS, key=str))
def test_every_move_in_the_table_happens_once(engine, session, status, trigger):
    allowed = ONLY_AFTER.get((status, trigger))
    cause = sorted(allowed)[0] if allowed else (EndCause.EXPIRED if status == BookingStatus.EXPIRED else None)
    booking = make_hold(session, status=status, end_cause=cause,
                        payment_status=PaymentStatus.PAID if status == BookingStatus.CONFIRMED else PaymentStatus.OPEN)
    session.commit()
    start, end = booking.start_time, booking.end_time

    def move() -> bool:
        with session_scope(engine) as s:
            if trigger in (Event.RESCHEDULE, Event.BUILDER_RESCHEDULE):
                return bookings.reschedule(session=s, booking_id=booking.id, from_start=start,
                                           new_start=start + timedelta(hours=3), new_end=end + timedelta(hours=3),
                                           by_client=trigger == Event.RESCHEDULE)
            if trigger == Event.PAYMENT_PROCESSING:  # once: the payment, marked processing with it, guards it
                payment = s.exec(select(Payment).where(Payment.booking_id == booking.id)).first()
                return bookings.mark_payment_processing(session=s, booking_id=booking.id, payment=payment)
            if trigger in (Event.MARK_ATTENDED, Event.MARK_NO_SHOW):  # once, after the start
                marked = Attendance.ATTENDED if trigger == Event.MARK_ATTENDED else Attendance.NO_SHOW
                return bookings.mark_attendance(session=s, booking_id=booking.id, attendance=marked,
                                                now=start + timedelta(minutes=5))
            return bookings._change_state(session=s, booking_id=booking.id, trigger=trigger, from_statuses=(status,))

    assert move()
    after = booking_of(engine, booking.id)
    assert after.status == TRANSITIONS[(status, trigger)]
    if isinstance(trigger, EndCause):
        assert after.end_cause == trigger
    elif trigger == Event.RESCHEDULE:
        assert (after.start_time, after.reschedule_count, after.invite_sequence) == (start + timedelta(hours=3), 1, 1)
    elif trigger == Event.BUILDER_RESCHEDULE:  # the client's own allowance is left alone
        assert (after.start_time, after.reschedule_count, after.invite_sequence) == (start + timedelta(hours=3), 0, 1)
    else:
        assert after.end_cause is None  # paid: no longer ended
    assert bookings.state_in_table(after.status, after.end_cause)
    assert not move()  # a compare-and-swap: the second ask finds it moved on


def test_a_move_out_of_a_state_the_table_does_not_list_changes_nothing(engine, session):
    booking = make_hold(session, status=BookingStatus.CONFIRMED, payment_status=PaymentStatus.PAID)
    session.commit()
    with session_scope(engine) as s:
        assert not bookings.end_hold_now(session=s, booking_id=booking.id, cause=EndCause.EXPIRED)
        assert not bookings._change_state(session=s, booking_id=booking.id, trigger=Event.PAY_LATE)
    assert ending(engine, booking.id) == (BookingStatus.CONFIRMED, None)


# --- every path that ends a hold, and the cause it records -------------------------------------------------


def test_the_sweeper_ends_a_lapsed_hold_as_expired_after_expiring_its_session(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)

    assert payments.sweep_expired_holds(engine=engine, gateway=gateway, now=NOW + timedelta(hours=2)) == 1

    assert ending(engine, started.booking_id) == (BookingStatus.EXPIRED, EndCause.EXPIRED)
    assert gateway.expired == [started.checkout_session_id]


def test_pick_another_time_ends_the_hold_as_released_by_the_client(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)

    assert payments.release_hold_and_expire(engine=engine, gateway=gateway, booking_id=started.booking_id)

    assert ending(engine, started.booking_id) == (BookingStatus.CANCELLED, EndCause.RELEASED_BY_CLIENT)
    assert gateway.expired == [started.checkout_session_id]


def test_a_new_hold_from_the_same_browser_ends_the_earlier_one_as_replaced(engine, gateway, session_type):
    first = begin(engine, gateway, session_type, browser_hold_key="browser-1")
    second = begin(engine, gateway, session_type, hour=11, browser_hold_key="browser-1")

    assert ending(engine, first.booking_id) == (BookingStatus.CANCELLED, EndCause.REPLACED)
    assert ending(engine, second.booking_id) == (BookingStatus.PENDING, None)
    assert gateway.expired == [first.checkout_session_id]


def test_a_new_hold_from_the_same_browser_confirms_an_earlier_one_that_was_paid(engine, gateway, session_type):
    first = begin(engine, gateway, session_type, browser_hold_key="browser-1")
    gateway.pay(first.checkout_session_id)  # paid at Stripe; the webhook hasn't come

    begin(engine, gateway, session_type, hour=11, browser_hold_key="browser-1")

    assert ending(engine, first.booking_id) == (BookingStatus.CONFIRMED, None)
    assert gateway.expired == []


def test_stripe_down_at_checkout_ends_the_hold_as_provider_unreachable(engine, gateway, session_type):
    gateway.down = True
    with pytest.raises(PaymentProviderError):
        begin(engine, gateway, session_type)

    [booking] = _all(engine)
    assert (booking.status, booking.end_cause) == (BookingStatus.CANCELLED, EndCause.PROVIDER_UNREACHABLE)


def test_try_again_that_cannot_close_the_old_session_ends_the_hold_as_provider_unreachable(
        engine, gateway, session_type, monkeypatch):
    started = begin(engine, gateway, session_type)

    def refuse(*_args, **_kwargs):
        raise PaymentProviderError("Stripe could not be reached (APIConnectionError)")

    monkeypatch.setattr(gateway, "expire_checkout_session", refuse)
    with pytest.raises(PaymentProviderError):
        payments.retry_checkout(engine=engine, gateway=gateway, settings=SETTINGS, booking_id=started.booking_id)

    assert ending(engine, started.booking_id) == (BookingStatus.CANCELLED, EndCause.PROVIDER_UNREACHABLE)


def test_the_expiry_webhook_ends_the_hold_as_expired(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)

    deliver(engine, gateway, se.event("checkout.session.expired", se.checkout_session(
        started.booking_id, started.checkout_session_id, status="expired", payment_status="unpaid")))

    assert ending(engine, started.booking_id) == (BookingStatus.EXPIRED, EndCause.EXPIRED)


def test_a_failed_delayed_payment_ends_the_hold_as_payment_failed_and_tells_the_client(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)
    session = se.checkout_session(started.booking_id, started.checkout_session_id, payment_status="unpaid",
                                  payment_intent="pi_slow")
    deliver(engine, gateway, se.event("checkout.session.completed", session))  # paying: the hold stays
    assert ending(engine, started.booking_id) == (BookingStatus.PENDING, None)

    deliver(engine, gateway, se.event("checkout.session.async_payment_failed", session))

    assert ending(engine, started.booking_id) == (BookingStatus.CANCELLED, EndCause.PAYMENT_FAILED)
    with Session(engine) as s:
        kinds = [n.kind for n in s.exec(select(Notification).where(Notification.booking_id == started.booking_id))]
    assert kinds == ["debit_failed"]  # the client only: the builder never heard of the booking


def test_a_paying_hold_is_not_ended_by_the_sweeper_or_the_client(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)
    _set_session(gateway, started.checkout_session_id, status=CheckoutStatus.COMPLETE,
                 payment_status=CheckoutPaymentStatus.UNPAID)

    result = payments.end_hold(engine=engine, gateway=gateway, booking_id=started.booking_id,
                               cause=EndCause.RELEASED_BY_CLIENT)

    assert not result.ended and result.fulfilment.state == "processing"
    assert ending(engine, started.booking_id) == (BookingStatus.PENDING, None)
    assert gateway.expired == []


# --- a paid session is fulfilled, never released ----------------------------------------------------------


@pytest.mark.parametrize("cause", sorted(bookings.HOLD_CAUSES))
@pytest.mark.parametrize("payment_status", list(PAID_CHECKOUT))
def test_end_hold_fulfils_a_paid_but_unfulfilled_session_instead_of_releasing_it(
        engine, gateway, session_type, cause, payment_status):
    started = begin(engine, gateway, session_type)
    _set_session(gateway, started.checkout_session_id, status=CheckoutStatus.COMPLETE,
                 payment_status=payment_status,
                 payment_intent_id="pi_test_paid" if payment_status == CheckoutPaymentStatus.PAID else None)

    result = payments.end_hold(engine=engine, gateway=gateway, booking_id=started.booking_id, cause=cause,
                               now=NOW + timedelta(hours=2))

    assert not result.ended and result.fulfilment.state == "confirmed"
    assert ending(engine, started.booking_id) == (BookingStatus.CONFIRMED, None)
    assert gateway.expired == []


def test_the_success_page_sends_the_refund_of_a_payment_that_lost_its_slot_at_once(engine, gateway, session_type):
    late = begin(engine, gateway, session_type)
    payments.sweep_expired_holds(engine=engine, gateway=gateway, now=NOW + timedelta(hours=2))
    taken = begin(engine, gateway, session_type, email="bob@example.com")  # the same time, now free
    gateway.pay(late.checkout_session_id, payment_intent_id="pi_test_late")  # the old page took the money

    receipt = receipts.confirm_from_success_page(engine=engine, gateway=gateway,
                                                 checkout_session_id=late.checkout_session_id)

    assert receipt.state == "refunded"
    assert [refund["payment_intent"] for refund in gateway.refunds] == ["pi_test_late"]  # not left to the sweeper
    assert ending(engine, taken.booking_id) == (BookingStatus.PENDING, None)


def _set_session(gateway: FakeGateway, session_id: str, **changes) -> None:
    gateway.sessions[session_id] = CheckoutSession(**{**gateway.sessions[session_id].__dict__, **changes})


def _all(engine) -> list[Booking]:
    with Session(engine) as s:
        return list(s.exec(select(Booking)).all())


def test_ending_a_hold_never_touches_a_confirmed_booking(engine, session):
    booking = make_hold(session, status=BookingStatus.CONFIRMED, payment_status=PaymentStatus.OPEN)
    session.commit()
    with session_scope(engine) as s:
        assert not bookings.end_hold_now(session=s, booking_id=booking.id, cause=EndCause.CANCELLED_BY_BUILDER)
    assert ending(engine, booking.id) == (BookingStatus.CONFIRMED, None)


@pytest.mark.parametrize(("cause", "revived"), [(EndCause.RELEASED_BY_CLIENT, True), (EndCause.REPLACED, True),
                                                (EndCause.CANCELLED_BY_BUILDER, False)])
def test_a_late_payment_revives_a_released_hold_but_not_one_the_builder_cancelled(engine, gateway, session,
                                                                                  cause, revived):
    ended = make_hold(session, status=BookingStatus.CANCELLED, end_cause=cause)
    session.commit()

    deliver(engine, gateway, se.event("checkout.session.completed",
                                      se.checkout_session(ended.id, hold_session_id(ended))))

    if revived:  # the slot is still free: the booking is kept
        assert ending(engine, ended.id) == (BookingStatus.CONFIRMED, None) and gateway.refunds == []
    else:  # the builder's cancellation stands: the money goes back
        assert ending(engine, ended.id) == (BookingStatus.CANCELLED, EndCause.CANCELLED_BY_BUILDER)
        assert [refund["payment_intent"] for refund in gateway.refunds] == ["pi_test_1"]
