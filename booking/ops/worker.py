"""The job worker: `python -m booking.worker` runs every background job, apart from the web server.

Each job in `JOBS` ticks on its own thread, every `every(settings)` seconds. With several job workers
(`JOB_WORKERS`, or workers on several hosts), a leader lock (booking/ops/locks.py: a Redis lease when
`REDIS_URL` is set, else a PostgreSQL advisory lock; SQLite alone needs none) keeps each job to one
runner: the others skip their ticks until the leader goes. The jobs stay safe to run concurrently
anyway (compare-and-swap updates, claimed outbox rows), so a failover never does harm.

SIGTERM or SIGINT stops it gracefully: each job finishes the tick it is in, gives up its lead (another
worker takes over at its next tick) and the process exits 0. A tick still running `STOP_GRACE_SECONDS` later
(say, waiting on a Stripe emulator that is shutting down too), or a second signal, ends the process at once:
every tick is safe to cut short (its transaction rolls back, its Stripe writes carry idempotency keys, its rows
are claimed by compare-and-swap and picked up again at the next tick).

Adding a job is one line in `JOBS`: a name, an interval read from the settings, and a function of the
`Context` (engine, settings, gateway, mailer) that does one tick. Logs carry job names, counts and Stripe
ids, never a person's name or address.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine

from booking.core import clock as app_clock
from booking.core.config import Settings, SettingsError, WebhookProcessing, get_settings
from booking.core.db import engine_for
from booking.events.processor import StoredEventProcessor
from booking.lifecycle.checkout import LATE_REFUND_RETRY_AFTER, send_late_payment_refunds, sweep_expired_holds
from booking.notifications import (
    Mailer,
    mailer_from_settings,
    schedule_missing_reminders,
    send_due_calendar_writes,
    send_due_notifications,
    send_due_reminders,
)
from booking.ops import locks
from booking.payments import disputes, package_sales, release
from booking.payments.gateway import PaymentGateway, gateway_from_settings
from booking.scheduling import policy_from_settings, sync_due_calendars

log = logging.getLogger("booking.worker")

# A tick still running this long after SIGTERM (a hung call) is abandoned: the process must be gone within a few
# seconds (`make run`, a deploy), not after a Stripe call's timeout and retries (30 s and more).
STOP_GRACE_SECONDS = 5.0
SIGNAL_POLL_SECONDS = 0.1  # how soon the main thread acts on a signal


@dataclass
class Context:
    """What a tick may use, built once per worker process; the gateway and the mailer on first use (a
    bad setting is then logged at each tick, not fatal)."""

    settings: Settings
    engine: Engine
    gateway_factory: Callable[[Settings], PaymentGateway] = gateway_from_settings
    _memo: dict[str, Any] = field(default_factory=dict)
    _memo_lock: threading.Lock = field(default_factory=threading.Lock)

    def once(self, key: str, build: Callable[[], Any]) -> Any:
        """`build()` the first time `key` is asked for, the same object afterwards."""
        with self._memo_lock:
            if key not in self._memo:
                self._memo[key] = build()
            return self._memo[key]

    def gateway(self) -> PaymentGateway | None:
        """None without a Stripe key (the sweeper then releases lapsed holds without asking Stripe)."""
        if not self.settings.stripe_secret_key:
            return None
        return self.once("gateway", lambda: self.gateway_factory(self.settings))

    def mailer(self) -> Mailer:
        return self.once("mailer", lambda: mailer_from_settings(self.settings))


@dataclass(frozen=True)
class Job:
    name: str
    every: Callable[[Settings], float]  # seconds between ticks
    tick: Callable[[Context], Any]  # one tick; its result is logged when truthy
    enabled: Callable[[Settings], bool] = lambda _settings: True
    again_when_busy: bool = False  # a tick that did something is followed at once by the next


# --- the jobs -------------------------------------------------------------------------------------------

def sweep_holds(ctx: Context) -> int:
    return sweep_expired_holds(engine=ctx.engine, gateway=ctx.gateway(), send_late_refunds=False)


def send_late_refunds(ctx: Context) -> int:
    gateway = ctx.gateway()
    if gateway is None:
        return 0
    return send_late_payment_refunds(engine=ctx.engine, gateway=gateway, older_than=LATE_REFUND_RETRY_AFTER)


def send_outbox(ctx: Context) -> int:
    return send_due_notifications(engine=ctx.engine, mailer=ctx.mailer()).sent


def send_reminders(ctx: Context) -> int:
    """Confirmed bookings without reminders (confirmed before reminders existed) get them; then reminders due on
    the app's clock go to the outbox (once each), late ones skipped."""
    now = app_clock.now()
    scheduled = schedule_missing_reminders(engine=ctx.engine, now=now)
    report = send_due_reminders(engine=ctx.engine, now=now,
                                grace=timedelta(minutes=ctx.settings.reminder_grace_minutes))
    return scheduled + report.queued + report.skipped


