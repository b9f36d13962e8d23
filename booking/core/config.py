"""Settings read from the environment (and `.env` when present).

Nothing is built at import time: call `get_settings()`; tests call `get_settings.cache_clear()`.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///booking.db"
MIN_HOLD_MINUTES = 30  # Stripe refuses a Checkout Session that expires sooner than 30 minutes.


class WebhookProcessing(StrEnum):
    INLINE = "inline"  # each event is applied before the webhook is answered
    WORKER = "worker"  # answered once stored; the job worker applies it


class DisputeRecoveryPolicy(StrEnum):
    REVERSE_TRANSFER = "reverse_transfer"  # take a lost dispute's amount back from the builder
    PLATFORM_ABSORBS = "platform_absorbs"  # the platform bears it


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias="DATABASE_URL")
    stripe_secret_key: str | None = Field(None, validation_alias="STRIPE_SECRET_KEY")
    stripe_webhook_secret: str | None = Field(None, validation_alias="STRIPE_WEBHOOK_SECRET")
    stripe_api_base: str | None = Field(None, validation_alias="STRIPE_API_BASE")
    public_url: str = Field(
        "http://localhost:3000", validation_alias=AliasChoices("PUBLIC_URL", "NEXT_PUBLIC_URL")
    )
    redis_url: str | None = Field(None, validation_alias="REDIS_URL")
    # The interface the run command binds (web server): loopback unless HOST says otherwise (0.0.0.0: all).
    host: str = Field("127.0.0.1", validation_alias="HOST")
    # Backend worker processes. Unset: Reflex's choice (1; with REDIS_URL, min(2 x cores + 1, 8)).
    # Two or more need REDIS_URL: the workers share the browsers' state through it.
    workers: int | None = Field(None, ge=1, le=64, validation_alias="WORKERS")
    # Job worker processes (`python -m booking.worker`) that `make run` starts beside the web server. Leader
    # locks keep each periodic job to one runner: two or more on SQLite need REDIS_URL for those locks.
    job_workers: int = Field(1, ge=1, le=16, validation_alias="JOB_WORKERS")
    smtp_url: str | None = Field(None, validation_alias="SMTP_URL")
    mail_dir: str = Field("var/mail", validation_alias="MAIL_DIR")
    mail_from: str = Field("Booking <bookings@localhost>", validation_alias="MAIL_FROM")
    hold_minutes: int = Field(30, validation_alias="HOLD_MINUTES")
    sweep_interval_seconds: float = Field(30.0, validation_alias="SWEEP_INTERVAL_SECONDS")
    # Webhooks: "inline" applies each event before answering; "worker" answers once the event is stored
    # and the job worker applies it (booking/events/processor.py), every WEBHOOK_WORKER_INTERVAL_SECONDS.
    webhook_processing: WebhookProcessing = Field(WebhookProcessing.INLINE, validation_alias="WEBHOOK_PROCESSING")
    webhook_worker_interval_seconds: float = Field(0.25, gt=0, validation_alias="WEBHOOK_WORKER_INTERVAL_SECONDS")
    notification_interval_seconds: float = Field(5.0, validation_alias="NOTIFICATION_INTERVAL_SECONDS")
    # Reminders: the worker looks for due ones this often; one whose moment passed more than
    # REMINDER_GRACE_MINUTES ago (the app was down) is skipped, never sent late.
    reminder_interval_seconds: float = Field(30.0, gt=0, validation_alias="REMINDER_INTERVAL_SECONDS")
    reminder_grace_minutes: int = Field(10, ge=0, validation_alias="REMINDER_GRACE_MINUTES")
    # Tests only: a file holding seconds to add to the app's clock (booking/core/clock.py), so an end-to-end
    # test can move the web server's and the worker's "now" together. Unset: the real time.
    app_clock_file: str | None = Field(None, validation_alias="APP_CLOCK_FILE")
    platform_name: str = Field("Book a builder", validation_alias="PLATFORM_NAME")
    # Signs the clients' "Manage booking" links and their forms' CSRF tokens. Unset: one is generated
    # into `secret_key_file` on first use (0600) and kept, so links survive restarts.
    secret_key: str | None = Field(None, validation_alias="SECRET_KEY")
    secret_key_file: str = Field("var/secret_key", validation_alias="SECRET_KEY_FILE")
    # Admin sign-in: a session dies after this long unused, and after the absolute limit regardless.
    admin_session_idle_minutes: int = Field(120, ge=5, validation_alias="ADMIN_SESSION_IDLE_MINUTES")
    admin_session_max_hours: int = Field(72, ge=1, validation_alias="ADMIN_SESSION_MAX_HOURS")
    # Failed sign-ins allowed per 15 minutes (booking/accounts/throttle.py): per account from one client IP
    # (that IP is locked out of that account, not the owner), per client IP across accounts, and per account
    # from every IP together (past it, only an IP that signed in to the account before may try).
    sign_in_failures_per_account: int = Field(5, ge=1, validation_alias="SIGN_IN_FAILURES_PER_ACCOUNT")
    sign_in_failures_per_ip: int = Field(20, ge=1, validation_alias="SIGN_IN_FAILURES_PER_IP")
    sign_in_account_ceiling: int = Field(100, ge=1, validation_alias="SIGN_IN_ACCOUNT_CEILING")
    # Stripe Connect. The platform keeps PLATFORM_FEE_PERCENT of each payment (decimals allowed), plus
    # a fixed fee per currency in minor units ("gbp:30,usd:30,jpy:50"); booking.pricing rounds it.
    platform_fee_percent: Decimal = Field(Decimal("10"), ge=0, le=100, validation_alias="PLATFORM_FEE_PERCENT")
    platform_fixed_fees: str = Field("", validation_alias="PLATFORM_FIXED_FEES")
    # On: a builder without payouts enabled can't be booked. Off (the demo): the platform holds the money.
    require_payouts: bool = Field(False, validation_alias="REQUIRE_PAYOUTS")
    # A disputed payment's amount comes out of the platform's balance. reverse_transfer: take it back from
    # the builder (a reversal of their transfer; paid back with a new transfer if the dispute is won).
    # platform_absorbs: the platform bears it. Stripe's dispute fee is always the platform's.
    dispute_recovery: DisputeRecoveryPolicy = Field(
        DisputeRecoveryPolicy.REVERSE_TRANSFER, validation_alias="DISPUTE_RECOVERY")
    # Bank debits (SEPA, Bacs) settle days after Checkout: offered only for sessions starting at least this
    # many hours ahead (else excluded from the Checkout Session: excluded_payment_method_types).
    delayed_payment_min_lead_hours: int = Field(72, ge=0, le=24 * 365,
                                                validation_alias="DELAYED_PAYMENT_MIN_LEAD_HOURS")
    # Connect events may come from an endpoint with its own secret; any listed secret may verify an event.
    stripe_connect_webhook_secret: str | None = Field(None, validation_alias="STRIPE_CONNECT_WEBHOOK_SECRET")
    # Stripe calls: seconds before one attempt gives up, and how often the SDK retries a timeout, a dropped
    # connection or a 5xx (with the same idempotency key, backing off 0.5 s, 1 s, ...).
    stripe_timeout_seconds: float = Field(10.0, gt=0, le=120, validation_alias="STRIPE_TIMEOUT_SECONDS")
    stripe_max_network_retries: int = Field(2, ge=0, le=5, validation_alias="STRIPE_MAX_NETWORK_RETRIES")
    # Abuse limits (booking/lifecycle/abuse.py). Live (unexpired, unpaid) holds per client mailbox and per
    # client IP; 0 turns a cap off. Paid and ended holds never count. Per IP, 10: one address is often a
    # whole office, campus or mobile carrier, and 10 people at the Checkout page at once (each one holds for
    # a few minutes) is a busy office, while one attacker can still hold at most 10 slots per network.
    max_holds_per_email: int = Field(2, ge=0, validation_alias="MAX_HOLDS_PER_EMAIL")
    max_holds_per_ip: int = Field(10, ge=0, validation_alias="MAX_HOLDS_PER_IP")
    # Peers trusted to say who the client is (X-Forwarded-For): the reverse proxy's addresses or networks,
    # comma-separated, `*` for any (only when nothing else can reach the app). Same name and default as
    # uvicorn's and granian's. A peer not listed is the client itself, whatever header it sends.
    forwarded_allow_ips: str = Field("127.0.0.1", validation_alias="FORWARDED_ALLOW_IPS")
    # Create-checkout attempts per client IP ("10/minute", the `limits` notation; empty: no limit), and the
    # manage page's POSTs (cancel, reschedule) per client IP. Shared by every worker through REDIS_URL.
    checkout_rate_limit: str = Field("10/minute", validation_alias="CHECKOUT_RATE_LIMIT")
    manage_rate_limit: str = Field("20/minute", validation_alias="MANAGE_RATE_LIMIT")
    # "Try again" renews a hold (a new Checkout Session, the hold extended): at most this often per hold.
    max_checkout_renewals: int = Field(3, ge=0, le=20, validation_alias="MAX_CHECKOUT_RENEWALS")
    # Emails the address's owner didn't ask for (payment failed, hold expired): at most this many per
    # address per 24 hours; more are skipped (anyone can type anyone's address into the booking form).
    unsolicited_emails_per_day: int = Field(3, ge=0, validation_alias="UNSOLICITED_EMAILS_PER_DAY")
    # Password reset and builder invites (booking/accounts/recovery.py, invites.py): how long an emailed link
    # works, and how often one may be asked for per account (the address typed) and per client IP ("3/hour",
    # the `limits` notation), so the form can't mail-bomb anyone.
    password_reset_minutes: int = Field(60, ge=5, le=24 * 60, validation_alias="PASSWORD_RESET_MINUTES")
    builder_invite_days: int = Field(7, ge=1, le=30, validation_alias="BUILDER_INVITE_DAYS")
    password_reset_rate_limit: str = Field("3/hour", validation_alias="PASSWORD_RESET_RATE_LIMIT")
    password_reset_ip_rate_limit: str = Field("10/hour", validation_alias="PASSWORD_RESET_IP_RATE_LIMIT")
    # External calendars (booking/scheduling/external_calendars.py): how often the job worker fetches each
    # one, how long one fetch may take and how large a feed may be. Addresses on private, loopback or
    # link-local networks are refused unless CALENDAR_ALLOW_PRIVATE_NETWORKS is on (local test servers).
    calendar_sync_interval_seconds: float = Field(900.0, gt=0, validation_alias="CALENDAR_SYNC_INTERVAL_SECONDS")
    calendar_fetch_timeout_seconds: float = Field(10.0, gt=0, le=60, validation_alias="CALENDAR_FETCH_TIMEOUT_SECONDS")
    calendar_max_bytes: int = Field(5_000_000, ge=1000, validation_alias="CALENDAR_MAX_BYTES")
    calendar_allow_private_networks: bool = Field(False, validation_alias="CALENDAR_ALLOW_PRIVATE_NETWORKS")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        value = value.strip()
        if value.startswith("postgres://") or value.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; plain URLs from hosting providers mean it.
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        if not (value.startswith("sqlite:///") or value.startswith("postgresql+psycopg://")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return value

    @field_validator("workers")
    @classmethod
    def _workers_share_state(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and value >= 2 and not info.data.get("redis_url"):
            raise ValueError("2 or more workers need REDIS_URL (the workers share the browsers' state in Redis)")
        return value

    @field_validator("job_workers")
    @classmethod
    def _job_workers_share_locks(cls, value: int, info: ValidationInfo) -> int:
        sqlite = str(info.data.get("database_url") or "").startswith("sqlite")
        if value >= 2 and sqlite and not info.data.get("redis_url"):
            raise ValueError("2 or more job workers on SQLite need REDIS_URL (their leader locks live there)")
        return value

    @field_validator("stripe_secret_key")
    @classmethod
    def _stripe_key_shape(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("sk_test_", "sk_live_", "rk_test_", "rk_live_")):
            raise ValueError("must be a Stripe secret key (sk_test_... or sk_live_...)")
        return value

    @field_validator("stripe_webhook_secret", "stripe_connect_webhook_secret")
    @classmethod
    def _webhook_secret_shape(cls, value: str | None) -> str | None:
        # One secret, or several separated by commas (an endpoint's old and new secret, say).
        listed = _split_list(value)
        if not listed:
            return None
        if not all(secret.startswith("whsec_") for secret in listed):
            raise ValueError("must be webhook signing secrets (whsec_...), separated by commas")
        return ",".join(listed)

    @field_validator("platform_fixed_fees")
    @classmethod
    def _fixed_fees_shape(cls, value: str) -> str:
        return ",".join(f"{code}:{amount}" for code, amount in _parse_fixed_fees(value).items())

    @field_validator("checkout_rate_limit", "manage_rate_limit", "password_reset_rate_limit",
                     "password_reset_ip_rate_limit")
    @classmethod
    def _rate_limit_shape(cls, value: str) -> str:
        value = (value or "").strip()
        if value:
            from limits import parse_many  # the library that applies it decides what it accepts

            try:
                parse_many(value)
            except ValueError:
                raise ValueError("must be a rate like 10/minute or 100/hour (empty: no limit)") from None
        return value

    @field_validator("host")
    @classmethod
    def _host_shape(cls, value: str) -> str:
        value = (value or "").strip() or "127.0.0.1"
        if not re.fullmatch(r"[A-Za-z0-9.:_-]{1,253}", value):
            raise ValueError("must be an interface address like 127.0.0.1 or 0.0.0.0, or a host name")
        return value

    @field_validator("stripe_api_base")
    @classmethod
    def _api_base(cls, value: str | None) -> str | None:
        return _http_url(value) if value else None

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        # Every Checkout success/cancel URL starts with this: an empty value is an error, not a default.
        return _http_url(value)

    @field_validator("hold_minutes")
    @classmethod
    def _hold_long_enough(cls, value: int) -> int:
        if value < MIN_HOLD_MINUTES:
            raise ValueError(f"must be at least {MIN_HOLD_MINUTES} (Stripe's shortest Checkout expiry)")
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _forwarded_allow_ips(cls, value: str) -> str:
        for part in (p.strip() for p in value.split(",")):
            if part and part != "*":
                try:
                    ipaddress.ip_network(part, strict=False)
                except ValueError:
                    raise ValueError(f"{part!r} is not an IP address or network (use commas between them, "
                                     "or * for any peer)") from None
        return value

    @property
    def webhook_secrets(self) -> tuple[str, ...]:
        """Every secret that may verify a webhook: the account endpoint's, then the Connect endpoint's."""
        found = _split_list(self.stripe_webhook_secret) + _split_list(self.stripe_connect_webhook_secret)
        return tuple(dict.fromkeys(found))

    @property
    def fixed_fees(self) -> dict[str, int]:
        """PLATFORM_FIXED_FEES as {currency: minor units}."""
        return _parse_fixed_fees(self.platform_fixed_fees)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def uses_emulator(self) -> bool:
        """The app runs on the bundled emulator (demo accounts allowed): no Stripe key at all, or a test key
        with STRIPE_API_BASE on this machine (a loopback address, as the run command starts it). Decided
        positively: any other API base, however spelled, and any live key count as real Stripe."""
        key = self.stripe_secret_key or ""
        if not key:
            return True
        if not key.startswith(("sk_test_", "rk_test_")):
            return False
        return _is_loopback_url(self.stripe_api_base)


def _split_list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _parse_fixed_fees(value: str | None) -> dict[str, int]:
    fees: dict[str, int] = {}
    for part in _split_list(value):
        code, _, amount = part.partition(":")
        code, amount = code.strip().lower(), amount.strip()
        if len(code) != 3 or not code.isalpha() or not amount.isdigit():
            raise ValueError(f"'{part}' is not currency:minor-units, e.g. gbp:30")
        fees[code] = int(amount)
    return fees


def _is_loopback_url(url: str | None) -> bool:
    """True only for an http(s) URL whose host is a loopback address (127.0.0.0/8, ::1) or `localhost`."""
    if not url:
        return False
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return False
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning pydantic's error into one that names the environment variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            env_name = _env_name(field)
            problems.append(f"{env_name}: {error['msg']}")
        raise SettingsError("Invalid settings — " + "; ".join(problems)) from None


def _env_name(field: str) -> str:
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, str):
        return alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return field.upper()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


MIN_SECRET_KEY_LENGTH = 32


def secret_key(settings: Settings | None = None) -> bytes:
    """The app's signing key: SECRET_KEY, else the key file (created on first use, readable by us only)."""
    settings = settings or get_settings()
    if settings.secret_key:
        if len(settings.secret_key) < MIN_SECRET_KEY_LENGTH:
            raise SettingsError(f"SECRET_KEY: must be at least {MIN_SECRET_KEY_LENGTH} characters")
        return settings.secret_key.encode()
    return _key_from_file(Path(settings.secret_key_file))


@lru_cache(maxsize=4)
def _key_from_file(path: Path) -> bytes:
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole under a temporary name, then linked into place: several workers starting at once
    # agree on one key (the link fails for all but the first), and none reads a half-written file.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    key = path.read_text().strip()
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise SettingsError(f"{path}: the secret key file is too short; delete it to make a new one")
    return key.encode()
