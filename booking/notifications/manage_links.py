"""The client's "Manage booking" link and the CSRF tokens of its forms.

The link's token is HMAC-SHA256(SECRET_KEY, "manage-booking:" + booking id), base64url (256 bits):
unguessable without the key, and unrelated to the booking id to anyone without it. It is derived,
not drawn at random, so that every email about the booking (queued by many code paths, long after
confirmation) and the success page can show the same link, while the database keeps only its
SHA-256 (`Booking.manage_token_hash`), which is what a visit is looked up by.

Rotating SECRET_KEY changes every derived token: links already sent keep working (their hash is
stored) until the booking's next email re-issues the link under the new key.

A form's CSRF token is HMAC(SECRET_KEY, "manage-csrf:" + token hash + ":" + action): bound to the
booking and the action, checked in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from sqlmodel import Session

from booking.core.models import Booking

MANAGE_PATH = "/manage/{token}"  # booking_ui.routes.MANAGE serves it
TOKEN_LENGTH = 43  # base64url of 32 bytes, unpadded
ACTIONS = ("cancel", "reschedule")


def _key() -> bytes:
    from booking.core.config import secret_key  # read when used, never at import

    return secret_key()


def _mac(message: str, key: bytes | None = None) -> bytes:
    return hmac.new(key or _key(), message.encode(), hashlib.sha256).digest()


def derive_token(booking_id: str, *, key: bytes | None = None) -> str:
    return base64.urlsafe_b64encode(_mac(f"manage-booking:{booking_id}", key)).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(token: str) -> bool:
    return len(token) == TOKEN_LENGTH and all(c.isalnum() or c in "-_" for c in token) and token.isascii()


def issue(*, session: Session, booking: Booking) -> str:
    """The booking's manage token, its hash stored (in the caller's transaction) if not already."""
    token = derive_token(booking.id)
    digest = token_hash(token)
    if booking.manage_token_hash != digest:
        booking.manage_token_hash = digest
        session.add(booking)
        session.flush()
    return token


def current_token(booking: Booking) -> str | None:
    """The token of an issued link (None: never issued, or issued under another key)."""
    if not booking.manage_token_hash:
        return None
    token = derive_token(booking.id)
    return token if hmac.compare_digest(token_hash(token), booking.manage_token_hash) else None


def manage_path(token: str) -> str:
    return MANAGE_PATH.format(token=token)


def manage_url(token: str, public_url: str | None = None) -> str:
    if public_url is None:
        from booking.core.config import get_settings

        public_url = get_settings().public_url
    return public_url.rstrip("/") + manage_path(token)


def csrf_token(token_digest: str, action: str, *, key: bytes | None = None) -> str:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return base64.urlsafe_b64encode(_mac(f"manage-csrf:{token_digest}:{action}", key)).rstrip(b"=").decode()


def csrf_ok(token_digest: str, action: str, presented: str, *, key: bytes | None = None) -> bool:
    if action not in ACTIONS or not presented or len(presented) > 100:
        return False
    return hmac.compare_digest(csrf_token(token_digest, action, key=key).encode(), presented.encode())
