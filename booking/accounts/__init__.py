"""Who may use the builder workspace: accounts, password hashing, sign-in sessions, throttling,
authorisation (one place that loads an object *and* checks its owner) and the audit log; one-time links
by email (`tokens`): password reset (`recovery`) and a platform admin's builder invites (`invites`)."""

from booking.accounts.audit import record
from booking.accounts.authz import Actor, Forbidden, NotFound, builder_scope, load_owned
from booking.accounts.invites import (
    InviteError,
    PendingInvite,
    accept_invite,
    invite_builder,
    pending_invites,
    resend_invite,
)
from booking.accounts.passwords import MAX_PASSWORD_LENGTH
from booking.accounts.recovery import (
    PASSWORD_SET,
    LinkCheck,
    LinkOutcome,
    ResetThrottle,
    check_link,
    issue_reset_link,
    request_reset,
    reset_password,
    reset_throttle_from_settings,
)
from booking.accounts.sessions import resolve, resolve_digest, revoke, revoke_digest
from booking.accounts.sessions import token_hash as session_digest
from booking.accounts.throttle import throttle_from_settings
from booking.accounts.users import SIGN_IN_FAILED, SIGN_IN_THROTTLED, change_own_password, sign_in

__all__ = [
    "PASSWORD_SET",
    "Actor",
    "Forbidden",
    "InviteError",
    "LinkCheck",
    "LinkOutcome",
    "SIGN_IN_FAILED",
    "SIGN_IN_THROTTLED",
    "MAX_PASSWORD_LENGTH",
    "NotFound",
    "PendingInvite",
    "ResetThrottle",
    "accept_invite",
    "check_link",
    "invite_builder",
    "issue_reset_link",
    "pending_invites",
    "request_reset",
    "resend_invite",
    "reset_password",
    "reset_throttle_from_settings",
    "builder_scope",
    "change_own_password",
    "load_owned",
    "record",
    "resolve",
    "resolve_digest",
    "revoke",
    "revoke_digest",
    "session_digest",
    "sign_in",
    "throttle_from_settings",
]
