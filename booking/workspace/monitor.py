"""The workspace's monitor: read models (failed payments, expired holds, refunds, the webhook log, the
email outbox), each one page at a time and scoped to a builder (None = everyone, for a platform admin),
and the two operator actions on them (replay a failed event, retry an email), each audited.

Rows are display-ready (times in the viewer's zone, money formatted) so the UI only lays them out.
"""

from __future__ import annotations

import json
import math
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.accounts import audit, authz
from booking.accounts.authz import Actor
from booking.core.db import session_scope, utc_of_computed
from booking.core.models import (
    Booking,
    BookingStatus,
    Builder,
    Client,
    EventStatus,
    Membership,
    MembershipInvoice,
    MembershipInvoiceStatus,
    MembershipPlan,
    Notification,
    NotificationStatus,
    Payment,
    PaymentMismatch,
    PaymentStatus,
    Refund,
    SessionType,
    StripeEvent,
    utcnow,
)
from booking.core.time import format_datetime, format_money
from booking.events import webhooks
from booking.payments import ledger as payment_records
from booking.payments.gateway import PaymentGateway
from booking.scheduling.availability import load_zone

PAGE_SIZE = 50
# A pending email whose due time passed this long ago is stuck (the worker would have taken it).
STUCK_AFTER = timedelta(minutes=10)
_ERROR_SUMMARY_LENGTH = 160

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    page: int  # 1-based, clamped to the pages there are
    pages: int
    total: int


# --- shared helpers -------------------------------------------------------------------------------


def viewer_zone(*, session: Session, actor: Actor) -> tzinfo:
    """A builder reads times in their own zone; a platform admin in UTC."""
    builder = session.get(Builder, actor.builder_id) if actor.builder_id is not None else None
    if builder is not None:
        try:
            return load_zone(builder.time_zone)
        except ValueError:
            pass
    return UTC


def format_time(moment: datetime | None, zone: tzinfo) -> str:
    """'2026-12-01 14:00 GMT': sortable, in the viewer's zone (SQLite's naive values are UTC)."""
    return "" if moment is None else format_datetime(moment, zone=zone, date_style="iso", hour12=False)


