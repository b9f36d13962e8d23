"""The workspace dashboard's figures: today's and upcoming sessions, sales (bookings, package sales,
membership invoices: booking.payments.sales) and revenue per week per currency, and recent failed payments
(bookings' and membership invoices', in one list). Services: an explicit session, read only.

`builder_id=None` means every builder (a platform admin's view). Weeks start on Monday 00:00 in the
zone the caller passes (the builder's; UTC for everyone), and are bucketed in SQL, so the figures
cost one grouped query whatever the number of bookings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session, select

from booking.core.db import utc_of_computed
from booking.core.models import (
    Booking,
    BookingStatus,
    Builder,
    Client,
    Membership,
    MembershipInvoice,
    MembershipInvoiceStatus,
    MembershipPlan,
    Payment,
    PaymentStatus,
    SessionType,
)
from booking.payments import ledger as payment_records
from booking.payments import sales
from booking.payments.sales import SaleCounts, SaleKind
from booking.scheduling.availability import load_zone

UTC = timezone.utc
WEEKS = 12
UPCOMING_DAYS = 7
UPCOMING_LIMIT = 100
FAILED_LIST_LIMIT = 10


def local_midnight(day: date, zone_name: str) -> datetime:
    """The UTC instant a local day begins. A midnight skipped by a DST change maps to the change
    itself (fold=0 reads it with the offset before the gap)."""
    return datetime.combine(day, time(0, 0), tzinfo=load_zone(zone_name)).astimezone(UTC)


def _builder_filter(builder_id: int | None) -> tuple:
    return () if builder_id is None else (Booking.builder_id == builder_id,)


# --------------------------------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpcomingSession:
    booking_id: str
    start: datetime  # UTC
    end: datetime
    time_zone: str  # the builder's: the session is shown in it
    client_name: str
    session_type_name: str
    builder_name: str

    @property
    def local_start(self) -> datetime:
        return self.start.astimezone(load_zone(self.time_zone))

    @property
    def local_end(self) -> datetime:
        return self.end.astimezone(load_zone(self.time_zone))


def upcoming_sessions(*, session: Session, builder_id: int | None, zone_name: str, now: datetime,
                      days: int = UPCOMING_DAYS, limit: int = UPCOMING_LIMIT) -> list[UpcomingSession]:
    """Confirmed sessions from the start of today (in `zone_name`) to the end of the `days`-th day after."""
    today = now.astimezone(load_zone(zone_name)).date()
    start, end = local_midnight(today, zone_name), local_midnight(today + timedelta(days=days + 1), zone_name)
    rows = session.exec(
        select(Booking.id, Booking.start_time, Booking.end_time, Builder.time_zone,
               sa.func.coalesce(Booking.client_name, Client.name),
               SessionType.name, Builder.name)
        .join(Client, Client.id == Booking.client_id)
        .join(SessionType, SessionType.id == Booking.session_type_id)
        .join(Builder, Builder.id == Booking.builder_id)
        .where(Booking.status == BookingStatus.CONFIRMED, Booking.start_time >= start, Booking.start_time < end,
               *_builder_filter(builder_id))
        .order_by(Booking.start_time, Booking.id)
        .limit(limit)
    ).all()
    return [UpcomingSession(booking_id=r[0], start=r[1], end=r[2], time_zone=r[3], client_name=r[4],
                            session_type_name=r[5], builder_name=r[6]) for r in rows]


# --------------------------------------------------------------------------------------------------
# Weekly figures
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekFigure:
    week_start: date  # a Monday
    sales: SaleCounts  # bookings paid, packages sold, membership invoices paid
    revenue: int  # minor units, net of refunds

    @property
    def bookings(self) -> int:
        return self.sales.sessions


@dataclass(frozen=True)
class CurrencySeries:
    currency: str
    weeks: list[WeekFigure]  # WEEKS entries, oldest first, empty weeks included

    @property
    def total_sales(self) -> SaleCounts:
        return sum((w.sales for w in self.weeks), SaleCounts())

    @property
    def total_bookings(self) -> int:
        return self.total_sales.sessions

    @property
    def total_revenue(self) -> int:
        return sum(w.revenue for w in self.weeks)


def week_starts(*, now: datetime, zone_name: str, weeks: int = WEEKS) -> list[date]:
    """The Mondays of the last `weeks` weeks (this one included), oldest first."""
    today = now.astimezone(load_zone(zone_name)).date()
    this_monday = today - timedelta(days=today.weekday())
    return [this_monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def weekly_figures(*, session: Session, builder_id: int | None, zone_name: str, now: datetime,
                   weeks: int = WEEKS) -> list[CurrencySeries]:
    """Sales per week and their revenue net of refunds, one series per currency (only currencies with a sale
    in the period): bookings by the moment they were paid, package sales and membership invoices by their
    payment's."""
    mondays = week_starts(now=now, zone_name=zone_name, weeks=weeks)
    bounds = [local_midnight(d, zone_name) for d in mondays] + [local_midnight(mondays[-1] + timedelta(weeks=1),
                                                                                zone_name)]
    is_booking = Payment.booking_id.is_not(None)
    sold_at = sa.case((is_booking, Booking.confirmed_at), else_=Payment.paid_at)
    week_index = sa.case(*[(sold_at < bounds[i + 1], i) for i in range(weeks)], else_=weeks)
    counted = sa.or_(
        sa.and_(is_booking, Payment.id == payment_records.booking_payment_id()),  # the booking's payment, once
        sa.and_(~is_booking, Payment.status.in_(payment_records.SETTLED_STATES)))
    paid = (
        sales.with_sale(select(week_index.label("week_index"), Payment.currency.label("currency"),
                               sales.sale_kind_of_payment().label("sale_kind"),
                               (Payment.amount - Payment.amount_refunded).label("net")))
        .where(counted, sold_at.is_not(None), sold_at >= bounds[0], sold_at < bounds[-1],
               *(() if builder_id is None else (sales.sold_by(builder_id),)))
        .subquery()
    )
    # Grouping a subquery's columns: PostgreSQL sees one expression, not two copies of the CASE's parameters.
    rows = session.exec(
        select(paid.c.week_index, paid.c.currency, paid.c.sale_kind, sa.func.count(),
               sa.func.coalesce(sa.func.sum(paid.c.net), 0))
        .group_by(paid.c.week_index, paid.c.currency, paid.c.sale_kind)
    ).all()
    counts: dict[str, dict[int, dict[SaleKind, int]]] = {}
    revenue: dict[str, dict[int, int]] = {}
    for index, currency, kind, count, net in rows:
        code, index = currency.lower(), int(index)
        counts.setdefault(code, {}).setdefault(index, {})[SaleKind(kind)] = int(count)
        revenue.setdefault(code, {})[index] = revenue.get(code, {}).get(index, 0) + int(net)
    return [
        CurrencySeries(currency=currency, weeks=[
            WeekFigure(week_start=monday, sales=SaleCounts.of(counts[currency].get(i, {})),
                       revenue=revenue[currency].get(i, 0))
            for i, monday in enumerate(mondays)
        ])
        for currency in sorted(counts)
    ]


