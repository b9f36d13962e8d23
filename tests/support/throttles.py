"""Sign-in throttles for tests: a fixed key, and a fresh in-memory one per test (throttle_for is cached)."""

from __future__ import annotations

from limits import storage, strategies

from booking.accounts.throttle import DEFAULT_ACCOUNT_CEILING, SignInThrottle

THROTTLE_KEY = b"test-throttle-key-0123456789abcdef0123456789"


def fresh_throttle(per_account: int, per_ip: int, *, account_ceiling: int = DEFAULT_ACCOUNT_CEILING,
                   storage_url: str | None = None, key: bytes = THROTTLE_KEY) -> SignInThrottle:
    backend = storage.storage_from_string(storage_url) if storage_url else storage.MemoryStorage()
    return SignInThrottle(strategies.MovingWindowRateLimiter(backend), per_account, per_ip, account_ceiling, key)
