"""Failed sign-ins are limited per account and per client IP (the `limits` library: Redis when
REDIS_URL is set, so every worker shares the counts; in-process otherwise)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from limits import RateLimitItemPerMinute, storage, strategies

WINDOW_MINUTES = 15


@dataclass(frozen=True)
class SignInThrottle:
    limiter: strategies.RateLimiter
    per_account: int
    per_ip: int

    def _items(self):
        return (RateLimitItemPerMinute(self.per_account, WINDOW_MINUTES),
                RateLimitItemPerMinute(self.per_ip, WINDOW_MINUTES))

    def blocked(self, *, email: str, ip: str) -> bool:
        account_limit, ip_limit = self._items()
        return not (self.limiter.test(account_limit, "signin-account", email.lower())
                    and self.limiter.test(ip_limit, "signin-ip", ip or "unknown"))

    def record_failure(self, *, email: str, ip: str) -> None:
        account_limit, ip_limit = self._items()
        self.limiter.hit(account_limit, "signin-account", email.lower())
        self.limiter.hit(ip_limit, "signin-ip", ip or "unknown")

    def reset_account(self, *, email: str) -> None:
        account_limit, _ = self._items()
        self.limiter.clear(account_limit, "signin-account", email.lower())


@lru_cache(maxsize=4)
def throttle_for(redis_url: str | None, per_account: int, per_ip: int) -> SignInThrottle:
    backend = storage.storage_from_string(redis_url) if redis_url else storage.MemoryStorage()
    return SignInThrottle(strategies.MovingWindowRateLimiter(backend), per_account, per_ip)


def throttle_from_settings(settings) -> SignInThrottle:
    return throttle_for(settings.redis_url, settings.sign_in_failures_per_account, settings.sign_in_failures_per_ip)