# --------------------------------------------------------------------------------------------------
# Failed payments
# --------------------------------------------------------------------------------------------------


class FailedPaymentKind(StrEnum):
    BOOKING = "booking"  # a Checkout attempt for a booking
    MEMBERSHIP = "membership"  # a membership's monthly invoice (invoice.payment_failed)

    @property
    def label(self) -> str:
        return {FailedPaymentKind.BOOKING: "Booking", FailedPaymentKind.MEMBERSHIP: "Membership"}[self]


@dataclass(frozen=True)
class FailedPayment:
    kind: FailedPaymentKind
    failed_at: datetime  # UTC
    amount: int
    currency: str
    failure_code: str
    failure_message: str
    client_name: str
    subject: str  # the session type's name, or the membership plan's
    time_zone: str  # the builder's
    booking_id: str = ""  # a booking's
    membership_id: int | None = None  # a membership's

    @property
    def reason(self) -> str:
        """Stripe's words when we have them (a booking's attempt); an invoice's failure carries none."""
        return self.failure_message or self.failure_code or (
            "Declined" if self.kind is FailedPaymentKind.BOOKING else "Payment failed")


@dataclass(frozen=True)
class FailedPayments:
    count: int
    recent: list[FailedPayment]  # newest first, at most FAILED_LIST_LIMIT


