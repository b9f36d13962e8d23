"""What a client sees about one booking: names, time in their zone, amount, state."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlmodel import Session

from booking.core.models import Booking, BookingStatus, Builder, Client, SessionType
from booking.core.slugs import type_path
from booking.core.time import LocaleLike, format_money, format_time, format_when
from booking.core.zones import friendly_zone_name
from booking.notifications import calendar_links, manage_links
from booking.notifications.ics import one_line
from booking.notifications.templates import is_web_link
from booking.payments import ledger as payment_records


@dataclass(frozen=True)
class BookingSummary:
    id: str
    status: str
    payment_status: str
    builder_name: str
    builder_slug: str
    session_type_id: str
    session_type_name: str
    duration_minutes: int
    when: str  # e.g. "Tuesday 1 December 2026, 09:00–10:00 EST"
    time_zone: str
    amount: str
    hold_expires: str  # in the client's zone, "" when not held
    # Where the session happens: "" until the booking is confirmed (paid), so an unpaid hold never shows it.
    location: str = ""
    location_is_link: bool = False
    # The client's "Manage booking" page (a path; "" unless confirmed and its link issued).
    manage_path: str = ""
    zone_label: str = ""  # "Eastern Time": the friendly name the booking page showed
    hour12: bool = False  # the clock the client chose on the booking page
    # Only for the browser that paid (booking.client.receipts): where the confirmation went, the invite
    # download (a signed, short-lived path) and "Add to Google Calendar / Outlook".
    client_email: str = ""
    invite_path: str = ""
    google_calendar_url: str = ""
    outlook_calendar_url: str = ""
    # Receipts and invoices (a confirmed booking's): Stripe's receipt and the invoice the client asked for.
    receipt_url: str = ""
    invoice_url: str = ""
    invoice_pdf_url: str = ""
    book_path: str = ""  # the session type's booking page: /<builder slug>/<session type slug>

    @property
    def still_held(self) -> bool:
        """A hold the client may still pay (the success page offers to go back to Checkout)."""
        return self.status == BookingStatus.PENDING


def summarise(*, session: Session, booking: Booking, time_zone: str | None = None,
              locale: LocaleLike = None) -> BookingSummary:
    builder = session.get(Builder, booking.builder_id)
    session_type = session.get(SessionType, booking.session_type_id)
    zone_name = time_zone or booking.client_time_zone
    locale = locale or booking.client_locale  # a browser that sends no language: the one it booked in
    location = one_line(session_type.location or "") if booking.status == BookingStatus.CONFIRMED else ""
    hold = ""
    hour12 = booking.client_hour12
    if booking.hold_expires_at is not None:
        hold = format_time(booking.hold_expires_at, zone=zone_name, locale=locale, abbreviation=True, hour12=hour12)
    money = payment_records.money_of(session=session, booking=booking)
    return BookingSummary(
        id=booking.id,
        status=str(booking.status),
        payment_status=str(money.status or ""),
        builder_name=builder.name,
        builder_slug=builder.slug,
        session_type_id=str(session_type.id),
        book_path=type_path(builder.slug, session_type.slug, session_type.id),
        session_type_name=session_type.name,
        duration_minutes=session_type.duration_minutes,
        when=format_when(booking.start_time, booking.end_time, zone_name, locale=locale, hour12=hour12),
        time_zone=zone_name,
        amount=format_money(money.amount, money.currency, locale=locale),
        hold_expires=hold,
        location=location,
        location_is_link=is_web_link(location),
        manage_path=_manage_path(booking),
        zone_label=friendly_zone_name(zone_name),
        hour12=hour12 is True,
        **_documents(session, booking),
    )


def private_details(*, session: Session, booking: Booking, summary: BookingSummary,
                    invite_path: str = "") -> BookingSummary:
    """What only the client themselves may see (the browser that paid): the address the confirmation went
    to, the invite download and the calendar links (which carry the location, so only once paid)."""
    client = session.get(Client, booking.client_id)
    extra: dict[str, str] = {"client_email": client.email if client else "", "invite_path": invite_path}
    if booking.status == BookingStatus.CONFIRMED:
        builder = session.get(Builder, booking.builder_id)
        session_type = session.get(SessionType, booking.session_type_id)
        links = calendar_links.links_for(calendar_links.session_event(
            session_type_name=session_type.name, builder_name=builder.name, start=booking.start_time,
            end=booking.end_time, description=session_type.description or "", location=session_type.location or ""))
        extra.update(google_calendar_url=links.google, outlook_calendar_url=links.outlook)
    return replace(summary, **extra)


def manage_path_of(summary: BookingSummary) -> str:
    """The manage path of a summary shown to the browser that paid, derived again when the page is sent
    (pages keep summaries without it: a raw manage token must not sit in stored page state)."""
    if summary.status != BookingStatus.CONFIRMED.value:
        return ""
    return manage_links.manage_path(manage_links.derive_token(summary.id))


def without_manage_path(summary: BookingSummary | None) -> BookingSummary | None:
    return replace(summary, manage_path="") if summary is not None else None


def _documents(session: Session, booking: Booking) -> dict[str, str]:
    if booking.status != BookingStatus.CONFIRMED:
        return {}
    payment = payment_records.booking_payment(session=session, booking=booking)
    found = {"receipt_url": payment.receipt_url, "invoice_url": payment.invoice_url,
             "invoice_pdf_url": payment.invoice_pdf_url} if payment is not None else {}
    return {name: value for name, value in found.items() if value and is_web_link(value)}


def _manage_path(booking: Booking) -> str:
    token = manage_links.current_token(booking) if booking.status == BookingStatus.CONFIRMED else None
    return manage_links.manage_path(token) if token else ""
