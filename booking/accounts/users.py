"""Accounts: create builders and platform admins, change passwords, sign in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from booking.accounts import sessions
from booking.accounts.passwords import WeakPassword, hash_password, verify_password
from booking.accounts.throttle import SignInThrottle
from booking.models import Builder, UserAccount, UserRole, utcnow

# One message for an unknown email and a wrong password: the form must not tell which accounts exist.
SIGN_IN_FAILED = "That email and password don't match an account."
SIGN_IN_THROTTLED = "Too many failed sign-ins. Please wait 15 minutes and try again."
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(ValueError):
    pass


@dataclass(frozen=True)
class SignInResult:
    token: str | None
    error: str = ""
    user_id: int | None = None


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise AccountError("Please enter a valid email address.")
    return email


def find_user(*, session: Session, email: str) -> UserAccount | None:
    return session.exec(select(UserAccount).where(UserAccount.email == (email or "").strip().lower())).first()


def create_user(*, session: Session, email: str, password: str, role: UserRole,
                builder_id: int | None = None) -> UserAccount:
    email = normalise_email(email)
    if find_user(session=session, email=email) is not None:
        raise AccountError(f"An account for {email} already exists.")
    if role == UserRole.BUILDER:
        if builder_id is None or session.get(Builder, builder_id) is None:
            raise AccountError("A builder account needs an existing builder.")
        taken = session.exec(select(UserAccount.id).where(UserAccount.builder_id == builder_id)).first()
        if taken is not None:
            raise AccountError("That builder already has an account.")
    else:
        builder_id = None
    try:
        password_hash = hash_password(password)
    except WeakPassword as exc:
        raise AccountError(str(exc)) from None
    user = UserAccount(email=email, password_hash=password_hash, role=role, builder_id=builder_id)
    session.add(user)
    session.flush()
    return user


def change_password(*, session: Session, user_id: int, new_password: str, now: datetime | None = None) -> None:
    """A new password ends every signed-in session of the account."""
    user = session.get(UserAccount, user_id)
    if user is None:
        raise AccountError("No such account.")
    try:
        user.password_hash = hash_password(new_password)
    except WeakPassword as exc:
        raise AccountError(str(exc)) from None
    user.password_changed_at = now or utcnow()
    session.add(user)
    sessions.revoke_all(session=session, user_id=user.id, now=now)
    session.flush()


def sign_in(*, session: Session, email: str, password: str, client_ip: str, throttle: SignInThrottle,
            idle_minutes: int, max_hours: int, now: datetime | None = None) -> SignInResult:
    email = (email or "").strip().lower()[:254]
    if throttle.blocked(email=email, ip=client_ip):
        return SignInResult(token=None, error=SIGN_IN_THROTTLED)
    user = find_user(session=session, email=email) if email else None
    ok, new_hash = verify_password(password or "", user.password_hash if user else None)
    if not ok or user is None or not user.active:
        throttle.record_failure(email=email, ip=client_ip)
        return SignInResult(token=None, error=SIGN_IN_FAILED)
    throttle.reset_account(email=email)
    now = now or utcnow()
    if new_hash:
        user.password_hash = new_hash
    user.last_sign_in_at = now
    session.add(user)
    token = sessions.start(session=session, user_id=user.id, now=now, max_hours=max_hours)
    return SignInResult(token=token, user_id=user.id)
