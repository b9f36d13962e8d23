"""Store, answer, then process: the webhook's second mode (`WEBHOOK_PROCESSING=worker`).

The route verifies the signature, stores the event by its id and answers 200 at once, so Stripe never
waits on our business logic; a background job (once per tick across workers, booking/locks.py) applies
the stored events through the webhook's own `_dispatch`, the same code path as inline processing,
redelivery and replay. A handler error is kept on the event's row (status failed, the traceback) and
retried with backoff, since Stripe, having had its 200, will not send it again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from booking import webhooks
from booking.db import session_scope
from booking.gateway import InvalidWebhook, PaymentGateway
from booking.models import EventStatus, StripeEvent, utcnow

log = logging.getLogger(__name__)

BATCH = 200
MAX_ATTEMPTS = 12  # with the backoff below: retried for about a day, then left to the operator (replay)
MAX_BACKOFF_SECONDS = 4 * 3600
LOOKBACK = timedelta(days=3)  # older unprocessed events are reconcile's business


class _IngestGate:
    """Deliveries being stored in this process right now. The processor lets them go first: on SQLite
    every transaction takes the one write lock, and a delivery that finds it taken backs off (1, 2, 5,
    10 ms...) while a busy processor would take it again at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self.arrivals = 0  # ever: the processor compares it before and after an event

    def __enter__(self) -> None:
        with self._lock:
            self._count += 1
            self.arrivals += 1

    def __exit__(self, *_exc: object) -> None:
        with self._lock:
            self._count -= 1

    def wait_until_quiet(self, max_wait: float) -> None:
        deadline = time.monotonic() + max_wait
        while self._count and time.monotonic() < deadline:
            time.sleep(0.0005)


INGEST = _IngestGate()
QUIET_WAIT_SECONDS = 0.05  # bounded: a constant stream of deliveries can't starve the processor
BUSY_PAUSE_FACTOR = 3  # while deliveries arrive, the processor works a quarter of the time at most
MAX_BUSY_PAUSE_SECONDS = 0.2
# SQLite: deliveries and the processor take turns on this lock before taking the database's write lock,
# so a delivery waiting behind an event being applied is woken the moment it ends (SQLite's own busy
# handler would poll with growing sleeps). PostgreSQL has row locks: nothing to take turns on.
_SQLITE_WRITER = threading.Lock()


def _writer_turn(engine: Engine) -> AbstractContextManager[object]:
    return _SQLITE_WRITER if engine.dialect.name == "sqlite" else nullcontext()


def accept_webhook(*, engine: Engine, gateway: PaymentGateway, payload: bytes,
                   signature: str | None) -> webhooks.WebhookResult:
    """Verify and store; 200 as soon as the event is safely stored (a storage error is a 500: Stripe retries)."""
    with INGEST:
        try:
            event = gateway.verify_webhook(payload, signature)
        except InvalidWebhook as exc:
            return webhooks.WebhookResult(400, {"error": {"code": "invalid_signature", "message": str(exc)}})
        with _writer_turn(engine):
            stored = webhooks._store_event(engine, event, payload)
        if not stored:
            return webhooks.WebhookResult(200, {"received": True, "duplicate": True})
        return webhooks.WebhookResult(200, {"received": True, "queued": True})


class StoredEventProcessor:
    """One tick: apply every due stored event, oldest first. Keeps the failed events' retry times."""

    def __init__(self, *, engine_factory, gateway_factory, time_budget_seconds: float = 5.0) -> None:
        self._engine_factory = engine_factory
        self._gateway_factory = gateway_factory
        self._budget = time_budget_seconds
        self._retry_at: dict[str, float] = {}

    def __call__(self) -> int:
        engine, gateway = self._engine_factory(), self._gateway_factory()
        applied = 0
        deadline = time.monotonic() + self._budget
        while time.monotonic() < deadline:
            due = self._due(engine)
            if not due:
                break
            for event_id in due:
                applied += self._apply(engine, gateway, event_id)
            if len(due) < BATCH:
                break
        return applied

    def _due(self, engine: Engine) -> list[str]:
        now, since = time.monotonic(), utcnow() - LOOKBACK
        with session_scope(engine) as session:
            rows = session.exec(
                select(StripeEvent.id, StripeEvent.status, StripeEvent.attempts)
                .where(StripeEvent.received_at >= since,
                       col(StripeEvent.status).in_([EventStatus.RECEIVED, EventStatus.FAILED]))
                .order_by(StripeEvent.received_at).limit(BATCH * 4)
            ).all()
        due = []
        for event_id, status, attempts in rows:
            if status == EventStatus.FAILED:
                if attempts >= MAX_ATTEMPTS or self._retry_at.get(event_id, 0.0) > now:
                    continue
            due.append(event_id)
        return due[:BATCH]

    def _apply(self, engine: Engine, gateway: PaymentGateway, event_id: str) -> int:
        INGEST.wait_until_quiet(QUIET_WAIT_SECONDS)
        arrivals, started = INGEST.arrivals, time.monotonic()
        try:
            return self._apply_now(engine, gateway, event_id)
        finally:
            if INGEST.arrivals != arrivals:
                # Deliveries are coming in: leave them the process (the GIL, SQLite's write lock) for a few
                # times as long as this event took, so that answering Stripe stays quick; the backlog is
                # applied a little later (the success page confirms a booking by itself meanwhile).
                time.sleep(min(BUSY_PAUSE_FACTOR * (time.monotonic() - started), MAX_BUSY_PAUSE_SECONDS))

    def _apply_now(self, engine: Engine, gateway: PaymentGateway, event_id: str) -> int:
        try:
            with _writer_turn(engine), session_scope(engine) as session:
                row = session.get(StripeEvent, event_id)
                if row is None or row.status not in (EventStatus.RECEIVED, EventStatus.FAILED):
                    return 0  # applied meanwhile (an inline delivery, a replay)
                event: dict[str, Any] = json.loads(row.payload)
                outcome = webhooks._dispatch(session, gateway, event, count_attempt=True)
        except Exception as exc:
            webhooks._record_failure(engine, event_id, exc)
            attempts = self._attempts(engine, event_id)
            self._retry_at[event_id] = time.monotonic() + min(2 ** attempts, MAX_BACKOFF_SECONDS)
            log.exception("stored event %s failed (attempt %d); will retry", event_id, attempts)
            return 0
        self._retry_at.pop(event_id, None)
        log.info("stored event %s %s: %s", event_id, event.get("type"), outcome)
        return 1

    @staticmethod
    def _attempts(engine: Engine, event_id: str) -> int:
        with session_scope(engine) as session:
            row = session.get(StripeEvent, event_id)
            return row.attempts if row is not None else MAX_ATTEMPTS


def pending_events(*, engine: Engine, since: datetime | None = None) -> int:
    """How many stored events still wait to be applied (the benchmark's drain check, the monitor)."""
    since = since or utcnow() - LOOKBACK
    with session_scope(engine) as session:
        return session.exec(select(func.count()).select_from(StripeEvent).where(
            StripeEvent.received_at >= since, StripeEvent.status == EventStatus.RECEIVED)).one()
