"""Password hashing with argon2 (pwdlib's recommended settings)."""

from __future__ import annotations

from functools import lru_cache

from pwdlib import PasswordHash

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256  # argon2 takes any length; this only stops a megabyte "password"


class WeakPassword(ValueError):
    pass


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash("not-a-real-password-only-for-timing")


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"The password must be at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"The password must be at most {MAX_PASSWORD_LENGTH} characters.")


def hash_password(password: str) -> str:
    check_password_strength(password)
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """(matches, a new hash when the stored one uses old parameters). Always does the work of one
    verification, so an unknown account takes as long as a wrong password."""
    if not password_hash or len(password) > MAX_PASSWORD_LENGTH:
        _hasher().verify("x", _dummy_hash())
        return False, None
    try:
        return _hasher().verify_and_update(password, password_hash)
    except Exception:  # a malformed stored hash is a failed sign-in, never a crash
        return False, None
