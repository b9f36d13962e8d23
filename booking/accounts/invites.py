"""A platform admin invites a builder by email (the CLI's `create-builder` stays as it is).

`invite_builder` creates the Builder and its account with no password yet (`password_hash` is empty: no
password matches it, so nobody can sign in to it), and issues an invite link; the builder opens it, sets
their own password (`accept_invite`), and signs in. Inviting a pending builder's address again sends a fresh
link and the old one stops working; an address that already has a working account is refused. Only a
platform admin may invite: checked here, whatever the page showed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, select

from booking.accounts import audit, tokens
from booking.accounts.authz import Actor, Forbidden
from booking.accounts.recovery import LinkOutcome, set_password_by_link
from booking.accounts.tokens import IssuedLink
from booking.accounts.users import find_user
from booking.core.models import AccountToken, AccountTokenKind, Builder, UserAccount, UserRole, utcnow
from booking.core.time import UnknownZone, canonical_zone

NO_PASSWORD_YET = ""  # an invited account's password_hash until the builder sets one
ADMINS_ONLY = "Only a platform admin can invite builders."
MAX_NAME = 120
MAX_PENDING_SHOWN = 200


class InviteError(ValueError):
    """The invite can't be sent as asked; the message says why (nothing was changed)."""


def is_pending(user: UserAccount) -> bool:
    return user.password_hash == NO_PASSWORD_YET


def normalise_invite_email(email: object) -> str:
    """The address as email-validator normalises it (lower-cased: accounts are looked up lower-cased)."""
    if not isinstance(email, str) or not email.strip() or len(email) > 254:
        raise InviteError("Please enter a valid email address.")
    try:
        valid = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise InviteError("Please enter a valid email address.") from None
    return valid.normalized.lower()


def slug_for(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:60] or "builder"


def _free_slug(session: Session, base: str) -> str:
    taken = set(session.exec(select(Builder.slug).where(Builder.slug.startswith(base))).all())
    if base not in taken:
        return base
    return next(f"{base}-{n}" for n in range(2, len(taken) + 3) if f"{base}-{n}" not in taken)


def invite_builder(*, session: Session, actor: Actor, name: object, email: object, time_zone: object,
                   lifetime: timedelta, now: datetime | None = None) -> IssuedLink:
    """Create the builder and their pending account and issue an invite link, or re-send a pending one's."""
    if not actor.is_admin:
        raise Forbidden(ADMINS_ONLY)
    address = normalise_invite_email(email)
    name = " ".join(name.split()) if isinstance(name, str) else ""
    if not name or len(name) > MAX_NAME:
        raise InviteError(f"Please enter the builder's name (at most {MAX_NAME} characters).")
    try:
        zone_name = canonical_zone(time_zone if isinstance(time_zone, str) else "")
    except UnknownZone:
        raise InviteError("Please choose a time zone from the list.") from None
    existing = find_user(session=session, email=address)
    if existing is not None:
        if not (is_pending(existing) and existing.role == UserRole.BUILDER):
            raise InviteError(f"An account for {address} already exists. They can use “Forgot password?” "
                              "on the sign-in page.")
        return resend_invite(session=session, actor=actor, user_id=existing.id, lifetime=lifetime, now=now)
    now = now or utcnow()
    builder = Builder(name=name, slug=_free_slug(session, slug_for(name)), email=address, time_zone=zone_name)
    session.add(builder)
    session.flush()
    user = UserAccount(email=address, password_hash=NO_PASSWORD_YET, role=UserRole.BUILDER, builder_id=builder.id,
                       password_changed_at=now, created_at=now)
    session.add(user)
    session.flush()
    link = tokens.issue(session=session, user=user, kind=AccountTokenKind.INVITE, lifetime=lifetime, now=now)
    audit.record(session=session, actor=actor, action="builder.invited", entity_type="builder",
                 entity_id=builder.id, builder_id=builder.id,
                 after={"name": name, "slug": builder.slug, "email": address, "time_zone": zone_name})
    return link


def resend_invite(*, session: Session, actor: Actor, user_id: object, lifetime: timedelta,
                  now: datetime | None = None) -> IssuedLink:
    """A fresh invite link for a builder who hasn't set a password yet; the earlier link stops working."""
    if not actor.is_admin:
        raise Forbidden(ADMINS_ONLY)
    user = session.get(UserAccount, int(user_id)) if str(user_id).isdigit() and len(str(user_id)) < 12 else None
    if user is None or not is_pending(user) or user.role != UserRole.BUILDER:
        raise InviteError("That builder has already set a password, or doesn't exist.")
    link = tokens.issue(session=session, user=user, kind=AccountTokenKind.INVITE, lifetime=lifetime, now=now)
    audit.record(session=session, actor=actor, action="builder.invite_resent", entity_type="builder",
                 entity_id=user.builder_id, builder_id=user.builder_id, after={"email": user.email})
    return link


@dataclass(frozen=True)
class PendingInvite:
    user_id: str
    name: str
    email: str
    expires_at: datetime | None  # the latest link's expiry (None: no live link)


def pending_invites(*, session: Session, actor: Actor) -> list[PendingInvite]:
    if not actor.is_admin:
        raise Forbidden(ADMINS_ONLY)
    found = []
    for user, builder in session.exec(
            select(UserAccount, Builder).join(Builder, Builder.id == UserAccount.builder_id)
            .where(UserAccount.password_hash == NO_PASSWORD_YET, UserAccount.role == UserRole.BUILDER)
            .order_by(UserAccount.created_at.desc()).limit(MAX_PENDING_SHOWN)).all():
        latest = session.exec(select(AccountToken.expires_at).where(
            AccountToken.user_id == user.id, AccountToken.kind == AccountTokenKind.INVITE,
            AccountToken.used_at.is_(None), AccountToken.revoked_at.is_(None))
            .order_by(AccountToken.expires_at.desc())).first()
        found.append(PendingInvite(user_id=str(user.id), name=builder.name, email=user.email, expires_at=latest))
    return found


def accept_invite(*, session: Session, token: object, new_password: str, confirm_password: str,
                  now: datetime | None = None) -> LinkOutcome:
    return set_password_by_link(session=session, token=token, kind=AccountTokenKind.INVITE,
                                new_password=new_password, confirm_password=confirm_password,
                                action="account.invite_accepted", now=now)
