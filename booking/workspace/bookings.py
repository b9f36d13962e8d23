"""Read models of the workspace's bookings: one page of the list, and one booking's detail.

The list never loads a whole table: one query per page (50 rows + 1 to know whether a next page
exists), walking `ix_booking_builder_start` for a builder; an email search first finds the matching
clients through the unique index on `client.email` (a prefix range, which a B-tree serves on both
SQLite and PostgreSQL), then their bookings through `ix_booking_client_id`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from booking.accounts import authz
from booking.accounts.authz import Actor
from booking.core import clock as app_clock
from booking.core.models import (
    PAYMENT_METHOD_LABELS,
    Attendance,
    Booking,
    BookingStatus,
    Builder,
    CardOnFile,
    Client,
    Payment,
    PaymentMethodKind,
    PaymentStatus,
    Refund,
    RefundStatus,
    SessionType,
    end_reason_text,
    utcnow,
)
from booking.core.money import to_major_units
from booking.core.time import LocaleLike, format_datetime, format_money, format_time_range, zone_or_utc
from booking.payments import disputes
from booking.payments import ledger as payment_records
from booking.scheduling import questions

PAGE_SIZE = 50
# The badges: the booking's own status, except that a refund is what the builder needs to see.
STATUS_LABELS = {
    "pending": "Pending",
    "processing": "Payment processing",  # a bank debit on its way: the slot is taken, not yet confirmed
    "confirmed": "Confirmed",
    "cancelled": "Cancelled",
    "expired": "Expired",
    "refunded": "Refunded",
    "partially_refunded": "Partially refunded",
}
STATUS_COLOURS = {
    "pending": "amber",
    "processing": "blue",
    "confirmed": "green",
    "cancelled": "gray",
    "expired": "gray",
    "refunded": "purple",
    "partially_refunded": "iris",
}
_REFUND_STATUSES = (PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED)
_MAX_EMAIL_MATCHES = 200


def display_status(status: BookingStatus | str, payment_status: PaymentStatus | str | None) -> str:
    """The booking's status, or its payment's when that was refunded or is processing (a bank debit on its way:
    the ledger's word)."""
    payment_status = PaymentStatus(payment_status) if payment_status else None
    if payment_status == PaymentStatus.PROCESSING and BookingStatus(status) == BookingStatus.PENDING:
        return PaymentStatus.PROCESSING.value
    return payment_status.value if payment_status in _REFUND_STATUSES else BookingStatus(status).value


def _status_clause(status: str):
    """The badge filter: a refund status is the booking's payment's (asked of the ledger), else the booking's."""
    paid_as = payment_records.booking_payment_status()
    if status in (PaymentStatus.REFUNDED.value, PaymentStatus.PARTIALLY_REFUNDED.value):
        return paid_as == PaymentStatus(status).value
    if status == PaymentStatus.PROCESSING.value:
        return sa.and_(Booking.status == BookingStatus.PENDING, paid_as == PaymentStatus.PROCESSING.value)
    shown_otherwise = [s.value for s in _REFUND_STATUSES]
    if BookingStatus(status) == BookingStatus.PENDING:
        shown_otherwise.append(PaymentStatus.PROCESSING.value)
    return sa.and_(Booking.status == BookingStatus(status),
                   sa.or_(paid_as.is_(None), paid_as.not_in(shown_otherwise)))


def format_slot(start: datetime, end: datetime, time_zone: str | None, *, locale: LocaleLike = None) -> str:
    """'Tue 3 Mar 2026, 10:00–11:00 GMT' in the given zone (an unknown one reads as UTC)."""
    return format_time_range(start, end, zone=zone_or_utc(time_zone), locale=locale, date_style="short_year")


def format_moment(moment: datetime | None, time_zone: str | None, *, locale: LocaleLike = None) -> str:
    """'3 Mar 2026, 10:00 GMT'."""
    if moment is None:
        return ""
    return format_datetime(moment, zone=zone_or_utc(time_zone), locale=locale, date_style="medium")


def major_units(amount: int, currency: str) -> str:
    """For a form's default: 5000 gbp -> '50.00'; 5000 jpy -> '5000'."""
    return f"{to_major_units(amount, currency):f}"


# --- the list -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingQuery:
    builder_id: int | None  # None: every builder's (a platform admin)
    past: bool = False
    status: str = ""  # one of STATUS_LABELS, or "" for all
    date_from: date | None = None  # in `time_zone`, inclusive
    date_to: date | None = None  # inclusive
    email: str = ""  # the client's email, or its beginning
    page: int = 1
    time_zone: str = "UTC"  # the viewer's: days and "today" are theirs
    locale: str = ""  # the viewer's language ("en-GB"): how dates and amounts are written


@dataclass(frozen=True)
class BookingRow:
    id: str
    when: str  # in the builder's zone
    status: str
    status_label: str
    client_name: str
    client_email: str
    session_type: str
    amount: str
    builder_name: str
    dispute_label: str = ""  # "Disputed", "Dispute won", ... beside the state (a payment matter)


@dataclass(frozen=True)
class BookingPage:
    rows: list[BookingRow]
    page: int
    has_next: bool


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def list_statement(*, query: BookingQuery, now: datetime | None = None):
    """The page's one SELECT (exposed for the benchmark's query plans): the page of bookings first, then the
    money of those rows only, from each one's payment (the ledger's rows)."""
    now = now or utcnow()
    zone = zone_or_utc(query.time_zone)
    page = max(1, query.page)
    today = _local_midnight(now.astimezone(zone).date(), zone)
    statement = (
        select(Booking.id, Booking.start_time, Booking.end_time, Booking.status,
               sa.func.coalesce(Booking.client_name, Client.name).label("client_name"), Client.email,
               SessionType.name.label("session_type"), Builder.name.label("builder_name"),
               Builder.time_zone)
        .join(Client, Client.id == Booking.client_id)
        .join(SessionType, SessionType.id == Booking.session_type_id)
        .join(Builder, Builder.id == Booking.builder_id)
    )
    if query.builder_id is not None:
        statement = statement.where(Booking.builder_id == query.builder_id)
    if query.past:
        statement = statement.where(Booking.start_time < today).order_by(Booking.start_time.desc(), Booking.id.desc())
    else:
        statement = statement.where(Booking.start_time >= today).order_by(Booking.start_time, Booking.id)
    order = (sa.desc, sa.desc) if query.past else (sa.asc, sa.asc)
    if query.status in STATUS_LABELS:
        statement = statement.where(_status_clause(query.status))
    if query.date_from is not None:
        statement = statement.where(Booking.start_time >= _local_midnight(query.date_from, zone))
    if query.date_to is not None:
        statement = statement.where(Booking.start_time < _local_midnight(query.date_to + timedelta(days=1), zone))
    email = query.email.strip().lower()
    if email:
        clients = (select(Client.id).where(Client.email >= email, Client.email < email + "\U0010ffff")
                   .limit(_MAX_EMAIL_MATCHES))
        statement = statement.where(Booking.client_id.in_(clients.scalar_subquery()))
    rows = statement.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1).subquery("page")
    return (
        select(rows.c.id, rows.c.start_time, rows.c.end_time, rows.c.status, Payment.status, Payment.amount,
               Payment.currency, rows.c.client_name, rows.c.email, rows.c.session_type, rows.c.builder_name,
               rows.c.time_zone)
        .select_from(rows)
        .outerjoin(Payment, Payment.id == payment_records.booking_payment_id(of=rows.c.id))
        .order_by(order[0](rows.c.start_time), order[1](rows.c.id))
    )


