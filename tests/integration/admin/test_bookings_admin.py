"""/admin/bookings through its state: the list (scope, order, badges, filters, pages), a booking's detail
with its payment history, and the refund and cancel forms (a double click refunds once)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from booking.core.models import (
    Booking,
    BookingStatus,
    EndCause,
    Notification,
    PaymentStatus,
    Refund,
    RefundStatus,
    UserRole,
)
from booking.events.webhooks import handle_webhook
from booking.workspace import bookings as booking_admin
from booking_ui import deps, routes
from booking_ui.admin.base import NOT_FOUND_MESSAGE
from booking_ui.admin.bookings import BookingsState
from tests.factories import add_payment, hold_session_id, make_builder, make_client, make_hold, make_session_type
from tests.support import stripe_events as se
from tests.support.admin_states import call, make_user, redirect_path, state_of, token_for
from tests.support.fake_gateway import FakeGateway
from tests.support.ledger import money

TOMORROW = (datetime.now(timezone.utc) + timedelta(days=1)).replace(hour=6, minute=0, second=0, microsecond=0)


@pytest.fixture
def gateway(monkeypatch) -> FakeGateway:
    fake = FakeGateway()
    monkeypatch.setattr(deps, "gateway", lambda: fake)
    return fake


@pytest.fixture
def world(engine, session: Session):
    """Ada (London) and Grace (Tokyo), each with a session type; their users and a platform admin."""
    ada = make_builder(session, name="Ada", time_zone="Europe/London")
    grace = make_builder(session, name="Grace", time_zone="Asia/Tokyo")
    ada_type = make_session_type(session, ada, price_amount=5000, currency="gbp", name="Consult")
    grace_type = make_session_type(session, grace, price_amount=8000, currency="jpy", name="Review")
    session.commit()
    users = {
        "ada": make_user(engine, email="ada@example.test", builder_id=ada.id),
        "grace": make_user(engine, email="grace@example.test", builder_id=grace.id),
        "admin": make_user(engine, email="root@example.test", role=UserRole.ADMIN),
    }
    return {"ada": ada, "grace": grace, "ada_type": ada_type, "grace_type": grace_type, "users": users}


def signed_in(engine, world, who: str) -> BookingsState:
    state = state_of(BookingsState, token_for(engine, world["users"][who]))
    call(state, "load")
    return state


def seed(session: Session, builder, session_type, *, start: datetime, email: str | None = None,
         status=BookingStatus.CONFIRMED, payment_status=PaymentStatus.PAID, **fields) -> Booking:
    client = make_client(session, **({"email": email} if email else {}))
    booking = Booking(client_id=client.id, builder_id=builder.id, session_type_id=session_type.id, start_time=start,
                      end_time=start + timedelta(minutes=session_type.duration_minutes), status=status, **fields)
    session.add(booking)
    session.flush()
    add_payment(session, booking, amount=session_type.price_amount, currency=session_type.currency,
                status=payment_status)
    return booking


def deliver(engine, gateway, evt):
    payload = se.encode(evt)
    return handle_webhook(engine=engine, gateway=gateway, payload=payload, signature=se.sign(payload))


def paid(engine, gateway, session: Session, world, *, pi: str, hours: int = 0, email: str = "ann@example.com") -> str:
    """A hold for Ada, paid through the webhook: confirmed, with its Payment row."""
    hold = make_hold(session, builder=world["ada"], session_type=world["ada_type"],
                     client=make_client(session, email=email), start=TOMORROW + timedelta(hours=hours))
    session.commit()
    evt = se.event("checkout.session.completed", se.checkout_session(hold.id, hold_session_id(hold),
                                                                     payment_intent=pi))
    assert deliver(engine, gateway, evt).status_code == 200
    return hold.id


# --- the list ----------------------------------------------------------------------------------------


def test_a_builder_sees_only_their_bookings_soonest_first_in_their_zone(engine, session, world):
    later = seed(session, world["ada"], world["ada_type"], start=TOMORROW + timedelta(hours=5), email="zed@example.com")
    sooner = seed(session, world["ada"], world["ada_type"], start=TOMORROW, email="amy@example.com")
    seed(session, world["grace"], world["grace_type"], start=TOMORROW + timedelta(hours=1))
    session.commit()

    state = signed_in(engine, world, "ada")

    assert [row.id for row in state.rows] == [sooner.id, later.id]
    row = state.rows[0]
    assert (row.client_email, row.amount, row.status, row.status_label) == (
        "amy@example.com", "£50.00", "confirmed", "Confirmed")
    assert row.when == booking_admin.format_slot(sooner.start_time, sooner.end_time, "Europe/London")
    assert row.when.endswith(("GMT", "BST"))


def test_a_platform_admin_sees_every_builders_bookings_with_the_builder(engine, session, world):
    seed(session, world["ada"], world["ada_type"], start=TOMORROW)
    seed(session, world["grace"], world["grace_type"], start=TOMORROW + timedelta(hours=1))
    session.commit()

    state = signed_in(engine, world, "admin")

    assert [(row.builder_name, row.amount) for row in state.rows] == [("Ada", "£50.00"), ("Grace", "¥8,000")]
    assert state.rows[1].when.endswith("JST")


def test_fifty_a_page(engine, session, world):
    for n in range(55):
        seed(session, world["ada"], world["ada_type"], start=TOMORROW + timedelta(hours=n))
    session.commit()
    state = signed_in(engine, world, "ada")

    assert (len(state.rows), state.has_next) == (50, True)
    call(state, "set_page", 2)
    assert (len(state.rows), state.has_next, state.page) == (5, False, 2)


def test_upcoming_and_past(engine, session, world):
    upcoming = seed(session, world["ada"], world["ada_type"], start=TOMORROW)
    past = seed(session, world["ada"], world["ada_type"], start=TOMORROW - timedelta(days=10))
    older = seed(session, world["ada"], world["ada_type"], start=TOMORROW - timedelta(days=20))
    session.commit()
    state = signed_in(engine, world, "ada")
    assert [row.id for row in state.rows] == [upcoming.id]

    call(state, "set_when", "past")

    assert [row.id for row in state.rows] == [past.id, older.id]  # latest first


def test_badges_and_the_status_filter(engine, session, world):
    rows = {
        "pending": dict(status=BookingStatus.PENDING, payment_status=PaymentStatus.OPEN),
        "confirmed": dict(),
        "cancelled": dict(status=BookingStatus.CANCELLED, payment_status=PaymentStatus.EXPIRED),
        "expired": dict(status=BookingStatus.EXPIRED, payment_status=PaymentStatus.EXPIRED),
        "refunded": dict(status=BookingStatus.CANCELLED, payment_status=PaymentStatus.REFUNDED),
        "partially_refunded": dict(payment_status=PaymentStatus.PARTIALLY_REFUNDED),
    }
    ids = {name: seed(session, world["ada"], world["ada_type"], start=TOMORROW + timedelta(hours=n), **fields).id
           for n, (name, fields) in enumerate(rows.items())}
    session.commit()
    state = signed_in(engine, world, "ada")
    assert {row.id: row.status_label for row in state.rows} == {
        ids[name]: booking_admin.STATUS_LABELS[name] for name in rows}

    for name in rows:
        call(state, "set_status", name)
        assert [row.id for row in state.rows] == [ids[name]], name
    call(state, "set_status", "nonsense")
    assert len(state.rows) == len(rows)


def test_search_by_client_email_and_filter_by_dates(engine, session, world):
    ann = seed(session, world["ada"], world["ada_type"], start=TOMORROW, email="ann@example.com")
    seed(session, world["ada"], world["ada_type"], start=TOMORROW + timedelta(hours=1), email="bob@example.com")
    week_later = seed(session, world["ada"], world["ada_type"], start=TOMORROW + timedelta(days=7),
                      email="annabel@example.com")
    session.commit()
    state = signed_in(engine, world, "ada")

    call(state, "set_search", " ANN")
    assert [row.id for row in state.rows] == [ann.id, week_later.id]
    call(state, "set_search", "ann@example.com")
    assert [row.id for row in state.rows] == [ann.id]

    call(state, "set_search", "")
    day = (TOMORROW + timedelta(days=7)).date().isoformat()
    call(state, "set_dates", {"date_from": day, "date_to": day})
    assert [row.id for row in state.rows] == [week_later.id]

    call(state, "set_dates", {"date_from": "31/12/2030", "date_to": ""})
    assert state.filter_error == "Enter dates as YYYY-MM-DD." and [row.id for row in state.rows] == [week_later.id]
    call(state, "set_dates", {"date_from": day, "date_to": TOMORROW.date().isoformat()})
    assert state.filter_error == "The end date is before the start date."


def test_signed_out_is_sent_to_the_sign_in_page(engine, world):
    state = state_of(BookingsState)
    assert redirect_path(call(state, "load")) == routes.ADMIN_LOGIN
    assert state.rows == []


# --- one booking ---------------------------------------------------------------------------------------


def test_the_detail_shows_the_payment_history(engine, gateway, session, world):
    booking_id = paid(engine, gateway, session, world, pi="pi_hist")
    state = signed_in(engine, world, "ada")

    call(state, "open_booking", booking_id)

    detail = state.detail
    assert (detail.id, detail.status, detail.client_email, detail.left, detail.left_major) == (
        booking_id, "confirmed", "ann@example.com", "£50.00", "50.00")
    assert detail.can_refund and detail.can_cancel
    assert [(p.attempt, p.status, p.payment_intent_id, p.amount) for p in detail.payments] == [
        (1, "paid", "pi_hist", "£50.00")]
    assert detail.refunds == []


def test_another_builders_booking_cannot_be_opened(engine, gateway, session, world):
    booking_id = paid(engine, gateway, session, world, pi="pi_ada")
    state = signed_in(engine, world, "grace")

    call(state, "open_booking", booking_id)

    assert state.admin_error == NOT_FOUND_MESSAGE
    assert state.detail.id == ""


def test_the_refund_form_refunds_once_however_often_it_is_sent(engine, gateway, session, world):
    booking_id = paid(engine, gateway, session, world, pi="pi_form")
    state = signed_in(engine, world, "ada")
    call(state, "open_booking", booking_id)
    form = {"amount": "20.00", "reason": "requested_by_customer"}

    call(state, "refund", form)
    call(state, "refund", form)  # the double click: the same request key

    assert (state.refund_ok, state.refund_result, state.refund_done) == (True, "Refunded £20.00.", True)
    assert len(gateway.refunds) == 1
    assert (state.detail.left, state.detail.status) == ("£30.00", "partially_refunded")
    assert [(r.amount, r.status, r.requested_by) for r in state.detail.refunds] == [
        ("£20.00", "succeeded", "ada@example.test")]
    assert state.rows[0].status == "partially_refunded"

    call(state, "new_refund")  # another refund: a new form, a new key
    call(state, "refund", {"amount": "", "reason": "duplicate", "session": "cancel"})  # empty: all that is left
    assert state.refund_result.startswith("Booking cancelled") and state.refund_result.endswith("Refunded £30.00.")
    assert len(gateway.refunds) == 2
    with Session(engine) as s:
        assert s.get(Booking, booking_id).status == BookingStatus.CANCELLED


@pytest.mark.parametrize("amount,message", [
    ("abc", "Enter an amount such as 12.50 (or 5000 for yen)."),
    ("12.345", "Enter an amount such as 12.50 (or 5000 for yen)."),
    ("1E+500000", "Enter an amount such as 12.50 (or 5000 for yen)."),  # never a 500,000-digit integer
    ("1e1", "Enter an amount such as 12.50 (or 5000 for yen)."),
    ("60.00", "At most £50.00 is left to refund."),
    ("0", "Enter an amount greater than zero."),
])
def test_a_bad_amount_is_explained_and_nothing_is_written(engine, gateway, session, world, amount, message):
    booking_id = paid(engine, gateway, session, world, pi="pi_bad")
    state = signed_in(engine, world, "ada")
    call(state, "open_booking", booking_id)

    call(state, "refund", {"amount": amount, "reason": "requested_by_customer"})

    assert (state.refund_ok, state.refund_result, state.refund_done) == (False, message, False)
    assert gateway.refunds == []
    with Session(engine) as s:
        assert s.exec(select(Refund)).all() == []


def test_a_stripe_failure_is_shown_and_can_be_retried(engine, gateway, session, world):
    booking_id = paid(engine, gateway, session, world, pi="pi_down")
    state = signed_in(engine, world, "ada")
    call(state, "open_booking", booking_id)
    gateway.down = True

    call(state, "refund", {"amount": "10.00", "reason": "requested_by_customer"})

    assert not state.refund_ok and "could not be reached" in state.refund_result
    [failed] = state.detail.refunds
    assert (failed.status, failed.can_retry) == ("failed", True)
    assert state.detail.status == "confirmed"

    gateway.down = False
    call(state, "retry_refund", failed.id)

    assert state.refund_result == "Refunded £10.00."
    assert [(r.status, r.can_retry) for r in state.detail.refunds] == [("failed", False), ("succeeded", False)]


def test_the_cancel_form_frees_the_slot_refunds_part_and_emails_the_client(engine, gateway, session, world):
    booking_id = paid(engine, gateway, session, world, pi="pi_cancel")
    state = signed_in(engine, world, "ada")
    call(state, "open_booking", booking_id)

    call(state, "cancel_booking", {"refund": "partial", "amount": "15", "refund_reason": "requested_by_customer",
                                   "reason": "Ill"})

    assert state.cancel_ok and state.cancel_result.startswith("Booking cancelled")
    assert (state.detail.status, state.detail.can_cancel, state.detail.left) == ("partially_refunded", False, "£35.00")
    with Session(engine) as s:
        booking = s.get(Booking, booking_id)
        kinds = {n.kind for n in s.exec(select(Notification).where(Notification.booking_id == booking_id,
                                                                   Notification.recipient == "ann@example.com"))}
    assert (booking.status, booking.end_cause, booking.end_note, money(engine, booking_id).amount_refunded) == (
        BookingStatus.CANCELLED, EndCause.CANCELLED_BY_BUILDER, "Ill", 1500)
    assert "booking_cancelled" in kinds and "booking_refunded" not in kinds  # one email, carrying the refund
    assert [r["amount"] for r in gateway.refunds] == [1500]


def test_cancel_with_no_refund_keeps_the_money(engine, gateway, session, world):
    booking_id = paid(engine, gateway, session, world, pi="pi_keep")
    state = signed_in(engine, world, "ada")
    call(state, "open_booking", booking_id)

    call(state, "cancel_booking", {"refund": "none", "reason": ""})

    assert state.cancel_ok
    with Session(engine) as s:
        booking = s.get(Booking, booking_id)
    assert (booking.status, money(engine, booking_id).status, booking.end_cause, booking.end_note) == (
        BookingStatus.CANCELLED, PaymentStatus.PAID, EndCause.CANCELLED_BY_BUILDER, None)
    assert gateway.refunds == []


def test_forms_do_nothing_without_an_open_booking(engine, gateway, session, world):
    paid(engine, gateway, session, world, pi="pi_idle")
    state = signed_in(engine, world, "ada")

    call(state, "refund", {"amount": "50.00", "reason": "requested_by_customer"})
    call(state, "cancel_booking", {"refund": "full", "refund_reason": "requested_by_customer"})
    call(state, "retry_refund", "1")

    assert gateway.refunds == []
    with Session(engine) as s:
        assert [r.status for r in s.exec(select(Refund)).all()] == []
        assert s.exec(select(Booking)).one().status == BookingStatus.CONFIRMED


def test_retry_of_another_builders_refund_is_refused(engine, gateway, session, world):
    booking_id = paid(engine, gateway, session, world, pi="pi_theirs")
    ada = signed_in(engine, world, "ada")
    call(ada, "open_booking", booking_id)
    gateway.down = True
    call(ada, "refund", {"amount": "10.00", "reason": "requested_by_customer"})
    gateway.down = False
    failed_id = ada.detail.refunds[0].id
    grace = signed_in(engine, world, "grace")
    grace.detail = booking_admin.BookingDetail(id="whatever")  # whatever the browser claims is open

    call(grace, "retry_refund", failed_id)

    assert grace.admin_error == NOT_FOUND_MESSAGE
    assert gateway.refunds == []
    with Session(engine) as s:
        assert [r.status for r in s.exec(select(Refund)).all()] == [RefundStatus.FAILED]
