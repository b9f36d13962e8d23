"""The "Add to calendar" download for a confirmed booking (same UID as the emailed invite).

The success page's download is keyed by the invite's opaque UID plus a signed, short-lived token, never by
the booking id: `invite_path` is handed only to the browser that paid (booking.client.receipts), and the
token, HMAC(SECRET_KEY, "invite:" + uid + ":" + expiry), stops working after `INVITE_LINK_TTL`. The manage
link has its own download (booking.client.manage.invite_for_token).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from sqlmodel import Session, select

from booking.core.models import Booking, BookingStatus, Builder, Client, SessionType, utcnow
from booking.notifications.ics import booking_invite, booking_uid, site_domain

INVITE_PATH = "/api/invites/{invite_uid}/{token}/invite.ics"  # booking_ui.routes.API_ICS serves it
INVITE_LINK_TTL = timedelta(hours=24)
INVITE_UID_MAX_LENGTH = 64  # Booking.invite_uid's column
TOKEN_MAX_LENGTH = 60


def _key() -> bytes:
    from booking.core.config import secret_key  # read when used, never at import

    return secret_key()


def _mac(invite_uid: str, expires: int, key: bytes | None = None) -> str:
    digest = hmac.new(key or _key(), f"invite:{invite_uid}:{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def invite_token(invite_uid: str, *, now: datetime | None = None, key: bytes | None = None) -> str:
    """'<expiry, unix seconds>.<signature>': lets its holder download this one invite until the expiry."""
    expires = int(((now or utcnow()) + INVITE_LINK_TTL).timestamp())
    return f"{expires}.{_mac(invite_uid, expires, key)}"


def invite_token_ok(invite_uid: str, token: str, *, now: datetime | None = None, key: bytes | None = None) -> bool:
    if not isinstance(token, str) or len(token) > TOKEN_MAX_LENGTH or token.count(".") != 1:
        return False
    expires, signature = token.split(".")
    if not expires.isdigit() or len(expires) > 12 or int(expires) < (now or utcnow()).timestamp():
        return False
    return hmac.compare_digest(_mac(invite_uid, int(expires), key).encode(), signature.encode())


def invite_path(invite_uid: str, *, now: datetime | None = None) -> str:
    return INVITE_PATH.format(invite_uid=invite_uid, token=invite_token(invite_uid, now=now))


def _plain(value: object, limit: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit and value.isascii() and value.isprintable()


def invite_for_uid(*, session: Session, invite_uid: str, token: str, now: datetime | None = None,
                   public_url: str | None = None) -> bytes | None:
    """The .ics of a confirmed booking, for the holder of a valid token for its invite UID; else None."""
    if not _plain(invite_uid, INVITE_UID_MAX_LENGTH) or not _plain(token, TOKEN_MAX_LENGTH):
        return None  # e.g. a NUL byte, which PostgreSQL refuses in a query
    if not invite_token_ok(invite_uid, token, now=now):
        return None
    booking = session.exec(select(Booking).where(Booking.invite_uid == invite_uid)).first()
    if booking is None:
        return None
    return invite_of(session=session, booking=booking, public_url=public_url)


def invite_of(*, session: Session, booking: Booking, public_url: str | None = None) -> bytes | None:
    """The .ics of a confirmed booking (None otherwise). `public_url` defaults to the configured one."""
    if booking.status != BookingStatus.CONFIRMED:
        return None
    if public_url is None:
        from booking.core.config import get_settings  # read when called, never at import

        public_url = get_settings().public_url
    builder = session.get(Builder, booking.builder_id)
    client = session.get(Client, booking.client_id)
    session_type = session.get(SessionType, booking.session_type_id)
    return booking_invite(
        uid=booking_uid(booking.invite_uid, site_domain(public_url)),
        summary=f"{session_type.name} with {builder.name}",
        description=session_type.description,
        start=booking.start_time,
        end=booking.end_time,
        organizer_email=builder.email,
        attendee_email=client.email,
        location=session_type.location or "",  # confirmed, so paid: the client may see it
        method="PUBLISH",  # a download to import, not an invitation to answer
        sequence=booking.invite_sequence,  # a rescheduled booking replaces the earlier import
        organizer_name=builder.name,
        attendee_name=booking.client_name or client.name,
    )
