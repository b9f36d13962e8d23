"""The tick lock (booking/ops/locks.py): with several workers, a periodic job runs once per tick, in the
worker that leads; when the leader goes, another takes over. Redis, PostgreSQL, and SQLite alone."""

from __future__ import annotations

import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from booking.core.config import load_settings
from booking.ops import locks, worker
from tests.support.processes import wait_until

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


def database_lock(engine, name: str) -> locks.TickLock:
    return locks.tick_lock(name, engine=engine, redis_url=None, ttl_seconds=10)


def redis_lock(name: str, ttl_seconds: float = 10) -> locks.TickLock:
    return locks.tick_lock(name, engine=None, redis_url=REDIS_URL, ttl_seconds=ttl_seconds)  # type: ignore[arg-type]


@pytest.fixture
def name() -> str:
    return f"test-job-{secrets.token_hex(4)}"


def two_workers_tick_at_once(first: locks.TickLock, second: locks.TickLock) -> list[str]:
    """Both workers tick at the same moment; the job records who ran it."""
    ran: list[str] = []
    start = threading.Barrier(2)

    def tick(lock: locks.TickLock, who: str) -> bool:
        start.wait()
        led, _ = locks.run_if_leader(lock, lambda: ran.append(who))
        return led

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(tick, [first, second], ["first", "second"]))
    assert results.count(True) == len(ran)
    return ran


def shared_lock_kinds(engine) -> list[str]:
    return ["redis", "postgresql"] if engine.dialect.name == "postgresql" else ["redis"]


def new_lock(kind: str, engine, name: str) -> locks.TickLock:
    return redis_lock(name) if kind == "redis" else database_lock(engine, name)


def test_two_workers_ticking_at_once_run_the_job_once(engine, name):
    for kind in shared_lock_kinds(engine):
        first, second = new_lock(kind, engine, name + kind), new_lock(kind, engine, name + kind)
        try:
            for _ in range(5):  # every tick, not just the first
                assert len(two_workers_tick_at_once(first, second)) == 1, kind
        finally:
            first.release()
            second.release()


def test_the_leader_keeps_the_job_and_another_worker_takes_over_when_it_goes(engine, name):
    for kind in shared_lock_kinds(engine):
        leader, follower = new_lock(kind, engine, name + kind), new_lock(kind, engine, name + kind)
        try:
            assert locks.run_if_leader(leader, lambda: "swept") == (True, "swept")
            assert locks.run_if_leader(follower, lambda: "swept") == (False, None)
            assert locks.run_if_leader(leader, lambda: "again") == (True, "again")

            leader.release()  # the leading worker shuts down

            assert locks.run_if_leader(follower, lambda: "taken over") == (True, "taken over")
            assert locks.run_if_leader(follower, lambda: "kept") == (True, "kept")
        finally:
            leader.release()
            follower.release()


def test_a_leader_that_dies_without_releasing_hands_over_when_its_lease_ends(name):
    client = redis.Redis.from_url(REDIS_URL)
    leader, follower = redis_lock(name), redis_lock(name)
    try:
        assert leader.acquire()
        assert not follower.acquire()
        # The leader's process is killed: nothing renews its lease, which runs out.
        client.pexpire(f"{locks.KEY_PREFIX}{name}", 1)
        wait_until(lambda: not client.exists(f"{locks.KEY_PREFIX}{name}"), timeout=5, interval=0.01,
                   message="the lease to end")
        assert follower.acquire()
        assert not leader.acquire()  # back from the dead, it no longer leads
    finally:
        leader.release()
        follower.release()
        client.close()


def test_a_postgres_leader_whose_connection_dies_hands_over(engine, name):
    if engine.dialect.name != "postgresql":
        lock = database_lock(engine, name)
        assert isinstance(lock, locks.AlwaysRun)
        return
    leader, follower = database_lock(engine, name), database_lock(engine, name)
    try:
        assert leader.acquire() and not follower.acquire()
        leader._connection.invalidate()  # the worker's connection drops (process killed, network cut)

        wait_until(follower.acquire, timeout=10, interval=0.05, message="the server to end the leader's session")
        assert not leader.acquire()
    finally:
        leader.release()
        follower.release()


def test_sqlite_alone_always_runs(engine, name):
    lock = locks.tick_lock(name, engine=engine, redis_url=None, ttl_seconds=10)
    if engine.dialect.name == "sqlite":
        assert isinstance(lock, locks.AlwaysRun)
        assert locks.run_if_leader(lock, lambda: 1) == (True, 1)
        assert locks.run_if_leader(lock, lambda: 2) == (True, 2)
    else:
        assert isinstance(lock, locks.PostgresLeaderLock)
    lock.release()


def test_redis_wins_when_configured(engine, name):
    lock = locks.tick_lock(name, engine=engine, redis_url=REDIS_URL, ttl_seconds=10)
    assert isinstance(lock, locks.RedisLeaderLock)
    lock.release()


def test_two_periodic_loops_run_each_tick_once(engine, name):
    """Two job workers' loops (booking/ops/worker.py) over several ticks: the job runs in one of them only."""
    ran: list[str] = []
    kind = shared_lock_kinds(engine)[-1]
    settings = load_settings(DATABASE_URL=engine.url.render_as_string(hide_password=False))
    stop = threading.Event()

    def loop(who: str) -> threading.Thread:
        job = worker.Job(name, every=lambda _s: 0.02, tick=lambda _ctx: ran.append(who))
        thread = threading.Thread(target=worker.run_job, args=(job, worker.Context(settings=settings, engine=engine),
                                                               stop, lambda job, _ctx: new_lock(kind, engine, job.name)))
        thread.start()
        return thread

    loops = [loop("a"), loop("b")]
    try:
        wait_until(lambda: len(ran) >= 10, timeout=30, interval=0.01, message="ten ticks")
    finally:
        stop.set()
        for thread in loops:
            thread.join(30)

    # One leader runs every tick. A loaded machine may fail the lead over once (a lost connection hands
    # it to the other worker, as it should), but two workers running the same ticks would alternate.
    switches = sum(1 for before, after in zip(ran, ran[1:]) if before != after)
    assert switches <= 1, ran
