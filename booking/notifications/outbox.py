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
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from booking.accounts.recovery import issue_reset_link
from booking.accounts.tokens import IssuedLink, link_url
from booking.core.db import session_scope
from booking.core.mailbox import same_mailbox
from booking.core.models import (
    Booking,
    BookingStatus,
    Builder,
    CardOnFile,
    Client,
    CreditEntry,
    Notification,
    NotificationStatus,
    Payment,
    PaymentStatus,
    Payout,
    SessionType,
    UserAccount,
    UserRole,
    end_reason_text,
)
from booking.core.slugs import type_path
from booking.notifications import calendar_links, manage_links
from booking.notifications.ics import booking_invite, site_domain
from booking.notifications.letters import email_message
from booking.notifications.mailer import (
    MailDeliveryError,
    Mailer,
)
from booking.notifications.templates import (
    ACCOUNT_KINDS,
    AccountLinkFacts,
    BookingFacts,
    NotificationKind,
    PayoutFacts,
    RecipientRole,
    facts_from_payload,
    payload_json,
    recipient_zone,
    render_account_email,
    render_booking_email,
    render_payout_email,
)
from booking.scheduling import policy, questions

__all__ = [
    "NotificationKind",
    "RecipientRole",
    "SendReport",
    "notification_worker",
    "queue_account_link",
    "queue_booking_notifications",
    "queue_reset_request",
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
    NotificationKind.BOOKING_RESCHEDULED: (RecipientRole.CLIENT, RecipientRole.BUILDER),
    NotificationKind.DEBIT_FAILED: (RecipientRole.CLIENT,),  # the builder was never told of the booking
    NotificationKind.BOOKING_REMINDER: (RecipientRole.CLIENT, RecipientRole.BUILDER),
    NotificationKind.NO_SHOW_FEE_DUE: (RecipientRole.CLIENT,),
}
# Emails that would ask for (or about) a payment: never sent once the booking is paid.
PAYMENT_CHASING_KINDS = frozenset({NotificationKind.PAYMENT_FAILED, NotificationKind.HOLD_EXPIRED})
PAID_STATUSES = frozenset({PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED})
SKIPPED_ALREADY_PAID = "skipped: booking already paid"
SKIPPED_HOLD_NOT_EXPIRED = "skipped: the hold was released or paid, not expired"
SKIPPED_BOOKED_AGAIN = "skipped: the client has booked this session again"
SKIPPED_DAILY_CAP = "skipped: this address already had its unsolicited emails for the day"
# Emails the address's owner didn't necessarily ask for: anyone can type anyone's address into the booking
# form, and a declined card or a lapsed hold then writes to it. At most UNSOLICITED_EMAILS_PER_DAY of them go
# to one address in any 24 hours (default 3: a genuine client's worst day — a decline, a lapsed hold and one
# more — still gets every one; a stranger's address gets 3 a day however many holds name it). Counted from
# the outbox itself, so every worker and every restart agrees, with no table of its own.
UNSOLICITED_KINDS = PAYMENT_CHASING_KINDS
UNSOLICITED_WINDOW = timedelta(hours=24)
# A refund's email waits this long: a cancellation right after it (the client's) carries it instead.
REFUND_EMAIL_GRACE = timedelta(seconds=10)

# A claimed row is invisible to other workers for this long: far longer than one SMTP send.
CLAIM_LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=1)
_DEDUPE_KEY_LENGTH = 255  # Notification.dedupe_key column width
_ERROR_LENGTH = 1000


# --- queueing (inside the caller's transaction) ----------------------------------------------------


