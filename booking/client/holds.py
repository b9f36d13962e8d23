"""The client's own hold, recognised by the browser that made it.

The booking page keeps a random hold key in the browser; `payments.write_hold` stores its SHA-256
on the booking. Coming back (browser Back from Checkout, a reload, another tab) the page finds the hold
by that hash and offers **Continue to payment** (the same Checkout Session while it is open, else a
fresh one for the same hold) or **Pick another time** (release). The booking id never comes from the
browser here: the key is the only thing that names the hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.core.config import Settings
from booking.core.db import session_scope
from booking.core.models import Booking, BookingStatus, Builder, SessionType, utcnow
from booking.core.time import LocaleLike, format_time, format_time_range
from booking.lifecycle import checkout as payments
from booking.payments import ledger as payment_records
from booking.payments.gateway import CheckoutStatus, PaymentGateway
from booking.scheduling.availability import Slot, load_zone


@dataclass(frozen=True)
class HeldSlot:
    """What the booking page says about the browser's hold ("You're holding ... until 10:02")."""

    session_type_id: str
    session_type_name: str
    builder_name: str
    start: str  # ISO 8601 in the viewer's zone
    end: str
    when_24: str  # "Tuesday 1 December 2026, 09:30–10:30"
    when_12: str
    until_24: str  # "10:02"
    until_12: str  # "10:02 AM"


def _held_booking(*, session: Session, browser_hold_key: str, now: datetime) -> Booking | None:
    if not browser_hold_key:
        return None
    return session.exec(
        select(Booking)
        .where(
            Booking.browser_hold_key == payments.hold_key_hash(browser_hold_key),
            Booking.status == BookingStatus.PENDING,
            payment_records.awaits_payment(),
            Booking.hold_expires_at > now,
        )
        .order_by(Booking.created_at.desc())
    ).first()


def current_hold(*, session: Session, browser_hold_key: str, viewer_time_zone: str,
                 now: datetime | None = None, locale: LocaleLike = None) -> HeldSlot | None:
    now = now or utcnow()
    booking = _held_booking(session=session, browser_hold_key=browser_hold_key, now=now)
    if booking is None:
        return None
    zone = load_zone(viewer_time_zone)
    start, end = booking.start_time.astimezone(zone), booking.end_time.astimezone(zone)
    until = booking.hold_expires_at.astimezone(zone)
    session_type = session.get(SessionType, booking.session_type_id)
    builder = session.get(Builder, booking.builder_id)

    def when(hour12: bool) -> str:
        return format_time_range(start, end, zone=zone, locale=locale, hour12=hour12, abbreviation=False)

    return HeldSlot(
        session_type_id=str(booking.session_type_id),
        session_type_name=session_type.name,
        builder_name=builder.name,
        start=start.isoformat(),
        end=end.isoformat(),
        when_24=when(False),
        when_12=when(True),
        until_24=format_time(until, zone=zone, locale=locale, hour12=False),
        until_12=format_time(until, zone=zone, locale=locale, hour12=True),
    )


def held_slot(hold: HeldSlot | None, session_type_id: str) -> Slot | None:
    """The hold as a calendar slot, when it is of the session type on the page."""
    if hold is None or hold.session_type_id != session_type_id:
        return None
    return Slot(start=datetime.fromisoformat(hold.start), end=datetime.fromisoformat(hold.end))


@dataclass(frozen=True)
class Continued:
    """Where "Continue to payment" goes: Stripe's page, or the success page when it was paid meanwhile."""

    paid: bool
    checkout_session_id: str
    checkout_url: str


def continue_checkout(*, engine: Engine, gateway: PaymentGateway, settings: Settings, booking_id: str,
                      now: datetime | None = None) -> Continued:
    """The same Checkout Session while it is still open; a new one for the same hold otherwise.

    Raises payments.HoldNotActive when the hold has ended.
    """
    now = now or utcnow()
    with session_scope(engine) as session:
        booking = session.get(Booking, booking_id)
        if booking is None or booking.status != BookingStatus.PENDING:
            raise payments.HoldNotActive(booking.status if booking else "unknown")
        money = payment_records.money_of(session=session, booking=booking)
        checkout_id, checkout_url = money.checkout_session_id, money.checkout_url
        hold_ends = booking.hold_expires_at
    if hold_ends is None or hold_ends <= now:
        raise payments.HoldNotActive("expired")
    if checkout_id:
        current = gateway.retrieve_checkout_session(checkout_id)  # no transaction open around Stripe
        if payments.checkout_settled(current):  # paid meanwhile: fulfilled (a late payment's refund sent too)
            payments.fulfil_flow(engine=engine, gateway=gateway, checkout=current)
            return Continued(paid=True, checkout_session_id=checkout_id, checkout_url="")
        if current.status == CheckoutStatus.OPEN and (current.url or checkout_url):
            return Continued(paid=False, checkout_session_id=checkout_id, checkout_url=current.url or checkout_url)
    started = payments.retry_checkout(engine=engine, gateway=gateway, settings=settings, booking_id=booking_id, now=now)
    return Continued(paid=False, checkout_session_id=started.checkout_session_id, checkout_url=started.checkout_url)


def _held_booking_id(*, engine: Engine, browser_hold_key: str) -> str:
    with session_scope(engine) as session:
        booking = _held_booking(session=session, browser_hold_key=browser_hold_key, now=utcnow())
        if booking is None:
            raise payments.HoldNotActive("no hold for this browser")
        return booking.id


def continue_browser_hold(*, engine: Engine, gateway: PaymentGateway, settings: Settings,
                          browser_hold_key: str) -> Continued:
    booking_id = _held_booking_id(engine=engine, browser_hold_key=browser_hold_key)
    return continue_checkout(engine=engine, gateway=gateway, settings=settings, booking_id=booking_id)


def release_browser_hold(*, engine: Engine, gateway: PaymentGateway, browser_hold_key: str) -> bool:
    """"Pick another time": the Checkout Session is expired first, then the slot is freed."""
    booking_id = _held_booking_id(engine=engine, browser_hold_key=browser_hold_key)
    return payments.release_hold_and_expire(engine=engine, gateway=gateway, booking_id=booking_id)
