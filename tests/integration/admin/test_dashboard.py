"""The dashboard's figures from seeded rows: weekly paid bookings and revenue per currency (weeks
from Monday in the builder's zone), today's and upcoming sessions, failed payments; and its state."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlmodel import select

from booking.core.db import session_scope
from booking.core.models import (
    Booking,
    BookingStatus,
    Builder,
    Client,
    Membership,
    MembershipInvoice,
    MembershipInvoiceStatus,
    MembershipPlan,
    MembershipStatus,
    Payment,
    PaymentStatus,
    SessionType,
    UserRole,
    utcnow,
)
from booking.workspace import dashboard
from booking_ui import routes
from booking_ui.admin.base import NOT_FOUND_MESSAGE
from booking_ui.admin.dashboard import ALL_BUILDERS, DashboardState
from tests.factories import add_payment, make_builder, make_client, make_session_type
from tests.support.admin_states import call, make_user, redirect_path, state_of, token_for

UTC = timezone.utc
NOW = datetime(2026, 4, 8, 12, 0, tzinfo=UTC)  # a Wednesday; London is on BST since 29 March


def _booking(session, builder, session_type, client, start, *, status=BookingStatus.CONFIRMED, confirmed_at=None,
             amount=5000, currency="gbp", refunded=0) -> Booking:
    booking = Booking(client_id=client.id, builder_id=builder.id, session_type_id=session_type.id, start_time=start,
                      end_time=start + timedelta(hours=1), status=status, confirmed_at=confirmed_at,
                      hold_expires_at=None if confirmed_at else start)
    session.add(booking)
    session.flush()
    paid = PaymentStatus.REFUNDED if refunded >= amount else PaymentStatus.PARTIALLY_REFUNDED if refunded \
        else PaymentStatus.PAID
    add_payment(session, booking, amount=amount, currency=currency, amount_refunded=refunded,
                status=paid if confirmed_at else PaymentStatus.OPEN)
    return booking


@pytest.fixture
def seeded(engine):
    """Two builders (London, Tokyo) with paid bookings across the last 12 weeks and a few that don't count."""
    with session_scope(engine) as session:
        ada = make_builder(session, slug="ada", name="Ada", time_zone="Europe/London")
        ken = make_builder(session, slug="kenji", name="Kenji", time_zone="Asia/Tokyo")
        gbp = make_session_type(session, ada, name="Mentoring", currency="gbp")
        usd = make_session_type(session, ada, name="Review", currency="usd", price_amount=7000)
        jpy = make_session_type(session, ken, name="Pairing", currency="jpy", price_amount=5000)
        alice = make_client(session, name="Alice")
        bob = make_client(session, name="Bob")
        start = datetime(2026, 5, 1, 9, tzinfo=UTC)  # session times don't matter for the weekly figures
        slot = iter(start + timedelta(hours=2 * n) for n in range(100))
        # Paid at 00:30 BST on Monday 30 March: that week in London, the week before in UTC.
        _booking(session, ada, gbp, alice, next(slot), confirmed_at=datetime(2026, 3, 29, 23, 30, tzinfo=UTC))
        _booking(session, ada, gbp, bob, next(slot), confirmed_at=datetime(2026, 4, 7, 10, tzinfo=UTC),
                 amount=3000, refunded=1000, status=BookingStatus.CONFIRMED)
        _booking(session, ada, gbp, bob, next(slot), confirmed_at=datetime(2026, 4, 6, 9, tzinfo=UTC),
                 amount=4000, refunded=4000, status=BookingStatus.CANCELLED)
        _booking(session, ada, usd, alice, next(slot), confirmed_at=datetime(2026, 2, 10, 15, tzinfo=UTC),
                 amount=7000, currency="usd")
        _booking(session, ada, gbp, alice, next(slot), confirmed_at=datetime(2026, 1, 18, 12, tzinfo=UTC))  # too old
        _booking(session, ada, gbp, alice, next(slot), status=BookingStatus.PENDING)  # never paid
        _booking(session, ken, jpy, bob, next(slot), confirmed_at=datetime(2026, 4, 8, 1, tzinfo=UTC),
                 amount=5000, currency="jpy")
        ids = {"ada": ada.id, "kenji": ken.id, "gbp": gbp.id, "alice": alice.id}
    return ids


