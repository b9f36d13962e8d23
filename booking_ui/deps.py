"""Process-wide collaborators for the adapters, built lazily from the settings."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from booking.core import engine_for, get_settings
from booking.payments import StripeGateway, gateway_from_settings


def engine() -> Engine:
    return engine_for(get_settings().database_url)


def gateway() -> StripeGateway:
    # Every webhook secret (the account endpoint's and the Connect endpoint's): any may verify an event.
    return gateway_from_settings(get_settings())


def browser_language(state) -> str:
    """The browser's preferred language ("en-GB,en;q=0.9") from the connection: the viewer's locale."""
    try:
        return str(state.router.headers.accept_language or "")
    except AttributeError:
        return ""