def apply_stored_events(ctx: Context) -> int:
    processor = ctx.once("webhook-events", lambda: StoredEventProcessor(
        engine_factory=lambda: ctx.engine, gateway_factory=lambda: ctx.gateway() or _no_stripe_key()))
    return processor()


def keep_money_journal(ctx: Context) -> int:
    """Older payments get their journal from their rows (the first tick backfills), and each paid charge
    its Stripe fee from its balance transaction."""
    recorded = release.backfill_journal(engine=ctx.engine)
    gateway = ctx.gateway()
    if gateway is not None:
        recorded += release.record_stripe_fees(engine=ctx.engine, gateway=gateway,
                                               skip=ctx.once("fee-less-payments", set))
    return recorded


def release_held_funds(ctx: Context) -> release.ReleaseResult | None:
    gateway = ctx.gateway()
    if gateway is None:
        return None
    return release.release_held_funds(engine=ctx.engine, gateway=gateway, settings=ctx.settings)
def send_dispute_recoveries(ctx: Context) -> int:
    """Dispute recoveries (transfer reversals, paybacks) not made right after their event."""
    gateway = ctx.gateway()
    if gateway is None:
        return 0
    return disputes.send_recoveries(engine=ctx.engine, gateway=gateway)


def sync_calendars(ctx: Context) -> int:
    """Builders' external calendars whose turn it is: fetched (ETag / If-Modified-Since), busy spans stored."""
    return sync_due_calendars(engine=ctx.engine, policy=policy_from_settings(ctx.settings),
                              interval=timedelta(seconds=ctx.settings.calendar_sync_interval_seconds))


def write_calendars(ctx: Context) -> int:
    """Bookings written to (or removed from) builders' CalDAV calendars; failures retried with backoff."""
    return send_due_calendar_writes(engine=ctx.engine, policy=policy_from_settings(ctx.settings),
                                    public_url=ctx.settings.public_url)
def expire_package_credits(ctx: Context) -> package_sales.ExpiryTick:
    """Package and membership credits: the week-before reminder (once), then expiry."""
    return package_sales.expire_credits(engine=ctx.engine)


def _no_stripe_key() -> PaymentGateway:
    raise RuntimeError("STRIPE_SECRET_KEY is not set: stored webhook events cannot be applied")


JOBS: tuple[Job, ...] = (
    Job("hold-sweeper", every=lambda s: s.sweep_interval_seconds, tick=sweep_holds),
    Job("late-refunds", every=lambda s: s.sweep_interval_seconds, tick=send_late_refunds),
    Job("outbox", every=lambda s: s.notification_interval_seconds, tick=send_outbox),
    Job("reminders", every=lambda s: s.reminder_interval_seconds, tick=send_reminders),
    Job("money-journal", every=lambda s: s.sweep_interval_seconds, tick=keep_money_journal),
    Job("held-funds", every=lambda s: s.notification_interval_seconds, tick=release_held_funds),
    Job("dispute-recovery", every=lambda s: s.sweep_interval_seconds, tick=send_dispute_recoveries),
    Job("calendar-sync", every=lambda s: min(s.calendar_sync_interval_seconds, 60.0), tick=sync_calendars),
    Job("calendar-writeback", every=lambda s: s.notification_interval_seconds, tick=write_calendars),
    Job("credit-expiry", every=lambda s: s.sweep_interval_seconds, tick=expire_package_credits),
    Job("webhook-events", every=lambda s: s.webhook_worker_interval_seconds, tick=apply_stored_events,
        enabled=lambda s: s.webhook_processing is WebhookProcessing.WORKER, again_when_busy=True),
)


# --- running them -----------------------------------------------------------------------------------------