def _figures(engine, builder_id, zone):
    with session_scope(engine) as session:
        series = dashboard.weekly_figures(session=session, builder_id=builder_id, zone_name=zone, now=NOW)
    return {s.currency: {w.week_start: (w.bookings, w.revenue) for w in s.weeks if w.bookings} for s in series}, series


def test_weekly_paid_bookings_and_net_revenue_per_currency_in_the_builders_weeks(engine, seeded):
    figures, series = _figures(engine, seeded["ada"], "Europe/London")
    assert figures == {
        "gbp": {date(2026, 3, 30): (1, 5000), date(2026, 4, 6): (2, 2000)},
        "usd": {date(2026, 2, 9): (1, 7000)},
    }
    assert all(len(s.weeks) == 12 for s in series)
    assert series[0].weeks[0].week_start == date(2026, 1, 19) and series[0].weeks[-1].week_start == date(2026, 4, 6)
    assert all(w.week_start.weekday() == 0 for w in series[0].weeks)
    assert (series[0].total_bookings, series[0].total_revenue) == (3, 7000)


def test_all_builders_count_weeks_in_utc(engine, seeded):
    figures, _ = _figures(engine, None, "UTC")
    assert figures["gbp"] == {date(2026, 3, 23): (1, 5000), date(2026, 4, 6): (2, 2000)}
    assert figures["jpy"] == {date(2026, 4, 6): (1, 5000)}


def test_today_and_the_next_seven_days_of_confirmed_sessions(engine, seeded):
    zone = "Europe/London"
    with session_scope(engine) as session:
        ada, ken = session.get(Builder, seeded["ada"]), session.get(Builder, seeded["kenji"])
        gbp, alice = session.get(SessionType, seeded["gbp"]), session.get(Client, seeded["alice"])
        jpy = session.exec(select(SessionType).where(SessionType.builder_id == ken.id)).one()
        _booking(session, ada, gbp, alice, datetime(2026, 4, 7, 23, 15, tzinfo=UTC), confirmed_at=NOW)  # 00:15 BST today
        _booking(session, ada, gbp, alice, datetime(2026, 4, 15, 22, 0, tzinfo=UTC), confirmed_at=NOW)  # day 7, 23:00
        _booking(session, ada, gbp, alice, datetime(2026, 4, 15, 23, 0, tzinfo=UTC), confirmed_at=NOW)  # day 8
        _booking(session, ada, gbp, alice, datetime(2026, 4, 7, 22, 0, tzinfo=UTC), confirmed_at=NOW)  # yesterday
        _booking(session, ada, gbp, alice, datetime(2026, 4, 9, 9, 0, tzinfo=UTC),
                 status=BookingStatus.PENDING)  # a hold, not a session
        _booking(session, ken, jpy, alice, datetime(2026, 4, 9, 9, 0, tzinfo=UTC), confirmed_at=NOW)
    with session_scope(engine) as session:
        mine = dashboard.upcoming_sessions(session=session, builder_id=seeded["ada"], zone_name=zone, now=NOW)
        everyone = dashboard.upcoming_sessions(session=session, builder_id=None, zone_name="UTC", now=NOW)
    assert [(f"{s.local_start:%d %H:%M}", s.client_name, s.session_type_name) for s in mine] == [
        ("08 00:15", "Alice", "Mentoring"), ("15 23:00", "Alice", "Mentoring")]
    assert [(s.builder_name, f"{s.local_start:%d %H:%M}") for s in everyone] == [
        ("Kenji", "09 18:00"), ("Ada", "15 23:00"), ("Ada", "16 00:00")]


