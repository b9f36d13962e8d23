"""Settings read from the environment (and `.env` when present).

Nothing is built at import time: call `get_settings()`; tests call `get_settings.cache_clear()`.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///booking.db"
MIN_HOLD_MINUTES = 30  # Stripe refuses a Checkout Session that expires sooner than 30 minutes.


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
    smtp_url: str | None = Field(None, validation_alias="SMTP_URL")
    mail_dir: str = Field("var/mail", validation_alias="MAIL_DIR")
    mail_from: str = Field("Booking <bookings@localhost>", validation_alias="MAIL_FROM")
    hold_minutes: int = Field(30, validation_alias="HOLD_MINUTES")
    sweep_interval_seconds: float = Field(30.0, validation_alias="SWEEP_INTERVAL_SECONDS")
    notification_interval_seconds: float = Field(5.0, validation_alias="NOTIFICATION_INTERVAL_SECONDS")
    platform_name: str = Field("Book a builder", validation_alias="PLATFORM_NAME")
    # Admin sign-in: a session dies after this long unused, and after the absolute limit regardless.
    admin_session_idle_minutes: int = Field(120, ge=5, validation_alias="ADMIN_SESSION_IDLE_MINUTES")
    admin_session_max_hours: int = Field(72, ge=1, validation_alias="ADMIN_SESSION_MAX_HOURS")
    # Failed sign-ins allowed per 15 minutes, per account and per client IP.
    sign_in_failures_per_account: int = Field(5, ge=1, validation_alias="SIGN_IN_FAILURES_PER_ACCOUNT")
    sign_in_failures_per_ip: int = Field(20, ge=1, validation_alias="SIGN_IN_FAILURES_PER_IP")

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

    @field_validator("stripe_secret_key")
    @classmethod
    def _stripe_key_shape(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("sk_test_", "sk_live_", "rk_test_", "rk_live_")):
            raise ValueError("must be a Stripe secret key (sk_test_... or sk_live_...)")
        return value

    @field_validator("stripe_webhook_secret")
    @classmethod
    def _webhook_secret_shape(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith("whsec_"):
            raise ValueError("must be a webhook signing secret (whsec_...)")
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

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def uses_emulator(self) -> bool:
        """No real Stripe key: the app runs offline on the bundled emulator (demo accounts allowed)."""
        key = self.stripe_secret_key or ""
        return not key or key == "sk_test_emulator" or bool(self.stripe_api_base and "api.stripe.com" not in self.stripe_api_base)


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
