"""Accounts: create builders and platform admins, change passwords, sign in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from booking.accounts import audit, sessions
from booking.accounts.authz import Actor
from booking.accounts.passwords import (
    MAX_PASSWORD_LENGTH,
    WeakPassword,
    check_password_strength,
    hash_password,
    verify_password,
)
from booking.accounts.throttle import SignInThrottle
from booking.core.models import Builder, UserAccount, UserRole, utcnow

# One message for an unknown email and a wrong password: the form must not tell which accounts exist.
SIGN_IN_FAILED = "That email and password don't match an account."
SIGN_IN_THROTTLED = "Too many failed sign-ins. Please wait 15 minutes and try again."
WRONG_CURRENT_PASSWORD = "Your current password is not right. Nothing was changed."
TOO_MANY_TRIES = "Too many wrong passwords. Please wait 15 minutes and try again."
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
    throttle.record_success(email=email, ip=client_ip)
    now = now or utcnow()
    if new_hash:
        user.password_hash = new_hash
    user.last_sign_in_at = now
    session.add(user)
    token = sessions.start(session=session, user_id=user.id, now=now, max_hours=max_hours)
    return SignInResult(token=token, user_id=user.id)


def change_own_password(*, session: Session, actor: Actor, current_password: str, new_password: str,
                        confirm_password: str, client_ip: str, throttle: SignInThrottle) -> str:
    """The account page's change: "" when done (every session of the account ended, audited), else why
    nothing changed. Guessing the current password here counts like a failed sign-in of the account."""
    if not current_password or not new_password or not confirm_password:
        return "Fill in your current password and the new one twice."
    if new_password != confirm_password:
        return "The new password and its confirmation don't match."
    if new_password == current_password:
        return "The new password must differ from the current one."
    try:
        check_password_strength(new_password)
    except WeakPassword as exc:
        return str(exc)
    if len(current_password) > MAX_PASSWORD_LENGTH:
        return WRONG_CURRENT_PASSWORD
    if throttle.blocked(email=actor.email, ip=client_ip):
        return TOO_MANY_TRIES
    user = session.get(UserAccount, actor.user_id)
    matches, _ = verify_password(current_password, user.password_hash if user else None)
    if user is None or not matches:
        throttle.record_failure(email=actor.email, ip=client_ip)
        return WRONG_CURRENT_PASSWORD
    try:
        change_password(session=session, user_id=user.id, new_password=new_password)
    except AccountError as exc:
        return str(exc)
    audit.record(session=session, actor=actor, action="account.password_changed", entity_type="user_account",
                 entity_id=user.id, builder_id=user.builder_id, after={"sessions_ended": True})
    throttle.record_success(email=actor.email, ip=client_ip)
    return ""
