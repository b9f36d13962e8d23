"""The event loop stays free: no Reflex handler queries the database or hashes a password on the loop.

The admin handlers are covered by the authorisation walk (tests/integration/admin), whose `call`
helper runs every handler on a running loop under the tripwire (tests/support/loop_guard.py). Here:
the tripwire itself, the client's states walked the same way, and what a handler run off the loop
does to its state (assignments, in-place changes, an error half-way) is what it would do on it.
"""

from __future__ import annotations

import asyncio
import inspect
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
import reflex as rx
import sqlalchemy as sa
from reflex.istate.data import RouterData

from booking.accounts.passwords import hash_password, verify_password
from booking.core.config import get_settings
from booking.core.db import session_scope
from booking.core.models import Booking, utcnow
from booking.lifecycle import checkout as payments
from booking.notifications import manage_links
from booking_ui import deps
from booking_ui.admin.base import AdminState
from booking_ui.admin.bookings import BookingsState
from booking_ui.offloop import StateDraft, off_loop
from tests.factories import make_builder, make_session_type
from tests.support.admin_states import PASSWORD, call, make_user, state_of, token_for
from tests.support.fake_gateway import FakeGateway
from tests.support.loop_guard import BlockedTheLoop, nothing_blocks_the_loop

# --- the tripwire fails when it should --------------------------------------------------------------


def test_a_query_on_the_loop_trips_the_wire_and_the_same_query_in_a_thread_does_not(engine):
    def query() -> int:
        with session_scope(engine) as session:
            return session.execute(sa.text("SELECT 1")).scalar_one()

    async def blocking():
        return query()

    async def offloaded():
        return await asyncio.to_thread(query)

    with pytest.raises(BlockedTheLoop, match="SQL ran"), nothing_blocks_the_loop():
        asyncio.run(blocking())
    with nothing_blocks_the_loop():
        assert asyncio.run(offloaded()) == 1


def test_a_swallowed_query_on_the_loop_still_fails_the_block(engine):
    async def swallowing():
        try:
            with session_scope(engine) as session:
                session.execute(sa.text("SELECT 1"))
        except Exception:
            return "swallowed"

    with pytest.raises(BlockedTheLoop), nothing_blocks_the_loop():
        assert asyncio.run(swallowing()) == "swallowed"


def test_hashing_a_password_on_the_loop_trips_the_wire():
    stored = hash_password(PASSWORD)

    async def on_loop():
        return verify_password(PASSWORD, stored)

    async def in_thread():
        return await asyncio.to_thread(verify_password, PASSWORD, stored)

    with pytest.raises(BlockedTheLoop, match="password"), nothing_blocks_the_loop():
        asyncio.run(on_loop())
    with nothing_blocks_the_loop():
        assert asyncio.run(in_thread())[0] is True


# --- the client's states, walked ---------------------------------------------------------------------


