"""Emails about a client's package credits (no booking behind them): the purchase, with the wallet link,
and the reminder a week before unused credits expire. The payload never holds the wallet link: its token
is the client's credential, derived when the email is built (booking.notifications.wallet_links)."""

from __future__ import annotations

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
from booking.notifications.templates import NotificationKind, RenderedEmail


@dataclass(frozen=True)
class CreditFacts:
    builder_id: int
    builder_name: str
    client_email: str
    client_name: str
    client_time_zone: str
    package_name: str
    credits: int  # bought (a purchase) or left (a reminder)
    expires_at: str  # ISO, UTC
    amount: int = 0
    currency: str = ""
    site_domain: str = "localhost"
    client_locale: str | None = None  # the buyer's ("fr-FR"; None: the default locale): dates and amounts

    def to_json(self, kind: NotificationKind) -> str:
        return json.dumps({"kind": str(kind), **asdict(self)}, sort_keys=True)

    @classmethod
    def from_json(cls, payload: str) -> CreditFacts:
        data = json.loads(payload)
        known = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


def _expiry(facts: CreditFacts) -> str:
    zone = zone_or_utc(facts.client_time_zone)
    return format_datetime(datetime.fromisoformat(facts.expires_at), zone=zone, locale=facts.client_locale,
                           date_style="medium")


def render_credit_email(kind: NotificationKind, facts: CreditFacts, wallet_url: str) -> RenderedEmail:
    sessions = f"{facts.credits} session{'s' if facts.credits != 1 else ''}"
    if kind == NotificationKind.PACKAGE_PURCHASED:
        subject = f"Your package with {facts.builder_name}: {sessions} to book"
        paragraphs = [f"Thank you for buying {facts.package_name}. You have {sessions} to book with "
                      f"{facts.builder_name}, until {_expiry(facts)}.",
                      "Open your wallet to see your credits and book a time: no payment is needed."]
        details = [("Package", facts.package_name), ("Sessions", str(facts.credits)),
                   ("Paid", format_money(facts.amount, facts.currency, locale=facts.client_locale)),
                   ("Valid until", _expiry(facts))]
    elif kind == NotificationKind.CREDITS_EXPIRING:
        subject = f"{sessions} with {facts.builder_name} expire on {_expiry(facts)}"
        paragraphs = [f"You still have {sessions} of {facts.package_name} to book with {facts.builder_name}. "
                      f"They expire on {_expiry(facts)}.", "Open your wallet to book a time before then."]
        details = [("Package", facts.package_name), ("Sessions left", str(facts.credits)),
                   ("Expire on", _expiry(facts))]
    else:
        raise ValueError(f"{kind} is not a credit email")
    return render_letter(subject=subject, name=facts.client_name, paragraphs=paragraphs, details=details,
                         link=Link(wallet_url, "Open your wallet", "Your wallet"),
                         closing=["Keep this link private: it books with your credits."])


def credit_message(*, notification_id: int, kind: NotificationKind, recipient: str, payload: str,
                   now: datetime) -> EmailMessage:
    facts = CreditFacts.from_json(payload)
    url = wallet_links.wallet_url(facts.builder_id, facts.client_email)
    rendered = render_credit_email(kind, facts, url)
    return email_message(rendered=rendered, to_name=facts.client_name, recipient=recipient,
                         message_id=f"notification-{notification_id}.credits@{facts.site_domain}", kind=str(kind),
                         notification_id=notification_id, now=now)


def queue_credit_email(*, session: Session, kind: NotificationKind, facts: CreditFacts, once_key: str,
                       public_url: str = "") -> bool:
    """Queue one credit email, once per `once_key` (a purchase, a grant's reminder). False: already queued."""
    from booking.notifications.outbox import _insert_once, dedupe_key

    facts = CreditFacts(**{**asdict(facts), "site_domain": site_domain(public_url or "http://localhost")})
    notification = Notification(dedupe_key=dedupe_key(kind=kind, booking_id=once_key, role="client"),
                                kind=str(kind), recipient=facts.client_email, booking_id=None,
                                payload=facts.to_json(kind))
    return _insert_once(session=session, notification=notification)
