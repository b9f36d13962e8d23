"""Booking emails through an outbox.

`queue_booking_notifications` adds `Notification` rows inside the caller's transaction, next to the
state change they announce, so an email is queued if and only if the change commits.
`send_due_notifications` is one tick of the worker: it claims due rows, renders them from their
payload, sends them and records the outcome, retrying with exponential backoff.

Delivery is at least once: a worker that dies between sending and recording lets the row become due
again when its claim lapses. Everything short of that (repeated events, several workers) sends once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from booking.db import session_scope
from booking.email_templates import (
    BookingFacts,
    NotificationKind,
    RecipientRole,
    facts_from_payload,
    payload_json,
    recipient_zone,
    render_booking_email,
)
from booking.ics import booking_invite, site_domain
from booking.mailer import (
    KIND_HEADER,
    NOTIFICATION_ID_HEADER,
    MailDeliveryError,
    Mailer,
)
from booking.models import (
    Booking,
    BookingStatus,
    Builder,
    Client,
    Notification,
    NotificationStatus,
    PaymentStatus,
    SessionType,
)

__all__ = [
    "NotificationKind",
    "RecipientRole",
    "SendReport",
    "notification_worker",
    "queue_booking_notifications",
    "send_due_notifications",
]

log = logging.getLogger(__name__)

# The builder hears about changes to bookings they were told about; the rest is the client's business.
RECIPIENTS: dict[NotificationKind, tuple[RecipientRole, ...]] = {
    NotificationKind.BOOKING_CONFIRMED: (RecipientRole.CLIENT, RecipientRole.BUILDER),
    NotificationKind.PAYMENT_FAILED: (RecipientRole.CLIENT,),
    NotificationKind.BOOKING_REFUNDED: (RecipientRole.CLIENT, RecipientRole.BUILDER),
    NotificationKind.BOOKING_CANCELLED: (RecipientRole.CLIENT, RecipientRole.BUILDER),
    NotificationKind.HOLD_EXPIRED: (RecipientRole.CLIENT,),
}
# Emails that would ask for (or about) a payment: never sent once the booking is paid.
PAYMENT_CHASING_KINDS = frozenset({NotificationKind.PAYMENT_FAILED, NotificationKind.HOLD_EXPIRED})
PAID_STATUSES = frozenset({PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED})
SKIPPED_ALREADY_PAID = "skipped: booking already paid"

# A claimed row is invisible to other workers for this long: far longer than one SMTP send.
CLAIM_LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=1)
_DEDUPE_KEY_LENGTH = 255  # Notification.dedupe_key column width
_ERROR_LENGTH = 1000


# --- queueing (inside the caller's transaction) ----------------------------------------------------


def queue_booking_notifications(
    *, session: Session, booking: Booking, kind: NotificationKind | str, cause: str = ""
) -> list[Notification]:
    """Add the outbox rows for `kind` about `booking`; returns the rows added (flushed, not committed).

    The same (kind, booking, recipient, cause) is queued once: a repeat returns []. `cause` tells apart
    events that may legitimately repeat, e.g. the refund id for each partial refund.
    """
    kind = NotificationKind(kind)
    if kind in PAYMENT_CHASING_KINDS and booking_is_paid(booking):
        log.info("not queueing %s for booking %s: it is already paid", kind, booking.id)
        return []
    client = session.get(Client, booking.client_id)
    builder = session.get(Builder, booking.builder_id)
    session_type = session.get(SessionType, booking.session_type_id)
    if client is None or builder is None:
        raise ValueError(f"booking {booking.id} has no client or builder row")
    facts = _booking_facts(booking=booking, client=client, builder=builder, session_type=session_type)
    roles = RECIPIENTS[kind]
    if kind == NotificationKind.BOOKING_CANCELLED and not facts.was_confirmed:
        roles = (RecipientRole.CLIENT,)  # the builder never heard of an unpaid hold
    added = []
    for role in roles:
        notification = Notification(
            dedupe_key=dedupe_key(kind=kind, booking_id=booking.id, role=role, cause=cause),
            kind=str(kind),
            recipient=client.email if role == RecipientRole.CLIENT else builder.email,
            booking_id=booking.id,
            payload=payload_json(kind=kind, role=role, facts=facts),
        )
        if _insert_once(session=session, notification=notification):
            added.append(notification)
    return added


def dedupe_key(*, kind: NotificationKind | str, booking_id: str, role: RecipientRole | str, cause: str = "") -> str:
    key = f"{kind}:{booking_id}:{role}:{cause}"
    if len(key) <= _DEDUPE_KEY_LENGTH:
        return key
    # A long cause still dedupes, by its digest, within the column's width.
    digest = hashlib.sha256(cause.encode()).hexdigest()
    return f"{kind}:{booking_id}:{role}:sha256={digest}"


def booking_is_paid(booking: Booking) -> bool:
    return booking.status == BookingStatus.CONFIRMED or booking.payment_status in PAID_STATUSES


def _insert_once(*, session: Session, notification: Notification) -> bool:
    # Check first (the common repeat is cheap and logs nothing), then let the unique index settle
    # a race with a concurrent transaction; the savepoint keeps the caller's transaction usable.
    existing = session.exec(
        select(Notification.id).where(Notification.dedupe_key == notification.dedupe_key)
    ).first()
    if existing is not None:
        return False
    try:
        with session.begin_nested():
            session.add(notification)
    except IntegrityError:
        return False
    return True


def _booking_facts(*, booking: Booking, client: Client, builder: Builder, session_type: SessionType | None) -> BookingFacts:
    from booking.config import get_settings  # read when queueing, never at import

    return BookingFacts(
        booking_id=booking.id,
        session_type_name=session_type.name if session_type else "Session",
        duration_minutes=session_type.duration_minutes if session_type else 0,
        start_time=_utc(booking.start_time),
        end_time=_utc(booking.end_time),
        client_name=client.name,
        client_email=client.email,
        client_time_zone=booking.client_time_zone or "UTC",
        builder_name=builder.name,
        builder_email=builder.email,
        builder_time_zone=builder.time_zone or "UTC",
        amount=booking.amount,
        currency=booking.currency,
        amount_refunded=booking.amount_refunded or 0,
        booking_status=str(booking.status),
        payment_status=str(booking.payment_status),
        hold_expires_at=_utc(booking.hold_expires_at) if booking.hold_expires_at else None,
        checkout_url=booking.checkout_url or "",
        reason=booking.cancellation_reason or "",
        was_confirmed=booking.confirmed_at is not None or booking.status == BookingStatus.CONFIRMED,
        site_domain=site_domain(get_settings().public_url),
        # The client learns where the session is only once it is paid.
        location=(session_type.location or "") if session_type and booking_is_paid(booking) else "",
    )


def _utc(moment: datetime) -> datetime:
    if moment.utcoffset() is None:  # stored UTC without an offset
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# --- the message -------------------------------------------------------------------------------------


def build_message(*, notification_id: int, kind: NotificationKind | str, recipient: str, payload: str, now: datetime) -> EmailMessage:
    """The full email for one outbox row: text + HTML, and the calendar invite where one belongs."""
    kind = NotificationKind(kind)
    role, facts = facts_from_payload(payload)
    rendered = render_booking_email(kind=kind, role=role, facts=facts)
    recipient_name = facts.client_name if role == RecipientRole.CLIENT else facts.builder_name
    message = EmailMessage()
    message["To"] = formataddr((" ".join(recipient_name.split()), recipient))
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(now.astimezone(UTC))
    # Stable across retries, so a receiving server can drop a duplicate of an at-least-once resend.
    message["Message-ID"] = f"<notification-{notification_id}.{facts.booking_id}@{facts.site_domain}>"
    message[KIND_HEADER] = str(kind)
    message[NOTIFICATION_ID_HEADER] = str(notification_id)
    # Quoted-printable keeps the saved .eml files readable (names, £, dashes are not ASCII).
    message.set_content(rendered.text, cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    invite = _invite_for(kind=kind, role=role, facts=facts, now=now)
    if invite is not None:
        filename, method, data = invite
        message.add_attachment(
            data,
            maintype="text",
            subtype="calendar",
            filename=filename,
            params={"method": method, "charset": "utf-8"},
        )
    return message


def _invite_for(*, kind: NotificationKind, role: RecipientRole, facts: BookingFacts, now: datetime) -> tuple[str, str, bytes] | None:
    if kind == NotificationKind.BOOKING_CONFIRMED:
        filename, method = "invite.ics", "REQUEST"
    elif kind == NotificationKind.BOOKING_CANCELLED and facts.was_confirmed:
        filename, method = "cancel.ics", "CANCEL"
    else:
        return None
    other = facts.client_name if role == RecipientRole.BUILDER else facts.builder_name
    zone = recipient_zone(role, facts)
    data = booking_invite(
        uid=facts.invite_uid,
        summary=f"{facts.session_type_name} with {' '.join(other.split())}",
        description=f"Booking reference {facts.booking_id} ({zone.key}).",
        start=facts.start_time,
        end=facts.end_time,
        organizer_email=facts.builder_email,
        organizer_name=facts.builder_name,
        attendee_email=facts.client_email,
        attendee_name=facts.client_name,
        location=facts.location,
        method=method,
        stamp=now,
    )
    return filename, method, data


# --- the worker -----------------------------------------------------------------------------------


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0  # failed this time, due again later
    failed: int = 0  # gave up
    skipped: int = 0  # no longer relevant (a payment reminder for a paid booking)

    @property
    def total(self) -> int:
        return self.sent + self.retried + self.failed + self.skipped


@dataclass(frozen=True)
class _Claim:
    notification_id: int
    kind: str
    recipient: str
    payload: str
    attempts: int
    lease_until: datetime | None
    skipped: bool = False  # settled without sending

    @classmethod
    def skip(cls, notification: Notification) -> _Claim:
        return cls(
            notification_id=notification.id,
            kind=notification.kind,
            recipient=notification.recipient,
            payload=notification.payload,
            attempts=notification.attempts,
            lease_until=None,
            skipped=True,
        )


def send_due_notifications(
    *,
    engine: Engine,
    mailer: Mailer,
    now: datetime | None = None,
    batch_size: int = 50,
    max_attempts: int = 6,
    base_delay_seconds: float = 30,
) -> SendReport:
    """Send up to `batch_size` due notifications, each claimed, sent and recorded on its own.

    `now` pins the clock (tests); by default each step reads the real time.
    """
    pinned = _utc(now) if now is not None else None

    def clock() -> datetime:
        return pinned or datetime.now(UTC)

    report = SendReport()
    for _ in range(batch_size):
        claim = _claim_next_due(engine=engine, now=clock())
        if claim is None:
            break
        if claim.skipped:
            report.skipped += 1
            continue
        _deliver(
            engine=engine,
            mailer=mailer,
            claim=claim,
            clock=clock,
            report=report,
            max_attempts=max_attempts,
            base_delay=timedelta(seconds=base_delay_seconds),
        )
    if report.total:
        log.info(
            "notifications: %d sent, %d to retry, %d failed, %d skipped",
            report.sent, report.retried, report.failed, report.skipped,
        )
    return report


def _claim_next_due(*, engine: Engine, now: datetime) -> _Claim | None:
    """Take the oldest due row: push its next_attempt_at past a lease so no other worker takes it.

    PostgreSQL: FOR UPDATE SKIP LOCKED lets concurrent workers pass each other's rows.
    SQLite: the transaction is BEGIN IMMEDIATE (booking.db), so claims are simply serialised.
    """
    with session_scope(engine) as session:
        notification = session.exec(
            select(Notification)
            .where(Notification.status == NotificationStatus.PENDING, Notification.next_attempt_at <= now)
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if notification is None:
            return None
        if notification.kind in PAYMENT_CHASING_KINDS and _booking_now_paid(session, notification.booking_id):
            notification.status = NotificationStatus.SENT
            notification.sent_at = now
            notification.last_error = SKIPPED_ALREADY_PAID
            log.info("notification %s (%s) skipped: booking already paid", notification.id, notification.kind)
            return _Claim.skip(notification)
        lease_until = now + CLAIM_LEASE
        notification.next_attempt_at = lease_until
        return _Claim(
            notification_id=notification.id,
            kind=notification.kind,
            recipient=notification.recipient,
            payload=notification.payload,
            attempts=notification.attempts,
            lease_until=lease_until,
        )


def _booking_now_paid(session: Session, booking_id: str | None) -> bool:
    if booking_id is None:
        return False
    booking = session.get(Booking, booking_id)
    return booking is not None and booking_is_paid(booking)


def _deliver(
    *,
    engine: Engine,
    mailer: Mailer,
    claim: _Claim,
    clock: Callable[[], datetime],
    report: SendReport,
    max_attempts: int,
    base_delay: timedelta,
) -> None:
    # Sending happens outside any transaction: a slow SMTP server holds no database lock.
    error: str | None = None
    permanent = False
    try:
        message = build_message(
            notification_id=claim.notification_id,
            kind=claim.kind,
            recipient=claim.recipient,
            payload=claim.payload,
            now=clock(),
        )
    except Exception as exc:
        error, permanent = f"cannot render: {type(exc).__name__}: {exc}", True
    else:
        try:
            mailer.send(message)
        except MailDeliveryError as exc:
            error, permanent = str(exc), exc.permanent
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
    _record_outcome(
        engine=engine,
        claim=claim,
        now=clock(),
        error=error,
        permanent=permanent,
        report=report,
        max_attempts=max_attempts,
        base_delay=base_delay,
    )


def _record_outcome(
    *,
    engine: Engine,
    claim: _Claim,
    now: datetime,
    error: str | None,
    permanent: bool,
    report: SendReport,
    max_attempts: int,
    base_delay: timedelta,
) -> None:
    with session_scope(engine) as session:
        notification = session.exec(
            select(Notification)
            .where(
                Notification.id == claim.notification_id,
                Notification.status == NotificationStatus.PENDING,
                # Still our claim: had it lapsed and been re-claimed, the other worker records it.
                Notification.next_attempt_at == claim.lease_until,
            )
            .with_for_update()
        ).first()
        if notification is None:
            log.warning("notification %s: claim lapsed before its outcome was recorded", claim.notification_id)
            return
        notification.attempts = claim.attempts + 1
        if error is None:
            notification.status = NotificationStatus.SENT
            notification.sent_at = now
            notification.last_error = None
            notification.next_attempt_at = now
            report.sent += 1
            log.info("notification %s (%s) sent to %s", claim.notification_id, claim.kind, claim.recipient)
            return
        notification.last_error = error[:_ERROR_LENGTH]
        if permanent or notification.attempts >= max_attempts:
            notification.status = NotificationStatus.FAILED
            notification.next_attempt_at = now
            report.failed += 1
            log.error(
                "notification %s (%s to %s) failed after %d attempt(s): %s",
                claim.notification_id, claim.kind, claim.recipient, notification.attempts, error,
            )
            return
        notification.next_attempt_at = now + backoff_delay(attempts=notification.attempts, base_delay=base_delay)
        report.retried += 1
        log.warning(
            "notification %s (%s to %s) attempt %d failed, retrying at %s: %s",
            claim.notification_id, claim.kind, claim.recipient, notification.attempts,
            notification.next_attempt_at.isoformat(), error,
        )


def backoff_delay(*, attempts: int, base_delay: timedelta) -> timedelta:
    """base, 2×base, 4×base... after the 1st, 2nd, 3rd failure, at most an hour."""
    return min(base_delay * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


async def notification_worker(
    *,
    engine_factory: Callable[[], Engine],
    mailer_factory: Callable[[], Mailer],
    interval_seconds: float = 5.0,
) -> None:
    """Run for the app's lifetime: a tick every `interval_seconds`; errors are logged, never fatal.

    Cancel the task to stop it (a tick already running in its thread finishes on its own).
    """
    engine: Engine | None = None
    mailer: Mailer | None = None
    while True:
        try:
            # Built lazily and kept: a bad setting is logged each tick until fixed, not raised.
            engine = engine or engine_factory()
            mailer = mailer or mailer_factory()
            await asyncio.to_thread(send_due_notifications, engine=engine, mailer=mailer)
        except asyncio.CancelledError:
            raise
        except Exception:  # keep the loop alive: the next tick retries
            log.exception("notification worker tick failed")
        await asyncio.sleep(interval_seconds)