def test_failed_payments_of_the_last_seven_days(engine, seeded):
    with session_scope(engine) as session:
        bookings = session.exec(select(Booking).order_by(Booking.start_time)).all()
        ada_booking = next(b for b in bookings if b.builder_id == seeded["ada"])
        ken_booking = next(b for b in bookings if b.builder_id == seeded["kenji"])
        rows = [  # (attempt 1 of each is the seeded booking's own payment)
            Payment(booking_id=ada_booking.id, attempt=2, amount=5000, currency="gbp", status=PaymentStatus.FAILED,
                    failure_code="card_declined", failure_message="Your card was declined.",
                    failed_at=NOW - timedelta(days=1)),
            Payment(booking_id=ada_booking.id, attempt=3, amount=5000, currency="gbp", status=PaymentStatus.FAILED,
                    failure_code="insufficient_funds", failed_at=NOW - timedelta(hours=2)),
            Payment(booking_id=ada_booking.id, attempt=4, amount=5000, currency="gbp", status=PaymentStatus.FAILED,
                    failure_code="expired_card", failed_at=NOW - timedelta(days=8)),
            Payment(booking_id=ada_booking.id, attempt=5, amount=5000, currency="gbp", status=PaymentStatus.PAID),
            Payment(booking_id=ken_booking.id, attempt=2, amount=5000, currency="jpy", status=PaymentStatus.FAILED,
                    failure_code="card_declined", failed_at=NOW - timedelta(days=2)),
        ]
        session.add_all(rows)
    with session_scope(engine) as session:
        mine = dashboard.failed_payments(session=session, builder_id=seeded["ada"], now=NOW)
        everyone = dashboard.failed_payments(session=session, builder_id=None, now=NOW, limit=2)
    assert mine.count == 2
    assert [(p.failure_code, p.client_name, p.failed_at) for p in mine.recent] == [
        ("insufficient_funds", "Alice", NOW - timedelta(hours=2)), ("card_declined", "Alice", NOW - timedelta(days=1))]
    assert everyone.count == 3 and len(everyone.recent) == 2


def _failed_invoice(session, builder_id: int, client: str, plan_name: str, failed_at: datetime, *,
                    paid_later: bool = False) -> None:
    """A membership whose monthly invoice failed (as invoice.payment_failed records it), or was paid after."""
    plan = MembershipPlan(builder_id=builder_id, name=plan_name, sessions_per_period=4, amount=4000, currency="gbp")
    session.add(plan)
    session.flush()
    membership = Membership(plan_id=plan.id, builder_id=builder_id, client_email=f"{client.lower()}@example.com",
                            client_name=client, status=MembershipStatus.PAST_DUE)
    session.add(membership)
    session.flush()
    session.add(MembershipInvoice(
        membership_id=membership.id, stripe_invoice_id=f"in_{plan.id}", amount=4000, currency="gbp",
        status=MembershipInvoiceStatus.PAID if paid_later else MembershipInvoiceStatus.FAILED, failed_at=failed_at,
        paid_at=failed_at + timedelta(hours=1) if paid_later else None))


def test_failed_membership_payments_are_listed_with_the_bookings(engine, seeded):
    with session_scope(engine) as session:
        booking = session.exec(select(Booking).where(Booking.builder_id == seeded["ada"])).first()
        session.add(Payment(booking_id=booking.id, attempt=2, amount=5000, currency="gbp",
                            status=PaymentStatus.FAILED, failure_code="card_declined", failed_at=NOW - timedelta(days=1)))
        _failed_invoice(session, seeded["ada"], "Cleo", "Monthly four", NOW - timedelta(hours=3))
        _failed_invoice(session, seeded["ada"], "Dan", "Weekly", NOW - timedelta(days=2), paid_later=True)
        _failed_invoice(session, seeded["ada"], "Eve", "Weekly", NOW - timedelta(days=9))  # too old
        _failed_invoice(session, seeded["kenji"], "Fay", "Kenji's plan", NOW - timedelta(hours=1))
    with session_scope(engine) as session:
        mine = dashboard.failed_payments(session=session, builder_id=seeded["ada"], now=NOW)
        everyone = dashboard.failed_payments(session=session, builder_id=None, now=NOW, limit=2)
    assert mine.count == 2
    assert [(p.kind, p.subject, p.client_name, p.failed_at, p.amount, p.reason) for p in mine.recent] == [
        (dashboard.FailedPaymentKind.MEMBERSHIP, "Monthly four", "Cleo", NOW - timedelta(hours=3), 4000,
         "Payment failed"),
        (dashboard.FailedPaymentKind.BOOKING, "Mentoring", "Alice", NOW - timedelta(days=1), 5000, "card_declined"),
    ]
    assert everyone.count == 3 and [p.client_name for p in everyone.recent] == ["Fay", "Cleo"]


