"""What the integration modules share: the Stripe emulator, in-process on a free port, and a gateway to it.

A module that needs another gateway (tests/support/fake_gateway.py, tighter timeouts) defines its own
`gateway` fixture, which takes precedence over this one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from booking.payments.gateway import StripeGateway
from stripe_emulator.server import EmulatorServer
from tests.support.stripe_events import WEBHOOK_SECRET


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    """One emulator per module (starting one takes a while); `gateway` empties it before each test."""
    with EmulatorServer(webhook_url=None, webhook_secret=WEBHOOK_SECRET) as server:
        yield server


@pytest.fixture
def gateway(emulator: EmulatorServer) -> StripeGateway:
    emulator.emulator.reset()
    return StripeGateway(secret_key="sk_test_integration", webhook_secret=WEBHOOK_SECRET, api_base=emulator.url)
