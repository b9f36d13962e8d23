"""The audit log: one row per admin write, with who, when, and the before and after."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from enum import Enum
from typing import Any

from sqlmodel import Session, SQLModel, select

from booking.accounts.authz import Actor
from booking.core.models import AuditEntry

# Never copied into the log, whatever the model.
_SECRET_FIELDS = frozenset({"password_hash", "token_hash", "calendar_token_hash", "host_note"})


def snapshot(row: SQLModel | None, fields: tuple[str, ...] | None = None) -> dict[str, Any] | None:
    if row is None:
        return None
    data = row.model_dump()
    names = fields or tuple(data)
    return {name: _plain(data[name]) for name in names if name in data and name not in _SECRET_FIELDS}


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return value


def record(*, session: Session, actor: Actor | None, action: str, entity_type: str, entity_id: object,
           builder_id: int | None = None, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None) -> AuditEntry:
    """Add an entry in the caller's transaction (it commits with the change it describes)."""
    if before is not None and after is not None:  # keep only what changed, plus the id
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        before = {k: v for k, v in before.items() if k in changed}
        after = {k: v for k, v in after.items() if k in changed}
    entry = AuditEntry(
        actor_user_id=actor.user_id if actor else None,
        actor_email=actor.email if actor else "system",
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        builder_id=builder_id,
        before=json.dumps(before, sort_keys=True, default=str) if before is not None else None,
        after=json.dumps(after, sort_keys=True, default=str) if after is not None else None,
    )
    session.add(entry)
    session.flush()
    return entry


def recent(*, session: Session, limit: int = 200, offset: int = 0) -> list[AuditEntry]:
    return list(session.exec(select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                             .offset(offset).limit(limit)).all())
