"""Password reset by email ("Forgot password?" on the sign-in page).

- `request_reset`: one answer whatever the address, throttled per account (the address typed, `+tag`s
  folded) and per client IP, so the form can neither tell who has an account nor mail-bomb anyone. It never
  looks at the accounts: the caller queues an outbox row for the address typed (booking.workspace.access),
  the same work for every address, and the outbox worker calls `issue_reset_link`: a live account gets a
  new link (its earlier unused reset links stop working); an unknown or inactive one gets no email.
- `reset_password`: the link's token and the new password twice, checked by the same rules as the account
  page's change. On success the password is changed, every session of the account ends on the server, the
  link is used up (with every other unused link of the account) and the audit log says so.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from limits import parse, storage, strategies
from sqlmodel import Session

from booking.accounts import audit, tokens
from booking.accounts.authz import Actor
from booking.accounts.passwords import MAX_PASSWORD_LENGTH, WeakPassword, check_password_strength
from booking.accounts.tokens import IssuedLink, LinkProblem
from booking.accounts.users import AccountError, change_password, find_user
from booking.core.mailbox import mailbox
from booking.core.models import AccountTokenKind, UserAccount, utcnow

REQUESTED = "If an account exists for that address, we've emailed a link to reset its password."
THROTTLED = "Too many reset requests. Please wait an hour and try again."
LINK_PROBLEMS = {
    LinkProblem.UNKNOWN: "This link isn't valid. Check that you copied all of it, or ask for a new one.",
    LinkProblem.EXPIRED: "This link has expired. Please ask for a new one.",
    LinkProblem.USED: "This link was already used. Please ask for a new one if you need to.",
    LinkProblem.REPLACED: "A newer link was sent, so this one no longer works. Use the latest email, or ask "
                          "for a new link.",
}
PASSWORD_SET = "Your password is set and every session of the account was signed out. Please sign in."


@dataclass(frozen=True)
class ResetThrottle:
    """Reset requests per account (the address typed) and per client IP, in the `limits` storage the sign-in
    throttle uses (Redis when REDIS_URL is set). Keys are keyed digests: the counters name no one."""

    limiter: strategies.RateLimiter
    per_account: str  # "3/hour"; "" = no limit
    per_ip: str
    key: bytes

    def _digest(self, kind: str, value: str) -> str:
        return hmac.new(self.key, f"reset-{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]

    def allow(self, *, email: str, ip: str) -> bool:
        """Count one request; False (nothing counted) when either limit is reached."""
        checks = [(parse(limit), f"reset-{kind}", self._digest(kind, value))
                  for limit, kind, value in ((self.per_account, "account", mailbox(email)),
                                             (self.per_ip, "ip", ip or "unknown")) if limit]
        if not all(self.limiter.test(item, namespace, key) for item, namespace, key in checks):
            return False
        for item, namespace, key in checks:
            self.limiter.hit(item, namespace, key)
        return True


@lru_cache(maxsize=4)
def reset_throttle_for(redis_url: str | None, per_account: str, per_ip: str, *, key: bytes) -> ResetThrottle:
    backend = storage.storage_from_string(redis_url) if redis_url else storage.MemoryStorage()
    return ResetThrottle(strategies.MovingWindowRateLimiter(backend), per_account, per_ip, key)


def reset_throttle_from_settings(settings) -> ResetThrottle:
    from booking.core.config import secret_key

    return reset_throttle_for(settings.redis_url, settings.password_reset_rate_limit,
                              settings.password_reset_ip_rate_limit, key=secret_key(settings))


@dataclass(frozen=True)
class ResetRequest:
    message: str  # what the form says: the same for every address that isn't throttled
    email: str | None = None  # the address to queue a reset email for (whether or not it has an account)


def request_reset(*, session: Session, email: str, client_ip: str, throttle: ResetThrottle) -> ResetRequest:
    """The form's answer. Nothing here looks at the accounts: every well-formed, unthrottled request queues
    one outbox row for the address typed, and the outbox worker decides (`issue_reset_link`) whether an
    email goes. So a known and an unknown address take the very same path, and the same time."""
    email = (email or "").strip().lower()[:254]
    if not email or "@" not in email or any(c.isspace() for c in email):
        return ResetRequest(message="Please enter the email address you sign in with.")
    if not throttle.allow(email=email, ip=client_ip):
        return ResetRequest(message=THROTTLED)
    return ResetRequest(message=REQUESTED, email=email)


def issue_reset_link(*, session: Session, email: str, lifetime: timedelta,
                     now: datetime | None = None) -> IssuedLink | None:
    """When the outbox gets to a reset request: a new link for a live account (its earlier unused reset
    links stop working), or None (no account, or an inactive one: no email)."""
    user = find_user(session=session, email=email)
    if user is None or not user.active:
        return None
    return tokens.issue(session=session, user=user, kind=AccountTokenKind.RESET, lifetime=lifetime, now=now)


@dataclass(frozen=True)
class LinkCheck:
    ok: bool
    message: str = ""  # why the link doesn't work
    email: str = ""  # whose account it is (shown on the form, as a password manager's username)


def check_link(*, session: Session, token: object, kind: AccountTokenKind,
               now: datetime | None = None) -> LinkCheck:
    row, problem = tokens.check(session=session, token=token, kind=kind, now=now)
    if row is None:
        return LinkCheck(ok=False, message=LINK_PROBLEMS[problem])
    user = session.get(UserAccount, row.user_id)
    return LinkCheck(ok=True, email=user.email if user else "")


def password_problem(new_password: str, confirm_password: str) -> str:
    """The account page's rules for a new password: "" when it may be used."""
    if not new_password or not confirm_password:
        return "Fill in the new password twice."
    if new_password != confirm_password:
        return "The new password and its confirmation don't match."
    try:
        check_password_strength(new_password)
    except WeakPassword as exc:
        return str(exc)
    return ""


