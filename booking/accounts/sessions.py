"""Signed-in sessions: a random token in the browser, only its SHA-256 in the database.

A session ends when unused for the idle limit, at its absolute limit, on sign-out, and when the
account's password changes.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from booking.core.models import AuthSession, UserAccount, utcnow

# last_seen_at is written at most this often: an admin page sends many events.
_TOUCH_EVERY = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def start(*, session: Session, user_id: int, now: datetime | None = None, max_hours: int = 72) -> str:
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(AuthSession(token_hash=token_hash(token), user_id=user_id, created_at=now, last_seen_at=now,
                            expires_at=now + timedelta(hours=max_hours)))
    session.flush()
    return token


def looks_like_digest(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def resolve(*, session: Session, token: str, idle_minutes: int, now: datetime | None = None) -> UserAccount | None:
    """The account behind a live token, or None. Keeps the session alive (idle clock)."""
    if not token or len(token) > 200:
        return None
    return resolve_digest(session=session, digest=token_hash(token), idle_minutes=idle_minutes, now=now)


def resolve_digest(*, session: Session, digest: str, idle_minutes: int,
                   now: datetime | None = None) -> UserAccount | None:
    """`resolve` by the token's SHA-256, for a connection that carries only the digest (the workspace's
    websocket: booking_ui.admin.base.SessionCookieShield). Never fed from a value a browser chose."""
    if not looks_like_digest(digest):
        return None
    now = now or utcnow()
    row = session.exec(select(AuthSession).where(AuthSession.token_hash == digest)).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at + timedelta(minutes=idle_minutes) <= now:
        return None
    user = session.get(UserAccount, row.user_id)
    if user is None or not user.active or user.password_changed_at > row.created_at:
        return None
    if now - row.last_seen_at >= _TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
        session.flush()
    return user


def revoke(*, session: Session, token: str, now: datetime | None = None) -> None:
    if not token or len(token) > 200:
        return
    revoke_digest(session=session, digest=token_hash(token), now=now)


def revoke_digest(*, session: Session, digest: str, now: datetime | None = None) -> None:
    if not looks_like_digest(digest):
        return
    session.execute(
        sa.update(AuthSession)
        .where(AuthSession.token_hash == digest, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )


def revoke_all(*, session: Session, user_id: int, now: datetime | None = None) -> None:
    session.execute(
        sa.update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )
