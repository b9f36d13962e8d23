"""What each booking email says: plain text plus a simple HTML alternative, in the recipient's zone.

Pure functions over `BookingFacts`, the snapshot stored in the outbox row's payload, so an email
can be rendered long after the transaction that queued it without touching the database.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from booking.core.models import BookingStatus
from booking.core.time import format_datetime, format_money, format_time_range, zone_or_utc
from booking.core.zones import friendly_zone_name
from booking.notifications.ics import booking_reference, booking_uid, one_line
from booking.notifications.letters import Link, RenderedEmail, render_letter


class NotificationKind(StrEnum):
    BOOKING_CONFIRMED = "booking_confirmed"
    PAYMENT_FAILED = "payment_failed"
    BOOKING_REFUNDED = "booking_refunded"
    BOOKING_CANCELLED = "booking_cancelled"
    HOLD_EXPIRED = "hold_expired"
    PAYOUT_FAILED = "payout_failed"  # about a builder's connected account, not a booking (render_payout_email)
    BOOKING_RESCHEDULED = "booking_rescheduled"
    PASSWORD_RESET = "password_reset"  # about an account, not a booking (render_account_email)
    BUILDER_INVITE = "builder_invite"
    DISPUTE_OPENED = "dispute_opened"  # to the builder and the admins (booking.notifications.dispute_emails)
    DEBIT_FAILED = "debit_failed"  # a bank debit (SEPA, Bacs) failed after Checkout: the time was released
    # A membership's renewal failed: to the client, with the customer portal link (notifications.membership_emails)
    MEMBERSHIP_PAYMENT_FAILED = "membership_payment_failed"
    # A membership's first invoice paid: the plan, its sessions a month, the renewal, the wallet link (same module)
    MEMBERSHIP_STARTED = "membership_started"
    PACKAGE_PURCHASED = "package_purchased"  # credits bought, with the wallet link (booking.notifications.credit_emails)
    CREDITS_EXPIRING = "credits_expiring"  # a week before unused credits expire
    BOOKING_REMINDER = "booking_reminder"  # before the session, at the builder's reminder times
    NO_SHOW_FEE_DUE = "no_show_fee_due"  # the kept card needs the client to authenticate the no-show fee


class RecipientRole(StrEnum):
    CLIENT = "client"
    BUILDER = "builder"
    ADMIN = "admin"  # a platform admin (payout and dispute emails)


@dataclass(frozen=True)
class BookingFacts:
    """Everything an email about one booking needs, as it was when the email was queued."""

    booking_id: str
    session_type_name: str
    start_time: datetime  # aware, UTC
    end_time: datetime
    client_name: str
    client_email: str
    builder_name: str
    builder_email: str
    amount: int
    currency: str
    client_time_zone: str = "UTC"
    builder_time_zone: str = "UTC"
    duration_minutes: int = 0
    amount_refunded: int = 0
    refund_pending: bool = False  # the refund (amount_refunded) was asked for, Stripe's answer to come
    booking_status: str = ""
    payment_status: str = ""
    hold_expires_at: datetime | None = None
    checkout_url: str = ""
    reason: str = ""
    was_confirmed: bool = False  # the builder knew of it and both calendars got the invite
    site_domain: str = "localhost"
    # Where the session happens (a video link or an address); set only once the booking is paid.
    location: str = ""
    # The client's "Manage booking" link: the payload only says it belongs (`manage_link`); the URL,
    # whose token is the client's credential, is derived when the email is built, never stored.
    manage_link: bool = False
    manage_url: str = ""
    # What the link still offers, in words: "cancel or reschedule", "cancel", "reschedule".
    manage_actions: str = "cancel or reschedule"
    # The cancellation policy in words, one rule a line (the confirmation shows it).
    policy_text: str = ""
    paid_with_credit: bool = False  # confirmed with a package credit: no money changed hands
    # The invite's SEQUENCE: raised by every reschedule, so calendars replace the older invite.
    invite_sequence: int = 0
    # A reschedule: the time it moved from.
    previous_start_time: datetime | None = None
    previous_end_time: datetime | None = None
    # The builder moved it (host tools), not the client: the emails say who.
    moved_by_builder: bool = False
    # The session type's booking page, for "book again" links (an expired hold, a failed payment).
    book_again_url: str = ""
    # `Booking.invite_uid`: the calendar UID's opaque local part ("" in payloads queued before it existed).
    invite_key: str = ""
    # The clock the client chose on the booking page (True: 12-hour; None: not known, 24-hour as before).
    client_hour12: bool | None = None
    # The client's locale from the booking page ("fr-FR"; None: not known, the default locale as before).
    client_locale: str | None = None
    # "Add to Google Calendar" / "Add to Outlook" (booking.notifications.calendar_links): no secret in them.
    google_calendar_url: str = ""
    outlook_calendar_url: str = ""
    # Receipts and invoices: Stripe's receipt of the charge (refunds show on it) and the invoice, if asked for.
    receipt_url: str = ""
    invoice_url: str = ""
    # The booking questions and the client's answers ((question, answer) pairs): the builder's copy only.
    answers: tuple[tuple[str, str], ...] = ()
    # A session type that keeps a card instead of payment up front: the fee a no-show costs (0: none).
    no_show_fee: int = 0
    # A reminder: how long before the start it was meant to go (minutes).
    reminder_minutes: int = 0

    @property
    def invite_uid(self) -> str:
        # One UID for the booking's whole life, shared with the download and the calendar feed.
        return booking_uid(self.invite_key or f"booking-{self.booking_id}", self.site_domain)

    @property
    def reference(self) -> str:
        return booking_reference(self.invite_key or f"booking-{self.booking_id}")

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        for name in _MOMENTS:
            value = data[name]
            data[name] = value.astimezone(UTC).isoformat() if value else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, object]) -> BookingFacts:
        known = {field.name for field in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}  # tolerate older payloads
        for name in _MOMENTS:
            if values.get(name):
                values[name] = _parse_utc(str(values[name]))
        if "answers" in values:
            values["answers"] = tuple((str(question), str(answer)) for question, answer in values["answers"] or ())
        return cls(**values)


_MOMENTS = ("start_time", "end_time", "hold_expires_at", "previous_start_time", "previous_end_time")


def render_booking_email(*, kind: NotificationKind | str, role: RecipientRole | str, facts: BookingFacts) -> RenderedEmail:
    kind, role = NotificationKind(kind), RecipientRole(role)
    draft = _DRAFTS[kind](role, facts)
    links = [draft.link] if draft.link else []
    # Beside the attached invite: one click adds the session to Google Calendar or Outlook on the web.
    if role == RecipientRole.CLIENT and kind in (NotificationKind.BOOKING_CONFIRMED,
                                                 NotificationKind.BOOKING_RESCHEDULED):
        if facts.google_calendar_url:
            links.append(("Add to Google Calendar", facts.google_calendar_url))
        if facts.outlook_calendar_url:
            links.append(("Add to Outlook", facts.outlook_calendar_url))
    # Every email of a confirmed booking carries it, offering only what the booking still allows.
    if role == RecipientRole.CLIENT and facts.manage_url and facts.manage_actions:
        links.append((f"Manage booking ({facts.manage_actions})", facts.manage_url))
    links += receipt_links(kind, role, facts)
    return RenderedEmail(subject=draft.subject, text=_as_text(draft, links), html=_as_html(draft, links))


# The emails whose client gets the payment's receipt (and invoice) linked.
_RECEIPT_KINDS = frozenset({NotificationKind.BOOKING_CONFIRMED, NotificationKind.BOOKING_REFUNDED})


def receipt_links(kind: NotificationKind, role: RecipientRole, facts: BookingFacts) -> list[tuple[str, str]]:
    """Receipts and invoices: the client's links to the invoice they asked for and Stripe's receipt."""
    if role != RecipientRole.CLIENT or kind not in _RECEIPT_KINDS:
        return []
    links = []
    if is_web_link(facts.invoice_url):
        links.append(("View your invoice", facts.invoice_url))
    if is_web_link(facts.receipt_url):
        links.append(("View your receipt", facts.receipt_url))
    return links


def is_web_link(text: str) -> bool:
    """A location that is an http(s) address (a video call) is shown as a link; anything else as text."""
    value = (text or "").strip()
    return value.lower().startswith(("http://", "https://")) and len(value.split()) == 1


def recipient_zone(role: RecipientRole | str, facts: BookingFacts) -> ZoneInfo:
    # A zone name the tz database does not know must not stop the email: it reads as UTC, labelled.
    name = facts.builder_time_zone if RecipientRole(role) == RecipientRole.BUILDER else facts.client_time_zone
    return zone_or_utc(name)


# 'Tue 1 Dec, 14:00 GMT' in the subject, 'Tuesday 1 December 2026, 09:00–10:00 EST' in the body.
# The client reads dates, times and amounts in the locale and on the clock of the booking page they booked on
# (the words stay English); the builder in the default locale, on a 24-hour clock.
def _hour12(role: RecipientRole, facts: BookingFacts) -> bool | None:
    # None (a client whose choice isn't known): their locale's own clock (the default's is 24-hour).
    return facts.client_hour12 if RecipientRole(role) == RecipientRole.CLIENT else False


def _locale(role: RecipientRole, facts: BookingFacts) -> str | None:
    return facts.client_locale if RecipientRole(role) == RecipientRole.CLIENT else None


def _short_time(moment: datetime, role: RecipientRole, facts: BookingFacts) -> str:
    return format_datetime(moment, zone=recipient_zone(role, facts), locale=_locale(role, facts), date_style="short",
                           hour12=_hour12(role, facts))


def _time_range(start: datetime, end: datetime, role: RecipientRole, facts: BookingFacts) -> str:
    return format_time_range(start, end, zone=recipient_zone(role, facts), locale=_locale(role, facts),
                             date_style="full", hour12=_hour12(role, facts))


def _money(amount: int, role: RecipientRole, facts: BookingFacts) -> str:
    return format_money(amount, facts.currency, locale=_locale(role, facts))


def zone_text(zone: ZoneInfo) -> str:
    """'Eastern Time (America/New_York)': the friendly name the booking page used, and the IANA name."""
    friendly = friendly_zone_name(zone.key)
    return friendly if zone.key == "UTC" else f"{friendly} ({zone.key})"


# --- drafts: one function per kind --------------------------------------------------------------


@dataclass(frozen=True)
class _Draft:
    subject: str
    greeting_name: str
    paragraphs: list[str]
    details: list[tuple[str, str]]
    link: tuple[str, str] | None = None  # (label, url)


def _one_line(text: str) -> str:
    # Names go into headers: a stray newline must not become a header break.
    return " ".join(str(text).split())


def _other_party(role: RecipientRole, facts: BookingFacts) -> str:
    return _one_line(facts.client_name if role == RecipientRole.BUILDER else facts.builder_name)


def _subject(prefix: str, role: RecipientRole, facts: BookingFacts) -> str:
    when = _short_time(facts.start_time, role, facts)
    return f"{prefix}: {_one_line(facts.session_type_name)} with {_other_party(role, facts)} on {when}"


def _greeting_name(role: RecipientRole, facts: BookingFacts) -> str:
    return _one_line(facts.builder_name if role == RecipientRole.BUILDER else facts.client_name)


def _session_details(role: RecipientRole, facts: BookingFacts) -> list[tuple[str, str]]:
    zone = recipient_zone(role, facts)
    details = [("What", facts.session_type_name)]
    if role == RecipientRole.BUILDER:
        details.append(("Client", f"{facts.client_name} <{facts.client_email}>"))
        details.append(("Client's time zone", facts.client_time_zone))
    else:
        details.append(("With", facts.builder_name))
    details.append(("When", _time_range(facts.start_time, facts.end_time, role, facts)))
    details.append(("Time zone", zone_text(zone)))
    return details


def _price(role: RecipientRole, facts: BookingFacts) -> str:
    return _money(facts.amount, role, facts)


def _reference(facts: BookingFacts) -> tuple[str, str]:
    return ("Booking reference", facts.reference)


def _confirmed(role: RecipientRole, facts: BookingFacts) -> _Draft:
    if role == RecipientRole.BUILDER:
        opening = f"{_one_line(facts.client_name)} booked a session with you and has paid" + (
            " with a package credit." if facts.paid_with_credit else ".")
    else:
        opening = ("Your booking is confirmed, paid with one of your package credits. See you then!"
                   if facts.paid_with_credit else "Your booking is confirmed and paid. See you then!")
    if facts.no_show_fee:
        fee = _money(facts.no_show_fee, role, facts)
        opening = (f"{_one_line(facts.client_name)} booked a session with you; their card is kept for a "
                   f"{fee} no-show fee." if role == RecipientRole.BUILDER else
                   f"Your booking is confirmed. Nothing was charged: your card is kept for a {fee} fee, charged "
                   "only if you don't attend. See you then!")
    details = _session_details(role, facts)
    if facts.location.strip():
        details.append(("Where", one_line(facts.location)))
    if role == RecipientRole.BUILDER:
        details += [(one_line(question), one_line(answer)) for question, answer in facts.answers or ()]
    paragraphs = [opening, "The calendar invite is attached (invite.ics)."]
    if role == RecipientRole.CLIENT and facts.policy_text:
        paragraphs.append("Cancellation policy: " + " ".join(facts.policy_text.splitlines()))
    return _Draft(
        subject=_subject("Confirmed", role, facts),
        greeting_name=_greeting_name(role, facts),
        paragraphs=paragraphs,
        details=[*details, *([] if facts.no_show_fee else
                             [("Paid", "1 package credit" if facts.paid_with_credit else _price(role, facts))]),
                 _reference(facts)],
    )


def _in_words(minutes: int) -> str:
    """'24 hours', '1 hour', '90 minutes', '2 days'."""
    if minutes and minutes % 1440 == 0 and minutes >= 2880:
        return f"{minutes // 1440} days"
    if minutes and minutes % 60 == 0:
        hours = minutes // 60
        return "1 hour" if hours == 1 else f"{hours} hours"
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def _reminder(role: RecipientRole, facts: BookingFacts) -> _Draft:
    when = _time_range(facts.start_time, facts.end_time, role, facts)
    if role == RecipientRole.BUILDER:
        paragraphs = [f"A reminder: your session with {_one_line(facts.client_name)} starts in "
                      f"{_in_words(facts.reminder_minutes)} ({when})."]
    else:
        paragraphs = [f"A reminder: your session with {_one_line(facts.builder_name)} starts in "
                      f"{_in_words(facts.reminder_minutes)} ({when})."]
    details = _session_details(role, facts)
    if facts.location.strip():
        details.append(("Where", one_line(facts.location)))
    link = ("Manage your booking", facts.manage_url) if role == RecipientRole.CLIENT and facts.manage_url else None
    return _Draft(
        subject=_subject("Reminder", role, facts),
        greeting_name=_greeting_name(role, facts),
        paragraphs=paragraphs,
        details=[*details, _reference(facts)],
        link=link,
    )


def _no_show_fee_due(role: RecipientRole, facts: BookingFacts) -> _Draft:
    _require_client(role, NotificationKind.NO_SHOW_FEE_DUE)
    fee = _money(facts.no_show_fee, role, facts)
    return _Draft(
        subject=_subject("No-show fee", role, facts),
        greeting_name=_greeting_name(role, facts),
        paragraphs=[
            f"{_one_line(facts.builder_name)} marked this session as missed, and its no-show fee of {fee} is due.",
            "Your bank asked to confirm the payment, so your saved card was not charged. Please pay it on the "
            "secure page below.",
        ],
        details=[*_session_details(role, facts), ("No-show fee", fee), _reference(facts)],
        link=("Pay the no-show fee", facts.checkout_url) if facts.checkout_url else None,
    )


def _rescheduled(role: RecipientRole, facts: BookingFacts) -> _Draft:
    new_time = _time_range(facts.start_time, facts.end_time, role, facts)
    if role == RecipientRole.BUILDER and facts.moved_by_builder:
        paragraphs = [f"You moved {_one_line(facts.client_name)}'s booking to {new_time}. We've emailed them."]
    elif role == RecipientRole.BUILDER:
        paragraphs = [f"{_one_line(facts.client_name)} moved their booking to {new_time}."]
    elif facts.moved_by_builder:
        paragraphs = [f"{_one_line(facts.builder_name)} moved your booking to {new_time}. "
                      "Your payment carries over: nothing more to pay."]
    else:
        paragraphs = [f"Your booking has moved to {new_time}. Your payment carries over: nothing more to pay."]
    paragraphs.append("The updated calendar invite is attached (invite.ics); it replaces the earlier one.")
    details = _session_details(role, facts)
    if facts.previous_start_time and facts.previous_end_time:
        details.append(("Previously", _time_range(facts.previous_start_time, facts.previous_end_time, role, facts)))
    if facts.location.strip():
        details.append(("Where", one_line(facts.location)))
    return _Draft(
        subject=_subject("Rescheduled", role, facts),
        greeting_name=_greeting_name(role, facts),
        paragraphs=paragraphs,
        details=[*details, _reference(facts)],
    )


def _payment_failed(role: RecipientRole, facts: BookingFacts) -> _Draft:
    _require_client(role, NotificationKind.PAYMENT_FAILED)
    paragraphs = ["Your payment for this session didn't go through, so nothing was charged."]
    link = None
    still_held = facts.booking_status in ("", BookingStatus.PENDING) and facts.hold_expires_at is not None
    if still_held:
        held_until = _short_time(facts.hold_expires_at, role, facts)
        paragraphs.append(
            f"We're still holding the slot for you until {held_until}. "
            "You can try again at checkout before then."
        )
        if facts.checkout_url:
            link = ("Try again at checkout", facts.checkout_url)
    else:
        paragraphs.append("The slot has been released. You're welcome to book another time.")
        if facts.book_again_url:
            link = ("Book again", facts.book_again_url)
    details = _session_details(role, facts) + [("Price", _price(role, facts))]
    if facts.reason:
        details.append(("Reason", facts.reason))
    return _Draft(
        subject=_subject("Payment didn't go through", role, facts),
        greeting_name=_greeting_name(role, facts),
        paragraphs=paragraphs,
        details=[*details, _reference(facts)],
        link=link,
    )


def _refunded(role: RecipientRole, facts: BookingFacts) -> _Draft:
    refunded = _money(facts.amount_refunded, role, facts)
    if role == RecipientRole.BUILDER:
        paragraphs = [f"{_one_line(facts.client_name)}'s payment for this session was refunded: {refunded} of {_price(role, facts)}."]
    else:
        paragraphs = [
            f"We've refunded {refunded} of the {_price(role, facts)} you paid for this session.",
            "Depending on your bank, it can take 5–10 business days to appear on your statement.",
        ]
    if facts.booking_status == BookingStatus.CANCELLED:
        paragraphs.append("The booking is cancelled.")
    details = [*_session_details(role, facts), ("Paid", _price(role, facts)), ("Refunded", refunded)]
    if facts.reason:
        details.append(("Reason", facts.reason))
    return _Draft(
        subject=_subject("Refunded", role, facts),
        greeting_name=_greeting_name(role, facts),
        paragraphs=paragraphs,
        details=[*details, _reference(facts)],
    )


def _cancelled(role: RecipientRole, facts: BookingFacts) -> _Draft:
    if role == RecipientRole.BUILDER:
        paragraphs = [f"{_one_line(facts.client_name)}'s booking has been cancelled. The slot is free again."]
    else:
        paragraphs = ["Your booking has been cancelled."]
    refunded = _money(facts.amount_refunded, role, facts) if facts.amount_refunded else ""
    if refunded and facts.refund_pending:
        paragraphs.append(f"A refund of {refunded} is on its way"
                          + (" to the client." if role == RecipientRole.BUILDER else
                             "; depending on your bank, it can take 5–10 business days to appear."))
    elif refunded:
        paragraphs.append(f"{refunded} has been refunded"
                          + (" to the client." if role == RecipientRole.BUILDER else "."))
    if facts.was_confirmed:
        paragraphs.append("The attached cancel.ics removes the event from your calendar.")
    details = _session_details(role, facts)
    if refunded:
        details += [("Paid", _price(role, facts)), ("Refunded", refunded)]
    if facts.reason:
        details.append(("Reason", facts.reason))
    return _Draft(
        subject=_subject("Cancelled", role, facts),
        greeting_name=_greeting_name(role, facts),
        paragraphs=paragraphs,
        details=[*details, _reference(facts)],
    )


def _hold_expired(role: RecipientRole, facts: BookingFacts) -> _Draft:
    _require_client(role, NotificationKind.HOLD_EXPIRED)
    return _Draft(
        subject=_subject("Hold expired", role, facts),
        greeting_name=_greeting_name(role, facts),
        paragraphs=[
            "We held this slot for you while you paid, but the hold expired before payment was completed.",
            "Nothing was charged, and the slot has been released. You're welcome to book again.",
        ],
        details=[*_session_details(role, facts), _reference(facts)],
        link=("Book again", facts.book_again_url) if facts.book_again_url else None,
    )


def _debit_failed(role: RecipientRole, facts: BookingFacts) -> _Draft:
    _require_client(role, NotificationKind.DEBIT_FAILED)
    return _Draft(
        subject=_subject("Bank debit failed", role, facts),
        greeting_name=_greeting_name(role, facts),
        paragraphs=[
            "Your bank debit for this session failed, so nothing was taken from your account.",
            "The time was released and is no longer held for you. You're welcome to book again.",
        ],
        details=[*_session_details(role, facts), ("Price", _price(role, facts)), _reference(facts)],
        link=("Book again", facts.book_again_url) if facts.book_again_url else None,
    )


def _require_client(role: RecipientRole, kind: NotificationKind) -> None:
    if role != RecipientRole.CLIENT:
        raise ValueError(f"{kind} emails go to the client only")


_DRAFTS = {
    NotificationKind.BOOKING_CONFIRMED: _confirmed,
    NotificationKind.PAYMENT_FAILED: _payment_failed,
    NotificationKind.BOOKING_REFUNDED: _refunded,
    NotificationKind.BOOKING_CANCELLED: _cancelled,
    NotificationKind.HOLD_EXPIRED: _hold_expired,
    NotificationKind.BOOKING_RESCHEDULED: _rescheduled,
    NotificationKind.DEBIT_FAILED: _debit_failed,
    NotificationKind.BOOKING_REMINDER: _reminder,
    NotificationKind.NO_SHOW_FEE_DUE: _no_show_fee_due,
}


# --- text and HTML from one draft ---------------------------------------------------------------


def _as_text(draft: _Draft, links: list[tuple[str, str]]) -> str:
    width = max(len(label) for label, _ in draft.details) + 1
    lines = [f"Hi {draft.greeting_name},", ""]
    for paragraph in draft.paragraphs:
        lines += [paragraph, ""]
    lines += [f"  {label + ':':<{width}} {value}" for label, value in draft.details]
    for label, url in links:
        lines += ["", f"{label}: {url}"]
    return "\n".join(lines) + "\n"


def _as_html(draft: _Draft, links: list[tuple[str, str]]) -> str:
    esc = html.escape
    parts = [
        "<!doctype html>",
        '<html><body style="font-family: sans-serif; line-height: 1.5; color: #222;">',
        f"<p>Hi {esc(draft.greeting_name)},</p>",
    ]
    parts += [f"<p>{esc(paragraph)}</p>" for paragraph in draft.paragraphs]
    parts.append('<table style="border-collapse: collapse;">')
    for label, value in draft.details:
        parts.append(
            f'<tr><th style="text-align: left; padding: 2px 12px 2px 0;">{esc(label)}</th>'
            f"<td>{_html_value(value)}</td></tr>"
        )
    parts.append("</table>")
    for label, url in links:
        parts.append(f'<p><a href="{esc(url, quote=True)}">{esc(label)}</a></p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_value(value: str) -> str:
    if is_web_link(value):
        return f'<a href="{html.escape(value.strip(), quote=True)}">{html.escape(value)}</a>'
    return html.escape(value)


def _parse_utc(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def payload_json(*, kind: NotificationKind | str, role: RecipientRole | str, facts: BookingFacts) -> str:
    """The outbox payload: the facts plus who gets it and why, enough to render with no joins."""
    return json.dumps({"kind": str(kind), "role": str(role), **facts.to_json()}, sort_keys=True)


def facts_from_payload(payload: str) -> tuple[RecipientRole, BookingFacts]:
    data = json.loads(payload)
    return RecipientRole(data["role"]), BookingFacts.from_json(data)


# --- payouts: emails about a builder's connected account (no booking behind them) -------------------


@dataclass(frozen=True)
class PayoutFacts:
    """A payout from a builder's Stripe balance to their bank, as it was when the email was queued."""

    payout_id: str
    builder_name: str
    recipient_name: str
    recipient_role: RecipientRole  # builder or admin
    amount: int
    currency: str
    failure_code: str = ""
    failure_message: str = ""
    payouts_url: str = ""
    site_domain: str = "localhost"

    def to_json(self) -> str:
        return json.dumps({"kind": str(NotificationKind.PAYOUT_FAILED), **asdict(self)}, sort_keys=True)

    @classmethod
    def from_json(cls, payload: str) -> PayoutFacts:
        data = json.loads(payload)
        known = {field.name for field in fields(cls)}
        facts = {key: value for key, value in data.items() if key in known}
        return cls(**{**facts, "recipient_role": RecipientRole(facts["recipient_role"])})


