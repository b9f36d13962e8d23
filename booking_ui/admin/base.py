"""The one base state of the workspace: the session cookie and the server-side guard.

Every event handler of an admin state is declared with `@admin_event` (or `@admin_background` for
slow work): it resolves the signed-in account from the hashed session token on the server before the
handler body runs, whatever page the browser thinks it is on. Inside, `current_actor()` is who acts;
`authz.load_owned` loads a row *and* checks its owner. A page guard only hides a page.

Neither the guard's account lookup nor the handler's database work runs on Reflex's event loop: an
`@admin_event` (and a `@public_admin_event`) body runs in a worker thread against a draft of the state,
whose assignments are applied on the loop afterwards (`booking_ui.offloop`); an `@admin_background`
body awaits its blocking calls with `run_db` / `off_loop`.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable
from typing import Any

import reflex as rx

from booking.accounts import Actor, Forbidden, NotFound, resolve, revoke
from booking.core import Builder, UserRole, get_settings, session_scope
from booking_ui import deps, routes
from booking_ui.offloop import off_loop_handler, run_db

SESSION_COOKIE = "admin_session"
NOT_FOUND_MESSAGE = "That item doesn't exist or isn't yours."

_CURRENT_ACTOR: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("admin_actor", default=None)


def current_actor() -> Actor:
    """Who is acting, inside an `@admin_event` / `@admin_background` handler (never outside one)."""
    actor = _CURRENT_ACTOR.get()
    if actor is None:
        raise Forbidden("current_actor() used outside a guarded admin handler")
    return actor


def resolve_actor(token: str) -> Actor | None:
    """The live account behind a session token, checked on the server (hash lookup, idle and absolute
    expiry, password changes)."""
    if not token:
        return None
    settings = get_settings()
    with session_scope(deps.engine()) as session:
        user = resolve(session=session, token=token, idle_minutes=settings.admin_session_idle_minutes)
        return Actor.of(user) if user is not None else None


def _cookie_settings() -> dict[str, Any]:
    settings = get_settings()
    return {
        "name": SESSION_COOKIE,
        "path": "/",
        "max_age": settings.admin_session_max_hours * 3600,
        "same_site": "strict",
        "secure": settings.public_url.startswith("https://"),
    }


def admin_event(fn: Callable) -> Any:
    """An admin handler written as plain synchronous code: signed-out → the sign-in page; not yours →
    a message; else run. The lookup and the body run in a worker thread, off the event loop."""

    def guarded_body(self, *args, **kwargs):
        actor = resolve_actor(self.auth_token)
        if actor is None:
            return self._signed_out()
        reset = _CURRENT_ACTOR.set(actor)
        try:
            self.admin_error = ""
            return fn(self, *args, **kwargs)
        except (NotFound, Forbidden) as exc:
            self.admin_error = NOT_FOUND_MESSAGE if isinstance(exc, NotFound) else str(exc)
            return None
        finally:
            _CURRENT_ACTOR.reset(reset)

    guarded = off_loop_handler(functools.wraps(fn)(guarded_body))
    guarded.__admin_guarded__ = True
    return rx.event(guarded)


def admin_background(fn: Callable) -> Any:
    """A background admin handler (slow I/O such as Stripe): the same guard, then the body."""
    if not inspect.iscoroutinefunction(fn):
        raise TypeError("admin_background needs an async function")

    @functools.wraps(fn)
    async def guarded(self, *args, **kwargs):
        async with self:
            token = self.auth_token
        actor = await run_db(resolve_actor, token)
        if actor is None:
            async with self:
                return self._signed_out()
        reset = _CURRENT_ACTOR.set(actor)
        try:
            return await fn(self, *args, **kwargs)
        except (NotFound, Forbidden) as exc:
            async with self:
                self.admin_error = NOT_FOUND_MESSAGE if isinstance(exc, NotFound) else str(exc)
            return None
        finally:
            _CURRENT_ACTOR.reset(reset)

    guarded.__admin_guarded__ = True
    return rx.event(guarded, background=True)


def public_admin_event(fn: Callable) -> Any:
    """A handler that must work signed out (signing in, signing out). Marked so the authorisation
    walk knows it is public on purpose."""
    handler = off_loop_handler(fn)
    handler.__admin_public__ = True
    return rx.event(handler)


class AdminState(rx.State):
    auth_token: str = rx.Cookie("", **_cookie_settings())
    # What the frame shows; filled by the guard. Display only: handlers re-check on the server.
    signed_in_email: str = ""
    signed_in_role: str = ""
    builder_slug: str = ""
    builder_name: str = ""
    admin_error: str = ""
    checked: bool = False

    @rx.var
    def is_platform_admin(self) -> bool:
        return self.signed_in_role == UserRole.ADMIN.value

    def _signed_out(self):
        self.signed_in_email = self.signed_in_role = self.builder_slug = self.builder_name = ""
        return rx.redirect(routes.ADMIN_LOGIN)

    @public_admin_event
    def guard(self):
        """on_load of every admin page: fill the frame, or send the browser to the sign-in page."""
        actor = resolve_actor(self.auth_token)
        self.checked = True
        self.admin_error = ""
        if actor is None:
            return self._signed_out()
        self.signed_in_email, self.signed_in_role = actor.email, actor.role.value
        self.builder_slug = self.builder_name = ""
        if actor.builder_id is not None:
            with session_scope(deps.engine()) as session:
                builder = session.get(Builder, actor.builder_id)
                if builder is not None:
                    self.builder_slug, self.builder_name = builder.slug, builder.name
        return None

    @public_admin_event
    def sign_out(self):
        """Ends this browser's session on the server and forgets the cookie."""
        if self.auth_token:
            with session_scope(deps.engine()) as session:
                revoke(session=session, token=self.auth_token)
        self.auth_token = ""
        return self._signed_out()
