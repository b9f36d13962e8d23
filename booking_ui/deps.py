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
