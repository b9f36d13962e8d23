"""The sign-in throttle's counters name no one: their keys hold keyed digests, never an email or an IP."""

from __future__ import annotations

import os
import uuid

import pytest
import redis

from tests.support.throttles import fresh_throttle

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def _exercise(throttle, email: str, ip: str) -> None:
    throttle.blocked(email=email, ip=ip)
    throttle.record_failure(email=email, ip=ip)
    throttle.record_success(email=email, ip=ip)
    throttle.record_failure(email=email, ip=ip)


def _memory_keys(backend) -> list[str]:
    keys: list[str] = []
    for value in vars(backend).values():
        if isinstance(value, dict):
            keys += [str(key) for key in value]
    return keys


def test_in_memory_counters_hold_no_raw_email_or_ip() -> None:
    throttle = fresh_throttle(5, 20)
    email, ip = "Owner.Name@Example.test", "203.0.113.77"
    _exercise(throttle, email, ip)
    keys = _memory_keys(throttle.limiter.storage)
    assert any("signin-pair" in key for key in keys)  # the counters are there...
    for key in keys:  # ...under digests only
        for raw in (email, email.lower(), "owner.name", "example.test", ip, "203.0.113"):
            assert raw not in key.lower()
    assert throttle.blocked(email=email, ip=ip) is False  # and they still count: one failure left over


def test_redis_counters_hold_no_raw_email_or_ip() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail(f"Redis is needed at {REDIS_URL} (TEST_REDIS_URL)")
    marker = uuid.uuid4().hex[:10]
    email, ip = f"owner-{marker}@example.test", f"198.51.100.{int(marker[:2], 16) % 250}"
    before = set(client.keys("*signin*"))
    throttle = fresh_throttle(2, 20, storage_url=REDIS_URL, key=os.urandom(32))
    _exercise(throttle, email, ip)
    throttle.record_failure(email=email, ip=ip)
    assert throttle.blocked(email=email, ip=ip) is True  # counted in Redis
    added = [key.decode() for key in set(client.keys("*signin*")) - before]
    try:
        assert added
        for key in added:
            assert marker not in key and ip not in key and "example.test" not in key
    finally:
        if added:
            client.delete(*added)