def queue_booking_notifications(
    *, session: Session, booking: Booking, kind: NotificationKind | str, cause: str = "",
    previous: tuple[datetime, datetime] | None = None, moved_by_builder: bool = False,
    only: RecipientRole | None = None, reminder_minutes: int = 0,
) -> list[Notification]:
    """Add the outbox rows for `kind` about `booking`; returns the rows added (flushed, not committed).

    The same (kind, booking, recipient, cause) is queued once: a repeat returns []. `cause` tells apart
    events that may legitimately repeat, e.g. the refund id for each partial refund.
    """
    kind = NotificationKind(kind)
    if kind in PAYMENT_CHASING_KINDS and booking_is_paid(session, booking):
        log.info("not queueing %s for booking %s: it is already paid", kind, booking.id)
        return []
    client = session.get(Client, booking.client_id)
    builder = session.get(Builder, booking.builder_id)
    session_type = session.get(SessionType, booking.session_type_id)
    if client is None or builder is None:
        raise ValueError(f"booking {booking.id} has no client or builder row")
    facts = _booking_facts(session=session, booking=booking, client=client, builder=builder, session_type=session_type)
    facts = replace(facts, **_client_journey_facts(session=session, booking=booking, builder=builder,
                                                   session_type=session_type, previous=previous))
    if moved_by_builder:
        facts = replace(facts, moved_by_builder=True)
    roles = RECIPIENTS[kind]
    if only is not None:  # one recipient's copy (a reminder is scheduled per recipient)
        roles = tuple(role for role in roles if role == only)
    if kind == NotificationKind.BOOKING_REMINDER:  # a reminder always carries the client's manage link
        facts = replace(facts, manage_link=True, reminder_minutes=reminder_minutes)
    if kind == NotificationKind.BOOKING_CANCELLED and not facts.was_confirmed:
        roles = (RecipientRole.CLIENT,)  # the builder never heard of an unpaid hold
    added = []
    for role in roles:
        recipient = client.email if role == RecipientRole.CLIENT else builder.email
        if kind in (NotificationKind.BOOKING_CANCELLED, NotificationKind.BOOKING_REFUNDED) and _told_in_cancellation(
                session=session, booking=booking, kind=kind, role=role, recipient=recipient, facts=facts):
            continue
        notification = Notification(
            dedupe_key=dedupe_key(kind=kind, booking_id=booking.id, role=role, cause=cause),
            kind=str(kind),
            recipient=client.email if role == RecipientRole.CLIENT else builder.email,
            booking_id=booking.id,
            # The manage link is the client's credential: never in the builder's copy.
            payload=payload_json(kind=kind, role=role,
                                 facts=facts if role == RecipientRole.CLIENT else _builder_copy(session, booking, facts, kind)),
        )
        if kind == NotificationKind.BOOKING_REFUNDED:  # a cancellation right after it takes it in
            notification.next_attempt_at = datetime.now(UTC) + REFUND_EMAIL_GRACE
        if _insert_once(session=session, notification=notification):
            added.append(notification)
    return added


def _builder_copy(session: Session, booking: Booking, facts: BookingFacts, kind: NotificationKind) -> BookingFacts:
    """The builder's facts: never the client's manage link (their credential); with the confirmation, the
    booking questions' answers, which only the builder reads (the client's copy and Stripe never carry them;
    no other email copies them)."""
    answers = tuple((answer.label, answer.shown) for answer in questions.answers_of(session=session,
                                                                                  booking_id=booking.id)) \
        if kind == NotificationKind.BOOKING_CONFIRMED else ()
    return replace(facts, manage_link=False, answers=answers)


# --- one message per change: a cancellation carries its refund ------------------------------------------

SKIPPED_TOLD_IN_CANCELLATION = "skipped: told in the cancellation email"


def _cancellations(*, session: Session, booking: Booking, recipient: str) -> list[Notification]:
    """The cancellation emails of the booking's current ending (queued since it was last confirmed)."""
    query = select(Notification).where(Notification.booking_id == booking.id,
                                       Notification.kind == str(NotificationKind.BOOKING_CANCELLED),
                                       Notification.recipient == recipient)
    if booking.confirmed_at is not None:
        query = query.where(Notification.created_at >= booking.confirmed_at)
    return list(session.exec(query.order_by(Notification.id)).all())


