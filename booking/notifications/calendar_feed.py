"""A builder's private calendar subscription: `/calendar/<token>.ics` lists their confirmed bookings.

The token is the only secret: random, shown to the builder once, stored only as its SHA-256 in
`Builder.calendar_token_hash`. Issuing a new token replaces the hash, so the old URL stops working.
Each booking keeps the UID of its emailed and downloaded invites, so calendars never show it twice.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from booking.core.models import Booking, BookingStatus, Builder, Client, SessionType, utcnow
from booking.notifications.ics import FeedEntry, booking_reference, booking_uid, publish_feed, site_domain

# Past sessions stay visible this long, so last week's calendar still shows what happened.
FEED_HISTORY = timedelta(days=30)
# token_urlsafe(32) gives 43 characters of [A-Za-z0-9_-]; anything else is refused before any lookup.
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32,128}$")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(*, session: Session, builder_id: int) -> str:
    """A new feed token for the builder (the caller has checked they may); the previous one dies."""
    builder = session.get(Builder, builder_id, with_for_update=True)
    if builder is None:
        raise LookupError(f"no builder {builder_id}")
    token = secrets.token_urlsafe(32)
    builder.calendar_token_hash = token_hash(token)
    session.add(builder)
    session.flush()
    return token


def has_feed(*, session: Session, builder_id: int) -> bool:
    builder = session.get(Builder, builder_id)
    return builder is not None and builder.calendar_token_hash is not None


def builder_for_token(*, session: Session, token: str) -> Builder | None:
    if not isinstance(token, str) or not _TOKEN_SHAPE.match(token):
        return None
    return session.exec(select(Builder).where(Builder.calendar_token_hash == token_hash(token))).first()


@dataclass(frozen=True)
class Feed:
    """What one builder's feed lists, read in one transaction; rendering needs no database."""

    name: str
    entries: tuple[FeedEntry, ...]
    stamp: datetime | None = None

    def to_ical(self) -> bytes:
        return publish_feed(name=self.name, entries=self.entries, stamp=self.stamp)


def load_feed(*, session: Session, token: str, now: datetime | None = None,
              public_url: str | None = None) -> Feed | None:
    """The feed's rows, or None for an unknown, revoked or malformed token.

    Render it (`Feed.to_ical`) after the transaction ends: on SQLite every transaction holds the
    write lock, and rendering thousands of events takes a while.
    """
    builder = builder_for_token(session=session, token=token)
    if builder is None:
        return None
    if public_url is None:
        from booking.core.config import get_settings  # read when called, never at import

        public_url = get_settings().public_url
    domain = site_domain(public_url)
    since = (now or utcnow()) - FEED_HISTORY
    # One query for all the rows the feed needs, on the (builder_id, start_time) index.
    rows = session.exec(
        select(Booking.invite_uid, Booking.start_time, Booking.end_time, sa.func.coalesce(Booking.client_name, Client.name),
               Client.email,
               SessionType.name, SessionType.location)
        .join(Client, Client.id == Booking.client_id)
        .join(SessionType, SessionType.id == Booking.session_type_id)
        .where(Booking.builder_id == builder.id, Booking.status == BookingStatus.CONFIRMED,
               Booking.start_time >= since)
        .order_by(Booking.start_time)
    ).all()
    entries = tuple(
        FeedEntry(
            uid=booking_uid(invite_uid, domain),
            summary=f"{type_name} with {' '.join(client_name.split())}",
            description=f"Client: {client_name} <{client_email}>\nBooking reference {booking_reference(invite_uid)}",
            start=start,
            end=end,
            location=location or "",
        )
        for invite_uid, start, end, client_name, client_email, type_name, location in rows
    )
    return Feed(name=f"{builder.name}: bookings", entries=entries, stamp=now)


def feed_for_token(*, session: Session, token: str, now: datetime | None = None,
                   public_url: str | None = None) -> bytes | None:
    """The feed's .ics bytes, or None for an unknown, revoked or malformed token."""
    feed = load_feed(session=session, token=token, now=now, public_url=public_url)
    return feed.to_ical() if feed is not None else None
