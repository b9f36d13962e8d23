"""Abuse limits: slot hoarding, request floods, and who a log line may name.

- **Holds per client email** are counted in the database (unexpired, unpaid holds of that client), in
  the hold's own transaction with the client's row locked, so concurrent requests can't both pass.
- **Holds per client IP**: the IP is never stored. The `limits` library counts the holds an IP started
  over the last hold period (HOLD_MINUTES, a moving window): an upper bound of the holds it can have
  active at once. A browser taking a new hold releases its earlier one (its hold key), so its repeats
  within the period are not counted again: one browser, one unit.
- **Create-checkout and manage POSTs per client IP**: a `limits` moving window each.
- Counters live in Redis when REDIS_URL is set (every worker shares them), in-process otherwise. The
  counters are keyed by a digest of the IP, never the address itself.

Log lines carry a request id and the client's IP, and an email only masked (`a***@example.com`).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from limits import RateLimitItem, RateLimitItemPerMinute, parse_many, storage, strategies
from sqlmodel import Session, select

from booking.core.models import Booking, BookingStatus, Client, PaymentStatus

_HELD = (PaymentStatus.UNPAID, PaymentStatus.FAILED)  # a hold still waiting for its payment
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class LimitReached(Exception):
    """Refused by an abuse limit. `message` is for the client; `retry_after` in whole seconds (≥ 1)."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = max(1, int(retry_after + 0.999))


class TooManyHolds(LimitReached):
    code = "too_many_holds"


class RateLimited(LimitReached):
    code = "rate_limited"


@dataclass(frozen=True)
class Requester:
    """Who is asking, for the limits and the log: the client's IP (None: not known, not limited by IP)
    and this request's id."""

    ip: str | None = None
    request_id: str = ""

    @classmethod
    def of(cls, ip: str | None, request_id_header: str | None = None) -> Requester:
        return cls(ip=(ip or None), request_id=request_id(request_id_header))


def request_id(header: str | None = None) -> str:
    """The caller's X-Request-Id when it is a sane token (a proxy's), else a new one."""
    if header and _REQUEST_ID.match(header):
        return header
    return uuid.uuid4().hex[:16]


def mask_email(email: str | None) -> str:
    """`ada@example.com` -> `a***@example.com`: enough to tell two clients apart in a log, not to write to."""
    local, at, domain = (email or "").strip().rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def _ip_key(ip: str) -> str:
    return hashlib.sha256(f"booking-ip:{ip}".encode()).hexdigest()[:32]


# --- per-IP counters (the `limits` library) ----------------------------------------------------------------


class Limits:
    """The per-IP limits of one configuration: checkout attempts, manage POSTs, holds started."""

    def __init__(self, *, limiter: strategies.RateLimiter, checkout_rate: str, manage_rate: str,
                 holds_per_ip: int, hold_minutes: int) -> None:
        self._limiter = limiter
        self._checkout = parse_many(checkout_rate) if checkout_rate else []
        self._manage = parse_many(manage_rate) if manage_rate else []
        self._holds = RateLimitItemPerMinute(holds_per_ip, hold_minutes) if holds_per_ip > 0 else None

    def _hit(self, items: list[RateLimitItem], namespace: str, ip: str | None, message: str) -> None:
        if not ip:
            return
        key = _ip_key(ip)
        for item in items:
            if not self._limiter.hit(item, namespace, key):
                raise RateLimited(message, self._seconds_to_reset(item, namespace, key))

    def _seconds_to_reset(self, item: RateLimitItem, namespace: str, key: str) -> float:
        stats = self._limiter.get_window_stats(item, namespace, key)
        return max(stats.reset_time - time.time(), 1.0)

    def check_checkout_rate(self, ip: str | None) -> None:
        """One create-checkout attempt (the API and the booking page's Pay). Raises RateLimited."""
        self._hit(self._checkout, "checkout", ip,
                  "Too many booking attempts from your network. Please wait a moment and try again.")

    def check_manage_rate(self, ip: str | None) -> None:
        """One change from a manage page (cancel, reschedule). Raises RateLimited."""
        self._hit(self._manage, "manage", ip, "Too many requests from your network. Please wait a moment.")

    def check_ip_holds(self, ip: str | None) -> None:
        """Before a hold is written: may this IP start another one? Raises TooManyHolds."""
        if not ip or self._holds is None:
            return
        key = _ip_key(ip)
        if not self._limiter.test(self._holds, "holds", key):
            raise TooManyHolds("Too many times are being held from your network. Please finish or release "
                               "a booking first, or try again later.",
                               self._seconds_to_reset(self._holds, "holds", key))

    def count_ip_hold(self, ip: str | None) -> None:
        """After the hold is committed: it counts against the IP for the hold period."""
        if ip and self._holds is not None:
            self._limiter.hit(self._holds, "holds", _ip_key(ip))


_LOCK = threading.Lock()
# Settings object id -> (the settings, their limits). The settings are kept alive with their limits, so
# an id can't be reused while cached; a new Settings (a test's) starts with fresh in-process counts.
_CACHE: OrderedDict[int, tuple[object, Limits]] = OrderedDict()
_CACHE_SIZE = 16


def limits_for(settings) -> Limits:
    """The Limits of these settings: Redis-backed with REDIS_URL (shared by the workers), else in-process."""
    with _LOCK:
        cached = _CACHE.get(id(settings))
        if cached is not None and cached[0] is settings:
            _CACHE.move_to_end(id(settings))
            return cached[1]
        backend = storage.storage_from_string(settings.redis_url) if settings.redis_url else storage.MemoryStorage()
        made = Limits(limiter=strategies.MovingWindowRateLimiter(backend), checkout_rate=settings.checkout_rate_limit,
                      manage_rate=settings.manage_rate_limit, holds_per_ip=settings.max_holds_per_ip,
                      hold_minutes=settings.hold_minutes)
        _CACHE[id(settings)] = (settings, made)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
        return made


# --- per-email holds (the database) --------------------------------------------------------------------------


def check_email_holds(*, session: Session, client: Client, limit: int, now: datetime) -> None:
    """Before a hold is written: the client (one row per address) holds fewer than `limit` times already.

    Locks the client's row first (PostgreSQL; SQLite transactions are serialised), so two concurrent
    requests with one address can't both count the same holds. Raises TooManyHolds.
    """
    if limit <= 0 or client.id is None:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.exec(select(Client.id).where(Client.id == client.id).with_for_update()).one()
    held = session.exec(
        select(sa.func.count(), sa.func.min(Booking.hold_expires_at)).where(
            Booking.client_id == client.id,
            Booking.status == BookingStatus.PENDING,
            Booking.payment_status.in_(_HELD),
            Booking.hold_expires_at > now,
        )
    ).one()
    count, first_expiry = int(held[0]), held[1]
    if count >= limit:
        if first_expiry is not None and first_expiry.utcoffset() is None:  # SQLite hands back naive UTC
            first_expiry = first_expiry.replace(tzinfo=now.tzinfo)
        wait = (first_expiry - now).total_seconds() if first_expiry is not None else 60
        # Says nothing about the address's bookings beyond "enough": anyone can type anyone's address.
        raise TooManyHolds("This email address already has as many unpaid holds as we allow. Please pay for "
                           "or release one first, or try again later.", wait)