def lock_for(job: Job, ctx: Context) -> locks.TickLock:
    return locks.tick_lock(job.name, engine=ctx.engine, redis_url=ctx.settings.redis_url,
                           ttl_seconds=locks.lease_seconds(job.every(ctx.settings)))


def run_job(job: Job, ctx: Context, stop: threading.Event,
            lock_factory: Callable[[Job, Context], locks.TickLock] = lock_for) -> None:
    """Tick `job` until `stop` is set; only while this process leads it. Errors are logged, never fatal."""
    interval = job.every(ctx.settings)
    lock: locks.TickLock | None = None
    try:
        while not stop.is_set():
            busy = False
            try:
                lock = lock or lock_factory(job, ctx)
                led, result = locks.run_if_leader(lock, lambda: job.tick(ctx))
                busy = bool(led and result)
                if busy:
                    log.info("%s: %s", job.name, result)
            except Exception:
                log.exception("job %s failed; it runs again at its next tick", job.name)
            if not (busy and job.again_when_busy):
                stop.wait(interval)
    finally:
        if lock is not None:
            try:
                lock.release()
            except Exception:
                log.warning("job %s: giving up the lead failed", job.name, exc_info=True)


class Worker:
    """Runs the enabled jobs, each on a thread of its own, until `stop()`."""

    def __init__(self, ctx: Context, jobs: tuple[Job, ...] = JOBS) -> None:
        self.ctx = ctx
        self.jobs = tuple(job for job in jobs if job.enabled(ctx.settings))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for job in self.jobs:
            thread = threading.Thread(target=run_job, args=(job, self.ctx, self._stop), name=f"job-{job.name}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("job worker started: %s", ", ".join(job.name for job in self.jobs))

    def stop(self) -> None:
        self._stop.set()

    def wait(self, grace_seconds: float = STOP_GRACE_SECONDS) -> bool:
        """After `stop()`: wait for the ticks in progress. False when one was still running at the end."""
        deadline = time.monotonic() + grace_seconds
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0))
        return not any(thread.is_alive() for thread in self._threads)


def main(argv: list[str] | None = None, *, gateway_factory: Callable[[Settings], PaymentGateway] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m booking.worker", description=__doc__.split("\n")[0])
    parser.add_argument("--log-level", default="INFO", type=str.upper, choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                        help="default INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level,
                        format="%(asctime)s job-worker %(threadName)s %(levelname)s %(message)s")
    try:
        settings = get_settings()
    except SettingsError as exc:
        parser.exit(2, f"{parser.prog}: {exc}\n")
    ctx = Context(settings=settings, engine=engine_for(settings.database_url),
                  gateway_factory=gateway_factory or gateway_from_settings)
    worker = Worker(ctx)

    signals = StopSignals()
    worker.start()
    while not signals.received:
        time.sleep(SIGNAL_POLL_SECONDS)
    log.info("%s: stopping after the ticks in progress", signal.Signals(signals.received[0]).name)
    worker.stop()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while not worker.wait(grace_seconds=SIGNAL_POLL_SECONDS):
        if len(signals.received) > 1:
            log.warning("%s again: stopping now, without waiting for the ticks in progress",
                        signal.Signals(signals.received[-1]).name)
            _exit_now()
        if time.monotonic() >= deadline:
            log.warning("job worker stopped: a tick still running after %g s was abandoned", STOP_GRACE_SECONDS)
            _exit_now()
    ctx.engine.dispose()
    log.info("job worker stopped")
    return 0


class StopSignals:
    """SIGTERM and SIGINT, noted by a handler that takes no lock; the main thread acts on them. (A handler that
    stopped the worker itself deadlocked when Ctrl-C's SIGINT and `make run`'s SIGTERM came together: the second
    ran inside the first while it held the stop Event's lock.)"""

    def __init__(self) -> None:
        self.received: list[int] = []
        signal.signal(signal.SIGTERM, self._note)
        signal.signal(signal.SIGINT, self._note)

    def _note(self, signum: int, _frame: Any) -> None:
        self.received.append(signum)


def _exit_now() -> None:
    """Exit 0 without the interpreter's shutdown: that would wait on, or tear objects out from under, the job
    threads still in a tick (a hung HTTP call, a pool lock held) and could hang."""
    for handler in logging.getLogger().handlers:
        handler.flush()
    os._exit(0)


if __name__ == "__main__":
    raise SystemExit(main())