def _told_in_cancellation(*, session: Session, booking: Booking, kind: NotificationKind, role: RecipientRole,
                          recipient: str, facts: BookingFacts) -> bool:
    """One message per change: a booking's ending is told once to each side, with its refund.

    A cancellation finds the refund emails not sent yet and takes them in (they are settled unsent); a
    second cancellation of the same ending (a full refund cancelled it, then the client's cancellation
    recorded it as theirs) updates the first while unsent, else says nothing new. A refund finds the
    cancellation it belongs to: unsent, it now carries the refund; sent, and it already told this much,
    nothing more is said. True: nothing is to be added."""
    cancellations = _cancellations(session=session, booking=booking, recipient=recipient)
    if kind == NotificationKind.BOOKING_CANCELLED:
        for row in session.exec(select(Notification).where(
                Notification.booking_id == booking.id, Notification.recipient == recipient,
                Notification.kind == str(NotificationKind.BOOKING_REFUNDED),
                Notification.status == NotificationStatus.PENDING)).all():
            row.status, row.sent_at, row.last_error = NotificationStatus.SENT, datetime.now(UTC), \
                SKIPPED_TOLD_IN_CANCELLATION
            session.add(row)
        if not cancellations:
            return False
        told = cancellations[0]
        if told.status == NotificationStatus.PENDING:
            _carry_refund(told, facts)
        return True
    if not cancellations:
        return False
    told = cancellations[0]
    if told.status == NotificationStatus.PENDING:
        _carry_refund(told, facts)
        return True
    _role, announced = facts_from_payload(told.payload)
    return announced.amount_refunded >= facts.amount_refunded


def _carry_refund(row: Notification, facts: BookingFacts) -> None:
    """An unsent cancellation now says what has been refunded."""
    role, told = facts_from_payload(row.payload)
    if facts.amount_refunded > told.amount_refunded or (facts.amount_refunded and told.refund_pending):
        row.payload = payload_json(kind=row.kind, role=role, facts=replace(
            told, amount_refunded=facts.amount_refunded, payment_status=facts.payment_status, refund_pending=False))
        row.next_attempt_at = min(row.next_attempt_at, datetime.now(UTC))


def announce_coming_refund(*, session: Session, booking: Booking, amount: int) -> None:
    """A cancellation whose refund is asked for right after it (the builder's): its emails, not sent
    yet, say the refund is on its way, so the refund needs no email of its own."""
    if amount <= 0:
        return
    for row in session.exec(select(Notification).where(
            Notification.booking_id == booking.id, Notification.kind == str(NotificationKind.BOOKING_CANCELLED),
            Notification.status == NotificationStatus.PENDING)).all():
        role, told = facts_from_payload(row.payload)
        total = _refunded_so_far(session, booking) + amount
        if total > told.amount_refunded:
            row.payload = payload_json(kind=row.kind, role=role, facts=replace(
                told, amount_refunded=total, refund_pending=True))
            session.add(row)


def dedupe_key(*, kind: NotificationKind | str, booking_id: str, role: RecipientRole | str, cause: str = "") -> str:
    key = f"{kind}:{booking_id}:{role}:{cause}"
    if len(key) <= _DEDUPE_KEY_LENGTH:
        return key
    # A long cause still dedupes, by its digest, within the column's width.
    digest = hashlib.sha256(cause.encode()).hexdigest()
    return f"{kind}:{booking_id}:{role}:sha256={digest}"


def _payments_of(session: Session, booking: Booking) -> list[Payment]:
    """The booking's Payment rows, latest attempt first (read-only: the ledger, booking.payments.ledger,
    writes them; this layer sits below it and reads the rows as they are)."""
    return list(session.exec(select(Payment).where(Payment.booking_id == booking.id)
                             .order_by(Payment.attempt.desc())).all())


def _refunded_so_far(session: Session, booking: Booking) -> int:
    """What the booking's payment (its settled attempt, else the latest) has had refunded."""
    payments = _payments_of(session, booking)
    payment = next((row for row in payments if row.status in PAID_STATUSES), payments[0] if payments else None)
    return payment.amount_refunded if payment is not None else 0


def booking_is_paid(session: Session, booking: Booking) -> bool:
    return booking.status == BookingStatus.CONFIRMED or any(
        payment.status in PAID_STATUSES for payment in _payments_of(session, booking))


def queue_payout_failed(*, session: Session, payout: Payout, builder: Builder, payouts_url: str = "") -> list[Notification]:
    """A builder's payout bounced: tell the builder and every platform admin (once per payout)."""
    from booking.core.config import get_settings  # read when queueing, never at import

    domain = site_domain(get_settings().public_url)
    admins = session.exec(select(UserAccount).where(UserAccount.role == UserRole.ADMIN,
                                                    UserAccount.active.is_(True))).all()
    recipients = [(RecipientRole.BUILDER, builder.email, builder.name)]
    recipients += [(RecipientRole.ADMIN, admin.email, "admin") for admin in admins]
    added = []
    for role, email, name in recipients:
        facts = PayoutFacts(payout_id=payout.stripe_payout_id, builder_name=builder.name, recipient_name=name,
                            recipient_role=role, amount=payout.amount, currency=payout.currency,
                            failure_code=payout.failure_code or "", failure_message=payout.failure_message or "",
                            payouts_url=payouts_url, site_domain=domain)
        notification = Notification(
            dedupe_key=dedupe_key(kind=NotificationKind.PAYOUT_FAILED, booking_id=payout.stripe_payout_id,
                                  role=role, cause=email),
            kind=str(NotificationKind.PAYOUT_FAILED), recipient=email, booking_id=None, payload=facts.to_json(),
        )
        if _insert_once(session=session, notification=notification):
            added.append(notification)
    return added


