"""The client's wallet (opened from the emailed wallet link): their credits with one builder, when they
expire, and booking a time with one (confirmed at once, no payment). With no credit left, the wallet
sends them to the session's booking page, where they pay as usual."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.core.db import session_scope
from booking.core.models import Builder, CreditWallet, PackagePurchase, SessionType, utcnow
from booking.core.time import format_date, format_when, zone_or_utc
from booking.lifecycle.checkout import InvalidRequest, SlotUnavailable
from booking.lifecycle.credit_bookings import write_credit_booking
from booking.notifications import manage_links, wallet_links
from booking.payments import credits
from booking.scheduling.slots import SessionTypeNotFound

log = logging.getLogger(__name__)


class WalletNotFound(LookupError):
    pass


@dataclass(frozen=True)
class WalletCredit:
    available: int
    expires: str  # the date, in the viewer's zone
    session_type_names: str


@dataclass(frozen=True)
class WalletSessionType:
    id: str
    name: str
    duration_minutes: int
    credits: int  # usable on it now


@dataclass(frozen=True)
class WalletView:
    builder_name: str
    builder_slug: str
    client_email: str
    available: int
    credits: list[WalletCredit]
    session_types: list[WalletSessionType]
    next_expiry: str  # "" with no credit left


def _wallet(session: Session, token: str) -> CreditWallet:
    wallet = wallet_links.find_wallet(session=session, token=token)
    if wallet is None:
        raise WalletNotFound("This wallet link is not valid.")
    return wallet


def load_wallet(*, engine: Engine, token: str, time_zone: str = "UTC", locale: str | None = None,
                now: datetime | None = None) -> WalletView:
    """The wallet, its expiry dates written in the viewer's zone and `locale`."""
    now = now or utcnow()
    zone = zone_or_utc(time_zone)
    with session_scope(engine) as session:
        wallet = _wallet(session, token)
        builder = session.get(Builder, wallet.builder_id)
        summary = credits.balance(session=session, client_email=wallet.client_email,
                                  builder_id=wallet.builder_id, now=now)
        type_ids = sorted({type_id for grant in summary.grants for type_id in grant.session_type_ids})
        types = {row.id: row for row in session.exec(select(SessionType).where(SessionType.id.in_(type_ids)))}
        rows = [WalletCredit(available=grant.available, expires=format_date(grant.expires_at, zone=zone, locale=locale),
                             session_type_names=", ".join(types[t].name for t in grant.session_type_ids if t in types))
                for grant in summary.grants if grant.available > 0]
        offered = [WalletSessionType(id=str(row.id), name=row.name, duration_minutes=row.duration_minutes,
                                     credits=sum(grant.available for grant in summary.grants
                                                 if row.id in grant.session_type_ids))
                   for type_id, row in sorted(types.items()) if row.active]
        return WalletView(builder_name=builder.name, builder_slug=builder.slug, client_email=wallet.client_email,
                          available=summary.available, credits=rows, session_types=offered,
                          next_expiry=format_date(summary.next_expiry, zone=zone, locale=locale)
                          if summary.next_expiry else "")


@dataclass(frozen=True)
class CreditBooked:
    ok: bool
    code: str  # booked | no_credit | slot_unavailable | invalid
    message: str
    manage_path: str = ""


def book_with_credit(*, engine: Engine, token: str, session_type_id: object, start_time: datetime,
                     client_time_zone: str = "UTC", client_hour12: bool | None = None,
                     client_locale: str | None = None, now: datetime | None = None) -> CreditBooked:
    """Book a time with one credit: confirmed at once. Raises WalletNotFound; other refusals are answers."""
    now = now or utcnow()
    try:
        type_id = int(str(session_type_id))
    except ValueError:
        return CreditBooked(False, "invalid", "Pick a session first.")
    try:
        with session_scope(engine) as session:
            wallet = _wallet(session, token)
            if session.get(SessionType, type_id) is None or session.get(SessionType, type_id).builder_id != \
                    wallet.builder_id:
                return CreditBooked(False, "invalid", "Pick a session first.")
            name = session.exec(select(PackagePurchase.client_name).where(
                PackagePurchase.builder_id == wallet.builder_id,
                PackagePurchase.client_email == wallet.client_email).order_by(PackagePurchase.id.desc())).first()
            booking = write_credit_booking(session=session, session_type_id=type_id, start_time=start_time,
                                           client_name=name or wallet.client_email.split("@")[0],
                                           client_email=wallet.client_email, client_time_zone=client_time_zone,
                                           client_hour12=client_hour12, client_locale=client_locale, now=now)
            token_for_booking = manage_links.issue(session=session, booking=booking)
            when = format_when(booking.start_time, booking.end_time, client_time_zone, locale=booking.client_locale,
                               hour12=client_hour12)
    except credits.NoCreditAvailable:
        return CreditBooked(False, "no_credit", "You have no credit left for this session. You can book it and "
                            "pay instead.")
    except SlotUnavailable:
        return CreditBooked(False, "slot_unavailable", "That time is no longer available. Please pick another.")
    except (InvalidRequest, SessionTypeNotFound) as exc:
        return CreditBooked(False, "invalid", str(exc) or "That session can't be booked.")
    log.info("booked with a credit from a wallet")
    return CreditBooked(True, "booked", f"Booked: {when}. One credit used; a confirmation is on its way by email.",
                        manage_path=manage_links.manage_path(token_for_booking))


def wallet_month(*, engine: Engine, token: str, session_type_id: object, time_zone: str, year: int | None = None,
                 month: int | None = None, now: datetime | None = None, locale: str | None = None):
    """The booking page's month picker for one of the wallet's session types (None: not one of them)."""
    from booking.client.booking_page import month_view

    now = now or utcnow()
    with session_scope(engine) as session:
        wallet = _wallet(session, token)
        try:
            row = session.get(SessionType, int(str(session_type_id)))
        except ValueError:
            return None
        if row is None or row.builder_id != wallet.builder_id or not row.active:
            return None
        try:
            return month_view(session=session, session_type_id=row.id, viewer_time_zone=zone_or_utc(time_zone).key,
                              now=now, year=year, month=month, locale=locale)
        except SessionTypeNotFound:
            return None
