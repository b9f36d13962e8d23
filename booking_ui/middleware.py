"""HTTP hardening around the whole app (pages, static files, the JSON API, the webhook).

One pure ASGI middleware, installed through `rx.App(api_transformer=[..., harden])`:
- security headers on every response: a Content-Security-Policy, `frame-ancestors 'none'` (except the public
  booking pages, which builders embed: `framable_path`), nosniff,
  a referrer policy, HSTS when PUBLIC_URL is https, and no server banner;
- request body caps under /api and on Reflex's /_upload, checked on Content-Length first and counted while streaming, so an
  oversized body is refused before it has all been read (413, the API's JSON error shape);
- no Host-header echo: a redirect back to the request's own host is made relative.

The page CSP allows exactly the inline scripts each HTML response carries (their sha256 hashes, computed
from the response itself), so no `'unsafe-inline'` for scripts. Reflex's production build still needs:
`'unsafe-eval'` (its `rx.call_script` events are run with `eval`), `style-src 'unsafe-inline'` (Emotion
injects <style> elements, Radix sets style attributes) and a same-origin websocket (`/_event`, covered by
`connect-src 'self'`).
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import json
import logging
import re
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from booking_ui.addresses import is_booking_address

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

API_PREFIX = "/api/"
WEBHOOK_PATH = "/api/payments/webhook"
JSON_BODY_LIMIT = 16 * 1024  # bytes: a create-checkout request is a few hundred
WEBHOOK_BODY_LIMIT = 1024 * 1024  # bytes: Stripe's events are far smaller
UPLOAD_PATH = "/_upload"  # Reflex's file upload endpoint (the workspace's profile photo)
UPLOAD_BODY_LIMIT = 6 * 1024 * 1024  # bytes: a 5 MB photo and its multipart framing
HTML_BUFFER_LIMIT = 4 * 1024 * 1024  # bytes: a page larger than this gets no inline-script hashes
HSTS_VALUE = "max-age=31536000"

# Anything that is not an HTML page (JSON, scripts, styles, images, .ics): it may load nothing.
NON_PAGE_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

_INLINE_SCRIPT = re.compile(rb"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script\s*>", re.DOTALL | re.IGNORECASE)
_HAS_SRC = re.compile(rb"\ssrc\s*=", re.IGNORECASE)


# The public booking pages may be framed by any site (the builder's embed snippet, an inline iframe): they
# show a builder's times and a details form, and payment happens on Stripe's own page, which refuses
# framing itself. Everything else, above all /admin, the manage link's page and the API, refuses framing:
# a signed-in workspace or a client's credential page inside someone else's page is a clickjacking target.
EMBED_FRAME_ANCESTORS = "*"
_BUILDER_PAGE = re.compile(r"^/b/[a-z0-9-]{1,80}/?$")


def framable_path(path: str) -> bool:
    """A public booking page: /<builder>/<type> (not one of the app's own first segments) or /b/<builder>."""
    return bool(_BUILDER_PAGE.match(path)) or is_booking_address(path)


def page_csp(script_hashes: tuple[str, ...], *, framable: bool = False) -> str:
    scripts = " ".join(["'self'", "'unsafe-eval'", *(f"'sha256-{h}'" for h in script_hashes)])
    return "; ".join([
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        f"frame-ancestors {EMBED_FRAME_ANCESTORS}" if framable else "frame-ancestors 'none'",
    ])


def inline_script_hashes(html: bytes) -> tuple[str, ...]:
    """The CSP hashes (base64 sha256) of every inline <script> in a page, in order, without repeats."""
    found: dict[str, None] = {}
    for match in _INLINE_SCRIPT.finditer(html):
        if _HAS_SRC.search(match.group("attrs")):
            continue
        digest = hashlib.sha256(match.group("body")).digest()
        found[base64.b64encode(digest).decode("ascii")] = None
    return tuple(found)


_PAGE_CSP_CACHE: dict[bytes, str] = {}  # a build has a few dozen distinct pages


def _csp_for_page(html: bytes, framable: bool = False) -> str:
    key = hashlib.sha256(html).digest() + (b"f" if framable else b"")
    csp = _PAGE_CSP_CACHE.get(key)
    if csp is None:
        if len(_PAGE_CSP_CACHE) > 512:
            _PAGE_CSP_CACHE.clear()
        csp = _PAGE_CSP_CACHE[key] = page_csp(inline_script_hashes(html), framable=framable)
    return csp


def _decoded(body: bytes, encoding: str) -> bytes | None:
    if encoding in ("", "identity"):
        return body
    try:
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    except (OSError, zlib.error, EOFError):
        return None
    return None


def _read_small_file(path: str, limit: int) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError:
        return None
    return data if len(data) <= limit else None


def origin_of(url: str) -> str:
    """scheme://host[:port] in lower case, the default port left out; "" for anything malformed."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    default = {"http": 80, "https": 443}[parts.scheme]
    suffix = f":{port}" if port and port != default else ""
    return f"{parts.scheme}://{parts.hostname}{suffix}".lower()


_LOOPBACK_ALIASES = {"localhost": "127.0.0.1", "127.0.0.1": "localhost"}


def allowed_origins(public_url: str) -> list[str]:
    """The browser origins the app answers cross-origin requests (and its websocket) for: PUBLIC_URL's,
    plus the other loopback spelling when it is local (http://localhost:3000 is also 127.0.0.1:3000)."""
    origin = origin_of(public_url)
    if not origin:
        return []
    found = [origin]
    parts = urlsplit(origin)
    alias = _LOOPBACK_ALIASES.get(parts.hostname or "")
    if alias:
        found.append(origin.replace(f"://{parts.hostname}", f"://{alias}", 1))
    return found


class _BodyTooLarge(Exception):
    pass


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _json_error(status: int, code: str, message: str) -> tuple[dict[str, Any], bytes]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    start = {"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                         (b"connection", b"close")]}
    return start, body


@dataclass(frozen=True)
class HardeningSettings:
    public_url: str
    json_body_limit: int = JSON_BODY_LIMIT
    webhook_body_limit: int = WEBHOOK_BODY_LIMIT
    upload_body_limit: int = UPLOAD_BODY_LIMIT

    @property
    def https(self) -> bool:
        return self.public_url.lower().startswith("https://")


class HardeningMiddleware:
    def __init__(self, app: ASGIApp, settings: HardeningSettings | None = None) -> None:
        self.app = app
        self._settings = settings

    @property
    def settings(self) -> HardeningSettings:
        if self._settings is None:  # read when first needed, never at import
            from booking.core import get_settings

            self._settings = HardeningSettings(public_url=get_settings().public_url)
        return self._settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path") or ""
        limit = self._body_limit(path)
        response = _ResponseHardener(scope, send, self.settings)
        if limit is not None:
            refused = self._declared_length_refusal(scope, limit)
            if refused is not None:
                await self._send_error(scope, send, *refused)
                return
            receive = self._counting(receive, limit, response)
        try:
            await self.app(scope, receive, response.send)
        except _BodyTooLarge:
            response.refused = True
        if response.refused and not response.forwarded_start:
            await self._send_error(scope, send, 413, "payload_too_large", self._too_large_message(limit))
        elif response.refused:
            log.warning("body over %s bytes on %s after the response started", limit, path)

    def _body_limit(self, path: str) -> int | None:
        if path == WEBHOOK_PATH:
            return self.settings.webhook_body_limit
        if path == UPLOAD_PATH:
            return self.settings.upload_body_limit
        if path.startswith(API_PREFIX):
            return self.settings.json_body_limit
        return None

    def _too_large_message(self, limit: int | None) -> str:
        return f"The request body is larger than {limit} bytes."

    def _declared_length_refusal(self, scope: Scope, limit: int) -> tuple[int, str, str] | None:
        declared = _header(scope, b"content-length")
        if declared is None:
            return None
        declared = declared.strip()
        if not (declared.isascii() and declared.isdigit()):
            return 400, "invalid_request", "Content-Length must be a number of bytes."
        if int(declared) > limit:
            return 413, "payload_too_large", self._too_large_message(limit)
        return None

    @staticmethod
    def _counting(receive: Receive, limit: int, response: _ResponseHardener) -> Receive:
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body") or b"")
                if received > limit:
                    # From here on the app's own answer (an error page for the exception below) is dropped.
                    response.refused = True
                    raise _BodyTooLarge
            return message

        return counted

    async def _send_error(self, scope: Scope, send: Send, status: int, code: str, message: str) -> None:
        start, body = _json_error(status, code, message)
        start["headers"] = _with_security_headers(start["headers"], self.settings, NON_PAGE_CSP)
        await send(start)
        await send({"type": "http.response.body", "body": body})


def _with_security_headers(headers: list[tuple[bytes, bytes]], settings: HardeningSettings,
                           csp: str | None, framable: bool = False) -> list[tuple[bytes, bytes]]:
    """Our headers added to the response's; a route's own choice (e.g. a stricter referrer policy) wins.
    The server banner goes: granian adds `server: granian` unless the app sent one, so send it empty."""
    present = {key.lower() for key, _ in headers}
    kept = [(key, value) for key, value in headers if key.lower() != b"server"]
    wanted: list[tuple[bytes, str]] = [
        (b"x-content-type-options", "nosniff"),
        (b"referrer-policy", "strict-origin-when-cross-origin"),
    ]
    if not framable:  # a framable page says who may frame it in its CSP (X-Frame-Options has no "anyone")
        wanted.append((b"x-frame-options", "DENY"))
    if csp is not None:
        wanted.append((b"content-security-policy", csp))
    if settings.https:
        wanted.append((b"strict-transport-security", HSTS_VALUE))
    kept.extend((key, value.encode("latin-1")) for key, value in wanted if key not in present)
    kept.append((b"server", b""))
    return kept


class _ResponseHardener:
    """Wraps `send`: adds the headers, makes self-redirects relative, hashes a page's inline scripts."""

    def __init__(self, scope: Scope, send: Send, settings: HardeningSettings) -> None:
        self._scope = scope
        self._send = send
        self._settings = settings
        self._start: Message | None = None
        self._buffer: list[bytes] = []
        self._buffered = 0
        self.forwarded_start = False
        self.refused = False  # the request body went over its cap: nothing the app says is sent
        self.framable = framable_path(scope.get("path") or "")

    async def send(self, message: Message) -> None:
        if self.refused:
            return
        kind = message["type"]
        if kind == "http.response.start":
            message["headers"] = self._relative_location(list(message.get("headers") or []))
            if self._is_page(message):
                self._start = message  # held until the body is complete: its CSP depends on it
                return
            status = int(message["status"])
            # A 304's headers replace the cached page's: a CSP without that page's hashes would block it.
            html = self._is_html(message)
            csp = None if status == 304 else (NON_PAGE_CSP if not html else page_csp((), framable=self.framable))
            message["headers"] = _with_security_headers(message["headers"], self._settings, csp,
                                                        self.framable and html)
            await self._forward(message)
            return
        if kind == "http.response.body" and self._start is not None:
            self._buffer.append(message.get("body") or b"")
            self._buffered += len(self._buffer[-1])
            if message.get("more_body", False) and self._buffered <= HTML_BUFFER_LIMIT:
                return
            await self._flush_page(more_body=message.get("more_body", False))
            return
        if kind == "http.response.pathsend" and self._start is not None:
            # Starlette's FileResponse hands the file to the server (granian supports it): read it here.
            html = await asyncio.to_thread(_read_small_file, message["path"], HTML_BUFFER_LIMIT)
            await self._release_start(html)
        await self._forward(message)

    async def _forward(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.forwarded_start = True
        await self._send(message)

    async def _flush_page(self, *, more_body: bool) -> None:
        body = b"".join(self._buffer)
        self._buffer = []
        await self._release_start(None if more_body else body)
        await self._send({"type": "http.response.body", "body": body, "more_body": more_body})

    async def _release_start(self, body: bytes | None) -> None:
        """Send the held start of a page, its CSP allowing the inline scripts of `body` (as sent, maybe gzip)."""
        start, self._start = self._start, None
        headers = start["headers"]
        encoding = next((v.decode("latin-1").strip().lower() for k, v in headers if k.lower() == b"content-encoding"),
                        "")
        html = _decoded(body, encoding) if body is not None else None
        if html is None:
            log.warning("page %s: inline scripts not hashed (encoding %r or too large)", self._scope.get("path"),
                        encoding)
            csp = page_csp((), framable=self.framable)
        else:
            csp = _csp_for_page(html, self.framable)
        start["headers"] = _with_security_headers(headers, self._settings, csp, self.framable)
        await self._forward(start)

    def _is_html(self, message: Message) -> bool:
        for key, value in message.get("headers") or ():
            if key.lower() == b"content-type":
                return value.lower().startswith(b"text/html")
        return False

    def _is_page(self, message: Message) -> bool:
        """An HTML response with a body to read (HEAD and 304 have none)."""
        return (self._is_html(message) and int(message["status"]) != 304
                and self._scope.get("method", "GET") != "HEAD")

    def _relative_location(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """A redirect to the request's own host (built from its Host header) becomes a path, so a forged
        Host never comes back in a Location. Redirects elsewhere (Stripe) are left alone."""
        host = (_header(self._scope, b"host") or "").strip().lower()
        host_name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        fixed = []
        for key, value in headers:
            if key.lower() == b"location" and host:
                try:
                    parts = urlsplit(value.decode("latin-1"))
                except ValueError:
                    parts = None
                if parts and parts.scheme in ("http", "https") and parts.netloc.lower() in (host, host_name):
                    path = "/" + parts.path.lstrip("/")  # never "//host/...", which a browser reads as a host
                    value = (path + (f"?{parts.query}" if parts.query else "")
                             + (f"#{parts.fragment}" if parts.fragment else "")).encode("latin-1")
            fixed.append((key, value))
        return fixed


def harden(app: ASGIApp) -> ASGIApp:
    """The api_transformer entry: `rx.App(api_transformer=[build_api(), harden])`."""
    return HardeningMiddleware(app)