@dataclass(frozen=True)
class LinkOutcome:
    error: str = ""  # "" when the password was set
    link_problem: bool = False  # the link itself is the problem: offer to ask for a new one
    email: str = ""


def set_password_by_link(*, session: Session, token: object, kind: AccountTokenKind, new_password: str,
                         confirm_password: str, action: str, now: datetime | None = None) -> LinkOutcome:
    """Set the account's password through a live link of `kind`: every session ends, every unused link of
    the account stops working, audited as `action`. Nothing changes when anything is wrong."""
    now = now or utcnow()
    row, problem = tokens.check(session=session, token=token, kind=kind, now=now, for_update=True)
    if row is None:
        return LinkOutcome(error=LINK_PROBLEMS[problem], link_problem=True)
    new_password = new_password if isinstance(new_password, str) else ""
    confirm_password = confirm_password if isinstance(confirm_password, str) else ""
    problem_text = password_problem(new_password[:MAX_PASSWORD_LENGTH + 1], confirm_password[:MAX_PASSWORD_LENGTH + 1])
    if problem_text:
        return LinkOutcome(error=problem_text)
    if not tokens.consume(session=session, row=row, now=now):
        return LinkOutcome(error=LINK_PROBLEMS[LinkProblem.USED], link_problem=True)
    user = session.get(UserAccount, row.user_id)
    try:
        change_password(session=session, user_id=user.id, new_password=new_password, now=now)
    except AccountError as exc:  # the strength was checked above; kept so a new rule can't raise
        return LinkOutcome(error=str(exc))
    tokens.revoke_unused(session=session, user_id=user.id, now=now)
    audit.record(session=session, actor=Actor.of(user), action=action, entity_type="user_account",
                 entity_id=user.id, builder_id=user.builder_id, after={"sessions_ended": True})
    return LinkOutcome(email=user.email)


def reset_password(*, session: Session, token: object, new_password: str, confirm_password: str,
                   now: datetime | None = None) -> LinkOutcome:
    return set_password_by_link(session=session, token=token, kind=AccountTokenKind.RESET,
                                new_password=new_password, confirm_password=confirm_password,
                                action="account.password_reset", now=now)
