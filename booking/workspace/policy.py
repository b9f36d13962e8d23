"""Loading and saving cancellation policies: the workspace page (/admin/policy) edits the builder's
own and per-session-type overrides; the booking page reads the one that applies. Admin services take
an explicit session and never commit; every id from the browser goes through `authz.load_owned`, and
every write records an audit entry in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from booking.accounts import audit, authz
from booking.accounts.authz import Actor
from booking.core.models import Builder, SessionType, utcnow
from booking.scheduling import policy

PAGE_SIZE = 50
_BUILDER_COLUMNS = tuple(policy.COLUMNS.values())


@dataclass(frozen=True)
class SessionTypePolicyRow:
    session_type_id: str
    name: str
    active: bool
    overridden: bool
    summary: str  # the policy that applies, in short
    values: dict[str, str] = field(default_factory=dict)  # the overrides as typed ("" = the builder's)


def short_summary(rules: policy.CancellationPolicy) -> str:
    parts = [f"full refund until {rules.full_refund_hours} h before"]
    if policy.has_partial_window(rules):
        parts.append(f"{rules.partial_refund_percent} % until {rules.partial_refund_hours} h before")
    if rules.max_reschedules:
        parts.append(f"reschedule ×{rules.max_reschedules} until {rules.reschedule_hours} h before")
    else:
        parts.append("no rescheduling")
    return "; ".join(parts)


def policy_values(rules: policy.CancellationPolicy) -> dict[str, str]:
    return {name: str(value) for name, value in rules.as_dict().items()}


def load_builder(*, session: Session, actor: Actor, builder_id: object) -> Builder:
    return authz.load_owned(session=session, actor=actor, model=Builder, object_id=builder_id)


def list_session_types(*, session: Session, actor: Actor, builder_id: object,
                       page: int = 0) -> tuple[list[SessionTypePolicyRow], bool]:
    builder = load_builder(session=session, actor=actor, builder_id=builder_id)
    rows = session.exec(
        select(SessionType).where(SessionType.builder_id == builder.id)
        .order_by(SessionType.active.desc(), SessionType.name, SessionType.id)
        .offset(max(page, 0) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    ).all()
    return [_row(builder, row) for row in rows[:PAGE_SIZE]], len(rows) > PAGE_SIZE


def _row(builder: Builder, session_type: SessionType) -> SessionTypePolicyRow:
    overrides = policy.overrides_of(session_type)
    return SessionTypePolicyRow(
        session_type_id=str(session_type.id), name=session_type.name, active=session_type.active,
        overridden=any(value is not None for value in overrides.values()),
        summary=short_summary(policy.effective_policy(builder, session_type)),
        values={name: "" if value is None else str(value) for name, value in overrides.items()},
    )


def _snapshot(row: Builder | SessionType) -> dict[str, Any]:
    return {column: getattr(row, column) for column in _BUILDER_COLUMNS}


def save_builder_policy(*, session: Session, actor: Actor, builder_id: object,
                        form: Mapping[str, Any]) -> policy.CancellationPolicy:
    """Raises policy.InvalidPolicy (nothing saved) or authz.NotFound."""
    builder = authz.load_owned(session=session, actor=actor, model=Builder, object_id=builder_id, for_update=True)
    values = policy.parse_policy_form(form, allow_blank=False)
    before = _snapshot(builder)
    for name, value in values.items():
        setattr(builder, policy.COLUMNS[name], value)
    if _snapshot(builder) != before:
        session.add(builder)
        session.flush()
        audit.record(session=session, actor=actor, action="policy.update", entity_type="builder",
                     entity_id=builder.id, builder_id=builder.id, before=before, after=_snapshot(builder))
    return policy.builder_policy(builder)


def save_session_type_policy(*, session: Session, actor: Actor, session_type_id: object,
                             form: Mapping[str, Any]) -> SessionTypePolicyRow:
    """Blank fields use the builder's number. Raises policy.InvalidPolicy or authz.NotFound."""
    session_type = authz.load_owned(session=session, actor=actor, model=SessionType, object_id=session_type_id,
                                    for_update=True)
    builder = session.get(Builder, session_type.builder_id)
    values = policy.parse_policy_form(form, allow_blank=True, inherited=policy.builder_policy(builder))
    return _apply_overrides(session=session, actor=actor, builder=builder, session_type=session_type,
                            values=values, action="policy.override")


def clear_session_type_policy(*, session: Session, actor: Actor, session_type_id: object) -> SessionTypePolicyRow:
    session_type = authz.load_owned(session=session, actor=actor, model=SessionType, object_id=session_type_id,
                                    for_update=True)
    builder = session.get(Builder, session_type.builder_id)
    return _apply_overrides(session=session, actor=actor, builder=builder, session_type=session_type,
                            values=dict.fromkeys(policy.FIELD_NAMES), action="policy.override_cleared")


def _apply_overrides(*, session: Session, actor: Actor, builder: Builder, session_type: SessionType,
                     values: Mapping[str, int | None], action: str) -> SessionTypePolicyRow:
    before = _snapshot(session_type)
    for name, value in values.items():
        setattr(session_type, policy.COLUMNS[name], value)
    if _snapshot(session_type) != before:
        session_type.updated_at = utcnow()
        session.add(session_type)
        session.flush()
        audit.record(session=session, actor=actor, action=action, entity_type="session_type",
                     entity_id=session_type.id, builder_id=builder.id, before=before, after=_snapshot(session_type))
    return _row(builder, session_type)


def session_type_policy_lines(*, session: Session, session_type_id: int) -> list[str]:
    """The policy a client books under, in words (public: an active session type only)."""
    session_type = session.get(SessionType, session_type_id)
    if session_type is None or not session_type.active:
        return []
    return policy.describe(policy.effective_policy(session.get(Builder, session_type.builder_id), session_type))


def load_session_type_policy(*, session: Session, actor: Actor, session_type_id: object) -> SessionTypePolicyRow:
    session_type = authz.load_owned(session=session, actor=actor, model=SessionType, object_id=session_type_id)
    return _row(session.get(Builder, session_type.builder_id), session_type)