def _paged(session: Session, query: Any, count_query: Any, page: int) -> tuple[list[Any], int, int, int]:
    total = session.exec(count_query).one()
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(1, int(page or 1)), pages)
    rows = session.exec(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return list(rows), page, pages, total


def _count(query: Any) -> Any:
    return select(sa.func.count()).select_from(query.order_by(None).subquery())


def _of_builder(query: Any, builder_id: int | None) -> Any:
    return query if builder_id is None else query.where(Booking.builder_id == builder_id)


def _summary(error: str | None) -> str:
    """The last line of a traceback says what went wrong."""
    if not error:
        return ""
    lines = [line for line in error.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else "")[:_ERROR_SUMMARY_LENGTH]


# --- payments -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailedPaymentRow:
    payment_id: str  # a booking's Payment id, or "" for a membership's invoice
    booking_id: str  # "" for a membership's invoice
    client: str
    client_email: str
    session_type: str  # the session type's name, or "Membership: <plan>"
    amount: str
    code: str  # Stripe's decline or failure code ("invoice_payment_failed" for a membership's month)
    message: str
    when: str


# A membership's unpaid monthly invoice: Stripe's invoice.payment_failed carries no decline code of its own.
INVOICE_FAILED_CODE = "invoice_payment_failed"
INVOICE_FAILED_MESSAGE = "The month's payment failed; the member was emailed a link to update their card."


def failed_payments(*, session: Session, builder_id: int | None, zone: tzinfo, page: int = 1) -> Page[FailedPaymentRow]:
    """Bookings' failed Checkout payments and memberships' unpaid monthly invoices, newest first, in one list
    (an invoice paid later, with a new card, is no longer listed)."""
    bookings = _of_builder(
        select(sa.literal("booking").label("kind"), sa.cast(Payment.id, sa.String).label("payment_id"),
               Payment.booking_id.label("booking_id"),
               sa.func.coalesce(Payment.failed_at, Payment.updated_at).label("failed_at"),
               sa.func.coalesce(Booking.client_name, Client.name).label("client"), Client.email.label("email"),
               SessionType.name.label("subject"), Payment.amount.label("amount"), Payment.currency.label("currency"),
               Payment.failure_code.label("code"), Payment.failure_message.label("message"))
        .join(Booking, Booking.id == Payment.booking_id)
        .join(Client, Client.id == Booking.client_id)
        .join(SessionType, SessionType.id == Booking.session_type_id)
        .where(Payment.status == PaymentStatus.FAILED),
        builder_id,
    )
    invoices = (
        select(sa.literal("membership").label("kind"), sa.literal("").label("payment_id"),
               sa.literal("").label("booking_id"),
               sa.func.coalesce(MembershipInvoice.failed_at, MembershipInvoice.updated_at).label("failed_at"),
               Membership.client_name.label("client"), Membership.client_email.label("email"),
               MembershipPlan.name.label("subject"), MembershipInvoice.amount.label("amount"),
               MembershipInvoice.currency.label("currency"), sa.literal(INVOICE_FAILED_CODE).label("code"),
               sa.literal(INVOICE_FAILED_MESSAGE).label("message"))
        .join(Membership, Membership.id == MembershipInvoice.membership_id)
        .join(MembershipPlan, MembershipPlan.id == Membership.plan_id)
        .where(MembershipInvoice.status == MembershipInvoiceStatus.FAILED)
    )
    if builder_id is not None:
        invoices = invoices.where(Membership.builder_id == builder_id)
    both = sa.union_all(bookings, invoices).subquery()
    query = select(*both.c).order_by(both.c.failed_at.desc(), both.c.kind, both.c.payment_id.desc())
    rows, page, pages, total = _paged(session, query, select(sa.func.count()).select_from(both), page)
    return Page(
        rows=[
            FailedPaymentRow(
                payment_id=row.payment_id, booking_id=row.booking_id or "", client=row.client or "",
                client_email=row.email, amount=format_money(row.amount, row.currency),
                session_type=row.subject if row.kind == "booking" else f"Membership: {row.subject}",
                code=row.code or "unknown", message=row.message or "", when=format_time(utc_of_computed(row.failed_at), zone),
            )
            for row in rows
        ],
        page=page, pages=pages, total=total,
    )


@dataclass(frozen=True)
class ExpiredHoldRow:
    booking_id: str
    client: str
    client_email: str
    session_type: str
    amount: str
    start: str
    expired: str


def expired_holds(*, session: Session, builder_id: int | None, zone: tzinfo, page: int = 1) -> Page[ExpiredHoldRow]:
    query = _of_builder(
        select(Booking, sa.func.coalesce(Booking.client_name, Client.name), Client.email, SessionType.name)
        .join(Client, Client.id == Booking.client_id)
        .join(SessionType, SessionType.id == Booking.session_type_id)
        .where(Booking.status == BookingStatus.EXPIRED),
        builder_id,
    ).order_by(Booking.updated_at.desc(), Booking.id)
    rows, page, pages, total = _paged(session, query, _count(query), page)
    money = payment_records.money_of_many(session=session, booking_ids=[row[0].id for row in rows])
    return Page(
        rows=[
            ExpiredHoldRow(
                booking_id=booking.id, client=client_name, client_email=client_email, session_type=type_name,
                amount=format_money(money[booking.id].amount, money[booking.id].currency),
                start=format_time(booking.start_time, zone),
                expired=format_time(booking.updated_at, zone),
            )
            for booking, client_name, client_email, type_name in rows
        ],
        page=page, pages=pages, total=total,
    )


@dataclass(frozen=True)
class RefundRow:
    refund_id: str
    booking_id: str
    client: str
    amount: str
    reason: str
    status: str
    requested_by: str
    stripe_refund_id: str
    when: str


def refunds(*, session: Session, builder_id: int | None, zone: tzinfo, page: int = 1) -> Page[RefundRow]:
    query = _of_builder(
        select(Refund, sa.func.coalesce(Booking.client_name, Client.name))
        .join(Booking, Booking.id == Refund.booking_id)
        .join(Client, Client.id == Booking.client_id),
        builder_id,
    ).order_by(Refund.created_at.desc(), Refund.id.desc())
    rows, page, pages, total = _paged(session, query, _count(query), page)
    return Page(
        rows=[
            RefundRow(
                refund_id=str(refund.id), booking_id=refund.booking_id, client=client_name,
                amount=format_money(refund.amount, refund.currency), reason=refund.reason or "",
                status=str(refund.status), requested_by=refund.requested_by,
                stripe_refund_id=refund.stripe_refund_id or "", when=format_time(refund.created_at, zone),
            )
            for refund, client_name in rows
        ],
        page=page, pages=pages, total=total,
    )


@dataclass(frozen=True)
class MismatchRow:
    """Stripe said a payment differs from what we asked for (booking.payments.ledger cross-checks): the
    booking was not confirmed by it; someone has to look."""

    mismatch_id: str
    booking_id: str
    client: str
    kind: str  # session_id | booking | amount | currency
    expected: str
    actual: str
    stripe_object_id: str
    event_id: str
    when: str


MISMATCH_LABELS = {
    "session_id": "Not a checkout of ours",
    "booking": "Names another booking",
    "amount": "Amount differs",
    "currency": "Currency differs",
}


def mismatches(*, session: Session, builder_id: int | None, zone: tzinfo, page: int = 1) -> Page[MismatchRow]:
    """Unresolved payment mismatches, newest first. A builder sees their bookings' ones; a platform admin
    also those that name no booking of ours."""
    query = (
        select(PaymentMismatch, sa.func.coalesce(Booking.client_name, Client.name))
        .join(Booking, Booking.id == PaymentMismatch.booking_id, isouter=builder_id is None)
        .join(Client, Client.id == Booking.client_id, isouter=True)
        .where(PaymentMismatch.resolved_at.is_(None))
    )
    query = _of_builder(query, builder_id).order_by(PaymentMismatch.created_at.desc(), PaymentMismatch.id.desc())
    rows, page, pages, total = _paged(session, query, _count(query), page)
    return Page(
        rows=[
            MismatchRow(
                mismatch_id=str(row.id), booking_id=row.booking_id or "", client=client_name or "",
                kind=MISMATCH_LABELS.get(row.kind, row.kind), expected=row.expected, actual=row.actual,
                stripe_object_id=row.stripe_object_id or "", event_id=row.event_id or "",
                when=format_time(row.created_at, zone),
            )
            for row, client_name in rows
        ],
        page=page, pages=pages, total=total,
    )


# --- the webhook log ------------------------------------------------------------------------------

EVENT_STATUSES = tuple(status.value for status in EventStatus)


@dataclass(frozen=True)
class EventRow:
    id: str
    type: str
    status: str
    source: str
    received_at: str
    processed_at: str
    attempts: int
    error_summary: str
    error: str  # the full traceback
    booking_id: str
    replayable: bool


def events(*, session: Session, builder_id: int | None, zone: tzinfo, status: str = "", type_contains: str = "",
           page: int = 1) -> Page[EventRow]:
    """Newest first. A builder sees the events about their own bookings only."""
    query = select(StripeEvent)
    if builder_id is not None:
        query = query.join(Booking, Booking.id == StripeEvent.booking_id).where(Booking.builder_id == builder_id)
    if status in EVENT_STATUSES:
        query = query.where(StripeEvent.status == EventStatus(status))
    if type_contains.strip():
        query = query.where(StripeEvent.type.contains(type_contains.strip()[:100], autoescape=True))
    query = query.order_by(StripeEvent.received_at.desc(), StripeEvent.id.desc())
    rows, page, pages, total = _paged(session, query, _count(query), page)
    return Page(
        rows=[
            EventRow(
                id=row.id, type=row.type, status=str(row.status), source=row.source,
                received_at=format_time(row.received_at, zone), processed_at=format_time(row.processed_at, zone),
                attempts=row.attempts, error_summary=_summary(row.error), error=row.error or "",
                booking_id=row.booking_id or "", replayable=row.status == EventStatus.FAILED,
            )
            for row in rows
        ],
        page=page, pages=pages, total=total,
    )


def event_payload(*, session: Session, actor: Actor, event_id: str) -> str:
    """The stored payload, indented for reading (authz.NotFound when not the actor's)."""
    row = authz.load_owned(session=session, actor=actor, model=StripeEvent, object_id=event_id)
    try:
        return json.dumps(json.loads(row.payload), indent=2, sort_keys=True)
    except ValueError:
        return row.payload


class NotReplayable(ValueError):
    """Only a failed event is replayed from the log."""


class ReplayFailed(RuntimeError):
    """The handler failed again: the row keeps the new traceback."""


_EVENT_AUDIT_FIELDS = ("status", "attempts", "processed_at")  # not the traceback: the log has it


def replay_failed_event(*, engine: Engine, gateway: PaymentGateway, actor: Actor, event_id: str) -> str:
    """Run a failed event's handler again through `webhooks.replay_event` (the CLI's path) and audit it.

    replay_event owns its transaction, so the audit entry is written just after it, with the outcome.
    """
    with session_scope(engine) as session:
        row = authz.load_owned(session=session, actor=actor, model=StripeEvent, object_id=event_id)
        if row.status != EventStatus.FAILED:
            raise NotReplayable("Only a failed event can be replayed.")
        event_id, before = row.id, audit.snapshot(row, _EVENT_AUDIT_FIELDS)
    failure: Exception | None = None
    try:
        outcome = webhooks.replay_event(engine=engine, gateway=gateway, event_id=event_id)
    except Exception as exc:  # the handler's own error: kept on the row like a failed delivery's
        failure, outcome = exc, f"failed again: {type(exc).__name__}"
        webhooks._record_failure(engine, event_id, exc)  # the log shows the newest traceback
    with session_scope(engine) as session:
        row = session.get(StripeEvent, event_id)
        audit.record(session=session, actor=actor, action="webhook_event.replay", entity_type="stripe_event",
                     entity_id=event_id, builder_id=authz.OWNER_OF[StripeEvent](session, row), before=before,
                     after={**(audit.snapshot(row, _EVENT_AUDIT_FIELDS) or {}), "outcome": outcome})
    if failure is not None:
        raise ReplayFailed(_summary("".join(traceback.format_exception_only(failure)))) from failure
    return outcome


# --- the email outbox -----------------------------------------------------------------------------

NOTIFICATION_STATUSES = tuple(status.value for status in NotificationStatus)


@dataclass(frozen=True)
class OutboxRow:
    id: str
    kind: str
    recipient: str
    booking_id: str
    status: str
    attempts: int
    last_error: str
    created_at: str
    sent_at: str
    next_attempt_at: str
    retryable: bool


def is_retryable(notification: Notification, now: datetime) -> bool:
    """Failed, or pending but stuck: waiting out a backoff after a failure, or long overdue."""
    if notification.status == NotificationStatus.FAILED:
        return True
    if notification.status != NotificationStatus.PENDING:
        return False
    due = notification.next_attempt_at
    if due.utcoffset() is None:
        due = due.replace(tzinfo=UTC)
    return notification.attempts > 0 or due <= now - STUCK_AFTER


def outbox(*, session: Session, builder_id: int | None, zone: tzinfo, status: str = "", search: str = "",
           page: int = 1, now: datetime | None = None) -> Page[OutboxRow]:
    """Newest first. A builder sees the emails about their own bookings only."""
    now = now or utcnow()
    query = select(Notification)
    if builder_id is not None:
        query = query.join(Booking, Booking.id == Notification.booking_id).where(Booking.builder_id == builder_id)
    if status in NOTIFICATION_STATUSES:
        query = query.where(Notification.status == NotificationStatus(status))
    if search.strip():
        text = search.strip()[:254]
        query = query.where(sa.or_(Notification.recipient.contains(text, autoescape=True),
                                   Notification.kind.contains(text, autoescape=True)))
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc())
    rows, page, pages, total = _paged(session, query, _count(query), page)
    return Page(
        rows=[
            OutboxRow(
                id=str(row.id), kind=row.kind, recipient=row.recipient, booking_id=row.booking_id or "",
                status=str(row.status), attempts=row.attempts, last_error=row.last_error or "",
                created_at=format_time(row.created_at, zone), sent_at=format_time(row.sent_at, zone),
                next_attempt_at=format_time(row.next_attempt_at, zone) if row.status == NotificationStatus.PENDING else "",
                retryable=is_retryable(row, now),
            )
            for row in rows
        ],
        page=page, pages=pages, total=total,
    )


class NotRetryable(ValueError):
    """Sent already, or pending and about to be sent anyway."""


_NOTIFICATION_AUDIT_FIELDS = ("status", "next_attempt_at", "attempts", "last_error")


def retry_notification(*, session: Session, actor: Actor, notification_id: str,
                       now: datetime | None = None) -> Notification:
    """Make a failed (or stuck) email due now; the worker sends it on its next tick. Audited."""
    now = now or utcnow()
    row = authz.load_owned(session=session, actor=actor, model=Notification, object_id=notification_id,
                           for_update=True)
    if not is_retryable(row, now):
        raise NotRetryable("That email is already sent or about to be sent.")
    before = audit.snapshot(row, _NOTIFICATION_AUDIT_FIELDS)
    row.status = NotificationStatus.PENDING
    row.next_attempt_at = now
    session.add(row)
    session.flush()
    audit.record(session=session, actor=actor, action="notification.retry", entity_type="notification",
                 entity_id=row.id, builder_id=authz.OWNER_OF[Notification](session, row), before=before,
                 after=audit.snapshot(row, _NOTIFICATION_AUDIT_FIELDS))
    return row
