"""Fixtures for the emulator suite: an emulator on a free port, a webhook receiver, clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from stripe_emulator.testing import EmulatorServer
from tests.emulator.helpers import WEBHOOK_SECRET, WebhookReceiver

FAST_RETRIES = (0.05, 0.05, 0.05)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver(WEBHOOK_SECRET).start()
    yield hook
    hook.stop()


@pytest.fixture
def emulator(receiver: WebhookReceiver) -> Iterator[EmulatorServer]:
    """Emulator in a background thread: in-memory state, test mode, webhooks to `receiver`."""
    with EmulatorServer(
        webhook_url=receiver.url,
        webhook_secret=WEBHOOK_SECRET,
        retry_schedule=FAST_RETRIES,
        webhook_timeout=2.0,
    ) as server:
        yield server


@pytest.fixture
def client(emulator: EmulatorServer) -> stripe.StripeClient:
    return emulator.client()


@pytest.fixture
def http(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    """Raw HTTP access (control API, hosted page, wire-format checks)."""
    with httpx.Client(base_url=emulator.url, timeout=10) as raw:
        yield raw


@pytest.fixture
def make_session(client: stripe.StripeClient, receiver: WebhookReceiver) -> Any:
    """Create a checkout session like the booking app does; keyword args override params."""

    def make(**overrides: Any) -> Any:
        params: dict[str, Any] = {
            "mode": "payment",
            "success_url": receiver.base_url + "/success?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": receiver.base_url + "/cancel",
            "client_reference_id": "booking-42",
            "customer_email": "guest@example.com",
            "metadata": {"booking_id": "42"},
            "payment_intent_data": {"metadata": {"booking_id": "42"}},
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": "gbp",
                        "unit_amount": 5000,
                        "product_data": {"name": "Sea view room", "description": "2 nights"},
                    },
                }
            ],
        }
        params.update(overrides)
        return client.v1.checkout.sessions.create(params=params)

    return make

