"""One mailbox, however its address is spelled: `victim+1@example.com` and `Victim+2@Example.com` are the
mailbox `victim@example.com`. The caps that protect an address (holds per email, unsolicited emails per
day) count per mailbox, so a `+tag` can't multiply them.

Only the `+tag` of the local part is folded (and case). Dots are not: most providers treat `a.b@` and
`ab@` as different mailboxes, and folding them would let a stranger's bookings count against someone else.
"""

from __future__ import annotations

import sqlalchemy as sa


def mailbox(email: str) -> str:
    """`Ann+work@Example.com` -> `ann@example.com` (lower-cased, `+tag` dropped)."""
    local, at, domain = email.strip().lower().rpartition("@")
    if not at:
        return email.strip().lower()
    return f"{local.split('+', 1)[0]}@{domain}"


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def same_mailbox(column: sa.ColumnElement[str], email: str) -> sa.ColumnElement[bool]:
    """SQL: the address in `column` (compared lower-cased) is `email`'s mailbox, with or without a `+tag`."""
    box = mailbox(email)
    local, _, domain = box.rpartition("@")
    lowered = sa.func.lower(column)
    if not local:
        return lowered == box
    return sa.or_(lowered == box,
                  lowered.like(f"{_like_escape(local)}+%@{_like_escape(domain)}", escape="\\"))
