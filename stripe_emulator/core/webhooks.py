"""Webhook signing and delivery.

Delivery runs on its own thread with its own asyncio loop, so it never blocks the server.
Events sharing an ordering key (the checkout session they belong to) are delivered one after
another in creation order; different keys proceed independently. A non-2xx answer, a timeout
or a connection error is retried after each delay of the retry schedule in turn.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx

logger = logging.getLogger("stripe_emulator.webhooks")

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"

PayloadLoader = Callable[[str], "tuple[bytes, str] | None"]
AttemptRecorder = Callable[[dict[str, Any]], None]


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """`t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<payload>")>` as stripe.Webhook expects."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class WebhookDispatcher:
    def __init__(
        self,
        *,
        url: str,
        secret: str,
        schedule: tuple[float, ...],
        timeout: float,
        load_payload: PayloadLoader,
        record_attempt: AttemptRecorder,
    ) -> None:
        self.url = url
        self._secret = secret
        self.schedule = tuple(schedule)
        self.timeout = timeout
        self._load_payload = load_payload
        self._record_attempt = record_attempt
        self._lock = threading.Lock()
        self._generation = 0
        self._pending = 0
        self._backlog: list[tuple[str, str]] = []
        self._queues: dict[str, deque[str]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: httpx.AsyncClient | None = None

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="stripe-emulator-webhooks", daemon=True
        )
        self._thread.start()
        ready.wait(10)
        with self._lock:
            backlog, self._backlog = self._backlog, []
        for event_id, key in backlog:
            self._schedule(event_id, key)

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            loop.call_soon_threadsafe(loop.stop)
        except RuntimeError:
            pass
        thread.join(timeout=10)
        self._thread = None

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._client = httpx.AsyncClient(
            timeout=self.timeout, follow_redirects=False, trust_env=False
        )
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(self._client.aclose())
            loop.close()
            self._loop = None

    # --- queueing ------------------------------------------------------------------------

    def enqueue(self, event_id: str, ordering_key: str) -> None:
        """Thread-safe; callable before start() (events are then delivered once started)."""
        with self._lock:
            self._pending += 1
            if self._loop is None:
                self._backlog.append((event_id, ordering_key))
                return
        self._schedule(event_id, ordering_key)

    def _schedule(self, event_id: str, ordering_key: str) -> None:
        loop = self._loop
        if loop is None:
            return
        generation = self._generation
        loop.call_soon_threadsafe(self._enqueue_in_loop, event_id, ordering_key, generation)

    def pending(self) -> int:
        """Events queued or being delivered (including waiting between retries)."""
        with self._lock:
            return self._pending

    def reset(self) -> None:
        """Forget everything queued; in-flight attempts are cancelled and not recorded."""
        with self._lock:
            self._generation += 1
            self._pending = 0
            self._backlog.clear()
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(self._cancel_all)

    def _cancel_all(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()
        self._queues.clear()

    def _enqueue_in_loop(self, event_id: str, ordering_key: str, generation: int) -> None:
        if generation != self._generation:
            return
        queue = self._queues.get(ordering_key)
        if queue is None:
            queue = self._queues[ordering_key] = deque()
            assert self._loop is not None
            self._tasks[ordering_key] = self._loop.create_task(
                self._drain(ordering_key, queue, generation)
            )
        queue.append(event_id)

    async def _drain(self, ordering_key: str, queue: deque[str], generation: int) -> None:
        try:
            while queue:
                event_id = queue[0]
                try:
                    await self._deliver(event_id, generation)
                except asyncio.CancelledError:
                    raise
                except Exception:  # a bug must not stop later events
                    logger.exception("webhook delivery of %s crashed", event_id)
                queue.popleft()
                with self._lock:
                    if generation == self._generation and self._pending > 0:
                        self._pending -= 1
        finally:
            if self._queues.get(ordering_key) is queue:
                del self._queues[ordering_key]
                self._tasks.pop(ordering_key, None)

    # --- delivery ------------------------------------------------------------------------

    async def _deliver(self, event_id: str, generation: int) -> None:
        attempts = len(self.schedule) + 1
        for attempt in range(1, attempts + 1):
            if generation != self._generation:
                return
            loaded = self._load_payload(event_id)
            if loaded is None:
                return
            body, event_type = loaded
            timestamp = int(time.time())
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": USER_AGENT,
                "Cache-Control": "no-cache",
                "Accept": "*/*; q=0.5, application/xml",
                "Stripe-Signature": signature_header(body, self._secret, timestamp),
            }
            status_code: int | None = None
            error: str | None = None
            started = time.perf_counter()
            try:
                assert self._client is not None
                response = await self._client.post(self.url, content=body, headers=headers)
                status_code = response.status_code
            except httpx.TimeoutException:
                error = f"timeout after {self.timeout:g}s"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}".rstrip(": ")
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            succeeded = status_code is not None and 200 <= status_code < 300
            final = succeeded or attempt == attempts
            if generation != self._generation:
                return
            record = {
                "event_id": event_id,
                "event_type": event_type,
                "attempt": attempt,
                "url": self.url,
                "status_code": status_code,
                "error": error,
                "duration_ms": duration_ms,
                "succeeded": succeeded,
                "final": final,
                "at": time.time(),
            }
            log = logger.info if succeeded else logger.warning
            log(
                "webhook event=%s type=%s attempt=%d/%d status=%s%s duration_ms=%.1f%s",
                event_id,
                event_type,
                attempt,
                attempts,
                status_code if status_code is not None else "-",
                f" error={error!r}" if error else "",
                duration_ms,
                "" if succeeded or final else f" retry_in={self.schedule[attempt - 1]:g}s",
            )
            try:
                self._record_attempt(record)
            except Exception:
                logger.exception("could not record webhook attempt for %s", event_id)
            if succeeded or final:
                return
            await asyncio.sleep(self.schedule[attempt - 1])


class WebhookRouter:
    """Two endpoints, as a Connect platform configures them at Stripe: the account endpoint gets the
    platform's own events, the Connect endpoint those of connected accounts (the event's `account` is
    set), each signed with its endpoint's secret. Same interface as one dispatcher."""

    def __init__(
        self,
        platform: WebhookDispatcher,
        connect: WebhookDispatcher,
        is_connect: Callable[[str], bool],
    ) -> None:
        self.platform = platform
        self.connect = connect
        self._is_connect = is_connect

    @property
    def url(self) -> str:
        return self.platform.url

    def enqueue(self, event_id: str, ordering_key: str) -> None:
        target = self.connect if self._is_connect(event_id) else self.platform
        target.enqueue(event_id, ordering_key)

    def start(self) -> None:
        self.platform.start()
        self.connect.start()

    def stop(self) -> None:
        self.platform.stop()
        self.connect.stop()

    def pending(self) -> int:
        return self.platform.pending() + self.connect.pending()

    def reset(self) -> None:
        self.platform.reset()
        self.connect.reset()
