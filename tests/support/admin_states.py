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
from booking_ui.admin.base import SESSION_COOKIE, AdminState, shielded_cookie_header
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


def websocket_headers(token: str, headers: dict | None = None) -> dict:
    """The headers Reflex records for a websocket whose browser holds the session cookie `token`: as the
    app's SessionCookieShield leaves them (the token's digest, never the token)."""
    headers = {key: value for key, value in (headers or {}).items() if key != "cookie"}
    if token:
        headers["cookie"] = shielded_cookie_header(f"{SESSION_COOKIE}={token}")
    return headers


def set_session(state: rx.State, token: str) -> None:
    """The browser's connection now carries the session cookie `token` ("" for none)."""
    from reflex.istate.data import RouterData

    root = state
    while root.parent_state is not None:
        root = root.parent_state
    data = dict(root.router_data or {})
    data["headers"] = websocket_headers(token, data.get("headers"))
    root.router_data = data
    root.router = RouterData.from_router_data(data)


def state_of(cls: type[AdminState], token: str = "", router_data: dict | None = None) -> AdminState:
    """An instance of `cls` in a fresh state tree, its connection carrying the session cookie `token`."""
    root = rx.State(_reflex_internal_init=True)
    root.router_data = dict(router_data or {})
    set_session(root, token)
    return root.get_substate(cls.get_full_name().split(".")[1:])


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


# --- signing in and out over HTTP, as the sign-in page's form does ------------------------------------------

ORIGIN = "http://localhost:3000"  # PUBLIC_URL's default: the forms' Origin


def auth_client(ip: str = "192.0.2.10", base_url: str = ORIGIN, **kwargs: Any):
    """A client of the app's HTTP API at `ip` whose requests come from our own pages (Origin: PUBLIC_URL)."""
    from starlette.testclient import TestClient

    from booking_ui.api import build_api

    headers = {"Origin": ORIGIN, **kwargs.pop("headers", {})}
    return TestClient(build_api(), base_url=base_url, headers=headers, follow_redirects=False,
                      client=(ip, 50000), **kwargs)


def http_sign_in(client, email: str, password: str = PASSWORD, **extra: str):
    """POST the sign-in form as the sign-in page does; the answer is a 303 (its cookie: the session)."""
    from booking_ui import routes

    return client.post(routes.API_AUTH_SIGN_IN, data={"email": email, "password": password, **extra})
