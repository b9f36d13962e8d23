"""Hands the Stripe emulator's events to our webhook, in the order they were made (or in any order a test
chooses), each once unless delivered again on purpose: for integration tests of the webhook handlers."""

from __future__ import annotations

import json
from typing import Any

import httpx

from booking.events.webhooks import handle_webhook
from tests.support import stripe_events as se


class Deliveries:
    def __init__(self, engine: Any, gateway: Any, emulator: Any) -> None:
        self.engine, self.gateway, self.emulator = engine, gateway, emulator
        self.done = {event["id"] for event in emulator.emulator.snapshot()["events"]}
        self.delivered: list[dict[str, Any]] = []

    def new_events(self) -> list[dict[str, Any]]:
        events = list(reversed(self.emulator.emulator.snapshot()["events"]))  # the order they were made in
        fresh = [{k: v for k, v in e.items() if k != "delivery_status"} for e in events if e["id"] not in self.done]
        self.done.update(e["id"] for e in fresh)
        return fresh

    def deliver(self, events: list[dict[str, Any]]) -> list[str]:
        outcomes = []
        for event in events:
            payload = json.dumps(event).encode()
            result = handle_webhook(engine=self.engine, gateway=self.gateway, payload=payload,
                                    signature=se.sign(payload))
            assert result.status_code == 200, (event["type"], result.body)
            self.delivered.append(event)
            outcomes.append(str(result.body.get("outcome", "")))
        return outcomes

    def flush(self) -> list[str]:
        return self.deliver(self.new_events())


def control(emulator: Any, path: str, **body: Any) -> dict[str, Any]:
    response = httpx.post(f"{emulator.url}/_emulator/{path}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()
