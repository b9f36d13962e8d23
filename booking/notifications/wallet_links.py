"""The client's wallet link: their package credits with one builder, and booking with them.

Like the manage link (booking.notifications.manage_links): the token is HMAC-SHA256(SECRET_KEY,
"credit-wallet:" + builder id + ":" + email), base64url, derived rather than drawn so that every email
(purchase, expiry reminder) shows the same link; the database keeps only its SHA-256 (`CreditWallet`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from booking.core.models import CreditWallet

WALLET_PATH = "/wallet/{token}"  # booking_ui.routes.WALLET serves it
TOKEN_LENGTH = 43


def _key() -> bytes:
    from booking.core.config import secret_key  # read when used, never at import

    return secret_key()


def derive_token(builder_id: int, client_email: str, *, key: bytes | None = None) -> str:
    digest = hmac.new(key or _key(), f"credit-wallet:{builder_id}:{client_email}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(token: str) -> bool:
    return len(token) == TOKEN_LENGTH and token.isascii() and all(c.isalnum() or c in "-_" for c in token)


def issue(*, session: Session, builder_id: int, client_email: str) -> CreditWallet:
    """The client's wallet with the builder, its token's hash stored (in the caller's transaction)."""
    digest = token_hash(derive_token(builder_id, client_email))
    wallet = session.exec(select(CreditWallet).where(CreditWallet.builder_id == builder_id,
                                                     CreditWallet.client_email == client_email)).first()
    if wallet is None:
        try:
            with session.begin_nested():
                wallet = CreditWallet(builder_id=builder_id, client_email=client_email, token_hash=digest)
                session.add(wallet)
                session.flush()
        except IntegrityError:  # a concurrent purchase made it
            wallet = session.exec(select(CreditWallet).where(CreditWallet.builder_id == builder_id,
                                                             CreditWallet.client_email == client_email)).one()
    elif wallet.token_hash != digest:  # SECRET_KEY rotated: the new link works from now on
        wallet.token_hash = digest
        session.add(wallet)
        session.flush()
    return wallet


def find_wallet(*, session: Session, token: str) -> CreditWallet | None:
    if not looks_like_token(token or ""):
        return None
    return session.exec(select(CreditWallet).where(CreditWallet.token_hash == token_hash(token))).first()


def wallet_url(builder_id: int, client_email: str, public_url: str | None = None) -> str:
    if public_url is None:
        from booking.core.config import get_settings

        public_url = get_settings().public_url
    return public_url.rstrip("/") + WALLET_PATH.format(token=derive_token(builder_id, client_email))
