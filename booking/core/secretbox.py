"""Secrets we must give back later (a CalDAV app password), encrypted at rest.

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from SECRET_KEY by HKDF-SHA256, so the database alone
never reveals them and the signing key itself is never used twice for different jobs.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_PURPOSE = b"booking: stored third-party credentials v1"


class UnreadableSecret(ValueError):
    """Encrypted with another SECRET_KEY (or damaged): the builder must enter it again."""


def _fernet(key: bytes | None) -> Fernet:
    if key is None:
        from booking.core.config import secret_key  # read when used, never at import

        key = secret_key()
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(key)
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_secret(plain: str, *, key: bytes | None = None) -> str:
    return _fernet(key).encrypt(plain.encode()).decode() if plain else ""


def decrypt_secret(token: str, *, key: bytes | None = None) -> str:
    if not token:
        return ""
    try:
        return _fernet(key).decrypt(token.encode()).decode()
    except InvalidToken:
        raise UnreadableSecret("the stored password cannot be read with this SECRET_KEY") from None
