"""Drive workspace states without a browser: a signed-in (or not) state instance per test, and a call
helper that runs sync and background handlers alike, on an event loop that must stay free."""

from __future__ import annotations

import asyncio
import inspect
from functools import lru_cache
from typing import Any

import reflex as rx
from sqlalchemy.engine import Engine

from booking.accounts import sessions
from booking.accounts.passwords import hash_password
from booking.core.db import session_scope
from booking.core.models import UserAccount, UserRole
from booking_ui.admin.base import AdminState
from tests.support.loop_guard import nothing_blocks_the_loop

PASSWORD = "correct-horse-battery"


@lru_cache(maxsize=1)
def password_hash() -> str:
    """One real argon2 hash of PASSWORD per test run (hashing is deliberately slow)."""
    return hash_password(PASSWORD)


def make_user(engine: Engine, *, email: str, role: UserRole = UserRole.BUILDER, builder_id: int | None = None) -> int:
    """An account whose password is PASSWORD."""
    with session_scope(engine) as session:
        user = UserAccount(email=email.lower(), password_hash=password_hash(), role=role,
                           builder_id=builder_id if role == UserRole.BUILDER else None)
        session.add(user)
        session.flush()
        return user.id


def token_for(engine: Engine, user_id: int) -> str:
    with session_scope(engine) as session:
        return sessions.start(session=session, user_id=user_id)


def state_of(cls: type[AdminState], token: str = "", router_data: dict | None = None) -> AdminState:
    """An instance of `cls` in a fresh state tree, its session cookie set to `token`."""
    from reflex.istate.data import RouterData

    root = rx.State(_reflex_internal_init=True)
    if router_data:
        root.router = RouterData.from_router_data(router_data)
    state = root.get_substate(cls.get_full_name().split(".")[1:])
    state.auth_token = token
    return state


def call(state: AdminState, handler_name: str, *args: Any, **kwargs: Any) -> Any:
    """Run one event handler as Reflex would: called on a running asyncio loop (background ones to
    completion), failing if it queries the database or hashes a password on that loop."""
    handler = type(state).event_handlers[handler_name]

    async def on_the_loop():
        result = handler.fn(state, *args, **kwargs)
        if inspect.iscoroutine(result):
            result = await result
        elif inspect.isasyncgen(result):
            result = [item async for item in result]
        elif inspect.isgenerator(result):
            result = list(result)
        return result

    with nothing_blocks_the_loop():
        return asyncio.run(on_the_loop())


def redirect_path(spec: Any) -> str | None:
    """The path of an rx.redirect(...) an event returned, else None."""
    specs = spec if isinstance(spec, list) else [spec]
    for item in specs:
        args = getattr(item, "args", None)
        if not args:
            continue
        for key, value in args:
            if getattr(key, "_js_expr", "") == "path":
                return str(getattr(value, "_var_value", value))
    return None
