"""Getting into the workspace without a password: "Forgot password?" and a platform admin's builder invites.

Each flow is the account rule (booking.accounts: recovery, invites) plus its email, queued through the outbox
in the same transaction, so the email goes if and only if the link was issued.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from booking.accounts import (
    Actor,
    LinkCheck,
    ResetThrottle,
    check_link,
    invite_builder,
    request_reset,
    resend_invite,
)
from booking.core.models import AccountTokenKind, Builder, UserAccount
from booking.notifications.outbox import queue_account_link


def ask_for_password_reset(*, session: Session, email: str, client_ip: str, throttle: ResetThrottle,
                           lifetime: timedelta, now: datetime | None = None) -> str:
    """What the form says; a live account's reset email is queued (the answer is the same either way)."""
    request = request_reset(session=session, email=email, client_ip=client_ip, throttle=throttle,
                            lifetime=lifetime, now=now)
    if request.link is not None:
        user = session.get(UserAccount, request.link.user_id)
        builder = session.get(Builder, user.builder_id) if user and user.builder_id else None
        queue_account_link(session=session, link=request.link, recipient_name=builder.name if builder else "")
    return request.message


def send_builder_invite(*, session: Session, actor: Actor, name: object, email: object, time_zone: object,
                        lifetime: timedelta, now: datetime | None = None) -> str:
    """Invite (or re-invite a pending) builder and queue the email; returns the address it goes to."""
    link = invite_builder(session=session, actor=actor, name=name, email=email, time_zone=time_zone,
                          lifetime=lifetime, now=now)
    _queue_invite(session, link)
    return link.email


def resend_builder_invite(*, session: Session, actor: Actor, user_id: object, lifetime: timedelta,
                          now: datetime | None = None) -> str:
    link = resend_invite(session=session, actor=actor, user_id=user_id, lifetime=lifetime, now=now)
    _queue_invite(session, link)
    return link.email


def _queue_invite(session: Session, link) -> None:
    user = session.get(UserAccount, link.user_id)
    builder = session.get(Builder, user.builder_id)
    queue_account_link(session=session, link=link, recipient_name=builder.name, builder_name=builder.name)


def check_reset_link(*, session: Session, token: object) -> LinkCheck:
    return check_link(session=session, token=token, kind=AccountTokenKind.RESET)


def check_invite_link(*, session: Session, token: object) -> LinkCheck:
    return check_link(session=session, token=token, kind=AccountTokenKind.INVITE)
