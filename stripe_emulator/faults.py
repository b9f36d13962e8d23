"""Fault injection (test mode): fail the next N API calls the way a network or Stripe can fail.

`POST /_emulator/faults` arms a fault; the next `count` requests to `/v1` (optionally only those whose
path starts with `path_prefix`, and only with `method`) get it instead of their normal answer:

| kind      | what the client sees                                                                          |
|-----------|-----------------------------------------------------------------------------------------------|
| `500`     | HTTP 500, Stripe's `api_error` body; nothing was executed                                      |
| `429`     | HTTP 429, Stripe's `rate_limit` error body and `Retry-After: <retry_after>` (seconds); nothing executed |
| `timeout` | the request IS executed (its answer saved under its idempotency key), then the answer is held for `delay` seconds, longer than the client waits: "Stripe did it, the answer was lost" |
| `drop`    | the connection is closed without a byte of answer; nothing was executed                        |

Faults are consumed in the order they were armed. Every /v1 request is also written to a request log
(`GET /_emulator/requests`: method, path, Idempotency-Key, the fault it got, the status it was answered
with, and whether the answer was an idempotent replay), so a test can check what a client retried and
with which key. `DELETE /_emulator/faults` (or `/_emulator/reset`) disarms everything and clears the log.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass, field
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

KINDS = ("500", "429", "timeout", "drop")
API_PREFIX = "/v1/"
REQUEST_LOG_SIZE = 2000
DEFAULT_TIMEOUT_DELAY = 30.0  # seconds: longer than any sane client timeout in a test
MAX_DELAY = 600.0


class FaultError(ValueError):
    """A fault that can't be armed: `param` names the offending field."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


@dataclass
class Fault:
    id: int
    kind: str
    remaining: int
    path_prefix: str = API_PREFIX
    method: str | None = None  # None: any method
    retry_after: int = 1  # 429
    delay: float = DEFAULT_TIMEOUT_DELAY  # timeout
    used: int = 0

    def matches(self, method: str, path: str) -> bool:
        return self.remaining > 0 and path.startswith(self.path_prefix) and self.method in (None, method)


@dataclass
class LoggedRequest:
    at: float
    method: str
    path: str
    idempotency_key: str | None
    fault: str | None = None
    status: int | None = None  # None: no answer was sent (dropped, or the client left first)
    replayed: bool = False
    stripe_account: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Faults:
    """The armed faults and the request log of one emulator app (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._log: deque[LoggedRequest] = deque(maxlen=REQUEST_LOG_SIZE)

    def arm(self, data: dict[str, Any]) -> Fault:
        kind = str(data.get("kind") or "")
        if kind not in KINDS:
            raise FaultError("kind", f"kind must be one of {', '.join(KINDS)}")
        count = _number(data, "count", 1, int)
        if count < 1:
            raise FaultError("count", "count must be at least 1")
        prefix = str(data.get("path_prefix") or API_PREFIX)
        if not prefix.startswith(API_PREFIX):
            raise FaultError("path_prefix", f"path_prefix must start with {API_PREFIX}")
        method = str(data["method"]).upper() if data.get("method") else None
        retry_after = _number(data, "retry_after", 1, int)
        delay = _number(data, "delay", DEFAULT_TIMEOUT_DELAY, float)
        if retry_after < 0 or not 0 <= delay <= MAX_DELAY:
            raise FaultError("delay", f"retry_after must be >= 0 and delay between 0 and {MAX_DELAY:g} seconds")
        with self._lock:
            fault = Fault(id=next(self._ids), kind=kind, remaining=count, path_prefix=prefix, method=method,
                          retry_after=retry_after, delay=delay)
            self._faults.append(fault)
            return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The fault this request gets (consuming one of its count), or None."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    fault.used += 1
                    self._faults = [f for f in self._faults if f.remaining > 0]
                    return fault
            return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._log.clear()

    def armed(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(fault) for fault in self._faults]

    def log(self, entry: LoggedRequest) -> LoggedRequest:
        with self._lock:
            self._log.append(entry)
        return entry

    def requests(self, path_prefix: str = "") -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(entry) for entry in self._log if entry.path.startswith(path_prefix)]


def _number(data: dict[str, Any], name: str, default: Any, kind: type) -> Any:
    raw = data.get(name)
    if raw in (None, ""):
        return default
    try:
        return kind(raw)
    except (TypeError, ValueError):
        raise FaultError(name, f"{name} must be a number") from None


# --- the ASGI layer ---------------------------------------------------------------------------------------------


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _stripe_error(status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]]) -> list[Message]:
    payload = json.dumps({"error": body}).encode()
    return [
        {"type": "http.response.start", "status": status,
         "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                     *headers]},
        {"type": "http.response.body", "body": payload},
    ]


def _drop(send: Send) -> bool:
    """Close the client's connection without answering. Under uvicorn the ASGI `send` is the request
    cycle's bound method, whose transport we can close; elsewhere (a TestClient) False."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        return False
    transport.close()
    cycle.disconnected = True  # uvicorn then neither logs nor tries a 500 on the closed connection
    return True


def with_faults(app: ASGIApp, faults: Faults) -> ASGIApp:
    """Wrap the emulator's app: /v1 requests are logged, and get an armed fault instead of their answer."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        entry = faults.log(LoggedRequest(at=time.time(), method=method, path=path,
                                         idempotency_key=_header(scope, b"idempotency-key"),
                                         stripe_account=_header(scope, b"stripe-account")))
        fault = faults.take(method, path)
        entry.fault = fault.kind if fault else None

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
                entry.replayed = any(key.lower() == b"idempotent-replayed" for key, _ in message.get("headers") or ())
            await send(message)

        if fault is None:
            await app(scope, receive, recording_send)
        elif fault.kind == "500":
            for message in _stripe_error(500, {"type": "api_error", "message": "An unknown error occurred "
                                               "(injected by the emulator's fault API)."}, []):
                await recording_send(message)
        elif fault.kind == "429":
            for message in _stripe_error(429, {"type": "invalid_request_error", "code": "rate_limit",
                                               "message": "Too many requests hit the API too quickly "
                                               "(injected by the emulator's fault API)."},
                                         [(b"retry-after", str(fault.retry_after).encode())]):
                await recording_send(message)
        elif fault.kind == "drop":
            if not _drop(send):
                raise ConnectionResetError("connection dropped (emulator fault injection)")
        else:  # timeout: do the work, then hold the answer past the client's patience
            held: list[Message] = []

            async def hold(message: Message) -> None:
                if message["type"] == "http.response.start":
                    entry.extra["executed_status"] = message["status"]
                held.append(message)

            await app(scope, receive, hold)
            await asyncio.sleep(fault.delay)
            try:
                for message in held:
                    await recording_send(message)
            except Exception:  # the client has long gone
                pass

    return wrapped