def _link_payload(link: IssuedLink, *, recipient_name: str = "", builder_name: str = "") -> str:
    from booking.core.config import get_settings  # read when queueing, never at import

    settings = get_settings()
    facts = AccountLinkFacts(token_id=link.token_id, seed=link.seed, recipient_name=recipient_name,
                             expires_at=link.expires_at, platform_name=settings.platform_name,
                             site_domain=site_domain(settings.public_url), builder_name=builder_name)
    return facts.to_json(_LINK_KINDS[str(link.kind)])


_LINK_KINDS = {"reset": NotificationKind.PASSWORD_RESET, "invite": NotificationKind.BUILDER_INVITE}
SKIPPED_NO_ACCOUNT = "skipped: no active account has this address"


def queue_account_link(*, session: Session, link: IssuedLink, recipient_name: str = "",
                       builder_name: str = "") -> bool:
    """Queue the email carrying a one-time account link (a builder's invite): once per link. The row holds
    the link's seed, not its token (booking.accounts.tokens)."""
    kind = _LINK_KINDS[str(link.kind)]
    notification = Notification(dedupe_key=f"{kind}:token-{link.token_id}", kind=str(kind), recipient=link.email,
                                booking_id=None, payload=_link_payload(link, recipient_name=recipient_name,
                                                                       builder_name=builder_name))
    return _insert_once(session=session, notification=notification)


def queue_reset_request(*, session: Session, email: str) -> Notification:
    """Queue a password reset for the address typed, whether or not an account has it: the same work for
    every address. The worker issues the link when it gets to the row (`_prepare_reset`), or settles the row
    unsent when no active account has the address."""
    notification = Notification(dedupe_key=f"{NotificationKind.PASSWORD_RESET}:request-{uuid.uuid4().hex}",
                                kind=str(NotificationKind.PASSWORD_RESET), recipient=email, booking_id=None,
                                payload=json.dumps({"kind": str(NotificationKind.PASSWORD_RESET)}))
    session.add(notification)
    session.flush()
    return notification


def _prepare_reset(session: Session, notification: Notification, now: datetime) -> str | None:
    """A reset request's first claim: a link for a live account (stored in the row as its seed), else the
    reason it is settled unsent. A retry keeps the link it has."""
    from booking.core.config import get_settings  # read when sending, never at import

    if "seed" in json.loads(notification.payload or "{}"):
        return None
    link = issue_reset_link(session=session, email=notification.recipient, now=now,
                            lifetime=timedelta(minutes=get_settings().password_reset_minutes))
    if link is None:
        return SKIPPED_NO_ACCOUNT
    user = session.get(UserAccount, link.user_id)
    builder = session.get(Builder, user.builder_id) if user is not None and user.builder_id else None
    notification.payload = _link_payload(link, recipient_name=builder.name if builder else "")
    session.add(notification)
    return None


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