# --- the page's state ------------------------------------------------------------------------------


def test_a_builder_sees_their_own_dashboard(engine, seeded):
    now = utcnow()
    with session_scope(engine) as session:
        ada, gbp = session.get(Builder, seeded["ada"]), session.get(SessionType, seeded["gbp"])
        alice = session.get(Client, seeded["alice"])
        this_minute = now.replace(second=0, microsecond=0)
        today = _booking(session, ada, gbp, alice, this_minute, confirmed_at=now)
        _booking(session, ada, gbp, alice, this_minute + timedelta(days=3, hours=1), confirmed_at=now)
        session.add(Payment(booking_id=today.id, attempt=2, amount=5000, currency="gbp", status=PaymentStatus.FAILED,
                            failure_code="card_declined", failure_message="Your card was declined.",
                            failed_at=now - timedelta(hours=1)))
        _failed_invoice(session, seeded["ada"], "Cleo", "Monthly four", now - timedelta(hours=2))
    token = token_for(engine, make_user(engine, email="ada@example.test", builder_id=seeded["ada"]))
    state = state_of(DashboardState, token)
    assert call(state, "load") is None and state.admin_error == ""
    assert [(r.session_type, r.client) for r in state.today_sessions] == [("Mentoring", "Alice")]
    assert len(state.upcoming_sessions) == 1
    assert [c.currency for c in state.charts] == ["GBP"]
    assert state.charts[0].totals.startswith("12 weeks: 2 bookings, £100.00")
    assert len(state.charts[0].points) == 12 and state.charts[0].points[-1]["revenue"] == 100.0
    assert state.failed_count == 2
    assert [(f.kind, f.subject, f.client, f.amount, f.reason) for f in state.failed] == [
        ("Booking", "Mentoring", "Alice", "£50.00", "Your card was declined."),
        ("Membership", "Monthly four", "Cleo", "£40.00", "Payment failed")]
    assert state.public_page == routes.builder_page("ada")
    assert state.builder_choices == []  # no builder select for a builder
    call(state, "set_builder", str(seeded["kenji"]))
    assert state.admin_error and state.public_page == routes.builder_page("ada")


def _paid_now(engine, seeded) -> None:
    """One paid booking per builder in the current week (the state reads the real clock)."""
    now = utcnow()
    with session_scope(engine) as session:
        alice = session.get(Client, seeded["alice"])
        for builder_id in (seeded["ada"], seeded["kenji"]):
            builder = session.get(Builder, builder_id)
            session_type = session.exec(select(SessionType).where(SessionType.builder_id == builder_id)).first()
            _booking(session, builder, session_type, alice, now + timedelta(days=30), confirmed_at=now,
                     currency=session_type.currency)


def test_a_platform_admin_sees_everyone_or_one_builder(engine, seeded):
    _paid_now(engine, seeded)
    state = state_of(DashboardState, token_for(engine, make_user(engine, email="root@example.test",
                                                                 role=UserRole.ADMIN)))
    call(state, "load")
    assert state.builder_choice == ALL_BUILDERS and state.public_page == ""
    assert [c.label for c in state.builder_choices] == ["All builders", "Ada", "Kenji"]
    assert {c.currency for c in state.charts} == {"GBP", "JPY"}
    call(state, "set_builder", str(seeded["kenji"]))
    assert state.public_page == routes.builder_page("kenji") and [c.currency for c in state.charts] == ["JPY"]
    call(state, "set_builder", "424242")
    assert state.admin_error == NOT_FOUND_MESSAGE and state.builder_choice == str(seeded["kenji"])
    call(state, "set_builder", ALL_BUILDERS)
    assert state.public_page == "" and len(state.charts) == 2


def test_signed_out_sees_nothing(engine, seeded):
    state = state_of(DashboardState, "")
    assert redirect_path(call(state, "load")) == routes.ADMIN_LOGIN
    assert redirect_path(call(state, "set_builder", str(seeded["ada"]))) == routes.ADMIN_LOGIN
    assert state.charts == [] and state.public_page == "" and state.builder_choice == ALL_BUILDERS
