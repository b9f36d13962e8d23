"""Old public addresses answer with a permanent redirect (301) to the current one, before Reflex sees them:

- /book/<id>                 -> /<builder slug>/<session type slug>
- /<old builder>/<type>, /<builder>/<old type slug>, /<builder>/<id> -> the current /<builder>/<type>

A full page load (a link in an old email, a bookmark, a search engine) gets the 301; navigation inside
the app is handled by the booking page itself (a client-side redirect on the same resolution,
booking.client.resolve_type_address). Only GET/HEAD of two-segment paths whose first segment is not one
of the app's own (booking.core.slugs.RESERVED) are looked up, off the event loop.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from booking.client import resolve_type_address, type_address_by_id
from booking.core import is_reserved, session_scope
from booking_ui import deps
from booking_ui.offloop import run_db

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]

_OLD_BOOK = re.compile(r"^/book/(\d{1,10})/?$")
_ADDRESS = re.compile(r"^/([a-z0-9][a-z0-9-]{0,79})/([A-Za-z0-9][A-Za-z0-9-]{0,79})/?$")


def is_booking_address(path: str) -> bool:
    """A path of the public booking page's readable shape (/<builder>/<type>), not one of the app's own."""
    match = _ADDRESS.match(path)
    return match is not None and not is_reserved(match.group(1))


def current_address(path: str) -> str | None:
    """Where an old address now lives; None when `path` is current (or not an address at all)."""
    old = _OLD_BOOK.match(path)
    if old:
        with session_scope(deps.engine()) as session:
            return type_address_by_id(session=session, session_type_id=int(old.group(1)))
    match = _ADDRESS.match(path)
    if match is None or is_reserved(match.group(1)):
        return None
    with session_scope(deps.engine()) as session:
        found = resolve_type_address(session=session, builder_slug=match.group(1), type_slug=match.group(2))
    return found.path if found is not None and found.moved else None


def redirect_old_addresses(app: ASGIApp) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Callable, send: Callable) -> None:
        path = scope.get("path") or ""
        if (scope["type"] == "http" and scope.get("method") in ("GET", "HEAD")
                and (_OLD_BOOK.match(path) or is_booking_address(path))):
            target = await run_db(current_address, path)
            if target:
                query = scope.get("query_string") or b""
                location = target + ("?" + query.decode("latin-1") if query else "")
                await send({"type": "http.response.start", "status": 301,
                            "headers": [(b"location", location.encode("latin-1")), (b"content-length", b"0")]})
                await send({"type": "http.response.body", "body": b""})
                return
        await app(scope, receive, send)

    return wrapped
