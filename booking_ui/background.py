"""Lifespan tasks: the hold sweeper and the email worker. Every backend worker runs them, so
both are safe to run concurrently (compare-and-swap updates, claimed outbox rows)."""

from __future__ import annotations

import asyncio
import logging

import reflex as rx

from booking.config import get_settings
from booking.mailer import mailer_from_settings
from booking.notifications import notification_worker
from booking.payments import sweep_expired_holds
from booking_ui import deps

log = logging.getLogger(__name__)


def reset_inherited_db_pool() -> None:
    """Forked workers must not share the parent's pooled connections (SQLAlchemy's fork recipe)."""
    deps.engine().dispose(close=False)


async def hold_sweeper(interval_seconds: float) -> None:
    while True:
        try:
            gateway = deps.gateway() if get_settings().stripe_secret_key else None
            released = await asyncio.to_thread(sweep_expired_holds, engine=deps.engine(), gateway=gateway)
            if released:
                log.info("sweeper released %d expired holds", released)
        except Exception:
            log.exception("hold sweep failed")
        await asyncio.sleep(interval_seconds)


def register_background_tasks(app: rx.App) -> None:
    settings = get_settings()
    app.register_lifespan_task(reset_inherited_db_pool)
    app.register_lifespan_task(hold_sweeper, interval_seconds=settings.sweep_interval_seconds)
    app.register_lifespan_task(
        notification_worker,
        engine_factory=deps.engine,
        mailer_factory=lambda: mailer_from_settings(get_settings()),
        interval_seconds=settings.notification_interval_seconds,
    )