def list_bookings(*, session: Session, query: BookingQuery, now: datetime | None = None) -> BookingPage:
    """One page: upcoming (today on, soonest first) or past (latest first), filtered."""
    found = session.exec(list_statement(query=query, now=now)).all()
    disputed = disputes.dispute_labels(session=session, booking_ids=[row[0] for row in found[:PAGE_SIZE]])
    rows = [
        BookingRow(
            id=booking_id,
            when=format_slot(start, end, builder_zone, locale=query.locale),
            status=display_status(status, payment_status),
            status_label=STATUS_LABELS[display_status(status, payment_status)],
            client_name=client_name,
            client_email=client_email,
            session_type=session_type,
            amount=format_money(amount, currency, locale=query.locale),
            builder_name=builder_name,
            dispute_label=disputed.get(booking_id, ""),
        )
        for (booking_id, start, end, status, payment_status, amount, currency, client_name, client_email,
             session_type, builder_name, builder_zone) in found[:PAGE_SIZE]
    ]
    return BookingPage(rows=rows, page=max(1, query.page), has_next=len(found) > PAGE_SIZE)


# --- one booking ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentLine:
    attempt: int
    status: str
    method: str  # "SEPA Direct Debit", "Apple Pay", ... ("" until Stripe's charge says)
    amount: str
    refunded: str
    checkout_session_id: str
    payment_intent_id: str
    failure: str
    created: str
    paid: str


