"""Getting into the workspace without a password: "Forgot password?" and a platform admin's builder invites.

Each flow is the account rule (booking.accounts: recovery, invites) plus its email, queued through the outbox
in the same transaction. A reset request is queued as it is asked (the worker issues the link, for a live
account only); an invite's link is issued with the builder, and its email queued with it.
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
from booking.notifications.outbox import queue_account_link, queue_reset_request


def ask_for_password_reset(*, session: Session, email: str, client_ip: str, throttle: ResetThrottle) -> str:
    """What the form says. A well-formed, unthrottled request queues one outbox row for the address, known
    or not: the worker sends a link to a live account and nothing to anyone else."""
    request = request_reset(session=session, email=email, client_ip=client_ip, throttle=throttle)
    if request.email is not None:
        queue_reset_request(session=session, email=request.email)
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
