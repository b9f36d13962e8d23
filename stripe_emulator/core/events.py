"""Event objects. `Engine.emit` records them in the store and hands them to webhook delivery
(`webhooks.py`) once the transaction that made them commits."""

from __future__ import annotations

from typing import Any

from stripe_emulator.core.ids import new_id
from stripe_emulator.core.objects import build


def build_event(
    *,
    type: str,
    obj: dict[str, Any],
    created: int,
    api_version: str,
    request_id: str | None,
    idempotency_key: str | None,
    previous_attributes: dict[str, Any] | None = None,
    pending_webhooks: int = 0,
    account: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    built = build(
        "event",
        id=new_id("evt"),
        api_version=api_version,
        created=created,
        data=data,
        pending_webhooks=pending_webhooks,
        request={"id": request_id, "idempotency_key": idempotency_key},
        type=type,
    )
    if account:
        # Stripe sets `account` only on events of connected accounts (Connect webhooks).
        built = {"id": built["id"], "object": "event", "account": account, **built}
    return built
