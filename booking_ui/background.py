"""Lifespan tasks: the hold sweeper and the email outbox.

Every backend worker runs every lifespan task; each job takes its tick lock (booking/locks.py) first, so
with several workers it runs once per tick, in the worker that leads, not once in each worker. The jobs
stay safe to run concurrently anyway (compare-and-swap updates, claimed outbox rows).
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

import reflex as rx

from booking.core import get_settings
from booking.events import ProcessorProcess
from booking.lifecycle import sweep_expired_holds
from booking.notifications import Mailer, mailer_from_settings, send_due_notifications
from booking.ops import TickLock, lease_seconds, run_periodically, tick_lock
from booking_ui import deps

log = logging.getLogger(__name__)

SWEEPER = "hold-sweeper"
OUTBOX = "outbox"
WEBHOOK_EVENTS = "webhook-events"
SUPERVISE_SECONDS = 2.0  # how often the leader checks that its webhook processor still runs


def reset_inherited_db_pool() -> None:
    """Forked workers must not share the parent's pooled connections (SQLAlchemy's fork recipe)."""
    deps.engine().dispose(close=False)


def sweep_once() -> int:
    gateway = deps.gateway() if get_settings().stripe_secret_key else None
    released = sweep_expired_holds(engine=deps.engine(), gateway=gateway)
    if released:
        log.info("sweeper released %d expired holds", released)
    return released


class OutboxTick:
    """Sends the due emails; the mailer is built on first use (a bad setting is logged each tick)."""

    def __init__(self) -> None:
        self._mailer: Mailer | None = None

    def __call__(self) -> None:
        self._mailer = self._mailer or mailer_from_settings(get_settings())
        send_due_notifications(engine=deps.engine(), mailer=self._mailer)


def lock_for(name: str, interval_seconds: float) -> TickLock:
    return tick_lock(name, engine=deps.engine(), redis_url=get_settings().redis_url,
                           ttl_seconds=lease_seconds(interval_seconds))


async def hold_sweeper(interval_seconds: float) -> None:
    await run_periodically(sweep_once, lock_factory=partial(lock_for, SWEEPER, interval_seconds),
                                 interval_seconds=interval_seconds)


async def outbox_worker(interval_seconds: float) -> None:
    await run_periodically(OutboxTick(), lock_factory=partial(lock_for, OUTBOX, interval_seconds),
                                 interval_seconds=interval_seconds)


async def stored_event_worker(interval_seconds: float) -> None:
    """WEBHOOK_PROCESSING=worker: the leading worker keeps the processor of stored events running, in a
    process of its own (booking/webhook_worker.py), and ends it when it stops."""
    processor = ProcessorProcess(interval_seconds=interval_seconds)
    try:
        await run_periodically(processor.ensure_running,
                                     lock_factory=partial(lock_for, WEBHOOK_EVENTS, SUPERVISE_SECONDS),
                                     interval_seconds=SUPERVISE_SECONDS)
    finally:
        await asyncio.shield(asyncio.to_thread(processor.stop))


def register_background_tasks(app: rx.App) -> None:
    settings = get_settings()
    app.register_lifespan_task(reset_inherited_db_pool)  # first: before any task touches the pool
    app.register_lifespan_task(hold_sweeper, interval_seconds=settings.sweep_interval_seconds)
    app.register_lifespan_task(outbox_worker, interval_seconds=settings.notification_interval_seconds)
    if settings.webhook_processing == "worker":
        app.register_lifespan_task(stored_event_worker, interval_seconds=settings.webhook_worker_interval_seconds)
