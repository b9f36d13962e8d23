"""A local, standalone emulator of the parts of the Stripe API a paid-booking app uses.

Point the official SDK at it::

    client = stripe.StripeClient("sk_test_123", base_addresses={"api": "http://127.0.0.1:12111"})

It imports nothing from the application and keeps its state in SQLite.
"""

from stripe_emulator.app import create_app
from stripe_emulator.core.config import EmulatorConfig
from stripe_emulator.emulator import Emulator

__all__ = ["Emulator", "EmulatorConfig", "create_app"]
