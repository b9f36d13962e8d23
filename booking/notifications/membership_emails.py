"""A member's emails, to the client (no booking behind them):

- "membership started", once per membership when its first invoice is paid: the plan, the sessions a month, the
  renewal date (on the member's clock when their zone is known, labelled; else in UTC) and the wallet link (its
  token, the client's credential, derived when the email is built: booking.notifications.wallet_links);
- "your membership payment failed", once per failed invoice (it tells no date), with a link that opens Stripe's
  customer portal to update the card (`/membership/portal/<token>`, served by booking_ui.api: it creates a portal
  session when followed, since a portal session itself lives only minutes). The link's token is an HMAC of the
  membership id under SECRET_KEY, derived when the email is built, never stored."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from email.message import EmailMessage

from sqlmodel import Session

from booking.core.models import Notification
from booking.core.time import format_datetime, format_money, zone_or_utc
from booking.notifications import wallet_links
from booking.notifications.ics import site_domain
from booking.notifications.letters import Link, email_message, render_letter
from booking.notifications.templates import NotificationKind, RenderedEmail, zone_text

MEMBERSHIP_PAYMENT_FAILED = str(NotificationKind.MEMBERSHIP_PAYMENT_FAILED)
MEMBERSHIP_STARTED = str(NotificationKind.MEMBERSHIP_STARTED)
PORTAL_PATH = "/membership/portal/{token}"


def portal_token(membership_id: int) -> str:
    """The bearer token of a membership's portal link (nothing stored: derived again to check it)."""
    from booking.core.config import secret_key  # read when used, never at import

    digest = hmac.new(secret_key(), f"membership-portal:{membership_id}".encode(), hashlib.sha256).hexdigest()
    return f"{membership_id}.{digest[:40]}"


def membership_of_token(token: str) -> int | None:
    """The membership a portal link names, or None for a token that is not one of ours."""
    membership_id, _, _ = (token or "").partition(".")
    if not membership_id.isdigit() or len(token) > 80:
        return None
    return int(membership_id) if hmac.compare_digest(portal_token(int(membership_id)), token) else None


def portal_url(membership_id: int, public_url: str) -> str:
    return public_url.rstrip("/") + PORTAL_PATH.format(token=portal_token(membership_id))


@dataclass(frozen=True)
class MembershipFailureFacts:
    """A failed membership invoice, as it was when the email was queued."""

    membership_id: int
    stripe_invoice_id: str
    client_name: str
    plan_name: str
    builder_name: str
    amount: int
    currency: str
    public_url: str = "http://localhost"
    client_locale: str | None = None  # the member's ("fr-FR"; None: the default locale): the amount

    def to_json(self) -> str:
        return json.dumps({"kind": MEMBERSHIP_PAYMENT_FAILED, **asdict(self)}, sort_keys=True)

    @classmethod
    def from_json(cls, payload: str) -> MembershipFailureFacts:
        data = json.loads(payload)
        known = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


def render_membership_failure(facts: MembershipFailureFacts) -> RenderedEmail:
    money = format_money(facts.amount, facts.currency, locale=facts.client_locale)
    link = portal_url(facts.membership_id, facts.public_url)
    subject = f"Your {facts.plan_name} payment of {money} failed: update your card"
    paragraphs = [
        f"We couldn't take this month's payment of {money} for your {facts.plan_name} membership with "
        f"{facts.builder_name}. Your card was declined.",
        "No new session credits are added until the payment goes through. Update your card to keep your "
        "membership:",
    ]
    return render_letter(subject=subject, name=facts.client_name or "there", paragraphs=paragraphs,
                         link=Link(link, "Update your card"))


def membership_failure_message(*, notification_id: int, recipient: str, payload: str, now: datetime) -> EmailMessage:
    facts = MembershipFailureFacts.from_json(payload)
    rendered = render_membership_failure(facts)
    return email_message(rendered=rendered, to_name=facts.client_name, recipient=recipient,
                         message_id=f"notification-{notification_id}.{facts.stripe_invoice_id}"
                                    f"@{site_domain(facts.public_url)}",
                         kind=MEMBERSHIP_PAYMENT_FAILED, notification_id=notification_id, now=now)