def _booking_facts(*, session: Session, booking: Booking, client: Client, builder: Builder,
                   session_type: SessionType | None) -> BookingFacts:
    from booking.core.config import get_settings  # read when queueing, never at import

    payments = _payments_of(session, booking)
    # The booking's payment: the settled attempt if any, else the latest (as booking.payments.ledger says).
    payment = next((row for row in payments if row.status in PAID_STATUSES), payments[0] if payments else None)
    latest = payments[0] if payments else None

    return BookingFacts(
        booking_id=booking.id,
        invite_key=booking.invite_uid,
        session_type_name=session_type.name if session_type else "Session",
        duration_minutes=session_type.duration_minutes if session_type else 0,
        start_time=_utc(booking.start_time),
        end_time=_utc(booking.end_time),
        client_name=client.name,
        client_email=client.email,
        client_time_zone=booking.client_time_zone or "UTC",
        client_hour12=booking.client_hour12,
        client_locale=booking.client_locale,
        builder_name=builder.name,
        builder_email=builder.email,
        builder_time_zone=builder.time_zone or "UTC",
        amount=payment.amount if payment else 0,
        currency=payment.currency if payment else "",
        amount_refunded=payment.amount_refunded if payment else 0,
        booking_status=str(booking.status),
        payment_status=str(payment.status) if payment else "",
        hold_expires_at=_utc(booking.hold_expires_at) if booking.hold_expires_at else None,
        checkout_url=(latest.checkout_url if latest else None) or "",
        reason=end_reason_text(booking.end_cause, booking.end_note),
        was_confirmed=booking.confirmed_at is not None or booking.status == BookingStatus.CONFIRMED,
        site_domain=site_domain(get_settings().public_url),
        # The client learns where the session is only once it is paid.
        location=(session_type.location or "") if session_type and booking_is_paid(session, booking) else "",
        book_again_url=get_settings().public_url.rstrip("/") + type_path(
            builder.slug, session_type.slug if session_type else None, booking.session_type_id),
        **_calendar_link_facts(session, booking, session_type),
        receipt_url=(payment.receipt_url if payment else None) or "",
        paid_with_credit=payment is None and session.exec(
            select(CreditEntry.id).where(CreditEntry.booking_id == booking.id)).first() is not None,
        invoice_url=(payment.invoice_url if payment else None) or "",
        # The fee only a booking that kept a card can be charged (the setting may have changed since).
        no_show_fee=(session_type.no_show_fee_amount or 0)
        if session_type and session.get(CardOnFile, booking.id) is not None else 0,
    )


def _calendar_link_facts(session: Session, booking: Booking, session_type: SessionType | None) -> dict[str, str]:
    """"Add to Google Calendar / Outlook" for a paid booking (no booking id or manage link in them)."""
    if session_type is None or booking.status != BookingStatus.CONFIRMED:
        return {}
    builder = session.get(Builder, booking.builder_id)
    links = calendar_links.links_for(calendar_links.session_event(
        session_type_name=session_type.name, builder_name=builder.name if builder else "",
        start=_utc(booking.start_time), end=_utc(booking.end_time), description=session_type.description or "",
        location=session_type.location or ""))
    return {"google_calendar_url": links.google, "outlook_calendar_url": links.outlook}


def _client_journey_facts(*, session: Session, booking: Booking, builder: Builder,
                          session_type: SessionType | None,
                          previous: tuple[datetime, datetime] | None) -> dict[str, object]:
    """The manage link (issued here, where the confirmation is queued, for every paid booking; the URL
    itself is derived when the email is built), the policy in words, the invite's sequence and, for a
    reschedule, the time it moved from."""
    facts: dict[str, object] = {
        "invite_sequence": booking.invite_sequence or 0,
        "policy_text": "\n".join(policy.describe(policy.effective_policy(builder, session_type))),
    }
    if booking.client_name:
        facts["client_name"] = booking.client_name
    if booking.status == BookingStatus.CONFIRMED or booking.confirmed_at is not None:
        manage_links.issue(session=session, booking=booking)  # stores the token's hash, if not yet
    if booking.status == BookingStatus.CONFIRMED:  # a cancelled booking offers nothing to manage
        actions = manage_actions(booking=booking, rules=policy.effective_policy(builder, session_type))
        facts["manage_link"], facts["manage_actions"] = bool(actions), actions
    if previous is not None:
        facts["previous_start_time"], facts["previous_end_time"] = _utc(previous[0]), _utc(previous[1])
    return facts


def manage_actions(*, booking: Booking, rules: policy.CancellationPolicy, now: datetime | None = None) -> str:
    """What the client's manage link still offers, in words ("cancel or reschedule", "cancel", ""): only
    what the booking and its policy allow when the email is written."""
    now = now or datetime.now(UTC)
    start = _utc(booking.start_time)
    actions = []
    if policy.can_cancel(start=start, now=now):
        actions.append("cancel")
    if policy.reschedule_check(policy=rules, start=start, now=now,
                               reschedule_count=booking.reschedule_count or 0).allowed:
        actions.append("reschedule")
    return " or ".join(actions)


def _utc(moment: datetime) -> datetime:
    if moment.utcoffset() is None:  # stored UTC without an offset
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# --- the message -------------------------------------------------------------------------------------


