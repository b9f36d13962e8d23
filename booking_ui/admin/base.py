"""The one base state of the workspace: the session cookie and the server-side guard.

Every event handler of an admin state is declared with `@admin_event` (or `@admin_background` for
slow work): it resolves the signed-in account from the hashed session token on the server before the
handler body runs, whatever page the browser thinks it is on. Inside, `current_actor()` is who acts;
`authz.load_owned` loads a row *and* checks its owner. A page guard only hides a page.

Neither the guard's account lookup nor the handler's database work runs on Reflex's event loop: an
`@admin_event` (and a `@public_admin_event`) body runs in a worker thread against a draft of the state,
whose assignments are applied on the loop afterwards (`booking_ui.offloop`); an `@admin_background`
body awaits its blocking calls with `run_db` / `off_loop`.

The session cookie (`admin_session`) is set and cleared only by HTTP answers (booking_ui.api: sign-in and
sign-out), `HttpOnly`, so page scripts never see it. It is never a state var: the websocket
(`/_event`) carries it in its handshake, where `SessionCookieShield` swaps the raw token for its SHA-256
before Reflex copies the headers into the connection's router data (kept in Redis with the state), and
every handler re-reads that digest from the connection's headers (`connection_digest`). A digest is
only ever taken from the shield: a value a browser sends is always hashed again.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import math
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import reflex as rx

from booking.accounts import Actor, Forbidden, NotFound, resolve, resolve_digest, session_digest
from booking.core import Builder, UserRole, get_settings, session_scope
from booking_ui import deps, routes
from booking_ui.offloop import off_loop_handler, run_db

SESSION_COOKIE = "admin_session"
EVENT_PATH = "/_event"  # Reflex's websocket (reflex_base.constants.Endpoint.EVENT)
DIGEST_MARK = "sha256."  # what the shield puts before the digest it substitutes on the websocket
MAX_NEXT = 2000  # characters of a `next` path
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


def resolve_connection(digest: str) -> Actor | None:
    """The live account behind the session digest the websocket's shielded cookie carries."""
    if not digest:
        return None
    settings = get_settings()
    with session_scope(deps.engine()) as session:
        user = resolve_digest(session=session, digest=digest, idle_minutes=settings.admin_session_idle_minutes)
        return Actor.of(user) if user is not None else None


def _cookie_value(header: str, name: str = SESSION_COOKIE) -> str:
    """One cookie's value from a Cookie header (split by hand: `http.cookies` drops every cookie after one
    it can't parse, and other sites' scripts on the same host may set odd ones)."""
    for part in (header or "").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value.strip().strip('"')
    return ""


def connection_digest(state: rx.State) -> str:
    """The session digest of this state's websocket connection ("" when signed out): read afresh from the
    connection's headers on every call, never kept in the state."""
    value = _cookie_value(state.router.headers.cookie)
    return value.removeprefix(DIGEST_MARK) if value.startswith(DIGEST_MARK) else ""


def shielded_cookie_header(header: str) -> str:
    """A Cookie header with the session token replaced by `sha256.<its digest>`, other cookies kept. Any
    value is hashed, a `sha256.` one too, so a browser can't present a digest of its own choosing."""
    parts = []
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if not sep or name != SESSION_COOKIE:
            if part.strip():
                parts.append(part.strip())
            continue
        token = value.strip().strip('"')
        if token:
            parts.append(f"{SESSION_COOKIE}={DIGEST_MARK}{session_digest(token)}")
    return "; ".join(parts)


class SessionCookieShield:
    """ASGI middleware in front of Reflex's websocket (`/_event`): the raw session token in its Cookie
    header becomes the token's SHA-256 before Reflex reads the headers, so the raw token never reaches
    the state (nor Redis). Every other path passes untouched."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope.get("type") in ("http", "websocket") and str(scope.get("path", "")).startswith(EVENT_PATH):
            headers = []
            for name, value in scope.get("headers") or []:
                if name.lower() == b"cookie":
                    value = shielded_cookie_header(value.decode("latin-1")).encode("latin-1")
                    if not value:
                        continue
                headers.append((name, value))
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


def cookie_settings() -> dict[str, Any]:
    """The session cookie's attributes (Starlette's `set_cookie` names), `secure` decided per request."""
    return {"key": SESSION_COOKIE, "path": "/", "max_age": get_settings().admin_session_max_hours * 3600,
            "httponly": True, "samesite": "strict"}


def safe_next(raw: Any) -> str:
    """Where sign-in returns to: a workspace path on this site (never another host, scheme or the sign-in
    page itself), else the dashboard."""
    if not isinstance(raw, str) or not raw or len(raw) > MAX_NEXT:
        return routes.ADMIN
    if not raw.startswith("/") or raw.startswith("//") or "\\" in raw \
            or any(ord(ch) < 33 or ord(ch) == 127 for ch in raw):
        return routes.ADMIN
    try:
        parts = urlsplit(raw)
    except ValueError:
        return routes.ADMIN
    if parts.scheme or parts.netloc or not (parts.path == routes.ADMIN or parts.path.startswith(routes.ADMIN + "/")):
        return routes.ADMIN
    if parts.path.rstrip("/") == routes.ADMIN_LOGIN:
        return routes.ADMIN
    return raw


def login_path(next_path: str = "", **params: str) -> str:
    """The sign-in page, carrying where to return to (when it isn't the dashboard) and any message code."""
    query = {key: value for key, value in params.items() if value}
    if next_path and safe_next(next_path) != routes.ADMIN:
        query["next"] = next_path
    return routes.ADMIN_LOGIN + ("?" + urlencode(query, quote_via=quote) if query else "")


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
        actor = resolve_connection(connection_digest(self))
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
            digest = connection_digest(self)
        actor = await run_db(resolve_connection, digest)
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
    # No session token here: handlers read the connection's (shielded) cookie, see connection_digest.
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
        """Clear the frame and send the browser to the sign-in page, which returns here afterwards."""
        self.signed_in_email = self.signed_in_role = self.builder_slug = self.builder_name = ""
        url = self.router.url
        here = str(url.path or "") + (f"?{url.query}" if url.query else "")
        return rx.redirect(login_path(here))

    @public_admin_event
    def guard(self):
        """on_load of every admin page: fill the frame, or send the browser to the sign-in page."""
        actor = resolve_connection(connection_digest(self))
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
