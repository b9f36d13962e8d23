"""Store, answer, then process: the webhook's second mode (`WEBHOOK_PROCESSING=worker`).

The route verifies the signature, stores the event by its id and answers 200 at once, so Stripe never
waits on our business logic. A processor applies the stored events through the webhook's own
`_dispatch`: the same code path as inline processing, redelivery and replay. A handler error is kept on
the event's row (status failed, with the traceback) and retried with backoff, since Stripe, having had
its 200, will not send the event again.

The processor is a job of the job worker (`python -m booking.worker`, booking/ops/worker.py), a process
apart from the web server's: applying an event takes milliseconds of CPU, and in the web worker's
process it would take the interpreter away from the deliveries being answered.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from booking.core.db import session_scope
from booking.core.models import EventStatus, StripeEvent, utcnow
from booking.events import webhooks
from booking.payments.gateway import InvalidWebhook, PaymentGateway

log = logging.getLogger(__name__)

BATCH = 200
MAX_ATTEMPTS = 12  # with the backoff below: retried for about a day, then left to the operator (replay)
MAX_BACKOFF_SECONDS = 4 * 3600
LOOKBACK = timedelta(days=3)  # older unprocessed events are reconcile's business


@contextmanager
def _writer_turn(engine: Engine) -> Iterator[None]:
    """SQLite: deliveries and the processor take turns on a file lock beside the database before taking
    its write lock, so a delivery waiting behind an event being applied is woken the moment it ends
    (SQLite's own busy handler polls with growing sleeps: 1, 2, 5, 10 ms...; measured, that made a
    delivery's p99 two seconds instead of fifty milliseconds). PostgreSQL has row locks: no turns."""
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:":
        yield
        return
    descriptor = os.open(f"{path}.writer-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def accept_webhook(*, engine: Engine, gateway: PaymentGateway, payload: bytes,
                   signature: str | None) -> webhooks.WebhookResult:
    """Verify and store; 200 as soon as the event is safely stored (a storage error is a 500: Stripe retries)."""
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

    def __init__(self, *, engine_factory: Callable[[], Engine], gateway_factory: Callable[[], PaymentGateway],
                 time_budget_seconds: float = 5.0) -> None:
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
        with _writer_turn(engine), session_scope(engine) as session:
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
        def still_due(session: Session) -> bool:  # not applied meanwhile (an inline delivery, a replay)
            row = session.get(StripeEvent, event_id)
            return row is not None and row.status in (EventStatus.RECEIVED, EventStatus.FAILED)

        event: dict[str, Any] = {}
        try:
            with session_scope(engine) as session:
                row = session.get(StripeEvent, event_id)
                if row is None or row.status not in (EventStatus.RECEIVED, EventStatus.FAILED):
                    return 0
                event = json.loads(row.payload)
            # The webhook's own path: Stripe asked first, then one transaction (and the writer's turn).
            outcome = webhooks.apply_event(engine=engine, gateway=gateway, event=event, still_due=still_due,
                                           turn=lambda: _writer_turn(engine))
            if outcome is None:
                return 0
        except Exception as exc:
            webhooks._record_failure(engine, event_id, exc)
            attempts = self._attempts(engine, event_id)
            self._retry_at[event_id] = time.monotonic() + min(2 ** attempts, MAX_BACKOFF_SECONDS)
            log.exception("stored event %s failed (attempt %d); will retry", event_id, attempts)
            return 0
        finally:
            time.sleep(0.0005)  # between two events: a delivery woken from the writer's turn can take it
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
