"""Process-wide collaborators for the adapters, built lazily from the settings."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy.engine import Engine

from booking.core import engine_for, get_settings
from booking.payments import PaymentProviderError, StripeGateway


def engine() -> Engine:
    return engine_for(get_settings().database_url)


def gateway() -> StripeGateway:
    settings = get_settings()
    # Every webhook secret (the account endpoint's and the Connect endpoint's): any may verify an event.
    return _gateway(settings.stripe_secret_key, settings.webhook_secrets, settings.stripe_api_base,
                    settings.stripe_timeout_seconds, settings.stripe_max_network_retries)


@lru_cache(maxsize=4)
def _gateway(secret_key: str | None, webhook_secret: tuple[str, ...], api_base: str | None,
             timeout_seconds: float = 10.0, max_network_retries: int = 2) -> StripeGateway:
    if not secret_key:
        raise PaymentProviderError("STRIPE_SECRET_KEY is not set")
    return StripeGateway(secret_key=secret_key, webhook_secret=webhook_secret, api_base=api_base,
                         timeout_seconds=timeout_seconds, max_network_retries=max_network_retries)


def browser_language(state) -> str:
    """The browser's preferred language ("en-GB,en;q=0.9") from the connection: the viewer's locale."""
    try:
        return str(state.router.headers.accept_language or "")
    except AttributeError:
        return ""