def failed_payments(*, session: Session, builder_id: int | None, now: datetime, days: int = 7,
                    limit: int = FAILED_LIST_LIMIT) -> FailedPayments:
    """Payments that failed in the last `days` days, in one list: bookings' Checkout attempts and memberships'
    monthly invoices still unpaid (one paid later, with a new card, is no longer listed)."""
    since = now - timedelta(days=days)
    bookings = _failed_booking_payments(session=session, builder_id=builder_id, since=since, limit=limit)
    memberships = _failed_membership_invoices(session=session, builder_id=builder_id, since=since, limit=limit)
    recent = sorted(bookings.recent + memberships.recent, key=lambda f: f.failed_at, reverse=True)[:limit]
    return FailedPayments(count=bookings.count + memberships.count, recent=recent)


def _failed_booking_payments(*, session: Session, builder_id: int | None, since: datetime,
                             limit: int) -> FailedPayments:
    failed_at = sa.func.coalesce(Payment.failed_at, Payment.updated_at)
    conditions = (Payment.status == PaymentStatus.FAILED, failed_at >= since, *_builder_filter(builder_id))
    count = session.exec(
        select(sa.func.count()).select_from(Payment).join(Booking, Booking.id == Payment.booking_id).where(*conditions)
    ).one()
    rows = session.exec(
        select(Payment.booking_id, failed_at, Payment.amount, Payment.currency, Payment.failure_code,
               Payment.failure_message, sa.func.coalesce(Booking.client_name, Client.name), SessionType.name,
               Builder.time_zone)
        .join(Booking, Booking.id == Payment.booking_id)
        .join(Client, Client.id == Booking.client_id)
        .join(SessionType, SessionType.id == Booking.session_type_id)
        .join(Builder, Builder.id == Booking.builder_id)
        .where(*conditions)
        .order_by(failed_at.desc(), Payment.id.desc())
        .limit(limit)
    ).all()
    return FailedPayments(count=int(count), recent=[
        FailedPayment(kind=FailedPaymentKind.BOOKING, booking_id=r[0], failed_at=utc_of_computed(r[1]), amount=r[2],
                      currency=r[3], failure_code=r[4] or "", failure_message=r[5] or "", client_name=r[6],
                      subject=r[7], time_zone=r[8])
        for r in rows
    ])


def _failed_membership_invoices(*, session: Session, builder_id: int | None, since: datetime,
                                limit: int) -> FailedPayments:
    conditions = (MembershipInvoice.status == MembershipInvoiceStatus.FAILED, MembershipInvoice.failed_at >= since,
                  *(() if builder_id is None else (Membership.builder_id == builder_id,)))
    count = session.exec(
        select(sa.func.count()).select_from(MembershipInvoice)
        .join(Membership, Membership.id == MembershipInvoice.membership_id).where(*conditions)
    ).one()
    rows = session.exec(
        select(MembershipInvoice.membership_id, MembershipInvoice.failed_at, MembershipInvoice.amount,
               MembershipInvoice.currency, Membership.client_name, MembershipPlan.name, Builder.time_zone)
        .join(Membership, Membership.id == MembershipInvoice.membership_id)
        .join(MembershipPlan, MembershipPlan.id == Membership.plan_id)
        .join(Builder, Builder.id == Membership.builder_id)
        .where(*conditions)
        .order_by(MembershipInvoice.failed_at.desc(), MembershipInvoice.id.desc())
        .limit(limit)
    ).all()
    return FailedPayments(count=int(count), recent=[
        FailedPayment(kind=FailedPaymentKind.MEMBERSHIP, membership_id=r[0], failed_at=utc_of_computed(r[1]), amount=r[2],
                      currency=r[3], failure_code="", failure_message="", client_name=r[4], subject=r[5],
                      time_zone=r[6])
        for r in rows
    ])


# --------------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuilderOption:
    id: int
    name: str
    slug: str
    time_zone: str


def builder_options(*, session: Session, limit: int = 500) -> list[BuilderOption]:
    """Builders for a platform admin's select, by name."""
    rows = session.exec(select(Builder.id, Builder.name, Builder.slug, Builder.time_zone)
                        .order_by(Builder.name, Builder.id).limit(limit)).all()
    return [BuilderOption(id=r[0], name=r[1], slug=r[2], time_zone=r[3]) for r in rows]