def client_states() -> list[type[rx.State]]:
    import booking_ui.booking_ui  # noqa: F401 - registers every page and its states

    found, todo = [], list(rx.State.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("booking_ui.") and not issubclass(cls, AdminState):
            found.append(cls)
    return sorted(found, key=lambda cls: cls.__name__)


def client_handlers() -> list[tuple[type[rx.State], str]]:
    return [(cls, name) for cls in client_states() for name in sorted(cls.event_handlers)
            if cls.event_handlers[name].fn.__qualname__.split(".")[0] == cls.__name__]


CLIENT_HANDLERS = client_handlers()


def test_the_walk_finds_the_client_pages_states():
    names = {cls.__name__ for cls, _ in CLIENT_HANDLERS}
    assert {"BookState", "ManageState", "SuccessState", "CancelState", "HomeState", "BuilderState"} <= names


@pytest.fixture
def world(engine, monkeypatch):
    gateway = FakeGateway()
    monkeypatch.setattr(deps, "gateway", lambda: gateway)
    with session_scope(engine) as session:
        builder = make_builder(session, time_zone="UTC")
        session_type = make_session_type(session, builder, price_amount=5000, currency="gbp")
        session.flush()
        ids = {"session_type": session_type.id, "slug": builder.slug}
    start = (utcnow() + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    started = payments.begin_checkout(engine=engine, gateway=gateway, settings=get_settings(),
                                      session_type_id=ids["session_type"], start_time=start, client_name="Ann",
                                      client_email="ann@example.com", browser_hold_key="k" * 43)
    with session_scope(engine) as session:
        ids["token"] = manage_links.issue(session=session, booking=session.get(Booking, started.booking_id))
    ids["booking"] = started.booking_id
    ids["checkout_session"] = started.checkout_session_id
    ids["start"] = start.isoformat()
    return ids


def router_for(ids: dict[str, Any]) -> dict[str, Any]:
    query = {"session_type_id": str(ids["session_type"]), "builder_slug": ids["slug"],
             "manage_token": ids["token"], "session_id": ids["checkout_session"], "booking": ids["booking"]}
    return {"pathname": "/book/[session_type_id]", "asPath": f"/book/{ids['session_type']}?{urlencode(query)}",
            "query": query,
            "headers": {"origin": "http://localhost:3000"}}


def arguments(fn, ids: dict[str, Any]) -> list[Any]:
    by_name = {"preferences": {"tz": "Europe/Paris", "hour12": False}, "value": "Europe/Paris",
               "form": {"client_name": "Ann", "client_email": "ann@example.com"}}
    params = [p for p in list(inspect.signature(fn).parameters.values())[1:]
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    for param in params:
        assert param.name in by_name, f"{fn.__qualname__}: teach the walk what to send as {param.name!r}"
    return [by_name[param.name] for param in params]


@pytest.mark.parametrize(("cls", "name"), CLIENT_HANDLERS, ids=[f"{c.__name__}.{n}" for c, n in CLIENT_HANDLERS])
def test_no_client_handler_blocks_the_loop(engine, world, cls, name):
    root = rx.State(_reflex_internal_init=True)
    root.router = RouterData.from_router_data(router_for(world))
    state = root.get_substate(cls.get_full_name().split(".")[1:])
    if "load" in cls.event_handlers and name != "load":
        call(state, "load")  # the page as it is once open
    if "hold_key" in cls.__fields__:
        state.hold_key = "k" * 43
    if "selected_start" in cls.__fields__:
        state.selected_start = world["start"]  # a time picked, so paying gets as far as the database
    try:
        call(state, name, *arguments(cls.event_handlers[name].fn, world))
    except BlockedTheLoop:
        raise
    except Exception:  # a refusal is fine here (it was reached off the loop); only blocking the loop is not
        pass


# --- off the loop, a handler changes its state as it would on it --------------------------------------


def test_a_draft_reads_the_state_applies_assignments_and_in_place_changes_on_the_loop():
    state = state_of(BookingsState)
    state.search, state.rows = "before", []
    draft = StateDraft(state)
    assert draft.search == "before" and draft.is_platform_admin is False
    draft.search = "after"
    draft.filter_error = "x"
    draft.rows.append("not applied yet")  # in place, on the draft's own copy
    assert state.search == "before" and state.rows == [] and state.filter_error == ""
    with pytest.raises(AttributeError):
        draft.no_such_var = 1
    draft.apply(state)
    assert (state.search, state.filter_error, state.rows) == ("after", "x", ["not applied yet"])
    assert {"search", "filter_error", "rows"} <= state.dirty_vars


def test_what_a_handler_changed_before_an_error_is_kept_as_on_the_loop():
    state = state_of(BookingsState)

    def half_way(self):
        self.filter_error = "changed first"
        raise ValueError("then failed")

    half_way.__qualname__ = "BookingsState.half_way"
    with pytest.raises(ValueError, match="then failed"):
        asyncio.run(off_loop(half_way.__get__(state, BookingsState)))
    assert state.filter_error == "changed first"


def test_a_signed_in_admin_handler_runs_its_queries_in_a_thread_and_shows_the_result(engine):
    with session_scope(engine) as session:
        builder = make_builder(session, time_zone="UTC")
        session.flush()
        builder_id, slug = builder.id, builder.slug
    token = token_for(engine, make_user(engine, email="loop@walk.test", builder_id=builder_id))
    state = state_of(BookingsState, token)
    call(state, "load")  # the tripwire inside `call` fails if the lookup or the list ran on the loop
    assert state.rows == [] and state.admin_error == ""
    call(state.parent_state, "guard")  # the page guard (on the base state)
    assert state.signed_in_email == "loop@walk.test" and state.builder_slug == slug
