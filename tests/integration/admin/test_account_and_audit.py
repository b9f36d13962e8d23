"""/admin/account (password change, the private calendar link) and /admin/audit (platform admins only)."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from booking.accounts import sessions
from booking.accounts.audit import record
from booking.accounts.authz import Actor
from booking.core.config import get_settings
from booking.core.db import session_scope
from booking.core.models import AuditEntry, Builder, UserAccount, UserRole, utcnow
from booking_ui import api, routes
from booking_ui.admin.account import AccountState
from booking_ui.admin.audit import PAGE_SIZE, AuditState
from booking_ui.admin.base import SESSION_COOKIE, AdminState
from tests.factories import make_builder
from tests.support.admin_states import (
    PASSWORD,
    auth_client,
    call,
    http_sign_in,
    make_user,
    redirect_path,
    state_of,
    token_for,
)

NEW_PASSWORD = "a-much-longer-new-password"


@pytest.fixture
def people(engine):
    with session_scope(engine) as session:
        ada = make_builder(session, name="Ada Lovelace", slug="ada-acct")
        grace = make_builder(session, name="Grace Hopper", slug="grace-acct")
        ids = {"ada_builder": ada.id, "grace_builder": grace.id}
    ids["ada"] = make_user(engine, email="ada@acct.test", builder_id=ids["ada_builder"])
    ids["grace"] = make_user(engine, email="grace@acct.test", builder_id=ids["grace_builder"])
    ids["admin"] = make_user(engine, email="root@acct.test", role=UserRole.ADMIN)
    return ids


@pytest.fixture
def api_client(engine):
    with TestClient(api.build_api()) as client:
        yield client


def signed_in(cls, engine, user_id):
    return state_of(cls, token_for(engine, user_id))


def audit_entries(engine) -> list[AuditEntry]:
    with session_scope(engine) as session:
        return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)).all())


def password_hash(engine, user_id) -> str:
    with session_scope(engine) as session:
        return session.get(UserAccount, user_id).password_hash


def token_alive(engine, token) -> bool:
    with session_scope(engine) as session:
        return sessions.resolve(session=session, token=token, idle_minutes=120) is not None


def feed_path(url: str) -> str:
    return urlsplit(url).path


# --- the calendar link ----------------------------------------------------------------------------------


def test_a_builder_creates_then_regenerates_their_calendar_link(engine, people, api_client):
    account = signed_in(AccountState, engine, people["ada"])
    call(account, "load")
    assert (account.calendar_builder_name, account.calendar_has_link, account.calendar_url) == (
        "Ada Lovelace", False, "")

    call(account, "regenerate_calendar_link")
    first = account.calendar_url
    assert first.startswith(get_settings().public_url + "/calendar/") and first.endswith(".ics")
    assert account.calendar_has_link and not account.calendar_replaced
    assert api_client.get(feed_path(first)).status_code == 200

    call(account, "regenerate_calendar_link")
    second = account.calendar_url
    assert second != first and account.calendar_replaced
    assert api_client.get(feed_path(first)).status_code == 404
    assert api_client.get(feed_path(second)).status_code == 200

    call(account, "load")  # shown once: coming back to the page does not show it again
    assert account.calendar_url == "" and account.calendar_has_link

    created, regenerated = audit_entries(engine)
    assert (created.action, regenerated.action) == ("calendar_link.created", "calendar_link.regenerated")
    assert created.actor_email == "ada@acct.test" and created.builder_id == people["ada_builder"]
    with session_scope(engine) as session:
        stored_hash = session.get(Builder, people["ada_builder"]).calendar_token_hash
    for entry in (created, regenerated):
        logged = f"{entry.before} {entry.after}"
        for secret in (first, second, feed_path(first)[10:-4], feed_path(second)[10:-4], stored_hash):
            assert secret not in logged


def test_a_builder_cannot_pick_or_regenerate_another_builders_link(engine, people):
    account = signed_in(AccountState, engine, people["grace"])
    call(account, "load")

    call(account, "set_builder", str(people["ada_builder"]))
    assert account.admin_error and account.calendar_builder_name == "Grace Hopper"

    account.calendar_builder_id = str(people["ada_builder"])  # a hostile browser edits its state
    call(account, "regenerate_calendar_link")
    with session_scope(engine) as session:
        assert session.get(Builder, people["ada_builder"]).calendar_token_hash is None
        assert session.get(Builder, people["grace_builder"]).calendar_token_hash is not None  # her own


def test_a_platform_admin_picks_a_builder_first(engine, people, api_client):
    account = signed_in(AccountState, engine, people["admin"])
    call(account, "load")
    assert [choice.name for choice in account.builder_choices] == ["Ada Lovelace", "Grace Hopper"]

    call(account, "regenerate_calendar_link")
    assert account.calendar_error == "Choose a builder first." and account.calendar_url == ""
    assert audit_entries(engine) == []

    call(account, "set_builder", str(people["grace_builder"]))
    call(account, "regenerate_calendar_link")

    assert api_client.get(feed_path(account.calendar_url)).status_code == 200
    (entry,) = audit_entries(engine)
    assert entry.actor_email == "root@acct.test" and entry.builder_id == people["grace_builder"]


# --- the password ---------------------------------------------------------------------------------------


def change(account, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return call(account, "change_password", {"current_password": current, "new_password": new,
                                             "confirm_password": new if confirm is None else confirm})


@pytest.mark.parametrize("current, new, confirm, message", [
    ("wrong-password-here", NEW_PASSWORD, None, "current password is not right"),
    (PASSWORD, NEW_PASSWORD, "something-else-entirely", "don't match"),
    (PASSWORD, "short", None, "at least 10"),
    (PASSWORD, PASSWORD, None, "must differ"),
    ("", NEW_PASSWORD, None, "Fill in"),
])
def test_a_bad_password_change_shows_why_and_changes_nothing(engine, people, current, new, confirm, message):
    token = token_for(engine, people["ada"])
    account = state_of(AccountState, token)
    before = password_hash(engine, people["ada"])

    assert change(account, current, new, confirm) is None

    assert message in account.password_error
    assert password_hash(engine, people["ada"]) == before
    assert token_alive(engine, token)
    assert audit_entries(engine) == []


def test_a_password_change_ends_every_session_and_sends_the_browser_to_sign_in(engine, people):
    elsewhere = token_for(engine, people["ada"])  # another browser, signed in too
    this_browser = token_for(engine, people["ada"])
    account = state_of(AccountState, this_browser)

    result = change(account)

    assert redirect_path(result).startswith(routes.ADMIN_LOGIN + "?")
    assert account.password_error == ""
    assert not token_alive(engine, this_browser) and not token_alive(engine, elsewhere)
    (entry,) = audit_entries(engine)
    assert (entry.action, entry.entity_type, entry.entity_id) == ("account.password_changed", "user_account",
                                                                 str(people["ada"]))
    assert NEW_PASSWORD not in f"{entry.before} {entry.after}" and PASSWORD not in f"{entry.before} {entry.after}"
    # This browser's connection is signed out: its next page goes to the sign-in page.
    assert redirect_path(call(state_of(AdminState, this_browser), "guard")) == routes.ADMIN_LOGIN
    with auth_client() as client:
        client.cookies.set(SESSION_COOKIE, elsewhere)  # a copy of an old cookie, replayed over HTTP
        assert client.get(routes.admin_event_payload("1")).status_code == 401
        client.cookies.clear()
        assert http_sign_in(client, "ada@acct.test", PASSWORD).headers["location"].endswith("error=failed")
        signed_in_again = http_sign_in(client, "ada@acct.test", NEW_PASSWORD)
    assert signed_in_again.status_code == 303 and signed_in_again.headers["location"] == routes.ADMIN
    assert token_alive(engine, signed_in_again.cookies[SESSION_COOKIE])


# --- the audit page -------------------------------------------------------------------------------------


def add_entries(engine, count: int, *, action: str = "session_type.updated", builder_id=None) -> None:
    actor = Actor(user_id=None, email="someone@acct.test", role=UserRole.BUILDER, builder_id=builder_id)
    start = utcnow() - timedelta(hours=1)
    with session_scope(engine) as session:
        for n in range(count):
            entry = record(session=session, actor=actor, action=action, entity_type="session_type",
                           entity_id=n, builder_id=builder_id, before={"price": n}, after={"price": n + 1})
            entry.at = start + timedelta(seconds=n)


def test_a_builder_is_refused_the_audit_log(engine, people):
    add_entries(engine, 3, builder_id=people["ada_builder"])
    audit = signed_in(AuditState, engine, people["ada"])

    for handler, args in (("load", ()), ("set_page", (2,)), ("set_action", ("session_type.updated",)),
                          ("set_entity", ("session_type",)), ("set_search", ("1",))):
        call(audit, handler, *args)
        assert audit.admin_error == "Only a platform admin can do that." and audit.rows == [], handler


def test_an_admin_sees_entries_newest_first_with_before_and_after(engine, people):
    add_entries(engine, 3, builder_id=people["ada_builder"])
    audit = signed_in(AuditState, engine, people["admin"])

    call(audit, "load")

    assert [row.entity for row in audit.rows] == ["session_type 2", "session_type 1", "session_type 0"]
    newest = audit.rows[0]
    assert (newest.who, newest.action, newest.builder) == ("someone@acct.test", "session_type.updated",
                                                           "Ada Lovelace")
    assert json.loads(newest.before) == {"price": 2} and json.loads(newest.after) == {"price": 3}
    assert newest.when.endswith("UTC") and not audit.has_next
    assert audit.actions == ["session_type.updated"] and audit.entities == ["session_type"]


def test_the_audit_log_pages_by_50_and_filters(engine, people):
    add_entries(engine, PAGE_SIZE + 20)
    add_entries(engine, 2, action="booking.refunded")
    audit = signed_in(AuditState, engine, people["admin"])
    call(audit, "load")
    assert len(audit.rows) == PAGE_SIZE and audit.has_next

    call(audit, "set_page", 2)
    assert len(audit.rows) == 22 and not audit.has_next

    call(audit, "set_action", "booking.refunded")
    assert audit.page == 1 and {row.action for row in audit.rows} == {"booking.refunded"} and len(audit.rows) == 2

    call(audit, "set_action", "")
    call(audit, "set_entity", "nothing-like-this")
    assert audit.rows == []

    call(audit, "set_entity", "")
    call(audit, "set_search", "7")
    assert [row.entity for row in audit.rows] == ["session_type 7"]

    call(audit, "set_page", -5)
    assert audit.page == 1


# --- signed out ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls, handler, args", [
    (AccountState, "regenerate_calendar_link", ()),
    (AccountState, "change_password", ({"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                        "confirm_password": NEW_PASSWORD},)),
    (AccountState, "set_builder", ("1",)),
    (AuditState, "load", ()),
    (AuditState, "set_page", (1,)),
])
def test_signed_out_calls_change_and_show_nothing(engine, people, cls, handler, args):
    add_entries(engine, 2)
    before_hashes = password_hash(engine, people["ada"])
    state = state_of(cls, "")

    assert redirect_path(call(state, handler, *args)) == routes.ADMIN_LOGIN

    assert password_hash(engine, people["ada"]) == before_hashes
    with session_scope(engine) as session:
        assert all(b.calendar_token_hash is None for b in session.exec(select(Builder)).all())
    assert len(audit_entries(engine)) == 2
    assert getattr(state, "rows", []) == [] and getattr(state, "calendar_url", "") == ""