def render_payout_email(*, kind: NotificationKind | str, facts: PayoutFacts) -> RenderedEmail:
    if NotificationKind(kind) != NotificationKind.PAYOUT_FAILED:
        raise ValueError(f"{kind} is not a payout email")
    money = format_money(facts.amount, facts.currency)
    builder = _one_line(facts.builder_name)
    if facts.recipient_role == RecipientRole.BUILDER:
        subject = f"Payout failed: {money} didn't reach your bank"
        paragraphs = [f"Stripe couldn't pay {money} out to your bank account. The money is back in your "
                      "Stripe balance: nothing is lost.",
                      "Check your bank details in the Stripe Express dashboard (Payouts page, Login Link); "
                      "Stripe retries once they are fixed."]
    else:
        subject = f"Payout failed: {money} to {builder}"
        paragraphs = [f"Stripe couldn't pay {money} out to {builder}'s bank account. It is back in their "
                      "Stripe balance; they have been told to check their bank details."]
    details = [("Amount", money), ("Payout", facts.payout_id)]
    if facts.failure_code or facts.failure_message:
        details.append(("Reason", " — ".join(part for part in (facts.failure_code, facts.failure_message) if part)))
    link = Link(facts.payouts_url, "Payouts", "Payouts") if facts.payouts_url else None
    return render_letter(subject=subject, name=_one_line(facts.recipient_name), paragraphs=paragraphs,
                         details=details, link=link)



