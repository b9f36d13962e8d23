"""One-time account links sent by email: a password reset, a builder's invitation.

A link carries a token of 256 bits. The database keeps only its SHA-256 (`AccountToken.token_hash`), so
neither a copy of the database nor the admin's pages can use a link. The email is sent later, by the
outbox worker, so the outbox row must let the worker rebuild the link: it holds a *seed* drawn with
`secrets.token_urlsafe(32)`, and the link's token is HMAC-SHA256(SECRET_KEY, "account-token:" + seed). Reading
the database alone is not enough to use a link; the secret key alone is not either.

A link works once (`used_at`), until `expires_at`, and issuing a new link of a kind revokes the account's
earlier unused ones of that kind (`revoked_at`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session, select

from booking.core.models import AccountToken, AccountTokenKind, UserAccount, utcnow

# The pages that take a link's token (booking_ui.routes.ADMIN_RESET and ADMIN_INVITE serve them).
PATHS = {AccountTokenKind.RESET: "/admin/reset", AccountTokenKind.INVITE: "/admin/invite"}
TOKEN_LENGTH = 43  # base64url of 32 bytes, unpadded


class LinkProblem(StrEnum):
    UNKNOWN = "unknown"  # never issued, mistyped, or for another kind of link
    EXPIRED = "expired"
    USED = "used"
    REPLACED = "replaced"  # a newer link was sent


@dataclass(frozen=True)
class IssuedLink:
    """A link just issued, to be emailed: `seed` rebuilds its token (`link_token`); never logged."""

    token_id: int
    kind: AccountTokenKind
    user_id: int
    email: str
    seed: str
    expires_at: datetime


def _key() -> bytes:
    from booking.core.config import secret_key  # read when used, never at import

    return secret_key()


def new_seed() -> str:
    return secrets.token_urlsafe(32)


def link_token(seed: str, *, key: bytes | None = None) -> str:
    digest = hmac.new(key or _key(), f"account-token:{seed}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def looks_like_token(token: object) -> bool:
    return (isinstance(token, str) and len(token) == TOKEN_LENGTH and token.isascii()
            and all(c.isalnum() or c in "-_" for c in token))


def link_url(*, kind: AccountTokenKind | str, seed: str, public_url: str, key: bytes | None = None) -> str:
    return f"{public_url.rstrip('/')}{PATHS[AccountTokenKind(kind)]}?token={link_token(seed, key=key)}"


def revoke_unused(*, session: Session, user_id: int | None, kind: AccountTokenKind | None = None,
                  now: datetime | None = None) -> None:
    """End the account's links not used yet (of one kind, or all). A `user_id` of None matches nothing."""
    query = sa.update(AccountToken).where(AccountToken.user_id == (user_id if user_id is not None else -1),
                                          AccountToken.used_at.is_(None), AccountToken.revoked_at.is_(None))
    if kind is not None:
        query = query.where(AccountToken.kind == kind)
    session.execute(query.values(revoked_at=now or utcnow()))


def issue(*, session: Session, user: UserAccount, kind: AccountTokenKind, lifetime: timedelta,
          now: datetime | None = None, key: bytes | None = None) -> IssuedLink:
    """A new link for `user`; their earlier unused links of this kind stop working."""
    now = now or utcnow()
    revoke_unused(session=session, user_id=user.id, kind=kind, now=now)
    seed = new_seed()
    row = AccountToken(user_id=user.id, kind=kind, token_hash=token_hash(link_token(seed, key=key)),
                       created_at=now, expires_at=now + lifetime)
    session.add(row)
    session.flush()
    return IssuedLink(token_id=row.id, kind=kind, user_id=user.id, email=user.email, seed=seed,
                      expires_at=row.expires_at)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.utcoffset() is None else moment


def check(*, session: Session, token: object, kind: AccountTokenKind, now: datetime | None = None,
          for_update: bool = False) -> tuple[AccountToken | None, LinkProblem | None]:
    """The live link behind `token` (row, None), or (None, why not). An inactive account's links are
    unknown."""
    if not looks_like_token(token):
        return None, LinkProblem.UNKNOWN
    query = select(AccountToken).where(AccountToken.token_hash == token_hash(token), AccountToken.kind == kind)
    if for_update:
        query = query.with_for_update()
    row = session.exec(query).first()
    if row is None:
        return None, LinkProblem.UNKNOWN
    user = session.get(UserAccount, row.user_id)
    if user is None or not user.active:
        return None, LinkProblem.UNKNOWN
    if row.used_at is not None:
        return None, LinkProblem.USED
    if row.revoked_at is not None:
        return None, LinkProblem.REPLACED
    if _aware(row.expires_at) <= (now or utcnow()):
        return None, LinkProblem.EXPIRED
    return row, None


def consume(*, session: Session, row: AccountToken, now: datetime | None = None) -> bool:
    """Mark the link used, once: False when another request used it first."""
    result = session.execute(
        sa.update(AccountToken)
        .where(AccountToken.id == row.id, AccountToken.used_at.is_(None), AccountToken.revoked_at.is_(None))
        .values(used_at=now or utcnow())
    )
    return result.rowcount == 1
