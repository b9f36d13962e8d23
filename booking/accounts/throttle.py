"""Failed sign-ins are limited so that a stranger can't lock the owner out (the `limits` library: Redis when
REDIS_URL is set, so every worker shares the counts; in-process otherwise). Per 15 minutes:

- **per account and address together** (`per_account`, 5): the address guessing at an account is locked
  out of that account; the owner, signing in from their own address, is not;
- **per address** (`per_ip`, 20), across accounts: one address trying many accounts is locked out;
- **per account** (`account_ceiling`, 100), from every address together: a guessing spread over many
  addresses is still slowed. Past it, only an address that signed in to the account before (in the last
  30 days) may still try, so even then the owner at home or at the office gets in.

Keys hold a keyed digest (HMAC-SHA256 with the app's SECRET_KEY) of the email and the address, never either
in clear: the counters in Redis name no one.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache

from limits import RateLimitItemPerDay, RateLimitItemPerMinute, storage, strategies

from booking.core.config import secret_key

WINDOW_MINUTES = 15
KNOWN_ADDRESS_DAYS = 30
DEFAULT_ACCOUNT_CEILING = 100


@dataclass(frozen=True)
class SignInThrottle:
    limiter: strategies.RateLimiter
    per_account: int  # per (account, address) pair
    per_ip: int
    account_ceiling: int
    key: bytes

    def _digest(self, kind: str, value: str) -> str:
        return hmac.new(self.key, f"signin-{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]

    def _keys(self, email: str, ip: str) -> tuple[str, str, str]:
        account = self._digest("account", (email or "").strip().lower())
        address = self._digest("ip", ip or "unknown")
        return account, address, self._digest("pair", f"{account}:{address}")

    def _items(self):
        return (RateLimitItemPerMinute(self.per_account, WINDOW_MINUTES),
                RateLimitItemPerMinute(self.per_ip, WINDOW_MINUTES),
                RateLimitItemPerMinute(self.account_ceiling, WINDOW_MINUTES))

    def _known(self, pair: str) -> bool:
        stats = self.limiter.get_window_stats(RateLimitItemPerDay(1, KNOWN_ADDRESS_DAYS), "signin-known", pair)
        return stats.remaining == 0

    def blocked(self, *, email: str, ip: str) -> bool:
        account, address, pair = self._keys(email, ip)
        pair_limit, ip_limit, ceiling = self._items()
        if not (self.limiter.test(pair_limit, "signin-pair", pair)
                and self.limiter.test(ip_limit, "signin-ip", address)):
            return True
        return not self.limiter.test(ceiling, "signin-account", account) and not self._known(pair)

    def record_failure(self, *, email: str, ip: str) -> None:
        account, address, pair = self._keys(email, ip)
        pair_limit, ip_limit, ceiling = self._items()
        self.limiter.hit(pair_limit, "signin-pair", pair)
        self.limiter.hit(ip_limit, "signin-ip", address)
        self.limiter.hit(ceiling, "signin-account", account)

    def record_success(self, *, email: str, ip: str) -> None:
        """The owner got in from this address: its own failures are forgiven, and the address is known."""
        _, _, pair = self._keys(email, ip)
        pair_limit, _, _ = self._items()
        self.limiter.clear(pair_limit, "signin-pair", pair)
        known = RateLimitItemPerDay(1, KNOWN_ADDRESS_DAYS)
        self.limiter.clear(known, "signin-known", pair)
        self.limiter.hit(known, "signin-known", pair)


@lru_cache(maxsize=4)
def throttle_for(redis_url: str | None, per_account: int, per_ip: int, *, key: bytes,
                 account_ceiling: int = DEFAULT_ACCOUNT_CEILING) -> SignInThrottle:
    backend = storage.storage_from_string(redis_url) if redis_url else storage.MemoryStorage()
    return SignInThrottle(strategies.MovingWindowRateLimiter(backend), per_account, per_ip, account_ceiling, key)


def throttle_from_settings(settings) -> SignInThrottle:
    return throttle_for(settings.redis_url, settings.sign_in_failures_per_account, settings.sign_in_failures_per_ip,
                        key=secret_key(settings), account_ceiling=settings.sign_in_account_ceiling)
