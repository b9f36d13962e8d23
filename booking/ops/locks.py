"""Once per tick across every job worker: a leader lock for periodic jobs (the hold sweeper, the outbox).

Every job worker (`python -m booking.worker`, booking/ops/worker.py) runs every job, so each job asks its
lock before each tick. The lock is a lease that its holder keeps from tick to tick, so one worker (the
leader) runs the job and the others skip it; when the leader dies, its lease ends and the next worker
to tick takes over.

- `REDIS_URL` set: a Redis key (`SET NX PX` through redis-py's Lock), renewed by the leader each tick,
  expiring `ttl_seconds` after the last renewal.
- PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) held on a connection of its own, outside
  the pool and outside any transaction (autocommit), released when that connection ends.
- SQLite alone: one process, nothing to coordinate; the job always runs.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

KEY_PREFIX = "booking:tick-lock:"


class TickLock(Protocol):
    name: str

    def acquire(self) -> bool:
        """True when this process leads this tick (acquired now, or still held from the last one)."""
        ...

    def release(self) -> None:
        """Give up the lead (shutdown); another worker takes over at its next tick."""
        ...


class AlwaysRun:
    """A single process (SQLite without Redis): every tick runs."""

    def __init__(self, name: str) -> None:
        self.name = name

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock, from the job's name."""
    return int.from_bytes(hashlib.sha256(f"{KEY_PREFIX}{name}".encode()).digest()[:8], "big", signed=True)


class PostgresLeaderLock:
    def __init__(self, name: str, *, engine: Engine) -> None:
        self.name = name
        self.key = advisory_key(name)
        # A connection of its own: held for as long as this worker leads, it must not starve the pool.
        self._engine = sa.create_engine(engine.url, poolclass=NullPool)
        self._connection: Connection | None = None

    def acquire(self) -> bool:
        if self._connection is not None:
            try:  # still connected means still holding: session locks last as long as the session
                self._connection.exec_driver_sql("SELECT 1")
                return True
            except sa.exc.SQLAlchemyError:
                log.warning("tick lock %s: lost its connection; trying to lead again", self.name)
                self._close_connection()
        connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            held = bool(connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar())
        except BaseException:
            connection.close()
            raise
        if not held:
            connection.close()
            return False
        self._connection = connection
        return True

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            except sa.exc.SQLAlchemyError:
                pass  # the connection is gone, and the lock with it
            self._close_connection()
        self._engine.dispose()

    def _close_connection(self) -> None:
        connection, self._connection = self._connection, None
        try:
            connection.close()
        except sa.exc.SQLAlchemyError:
            pass


class RedisLeaderLock:
    def __init__(self, name: str, *, redis_url: str, ttl_seconds: float, client: Any = None) -> None:
        import redis  # only when Redis is configured

        self.name = name
        self._client = client or redis.Redis.from_url(redis_url)
        # thread_local=False: the lease belongs to the job, whichever thread renews or releases it.
        self._lock = self._client.lock(f"{KEY_PREFIX}{name}", timeout=ttl_seconds, blocking=False,
                                       thread_local=False)
        self._errors = redis.exceptions

    def acquire(self) -> bool:
        if self._lock.local.token is not None:
            try:
                self._lock.reacquire()  # still ours: renew the lease
                return True
            except self._errors.LockError:  # it lapsed (a long pause) and may be someone else's now
                self._lock.local.token = None
        return bool(self._lock.acquire(blocking=False, token=secrets.token_hex(16).encode()))

    def release(self) -> None:
        if self._lock.local.token is not None:
            try:
                self._lock.release()
            except self._errors.LockError:
                pass
        self._client.close()


def tick_lock(name: str, *, engine: Engine, redis_url: str | None, ttl_seconds: float) -> TickLock:
    """The lock for one periodic job: Redis when configured, else PostgreSQL, else none (SQLite)."""
    if redis_url:
        return RedisLeaderLock(name, redis_url=redis_url, ttl_seconds=ttl_seconds)
    if engine.dialect.name == "postgresql":
        return PostgresLeaderLock(name, engine=engine)
    return AlwaysRun(name)


def lease_seconds(interval_seconds: float) -> float:
    """How long a silent leader keeps the lead: a few missed ticks, never under ten seconds."""
    return max(3 * interval_seconds, 10.0)


def run_if_leader(lock: TickLock, work: Callable[[], Any]) -> tuple[bool, Any]:
    """One tick: (True, work's result) when this process leads, else (False, None) without running it."""
    if not lock.acquire():
        return False, None
    return True, work()