def build_message(*, notification_id: int, kind: NotificationKind | str, recipient: str, payload: str, now: datetime) -> EmailMessage:
    """The full email for one outbox row: text + HTML, and the calendar invite where one belongs."""
    kind = NotificationKind(kind)
    if kind == NotificationKind.DISPUTE_OPENED:  # to the builder and the admins, about a payment
        from booking.notifications.dispute_emails import dispute_message

        return dispute_message(notification_id=notification_id, recipient=recipient, payload=payload, now=now)
    if kind == NotificationKind.MEMBERSHIP_PAYMENT_FAILED:  # to a member: no booking, no invite
        from booking.notifications.membership_emails import membership_failure_message

        return membership_failure_message(notification_id=notification_id, recipient=recipient, payload=payload,
                                          now=now)
    if kind == NotificationKind.MEMBERSHIP_STARTED:  # to a member: the wallet link, no booking
        from booking.notifications.membership_emails import membership_started_message

        return membership_started_message(notification_id=notification_id, recipient=recipient, payload=payload,
                                          now=now)
    if kind in (NotificationKind.PACKAGE_PURCHASED, NotificationKind.CREDITS_EXPIRING):  # credits, no booking
        from booking.notifications.credit_emails import credit_message

        return credit_message(notification_id=notification_id, kind=kind, recipient=recipient, payload=payload,
                              now=now)
    if kind == NotificationKind.PAYOUT_FAILED:  # about a builder's account: no booking, no invite
        return _payout_message(notification_id=notification_id, kind=kind, recipient=recipient, payload=payload,
                               now=now)
    if kind in ACCOUNT_KINDS:  # a one-time link to an account: no booking, no invite
        return _account_message(notification_id=notification_id, kind=kind, recipient=recipient, payload=payload,
                                now=now)
    role, facts = facts_from_payload(payload)
    if role == RecipientRole.CLIENT and facts.manage_link:
        facts = replace(facts, manage_url=manage_links.manage_url(manage_links.derive_token(facts.booking_id)))
    rendered = render_booking_email(kind=kind, role=role, facts=facts)
    recipient_name = facts.client_name if role == RecipientRole.CLIENT else facts.builder_name
    message = email_message(rendered=rendered, to_name=recipient_name, recipient=recipient,
                            message_id=f"notification-{notification_id}.{facts.reference}@{facts.site_domain}",
                            kind=str(kind), notification_id=notification_id, now=now)
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


def _payout_message(*, notification_id: int, kind: NotificationKind, recipient: str, payload: str,
                    now: datetime) -> EmailMessage:
    facts = PayoutFacts.from_json(payload)
    rendered = render_payout_email(kind=kind, facts=facts)
    return email_message(rendered=rendered, to_name=facts.recipient_name, recipient=recipient,
                         message_id=f"notification-{notification_id}.{facts.payout_id}@{facts.site_domain}",
                         kind=str(kind), notification_id=notification_id, now=now)


def _account_message(*, notification_id: int, kind: NotificationKind, recipient: str, payload: str,
                     now: datetime) -> EmailMessage:
    from booking.core.config import get_settings  # read when sending, never at import

    facts = AccountLinkFacts.from_json(payload)
    url = link_url(kind="reset" if kind == NotificationKind.PASSWORD_RESET else "invite", seed=facts.seed,
                   public_url=get_settings().public_url)
    rendered = render_account_email(kind=kind, facts=facts, url=url)
    return email_message(rendered=rendered, to_name=facts.recipient_name, recipient=recipient,
                         message_id=f"notification-{notification_id}.account-{facts.token_id}@{facts.site_domain}",
                         kind=str(kind), notification_id=notification_id, now=now)