@dataclass(frozen=True)
class RefundLine:
    id: str
    amount: str
    status: str
    reason: str
    requested_by: str
    created: str
    failure_reason: str
    stripe_refund_id: str
    can_retry: bool


@dataclass(frozen=True)
class AnswerLine:
    """A booking question and the client's answer (the builder's eyes only)."""

    question: str
    answer: str


@dataclass(frozen=True)
class AttendeeLine:
    """One seat of a workshop's session: who holds it (the builder's eyes only; attendees never see each other)."""

    booking_id: str
    seat: str  # "Seat 2"
    name: str
    email: str
    status_label: str


@dataclass(frozen=True)
class BookingDetail:
    """Every field has a default: the workspace's "nothing open" is `BookingDetail()`."""

    id: str = ""
    status: str = ""
    status_label: str = ""
    when: str = ""
    time_zone: str = ""
    client_name: str = ""
    client_email: str = ""
    session_type: str = ""
    builder_name: str = ""
    amount: str = ""
    amount_refunded: str = ""
    currency: str = ""
    left_minor: int = 0  # what a refund may still take, in minor units
    left: str = ""  # formatted
    left_major: str = ""  # the refund form's default
    end_reason: str = ""  # why it ended, as shown (the builder's note, else the cause's text)
    can_refund: bool = False
    can_cancel: bool = False
    # Confirmed and not started: a full refund asks whether the session is cancelled too.
    upcoming: bool = False
    payments: list[PaymentLine] = field(default_factory=list)
    refunds: list[RefundLine] = field(default_factory=list)
    dispute_label: str = ""  # "Disputed", "Dispute won", ... ("" for none)
    dispute_id: str = ""  # its row on the Disputes page
    answers: list[AnswerLine] = field(default_factory=list)  # the booking questions, answered
    seat: str = ""  # a workshop: "Seat 2 of 3" ("" for a one-to-one session)
    attendees: list[AttendeeLine] = field(default_factory=list)  # a workshop: every active seat of the session
    # Host tools: the builder's private notes (never shown to the client) and "Reschedule" (confirmed, upcoming).
    host_note: str = ""
    can_reschedule: bool = False
    # Attended / no-show (booking.lifecycle.no_show): what was marked ("" none), whether it may be marked
    # now (confirmed, started, not marked yet), and the no-show fee of a booking that kept a card.
    attendance: str = ""
    can_mark_attendance: bool = False
    no_show_fee: str = ""


def _attendees(session: Session, booking: Booking) -> list[AttendeeLine]:
    """The active seats of the booking's session (same builder, type, start), by seat number."""
    rows = session.exec(select(Booking, Client).join(Client, Client.id == Booking.client_id).where(
        Booking.builder_id == booking.builder_id, Booking.session_type_id == booking.session_type_id,
        Booking.start_time == booking.start_time,
        Booking.status.in_((BookingStatus.PENDING, BookingStatus.CONFIRMED))).order_by(Booking.seat_no)).all()
    return [AttendeeLine(booking_id=row.id, seat=f"Seat {row.seat_no + 1}", name=row.client_name or client.name,
                         email=client.email, status_label="Confirmed" if row.status == BookingStatus.CONFIRMED
                         else "Held, paying") for row, client in rows]


_ATTENDANCE_LABELS = {Attendance.ATTENDED: "Attended", Attendance.NO_SHOW: "No-show"}


