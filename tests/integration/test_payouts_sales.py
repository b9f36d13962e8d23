"""Package sales and membership invoices on the builder's payouts page and dashboard, beside bookings: each a
row with what was sold, to whom, the fee and the net; the totals per currency and the dashboard's counts
include them; a pro rata refund of unused credits shows on the package's row; another builder sees none of
it. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from booking.accounts.authz import Actor
from booking.core.config import load_settings
from booking.core.models import (
    Booking,
    BookingStatus,
    CreditPackage,
    Membership,
    MembershipPlan,
    MembershipStatus,
    PackagePurchase,
    Payment,
    PaymentStatus,
    UserAccount,
    utcnow,
)
from booking.payments import connect, pricing
from booking.payments import ledger as payment_records
from booking.payments.gateway import Refund as StripeRefund
from booking.workspace import dashboard
from booking_ui.admin.dashboard import DashboardState
from booking_ui.admin.payouts import PayoutsState
from tests.factories import add_payment, make_builder, make_client, make_session_type
from tests.support.admin_states import call, make_user, state_of, token_for

SETTINGS = load_settings(PUBLIC_URL="https://book.example")
ACCOUNT = "acct_ada"
NOW = utcnow().replace(microsecond=0)


def _actor(engine, user_id: int) -> Actor:
    with Session(engine) as s:
        return Actor.of(s.get(UserAccount, user_id))


@pytest.fixture
def shop(engine, session: Session):
    """Ada (payouts enabled) sold a session (£50, fee £5.30), a package (£135, fee £13.80) and a month of a
    membership (£40, fee £4.30) in the last hour; Grace sold nothing."""
    ada = make_builder(session, name="Ada", slug="ada", stripe_account_id=ACCOUNT, payouts_enabled=True,
                       charges_enabled=True, details_submitted=True)
    grace = make_builder(session, name="Grace", slug="grace")
    call_type = make_session_type(session, ada, price_amount=5000, currency="gbp", name="1:1 call")
    alice = make_client(session, name="Alice")
    booking = Booking(client_id=alice.id, builder_id=ada.id, session_type_id=call_type.id,
                      start_time=NOW + timedelta(days=2), end_time=NOW + timedelta(days=2, hours=1),
                      status=BookingStatus.CONFIRMED, confirmed_at=NOW - timedelta(minutes=30))
    session.add(booking)
    session.flush()
    _net(session, add_payment(session, booking, amount=5000, status=PaymentStatus.PAID, paid_at=booking.confirmed_at,
                              destination_account_id=ACCOUNT, application_fee_amount=530, transfer_id="tr_booking"))

    package = CreditPackage(builder_id=ada.id, name="Three calls", session_count=3, price_amount=13500,
                            currency="gbp", validity_days=60)
    session.add(package)
    session.flush()
    purchase = PackagePurchase(package_id=package.id, builder_id=ada.id, client_email="cleo@example.com",
                               client_name="Cleo", session_count=3, validity_days=60)
    session.add(purchase)
    session.flush()
    sale = Payment(package_purchase_id=purchase.id, amount=13500, currency="gbp", status=PaymentStatus.PAID,
                   paid_at=NOW - timedelta(minutes=20), payment_intent_id="pi_package",
                   destination_account_id=ACCOUNT, application_fee_amount=1380, transfer_id="tr_package")
    session.add(sale)
    session.flush()
    _net(session, sale)

    plan = MembershipPlan(builder_id=ada.id, name="Monthly four", sessions_per_period=4, amount=4000, currency="gbp")
    session.add(plan)
    session.flush()
    membership = Membership(plan_id=plan.id, builder_id=ada.id, client_email="dan@example.com", client_name="Dan",
                            status=MembershipStatus.ACTIVE)
    session.add(membership)
    session.flush()
    invoice = payment_records.record_membership_invoice(
        session=session, membership_id=membership.id, paid=True, application_fee_amount=430,
        destination_account_id=ACCOUNT, facts=payment_records.InvoiceFacts(
            stripe_invoice_id="in_first", amount=4000, currency="gbp", period_start=NOW, occurred_at=NOW - timedelta(minutes=10),
            period_end=NOW + timedelta(days=30)))
    session.commit()
    users = {"ada": make_user(engine, email="ada-user@example.test", builder_id=ada.id),
             "grace": make_user(engine, email="grace-user@example.test", builder_id=grace.id)}
    return {"ada": ada.id, "grace": grace.id, "sale": sale.id, "invoice_payment": invoice.payment_id, "users": users}


def _net(session: Session, payment: Payment) -> None:
    payment_records.update_net(session=session, payment=payment)


def _view(engine, actor: Actor, builder_id: int | None = None) -> connect.PayoutsView:
    with Session(engine) as s:
        return connect.payouts_view(session=s, actor=actor, settings=SETTINGS, builder_id=builder_id)


def test_package_sales_and_membership_payments_are_rows_with_their_fee_and_net(engine, shop):
    view = _view(engine, _actor(engine, shop["users"]["ada"]))

    assert [(r.kind, r.sold, r.client, r.amount, r.fee, r.net, r.refunded) for r in view.transfers] == [
        ("Membership payment", "Monthly four", "Dan", "£40.00", "£4.30", "£35.70", ""),
        ("Package", "Three calls", "Cleo", "£135.00", "£13.80", "£121.20", ""),
        ("Session", "1:1 call", "Alice", "£50.00", "£5.30", "£44.70", ""),
    ]  # newest payment first, as bookings always were
    assert view.total == 3 and [r.booking_id != "" for r in view.transfers] == [False, False, True]
    assert [(r.transfer_id, r.transfer_note) for r in view.transfers] == [
        ("", "with the invoice"), ("tr_package", "pending"), ("tr_booking", "pending")]
    [total] = view.totals
    assert (total.currency, total.sales, total.gross, total.fees, total.net) == (
        "GBP", "1 booking, 1 package, 1 membership payment", "£225.00", "£23.40", "£201.60")


def test_a_pro_rata_refund_of_unused_credits_shows_on_the_package_row(engine, shop):
    with Session(engine) as s:
        sale = s.get(Payment, shop["sale"])
        back = pricing.pro_rata(sale.amount, 2, 3)  # two of three credits unused
        row = payment_records.request_refund(session=s, payment=sale, booking_id=None, amount=back,
                                             request_key="package-refund-test", reason="requested_by_customer",
                                             requested_by="ada-user@example.test")
        payment_records.record_sale_refund(session=s, row=row, answer=StripeRefund(id="re_package", amount=back,
                                                                                   status="succeeded"))
        fee_back = row.application_fee_refunded
        s.commit()

    view = _view(engine, _actor(engine, shop["users"]["ada"]))

    package = next(r for r in view.transfers if r.kind == "Package")
    assert (back, fee_back) == (9000, 920)
    assert (package.refunded, package.fee_refunded, package.status) == ("£90.00", "£9.20", "partially_refunded")
    assert package.net == "£40.40"  # £135 − £90 refunded − (£13.80 − £9.20) fee kept
    [total] = view.totals
    assert (total.gross, total.fees, total.net) == ("£135.00", "£14.20", "£120.80")


def test_another_builder_sees_none_of_the_sales(engine, shop):
    grace = _actor(engine, shop["users"]["grace"])

    view = _view(engine, grace, builder_id=shop["ada"])  # asking for Ada's: a builder always gets their own

    assert (view.builder_name, view.transfers, view.totals) == ("Grace", [], [])
    with Session(engine) as s:
        assert dashboard.weekly_figures(session=s, builder_id=shop["grace"], zone_name="UTC", now=utcnow()) == []


def test_the_dashboard_counts_each_kind_of_sale_and_its_revenue(engine, shop):
    with Session(engine) as s:
        [series] = dashboard.weekly_figures(session=s, builder_id=shop["ada"], zone_name="Europe/London",
                                            now=utcnow())
    sold = series.total_sales
    assert (sold.sessions, sold.packages, sold.memberships) == (1, 1, 1)
    assert (series.total_revenue, sold.in_words()) == (22500, "1 booking, 1 package, 1 membership payment")


def test_the_pages_say_what_was_sold(engine, shop):
    token = token_for(engine, shop["users"]["ada"])
    board = state_of(DashboardState, token)
    call(board, "load")
    assert board.charts[0].totals == "12 weeks: 1 booking, 1 package, 1 membership payment, £225.00"
    points = board.charts[0].points
    assert (sum(p["packages"] for p in points), sum(p["memberships"] for p in points)) == (1, 1)

    payouts = state_of(PayoutsState, token)
    call(payouts, "load")
    assert [(row.kind, row.client, row.net) for row in payouts.transfers] == [
        ("Membership payment", "Dan", "£35.70"), ("Package", "Cleo", "£121.20"), ("Session", "Alice", "£44.70")]
    assert [row.sales for row in payouts.totals] == ["1 booking, 1 package, 1 membership payment"]

    grace = state_of(PayoutsState, token_for(engine, shop["users"]["grace"]))
    call(grace, "load")
    assert (grace.transfers, grace.totals) == ([], [])
