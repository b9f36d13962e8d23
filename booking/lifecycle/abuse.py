"""Abuse limits: slot hoarding, request floods, and who a log line may name.

- **Holds per client email** are counted in the database (unexpired, unpaid holds of that mailbox:
  `ann+1@` and `ann+2@` are `ann@`'s, booking/core/mailbox.py), in the hold's own transaction under a
  lock on the mailbox, so concurrent requests can't both pass.
- **Holds per client IP** are counted in the database too: each hold keeps a keyed digest of the IP it
  came from (`Booking.client_address_key`, HMAC with the app's secret key; the IP is never stored), and
  only holds still unpaid and unexpired count. A paid, released or lapsed hold frees its place at once,
  whichever worker took it: clients sharing a network (an office, a campus, a mobile carrier) who pay are
  never in one another's way. A browser taking a new hold releases its earlier one (its hold key) first.
- **Create-checkout and manage POSTs per client IP**: a `limits` moving window each, in Redis when
  REDIS_URL is set (every worker shares them), in-process otherwise, keyed by a digest of the IP.
- **The client's IP** is the direct peer's, unless that peer is a trusted proxy (FORWARDED_ALLOW_IPS):
  then X-Forwarded-For is read from the right, skipping trusted proxies (`client_ip`).

Log lines carry a request id and the client's IP, and an email only masked (`a***@example.com`).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from limits import RateLimitItem, parse_many, storage, strategies
from sqlmodel import Session, select

from booking.core.config import secret_key
from booking.core.mailbox import mailbox, same_mailbox
from booking.core.models import Booking, BookingStatus, Client
from booking.payments import ledger as payment_records

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


def address_key(ip: str | None, settings) -> str | None:
    """The digest a hold keeps of the client's IP: keyed with the app's secret, so the stored value can't be
    turned back into an address by trying all 2^32 IPv4 ones. None: the address is not known."""
    if not ip:
        return None
    return hmac.new(secret_key(settings), f"booking-ip:{ip}".encode(), hashlib.sha256).hexdigest()[:32]


# --- the client's address behind a reverse proxy ------------------------------------------------------------


def _networks(setting: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
    """FORWARDED_ALLOW_IPS parsed: addresses or networks, comma-separated; None for `*` (any peer)."""
    networks = []
    for part in (p.strip() for p in (setting or "").split(",")):
        if part == "*":
            return None
        if part:
            networks.append(ipaddress.ip_network(part, strict=False))
    return networks


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_ip(peer: str | None, forwarded_for: str | None, trusted: str) -> str | None:
    """The client's IP: the direct peer's, unless the peer is a trusted proxy (`trusted`: FORWARDED_ALLOW_IPS,
    as uvicorn and granian spell it). Then X-Forwarded-For is read from the right, each trusted proxy
    skipped; the first address not trusted is the client's. Anything a client could have written itself
    (left of that address, or a malformed entry) is never believed."""
    networks = _networks(trusted)
    peer_address = _parse_ip(peer or "")
    if peer_address is None:
        return peer or None

    def is_trusted(address) -> bool:
        return networks is None or any(address in net for net in networks)

    if not forwarded_for or not is_trusted(peer_address):
        return peer
    client = peer_address
    for entry in reversed(forwarded_for.split(",")):
        address = _parse_ip(entry)
        if address is None:
            break  # garbage: keep the last address a trusted hop vouched for
        client = address
        if not is_trusted(address):
            break
    return str(client)


def from_trusted_proxy(peer: str | None, trusted: str) -> bool:
    """The direct peer is one of the reverse proxies in FORWARDED_ALLOW_IPS: its X-Forwarded-* headers
    (the client's address, the scheme the client used) may be believed."""
    networks = _networks(trusted)
    address = _parse_ip(peer or "")
    return address is not None and (networks is None or any(address in net for net in networks))


# --- per-IP counters (the `limits` library) ----------------------------------------------------------------


class Limits:
    """The per-IP rate limits of one configuration: checkout attempts, manage POSTs."""

    def __init__(self, *, limiter: strategies.RateLimiter, checkout_rate: str, manage_rate: str) -> None:
        self._limiter = limiter
        self._checkout = parse_many(checkout_rate) if checkout_rate else []
        self._manage = parse_many(manage_rate) if manage_rate else []

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
                      manage_rate=settings.manage_rate_limit)
        _CACHE[id(settings)] = (settings, made)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
        return made


# --- per-email holds (the database) --------------------------------------------------------------------------


def _lock(session: Session, name: str) -> None:
    """PostgreSQL: a transaction-scoped advisory lock on `name`, so two requests counting the same holds
    (one mailbox, one network) take turns. SQLite transactions are serialised already."""
    if session.get_bind().dialect.name == "postgresql":
        number = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        session.exec(select(sa.func.pg_advisory_xact_lock(number))).one()


def _live_holds(session: Session, now: datetime, *where: sa.ColumnElement[bool]) -> tuple[int, float]:
    """The unexpired, unpaid holds matching `where`, and seconds until the first of them lapses."""
    held = session.exec(
        select(sa.func.count(), sa.func.min(Booking.hold_expires_at)).where(
            Booking.status == BookingStatus.PENDING,
            payment_records.awaits_payment(),  # a hold still waiting for its payment
            Booking.hold_expires_at > now,
            *where,
        )
    ).one()
    count, first_expiry = int(held[0]), held[1]
    if first_expiry is not None and first_expiry.utcoffset() is None:  # SQLite hands back naive UTC
        first_expiry = first_expiry.replace(tzinfo=now.tzinfo)
    return count, (first_expiry - now).total_seconds() if first_expiry is not None else 60


def check_email_holds(*, session: Session, client: Client, limit: int, now: datetime) -> None:
    """Before a hold is written: the client's mailbox (`ann+1@` and `ann+2@` are `ann@`) holds fewer than
    `limit` times already, whichever of its spellings booked them.

    Locks the mailbox first (PostgreSQL; SQLite transactions are serialised), so two concurrent requests
    with one mailbox can't both count the same holds. Raises TooManyHolds.
    """
    if limit <= 0 or client.id is None:
        return
    _lock(session, f"holds-mailbox:{mailbox(client.email)}")
    spellings = select(Client.id).where(same_mailbox(Client.email, client.email))
    count, wait = _live_holds(session, now, Booking.client_id.in_(spellings))
    if count >= limit:
        # Says nothing about the address's bookings beyond "enough": anyone can type anyone's address.
        raise TooManyHolds("This email address already has as many unpaid holds as we allow. Please pay for "
                           "or release one first, or try again later.", wait)


def check_ip_holds(*, session: Session, address_key: str | None, limit: int, now: datetime) -> None:
    """Before a hold is written: the client's network (`address_key`, see `address_key()`) holds fewer than
    `limit` unpaid, unexpired times already. Paid, released and lapsed holds don't count, so a network
    whose clients pay is never refused. Locks the network's count like `check_email_holds`. Raises
    TooManyHolds."""
    if limit <= 0 or not address_key:
        return
    _lock(session, f"holds-network:{address_key}")
    count, wait = _live_holds(session, now, Booking.client_address_key == address_key)
    if count >= limit:
        raise TooManyHolds("Too many times are being held from your network. Please finish or release "
                           "a booking first, or try again later.", wait)