def _invite_for(*, kind: NotificationKind, role: RecipientRole, facts: BookingFacts, now: datetime) -> tuple[str, str, bytes] | None:
    sequence = facts.invite_sequence
    if kind in (NotificationKind.BOOKING_CONFIRMED, NotificationKind.BOOKING_RESCHEDULED):
        filename, method = "invite.ics", "REQUEST"
    elif kind == NotificationKind.BOOKING_CANCELLED and facts.was_confirmed:
        filename, method = "cancel.ics", "CANCEL"
        sequence += 1  # sorts after the last REQUEST, however often it was rescheduled
    else:
        return None
    other = facts.client_name if role == RecipientRole.BUILDER else facts.builder_name
    zone = recipient_zone(role, facts)
    data = booking_invite(
        uid=facts.invite_uid,
        summary=f"{facts.session_type_name} with {' '.join(other.split())}",
        description=f"Booking reference {facts.reference} ({zone.key}).",
        start=facts.start_time,
        end=facts.end_time,
        organizer_email=facts.builder_email,
        organizer_name=facts.builder_name,
        attendee_email=facts.client_email,
        attendee_name=facts.client_name,
        location=facts.location,
        method=method,
        sequence=sequence,
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
        skip_reason = _no_longer_relevant(session, notification) if notification.kind in PAYMENT_CHASING_KINDS else None
        if skip_reason is None and notification.kind in UNSOLICITED_KINDS:
            skip_reason = _over_daily_cap(session, notification, now)
        if skip_reason is None and notification.kind == NotificationKind.PASSWORD_RESET:
            skip_reason = _prepare_reset(session, notification, now)
        if skip_reason:
            notification.status = NotificationStatus.SENT
            notification.sent_at = now
            notification.last_error = skip_reason
            log.info("notification %s (%s) %s", notification.id, notification.kind, skip_reason)
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


def _over_daily_cap(session: Session, notification: Notification, now: datetime) -> str | None:
    """The mailbox (`a+1@` and `a+2@` are `a@`'s) already got its unsolicited emails of the last 24 hours (sent ones: a skipped row is
    settled as sent with its reason in last_error, and is not counted). The outbox runs once per tick
    across workers (booking/ops/locks.py), so rows are claimed one after another."""
    from booking.core.config import get_settings  # read when sending, never at import

    cap = get_settings().unsolicited_emails_per_day
    if cap <= 0:
        return None
    since = now - UNSOLICITED_WINDOW
    sent = session.exec(
        select(sa.func.count()).select_from(Notification).where(
            same_mailbox(Notification.recipient, notification.recipient),  # `+tag`s are one mailbox
            Notification.kind.in_([str(kind) for kind in UNSOLICITED_KINDS]),
            Notification.id != notification.id,
            Notification.created_at >= since - UNSOLICITED_WINDOW,  # narrows by its index; retries end sooner
            Notification.status == NotificationStatus.SENT,
            Notification.last_error.is_(None),
            Notification.sent_at >= since,
        )
    ).one()
    return SKIPPED_DAILY_CAP if sent >= cap else None


def _no_longer_relevant(session: Session, notification: Notification) -> str | None:
    """Why a payment-chasing email must not go out now (checked at send time, not only when queued)."""
    booking = session.get(Booking, notification.booking_id) if notification.booking_id else None
    if booking is None:
        return None
    if booking_is_paid(session, booking):
        return SKIPPED_ALREADY_PAID
    if booking.status != BookingStatus.EXPIRED:  # released (the client is on the page) or still held
        return SKIPPED_HOLD_NOT_EXPIRED
    # Went Back and booked again (a new hold of the same session type): that one speaks for itself.
    later = session.exec(
        select(Booking).where(
            Booking.client_id == booking.client_id,
            Booking.session_type_id == booking.session_type_id,
            Booking.id != booking.id,
            Booking.created_at >= booking.created_at,
            Booking.status.in_((BookingStatus.PENDING, BookingStatus.CONFIRMED)),
        )
    ).all()
    if any(booking_is_paid(session, other) or other.status == BookingStatus.PENDING for other in later):
        return SKIPPED_BOOKED_AGAIN
    return None


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
            log.info("notification %s (%s) sent", claim.notification_id, claim.kind)  # no address in logs
            return
        notification.last_error = error[:_ERROR_LENGTH]
        if permanent or notification.attempts >= max_attempts:
            notification.status = NotificationStatus.FAILED
            notification.next_attempt_at = now
            report.failed += 1
            log.error(
                "notification %s (%s) failed after %d attempt(s): %s",
                claim.notification_id, claim.kind, notification.attempts, error,
            )
            return
        notification.next_attempt_at = now + backoff_delay(attempts=notification.attempts, base_delay=base_delay)
        report.retried += 1
        log.warning(
            "notification %s (%s) attempt %d failed, retrying at %s: %s",
            claim.notification_id, claim.kind, notification.attempts,
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