def queue_membership_payment_failed(*, session: Session, facts: MembershipFailureFacts,
                                    recipient: str) -> Notification | None:
    """Queue the email once per failed invoice (however often the event arrives)."""
    from booking.notifications.outbox import _insert_once, dedupe_key

    notification = Notification(
        dedupe_key=dedupe_key(kind=MEMBERSHIP_PAYMENT_FAILED, booking_id=facts.stripe_invoice_id, role="client",
                              cause=recipient),
        kind=MEMBERSHIP_PAYMENT_FAILED, recipient=recipient, booking_id=None, payload=facts.to_json())
    return notification if _insert_once(session=session, notification=notification) else None


# --- the membership started ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MembershipStartedFacts:
    """A membership whose first invoice was paid, as it was when the email was queued."""

    membership_id: int
    builder_id: int
    builder_name: str
    client_email: str
    client_name: str
    plan_name: str
    sessions_per_month: int
    amount: int  # charged every month
    currency: str
    renews_at: str  # ISO, UTC: the paid period's end, when the next payment is taken
    site_domain: str = "localhost"
    client_locale: str | None = None  # the member's ("fr-FR"; None: the default locale): dates and amounts
    client_time_zone: str | None = None  # the member's ("America/New_York"; None: not known, UTC): the renewal

    def to_json(self) -> str:
        return json.dumps({"kind": MEMBERSHIP_STARTED, **asdict(self)}, sort_keys=True)

    @classmethod
    def from_json(cls, payload: str) -> MembershipStartedFacts:
        data = json.loads(payload)
        known = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


def render_membership_started(facts: MembershipStartedFacts, wallet_url: str) -> RenderedEmail:
    sessions = f"{facts.sessions_per_month} session{'s' if facts.sessions_per_month != 1 else ''}"
    money = format_money(facts.amount, facts.currency, locale=facts.client_locale)
    # On the member's clock when their zone is known (one the tz database no longer knows reads as UTC); else
    # in UTC, labelled, rather than a date that may be off.
    zone = zone_or_utc(facts.client_time_zone)
    renews = format_datetime(datetime.fromisoformat(facts.renews_at), zone=zone, locale=facts.client_locale,
                             date_style="medium")
    subject = f"Your {facts.plan_name} membership with {facts.builder_name} has started"
    paragraphs = [f"Welcome to {facts.plan_name} with {facts.builder_name}: {sessions} a month to book, for "
                  f"{money} a month.",
                  f"This month's sessions are in your wallet now. Your membership renews on {renews}; each "
                  "monthly payment adds that month's sessions.",
                  "Open your wallet to book a time: no payment is needed."]
    details = [("Plan", facts.plan_name), ("Sessions a month", str(facts.sessions_per_month)),
               ("Price", f"{money} a month"), ("Renews on", renews)]
    if facts.client_time_zone:
        details.append(("Time zone", zone_text(zone)))
    return render_letter(subject=subject, name=facts.client_name or "there", paragraphs=paragraphs,
                         details=details, link=Link(wallet_url, "Open your wallet", "Your wallet"),
                         closing=["Keep this link private: it books with your sessions."])


def membership_started_message(*, notification_id: int, recipient: str, payload: str, now: datetime) -> EmailMessage:
    facts = MembershipStartedFacts.from_json(payload)
    rendered = render_membership_started(facts, wallet_links.wallet_url(facts.builder_id, facts.client_email))
    return email_message(rendered=rendered, to_name=facts.client_name, recipient=recipient,
                         message_id=f"notification-{notification_id}.membership-{facts.membership_id}"
                                    f"@{facts.site_domain}",
                         kind=MEMBERSHIP_STARTED, notification_id=notification_id, now=now)


def queue_membership_started(*, session: Session, facts: MembershipStartedFacts, public_url: str) -> bool:
    """Queue the email once per membership (however often its first invoice's event arrives)."""
    from booking.notifications.outbox import _insert_once, dedupe_key

    facts = MembershipStartedFacts(**{**asdict(facts), "site_domain": site_domain(public_url)})
    notification = Notification(
        dedupe_key=dedupe_key(kind=MEMBERSHIP_STARTED, booking_id=f"membership-{facts.membership_id}", role="client"),
        kind=MEMBERSHIP_STARTED, recipient=facts.client_email, booking_id=None, payload=facts.to_json())
    return _insert_once(session=session, notification=notification)