def booking_detail(*, session: Session, actor: Actor, booking_id: str, locale: LocaleLike = None) -> BookingDetail:
    """Raises authz.NotFound for a booking that doesn't exist or isn't the actor's."""
    booking = authz.load_owned(session=session, actor=actor, model=Booking, object_id=booking_id)
    builder = session.get(Builder, booking.builder_id)
    client = session.get(Client, booking.client_id)
    session_type = session.get(SessionType, booking.session_type_id)
    zone = builder.time_zone if builder else "UTC"
    payments = session.exec(select(Payment).where(Payment.booking_id == booking.id).order_by(Payment.attempt)).all()
    refunds = session.exec(select(Refund).where(Refund.booking_id == booking.id)
                           .order_by(Refund.created_at, Refund.id)).all()
    paid = payment_records.paid_payment_of(session=session, booking=booking)
    left = payment_records.amount_left(session=session, payment=paid) if paid is not None else 0
    money = payment_records.money_of(session=session, booking=booking)
    currency = paid.currency if paid is not None else money.currency
    retried = {row.request_key for row in refunds if row.request_key}
    status = display_status(booking.status, money.status)
    dispute = disputes.latest_dispute_of(session=session, booking_id=booking.id)
    return BookingDetail(
        id=booking.id,
        status=status,
        status_label=STATUS_LABELS[status],
        when=format_slot(booking.start_time, booking.end_time, zone, locale=locale),
        time_zone=zone,
        client_name=booking.client_name or (client.name if client else ""),  # the name given with this booking
        client_email=client.email if client else "",
        session_type=session_type.name if session_type else "",
        builder_name=builder.name if builder else "",
        amount=format_money(money.amount, money.currency, locale=locale),
        amount_refunded=format_money(money.amount_refunded, money.currency, locale=locale),
        currency=currency,
        left_minor=left,
        left=format_money(left, currency, locale=locale),
        left_major=major_units(left, currency),
        end_reason=end_reason_text(booking.end_cause, booking.end_note),
        can_refund=bool(paid is not None and paid.payment_intent_id and left > 0),
        can_cancel=booking.status in (BookingStatus.PENDING, BookingStatus.CONFIRMED),
        upcoming=booking.status == BookingStatus.CONFIRMED and _aware(booking.start_time) > utcnow(),
        payments=[_payment_line(p, zone, locale) for p in payments],
        refunds=[_refund_line(r, zone, retried, locale) for r in refunds],
        dispute_label=disputes.disputed_label(dispute.status) if dispute is not None else "",
        dispute_id=str(dispute.id) if dispute is not None else "",
        answers=[AnswerLine(question=answer.label, answer=answer.shown)
                 for answer in questions.answers_of(session=session, booking_id=booking.id)],
        seat=f"Seat {booking.seat_no + 1} of {booking.seat_capacity}" if booking.seat_capacity > 1 else "",
        attendees=_attendees(session, booking) if booking.seat_capacity > 1 else [],
        host_note=booking.host_note or "",
        can_reschedule=booking.status == BookingStatus.CONFIRMED and _aware(booking.start_time) > utcnow(),
        attendance=_ATTENDANCE_LABELS.get(booking.attendance, "") if booking.attendance else "",
        can_mark_attendance=(booking.status == BookingStatus.CONFIRMED and booking.attendance is None
                             and _aware(booking.start_time) <= app_clock.now()),
        no_show_fee=(format_money(session_type.no_show_fee_amount, session_type.currency, locale=locale)
                     if session_type and session_type.no_show_fee_amount
                     and session.get(CardOnFile, booking.id) is not None else ""),
    )


def _payment_line(payment: Payment, zone: str, locale: LocaleLike = None) -> PaymentLine:
    failure = " ".join(part for part in (payment.failure_code or "", payment.failure_message or "") if part)
    return PaymentLine(
        attempt=payment.attempt,
        status=PaymentStatus(payment.status).value,
        method=PAYMENT_METHOD_LABELS[PaymentMethodKind(payment.payment_method_type)]
        if payment.payment_method_type else "",
        amount=format_money(payment.amount, payment.currency, locale=locale),
        refunded=(format_money(payment.amount_refunded, payment.currency, locale=locale)
                  if payment.amount_refunded else ""),
        checkout_session_id=payment.checkout_session_id or "",
        payment_intent_id=payment.payment_intent_id or "",
        failure=failure,
        created=format_moment(payment.created_at, zone, locale=locale),
        paid=format_moment(payment.paid_at, zone, locale=locale),
    )


def _refund_line(refund: Refund, zone: str, request_keys: set[str], locale: LocaleLike = None) -> RefundLine:
    status = RefundStatus(refund.status)
    return RefundLine(
        id=str(refund.id),
        amount=format_money(refund.amount, refund.currency, locale=locale),
        status=status.value,
        reason=(refund.reason or "").replace("_", " "),
        requested_by=refund.requested_by,
        created=format_moment(refund.created_at, zone, locale=locale),
        failure_reason=refund.failure_reason or "",
        stripe_refund_id=refund.stripe_refund_id or "",
        # A failed refund offers a Retry until it has been retried (the retry is its own row).
        can_retry=status in (RefundStatus.FAILED, RefundStatus.CANCELED) and f"retry-{refund.id}" not in request_keys,
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=utcnow().tzinfo)
