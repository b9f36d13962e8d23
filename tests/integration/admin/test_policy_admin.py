"""/admin/policy: the builder's cancellation policy and per-session-type overrides, validated, audited,
and only ever the signed-in builder's own (a platform admin picks a builder)."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from booking.core.db import session_scope
from booking.core.models import AuditEntry, Builder, SessionType, UserRole
from booking.scheduling import policy
from booking.workspace.policy import session_type_policy_lines
from booking_ui import routes
from booking_ui.admin.policy import PolicyState
from tests.factories import make_builder, make_session_type
from tests.support.admin_states import call, make_user, redirect_path, state_of, token_for

GOOD = {"full_refund_hours": "48", "partial_refund_percent": "25", "partial_refund_hours": "6",
        "reschedule_hours": "12", "max_reschedules": "3"}


@pytest.fixture
def world(engine):
    with session_scope(engine) as session:
        ada = make_builder(session, name="Ada", slug="ada-policy")
        grace = make_builder(session, name="Grace", slug="grace-policy")
        consult = make_session_type(session, ada, name="Consult")
        make_session_type(session, grace, name="Grace's call")
        ids = {"ada": ada.id, "grace": grace.id, "consult": consult.id}
    ids["ada_user"] = make_user(engine, email="ada@policy.test", builder_id=ids["ada"])
    ids["grace_user"] = make_user(engine, email="grace@policy.test", builder_id=ids["grace"])
    ids["admin_user"] = make_user(engine, email="admin@policy.test", role=UserRole.ADMIN)
    return ids


def signed_in(engine, user_id) -> PolicyState:
    state = state_of(PolicyState, token_for(engine, user_id))
    call(state, "load")
    return state


def builder_row(engine, builder_id) -> Builder:
    with Session(engine) as s:
        return s.get(Builder, builder_id)


def type_row(engine, session_type_id) -> SessionType:
    with Session(engine) as s:
        return s.get(SessionType, session_type_id)


def audit(engine) -> list[tuple[str, str, dict]]:
    with Session(engine) as s:
        return [(e.action, e.entity_type, json.loads(e.after or "{}"))
                for e in s.exec(select(AuditEntry).order_by(AuditEntry.id)).all()]


def test_a_builder_sees_and_saves_their_own_policy_with_an_audit_entry(engine, world):
    state = signed_in(engine, world["ada_user"])
    assert state.policy_builder_name == "Ada"
    assert state.builder_values == {"full_refund_hours": "24", "partial_refund_percent": "50",
                                    "partial_refund_hours": "2", "reschedule_hours": "24", "max_reschedules": "2"}
    assert [row.name for row in state.rows] == ["Consult"]

    call(state, "save_builder", GOOD)

    assert state.builder_errors == {} and "Saved" in state.builder_notice
    saved = builder_row(engine, world["ada"])
    assert policy.builder_policy(saved) == policy.CancellationPolicy(48, 25, 6, 12, 3)
    [(action, entity, after)] = audit(engine)
    assert (action, entity) == ("policy.update", "builder")
    assert after["policy_full_refund_hours"] == 48


@pytest.mark.parametrize(("field", "value"), [
    ("full_refund_hours", "8761"), ("partial_refund_percent", "101"), ("partial_refund_hours", "49"),
    ("reschedule_hours", "-1"), ("max_reschedules", "11"), ("max_reschedules", "two"),
])
def test_bad_input_shows_an_inline_message_and_saves_nothing(engine, world, field, value):
    state = signed_in(engine, world["ada_user"])

    call(state, "save_builder", {**GOOD, field: value})

    assert field in state.builder_errors
    assert state.builder_values[field] == value  # what was typed stays in the form
    assert policy.builder_policy(builder_row(engine, world["ada"])) == policy.DEFAULT_POLICY
    assert audit(engine) == []


def test_a_session_type_override_wins_field_by_field_and_can_be_cleared(engine, world):
    state = signed_in(engine, world["ada_user"])

    call(state, "edit_override", str(world["consult"]))
    assert state.editing_name == "Consult" and set(state.override_values.values()) == {""}
    call(state, "save_override", {"partial_refund_percent": "80", "max_reschedules": "0"})

    assert state.override_errors == {} and state.editing_session_type_id == ""
    [row] = state.rows
    assert row.overridden and "80 %" in row.summary and "no rescheduling" in row.summary
    consult = type_row(engine, world["consult"])
    assert (consult.policy_partial_refund_percent, consult.policy_max_reschedules,
            consult.policy_full_refund_hours) == (80, 0, None)
    with Session(engine) as s:
        lines = session_type_policy_lines(session=s, session_type_id=world["consult"])
    assert "Then a 80 % refund until 2 hours before." in lines
    assert "Rescheduling isn't offered for this session." in lines

    call(state, "edit_override", str(world["consult"]))
    call(state, "save_override", {"partial_refund_hours": "30"})  # M > the builder's N (24)
    assert "partial_refund_hours" in state.override_errors
    assert type_row(engine, world["consult"]).policy_partial_refund_hours is None

    call(state, "clear_override", str(world["consult"]))
    assert not state.rows[0].overridden
    assert policy.overrides_of(type_row(engine, world["consult"])) == dict.fromkeys(policy.FIELD_NAMES)
    assert [a for a, _e, _after in audit(engine)] == ["policy.override", "policy.override_cleared"]


def test_another_builder_can_neither_see_nor_change_adas_policy(engine, world):
    state = signed_in(engine, world["grace_user"])
    assert state.policy_builder_name == "Grace"

    call(state, "edit_override", str(world["consult"]))
    assert state.admin_error and state.editing_session_type_id == ""
    state.editing_session_type_id = str(world["consult"])  # a hostile browser sets the var itself
    call(state, "save_override", GOOD)
    call(state, "clear_override", str(world["consult"]))
    call(state, "set_builder", str(world["ada"]))
    state.policy_builder_id = str(world["ada"])
    call(state, "save_builder", {**GOOD, "max_reschedules": "9"})

    assert policy.overrides_of(type_row(engine, world["consult"])) == dict.fromkeys(policy.FIELD_NAMES)
    assert policy.builder_policy(builder_row(engine, world["ada"])) == policy.DEFAULT_POLICY
    assert policy.builder_policy(builder_row(engine, world["grace"])).max_reschedules == 9  # her own
    assert "Consult" not in json.dumps([r.name for r in state.rows])


def test_a_platform_admin_picks_the_builder(engine, world):
    state = signed_in(engine, world["admin_user"])
    assert {b.name for b in state.builders} >= {"Ada", "Grace"}

    call(state, "set_builder", str(world["grace"]))
    call(state, "save_builder", GOOD)

    assert state.policy_builder_name == "Grace"
    assert policy.builder_policy(builder_row(engine, world["grace"])) == policy.CancellationPolicy(48, 25, 6, 12, 3)
    assert policy.builder_policy(builder_row(engine, world["ada"])) == policy.DEFAULT_POLICY


def test_signed_out_goes_to_sign_in(engine, world):
    state = state_of(PolicyState, "")
    assert redirect_path(call(state, "save_builder", GOOD)) == routes.ADMIN_LOGIN
    assert policy.builder_policy(builder_row(engine, world["ada"])) == policy.DEFAULT_POLICY
