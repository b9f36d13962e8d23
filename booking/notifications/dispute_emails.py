"""The "a payment was disputed" email: to the builder and every platform admin, once per dispute, with the
reason and the evidence deadline in the recipient's zone (the builder's own; UTC for an admin, as the
workspace shows them)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from email.message import EmailMessage

from sqlmodel import Session, select

from booking.core.models import Builder, Notification, UserAccount, UserRole
from booking.core.time import format_datetime, format_money, zone_or_utc
from booking.notifications.ics import site_domain
from booking.notifications.letters import Link, email_message, render_letter
from booking.notifications.templates import NotificationKind, RecipientRole, RenderedEmail

DISPUTE_OPENED = "dispute_opened"


@dataclass(frozen=True)
class DisputeFacts:
    """A dispute, as it was when the email was queued (rendered later with no joins)."""

    dispute_id: str  # Stripe's dp_ id
    booking_reference: str
    session_type_name: str
    service_start: str  # ISO, UTC
    builder_name: str
    recipient_name: str
    recipient_role: RecipientRole  # builder or admin
    recipient_time_zone: str
    amount: int
    currency: str
    reason: str  # in words
    due_by: str  # ISO, UTC ("" when Stripe gave none)
    disputes_url: str = ""
    site_domain: str = "localhost"

    def to_json(self) -> str:
        return json.dumps({"kind": DISPUTE_OPENED, **asdict(self)}, sort_keys=True)

    @classmethod
    def from_json(cls, payload: str) -> DisputeFacts:
        data = json.loads(payload)
        known = {field.name for field in fields(cls)}
        facts = {key: value for key, value in data.items() if key in known}
        return cls(**{**facts, "recipient_role": RecipientRole(facts["recipient_role"])})


def _when(iso: str, zone_name: str) -> str:
    if not iso:
        return "not given"
    zone = zone_or_utc(zone_name)
    return f"{format_datetime(datetime.fromisoformat(iso), zone=zone, date_style='medium')} ({zone.key})"


def render_dispute_email(facts: DisputeFacts) -> RenderedEmail:
    money = format_money(facts.amount, facts.currency)
    deadline = _when(facts.due_by, facts.recipient_time_zone)
    if facts.recipient_role == RecipientRole.BUILDER:
        subject = f"A payment of {money} was disputed: evidence due {deadline}"
        paragraphs = [f"A client disputed a payment of {money} with their card issuer.",
                      "Open the Disputes page to send evidence from your records before the deadline. Without "
                      "evidence the dispute is lost."]
    else:
        subject = f"Dispute: {money} paid to {facts.builder_name}, evidence due {deadline}"
        paragraphs = [f"A payment of {money} to {facts.builder_name} was disputed. Stripe has taken the amount "
                      "and its dispute fee from the platform's balance.",
                      "Evidence can be sent from the Disputes page before the deadline."]
    details = [("Amount", money), ("Reason", facts.reason), ("Evidence due by", deadline),
               ("Session", facts.session_type_name),
               ("Service date", _when(facts.service_start, facts.recipient_time_zone)),
               ("Booking", facts.booking_reference), ("Dispute", facts.dispute_id)]
    link = Link(facts.disputes_url, "Disputes", "Disputes") if facts.disputes_url else None
    return render_letter(subject=subject, name=facts.recipient_name, paragraphs=paragraphs, details=details,
                         link=link)


def dispute_message(*, notification_id: int, recipient: str, payload: str, now: datetime) -> EmailMessage:
    facts = DisputeFacts.from_json(payload)
    rendered = render_dispute_email(facts)
    return email_message(rendered=rendered, to_name=facts.recipient_name, recipient=recipient,
                         message_id=f"notification-{notification_id}.{facts.dispute_id}@{facts.site_domain}",
                         kind=DISPUTE_OPENED, notification_id=notification_id, now=now)


def queue_dispute_opened(*, session: Session, dispute_id: str, booking_id: str, booking_reference: str,
                         session_type_name: str, service_start: datetime, builder: Builder, amount: int,
                         currency: str, reason: str, due_by: datetime | None, disputes_url: str = "",
                         public_url: str = "") -> list[Notification]:
    """Queue the email to the builder and every active platform admin, once per dispute and address."""
    from booking.notifications.outbox import _insert_once, dedupe_key

    admins = session.exec(select(UserAccount).where(UserAccount.role == UserRole.ADMIN,
                                                    UserAccount.active.is_(True))).all()
    recipients = [(RecipientRole.BUILDER, builder.email, builder.name, builder.time_zone)]
    recipients += [(RecipientRole.ADMIN, admin.email, "admin", "UTC") for admin in admins]
    added = []
    for role, email, name, zone_name in recipients:
        facts = DisputeFacts(
            dispute_id=dispute_id, booking_reference=booking_reference, session_type_name=session_type_name,
            service_start=service_start.isoformat(), builder_name=builder.name, recipient_name=name,
            recipient_role=role, recipient_time_zone=zone_name, amount=amount, currency=currency, reason=reason,
            due_by=due_by.isoformat() if due_by else "", disputes_url=disputes_url,
            site_domain=site_domain(public_url or "http://localhost"))
        notification = Notification(
            dedupe_key=dedupe_key(kind=DISPUTE_OPENED, booking_id=dispute_id, role=role, cause=email),
            kind=str(NotificationKind.DISPUTE_OPENED), recipient=email, booking_id=booking_id,
            payload=facts.to_json())
        if _insert_once(session=session, notification=notification):
            added.append(notification)
    return added