# --- account links: a password reset, a builder's invitation (no booking behind them) -------------------

ACCOUNT_KINDS = frozenset({NotificationKind.PASSWORD_RESET, NotificationKind.BUILDER_INVITE})


@dataclass(frozen=True)
class AccountLinkFacts:
    """An emailed one-time link. `seed` rebuilds the link's token with the app's key when the email is built
    (booking.accounts.tokens): the outbox row alone can't be used as the link."""

    token_id: int
    seed: str
    recipient_name: str
    expires_at: datetime
    platform_name: str = "Book a builder"
    site_domain: str = "localhost"
    builder_name: str = ""  # an invite: the builder's public name

    def to_json(self, kind: NotificationKind | str) -> str:
        data = asdict(self)
        data["expires_at"] = _parse_utc(self.expires_at.isoformat()).isoformat()
        return json.dumps({"kind": str(kind), **data}, sort_keys=True)

    @classmethod
    def from_json(cls, payload: str) -> AccountLinkFacts:
        data = json.loads(payload)
        known = {field.name for field in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        values["expires_at"] = _parse_utc(values["expires_at"])
        return cls(**values)


def render_account_email(*, kind: NotificationKind | str, facts: AccountLinkFacts, url: str) -> RenderedEmail:
    """The email that carries the link; the expiry is told in UTC (no recipient zone is known for certain)."""
    kind = NotificationKind(kind)
    platform = _one_line(facts.platform_name)
    until = format_datetime(facts.expires_at, zone=zone_or_utc("UTC"), date_style="medium", hour12=False)
    if kind == NotificationKind.PASSWORD_RESET:
        subject = f"Reset your {platform} password"
        paragraphs = ["Someone (we hope you) asked to reset the password of your workspace account. Open the "
                      "link below to choose a new one: every signed-in session will then be signed out.",
                      f"The link works once, until {until}. If you didn't ask for it, ignore this email: your "
                      "password stays as it is."]
        label = "Choose a new password"
    elif kind == NotificationKind.BUILDER_INVITE:
        subject = f"You're invited to {platform}"
        paragraphs = [f"You've been invited to {platform} as {_one_line(facts.builder_name)}. Open the link below "
                      "to choose your password, then sign in to set up your session types and hours.",
                      f"The link works once, until {until}."]
        label = "Choose your password"
    else:
        raise ValueError(f"{kind} is not an account email")
    return render_letter(subject=subject, name=_one_line(facts.recipient_name) or "there", paragraphs=paragraphs,
                         link=Link(url, label, label))
