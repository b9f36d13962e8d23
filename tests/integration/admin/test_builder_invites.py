"""A platform admin invites a builder by email, on a real database: the builder and a password-less account
are created, the emailed link sets the password, a re-invite replaces the link, an existing account's
address is refused, and only a platform admin may invite (checked on the server, in the handler)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from booking.accounts import invites
from booking.accounts.recovery import LINK_PROBLEMS
from booking.accounts.tokens import LinkProblem
from booking.core.db import session_scope
from booking.core.models import AuditEntry, Builder, Notification, UserAccount, UserRole
from booking_ui import routes
from booking_ui.admin.recovery import BuilderInvitesState, RecoveryState
from tests.factories import make_builder
from tests.integration.admin.test_password_reset import NEW_PASSWORD, can_sign_in, deliver, link_in
from tests.support.admin_states import PASSWORD, call, make_user, redirect_path, state_of, token_for

FORM = {"name": "Grace Hopper", "email": "Grace@Example.com", "time_zone": "America/New_York"}


@pytest.fixture
def admin_token(engine):
    return token_for(engine, make_user(engine, email="root@invite.test", role=UserRole.ADMIN))


def invite(admin_token, form=None):
    state = state_of(BuilderInvitesState, admin_token)
    call(state, "invite", form or FORM)
    return state


def accept(engine, token, password=NEW_PASSWORD):
    with session_scope(engine) as session:
        return invites.accept_invite(session=session, token=token, new_password=password, confirm_password=password)


def test_an_invite_creates_the_builder_and_its_link_sets_the_password(engine, admin_token):
    state = invite(admin_token)
    assert state.invite_error == "" and "grace@example.com" in state.invite_notice
    assert [row.email for row in state.pending] == ["grace@example.com"]
    with session_scope(engine) as session:
        builder = session.exec(select(Builder).where(Builder.email == "grace@example.com")).one()
        user = session.exec(select(UserAccount).where(UserAccount.builder_id == builder.id)).one()
        assert (builder.name, builder.slug, builder.time_zone) == ("Grace Hopper", "grace-hopper", "America/New_York")
        assert user.role == UserRole.BUILDER and invites.is_pending(user)
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "builder.invited")).one()
    assert not can_sign_in(engine, "grace@example.com", "")  # no password works before the link is used

    [message] = deliver(engine)
    assert message["Subject"] == "You're invited to Book a builder"
    token = link_in(message, routes.ADMIN_INVITE)
    page = state_of(RecoveryState, router_data={"asPath": f"{routes.ADMIN_INVITE}?token={token}"})
    call(page, "load_invite")
    assert page.link_ok and page.link_email == "grace@example.com"
    result = call(page, "accept", {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert redirect_path(result) == routes.ADMIN_LOGIN
    assert can_sign_in(engine, "grace@example.com", NEW_PASSWORD)
    assert accept(engine, token, "another-password-1").error == LINK_PROBLEMS[LinkProblem.USED]
    assert invite(admin_token).invite_error.startswith("An account for grace@example.com already exists")
    again = state_of(BuilderInvitesState, admin_token)
    call(again, "load")
    assert again.pending == []


def test_a_reinvite_sends_a_fresh_link_and_the_old_one_stops_working(engine, admin_token):
    state = invite(admin_token)
    old = link_in(deliver(engine)[0], routes.ADMIN_INVITE)
    call(state, "resend", state.pending[0].user_id)
    assert "previous one no longer works" in state.invite_notice
    newer = link_in(deliver(engine)[0], routes.ADMIN_INVITE)
    invite(admin_token, {**FORM, "email": "grace@example.com"})  # inviting the pending address again resends
    newest = link_in(deliver(engine)[0], routes.ADMIN_INVITE)
    assert len({old, newer, newest}) == 3
    assert accept(engine, old).error == LINK_PROBLEMS[LinkProblem.REPLACED]
    assert accept(engine, newer).error == LINK_PROBLEMS[LinkProblem.REPLACED]
    assert accept(engine, newest).error == ""
    with session_scope(engine) as session:
        assert len(session.exec(select(Builder).where(Builder.email == "grace@example.com")).all()) == 1


def test_an_invite_link_expires(engine, admin_token):
    invite(admin_token)
    token = link_in(deliver(engine)[0], routes.ADMIN_INVITE)
    from booking.core.models import utcnow

    with session_scope(engine) as session:
        late = invites.accept_invite(session=session, token=token, new_password=NEW_PASSWORD,
                                     confirm_password=NEW_PASSWORD, now=utcnow() + timedelta(days=7, seconds=1))
    assert late.error == LINK_PROBLEMS[LinkProblem.EXPIRED]


def test_an_existing_accounts_address_or_a_bad_value_is_refused_and_changes_nothing(engine, admin_token):
    with session_scope(engine) as session:
        builder_id = make_builder(session, slug="taken-one").id
    make_user(engine, email="ada@example.com", builder_id=builder_id)
    with session_scope(engine) as session:
        before = len(session.exec(select(Builder)).all())
    cases = [({**FORM, "email": "ADA@example.com"}, "An account for ada@example.com already exists"),
             ({**FORM, "email": "not an email"}, "Please enter a valid email address."),
             ({**FORM, "name": "  "}, "Please enter the builder's name"),
             ({**FORM, "time_zone": "Mars/Olympus"}, "Please choose a time zone")]
    for form, message in cases:
        assert invite(admin_token, form).invite_error.startswith(message)
    with session_scope(engine) as session:
        assert len(session.exec(select(Builder)).all()) == before
        assert session.exec(select(Notification)).all() == []
    assert can_sign_in(engine, "ada@example.com", PASSWORD)


def test_a_builder_cannot_invite_even_by_calling_the_handler(engine):
    with session_scope(engine) as session:
        builder_id = make_builder(session, slug="sneaky").id
    token = token_for(engine, make_user(engine, email="sneaky@invite.test", builder_id=builder_id))
    state = state_of(BuilderInvitesState, token)
    call(state, "invite", FORM)
    assert state.admin_error == invites.ADMINS_ONLY
    call(state, "load")
    assert state.admin_error == invites.ADMINS_ONLY and state.pending == []
    with session_scope(engine) as session:
        assert session.exec(select(Builder).where(Builder.email == "grace@example.com")).first() is None
        assert session.exec(select(Notification)).all() == []
    signed_out = state_of(BuilderInvitesState, "")
    assert redirect_path(call(signed_out, "invite", FORM)) == routes.ADMIN_LOGIN
