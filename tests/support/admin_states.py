"""Drive workspace states without a browser: a signed-in (or not) state instance per test, and a call
helper that runs sync and background handlers alike."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import reflex as rx
from sqlalchemy.engine import Engine

from booking.accounts import sessions
from booking.accounts.users import create_user
from booking.db import session_scope
from booking.models import UserRole
from booking_ui.admin.base import AdminState

PASSWORD = "correct-horse-battery"


def make_user(engine: Engine, *, email: str, role: UserRole = UserRole.BUILDER, builder_id: int | None = None) -> int:
    with session_scope(engine) as session:
        return create_user(session=session, email=email, password=PASSWORD, role=role, builder_id=builder_id).id


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
    """Run one event handler as Reflex would (background ones to completion)."""
    handler = type(state).event_handlers[handler_name]
    result = handler.fn(state, *args, **kwargs)
    if inspect.iscoroutine(result):
        result = asyncio.run(result)
    elif inspect.isasyncgen(result):
        async def drain(gen):
            return [item async for item in gen]
        result = asyncio.run(drain(result))
    elif inspect.isgenerator(result):
        result = list(result)
    return result


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
