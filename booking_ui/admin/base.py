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
import math
from collections.abc import Callable
from typing import Any

import reflex as rx

from booking.accounts import Actor, Forbidden, NotFound, resolve, revoke
from booking.core import Builder, UserRole, get_settings, session_scope
from booking_ui import deps, routes
from booking_ui.offloop import off_loop_handler, run_db

SESSION_COOKIE = "admin_session"
NOT_FOUND_MESSAGE = "That item doesn't exist or isn't yours."
BAD_VALUE_MESSAGE = "That value isn't valid ({name}). Nothing was changed."
MAX_TEXT = 20_000  # characters in one value: the longest field (a description) is far shorter
MAX_NUMBER = 10**9  # a page, an index, a count: no handler has a use for more

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


class BadValue(ValueError):
    """An event argument that is not what the handler declares; its message names the parameter."""

    def __init__(self, name: str) -> None:
        super().__init__(BAD_VALUE_MESSAGE.format(name=name))


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT or "\x00" in value:
        raise BadValue(name)
    return value


def _number(name: str, value: Any) -> int:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)  # a JavaScript number
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) > MAX_NUMBER:
        raise BadValue(name)
    return value


def _form_value(name: str, value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _number(name, value)
    return _text(name, value)


def _form(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or len(value) > 200:
        raise BadValue(name)
    return {_text(name, key): _form_value(f"{name}.{key}" if isinstance(key, str) and len(key) < 50 else name,
                                          item)
            for key, item in value.items()}


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadValue(name)
    return value


# Declared parameter types (the annotations, as text under `from __future__ import annotations`) and
# what checks a value sent for one: a browser can send any JSON to any handler.
_CHECKS: dict[str, Callable[[str, Any], Any]] = {"str": _text, "int": _number, "bool": _flag, "dict": _form,
                                                 "dict[str, Any]": _form}


def checked_arguments(fn: Callable) -> Callable[..., tuple[tuple, dict]]:
    """The validation seam of every admin handler: `check(self, *args, **kwargs)` returns the arguments
    the handler declared, each of its declared type (str, int, bool, dict of form values) and within
    sane sizes, or raises BadValue naming the first that isn't. Undeclared types pass through."""
    signature = inspect.signature(fn)

    def check(self, *args: Any, **kwargs: Any) -> tuple[tuple, dict]:
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError:
            raise BadValue("the number of values") from None
        for name, value in list(bound.arguments.items())[1:]:
            parameter = signature.parameters[name]
            annotation = parameter.annotation if isinstance(parameter.annotation, str) else getattr(
                parameter.annotation, "__name__", "")
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD) or annotation not in _CHECKS:
                continue
            bound.arguments[name] = _CHECKS[annotation](name, value)
        return bound.args[1:], bound.kwargs

    return check


def admin_event(fn: Callable) -> Any:
    """An admin handler written as plain synchronous code: signed-out → the sign-in page; not yours →
    a message; else run. The lookup and the body run in a worker thread, off the event loop."""

    check = checked_arguments(fn)

    def guarded_body(self, *args, **kwargs):
        actor = resolve_actor(self.auth_token)
        if actor is None:
            return self._signed_out()
        reset = _CURRENT_ACTOR.set(actor)
        try:
            self.admin_error = ""
            args, kwargs = check(self, *args, **kwargs)
            return fn(self, *args, **kwargs)
        except BadValue as exc:
            self.admin_error = str(exc)
            return None
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

    check = checked_arguments(fn)

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
            args, kwargs = check(self, *args, **kwargs)
        except BadValue as exc:
            async with self:
                self.admin_error = str(exc)
            _CURRENT_ACTOR.reset(reset)
            return None
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
    check = checked_arguments(fn)

    @functools.wraps(fn)
    def checked(self, *args, **kwargs):
        try:
            args, kwargs = check(self, *args, **kwargs)
        except BadValue as exc:
            self.admin_error = str(exc)
            try:
                self.error = str(exc)  # a public page (sign-in) shows its own message, not the frame's
            except AttributeError:
                pass
            return None
        return fn(self, *args, **kwargs)

    handler = off_loop_handler(checked)
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
