"""SetupIntents: made by Checkout in setup mode (`core/setup_engine.py`) when it saves a card for
off-session payments. Retrieve, list (by `customer`, `payment_method`) and update `metadata` /
`description`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.listing import list_endpoint
from stripe_emulator.core.spec import EXPAND, RETRIEVE, Endpoint, Hash, Metadata, String

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

UPDATE = Hash(description=String(max_length=1000, unsettable=True), expand=EXPAND, metadata=Metadata())


def _retrieve(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.retrieve("setup_intent", id, ctx.account)


def _update(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.update_fields("setup_intent", id, args, ctx)


ENDPOINTS = [
    list_endpoint(
        "/v1/setup_intents",
        "setup_intent",
        {"customer": ("customer", String()), "payment_method": ("payment_method", String())},
    ),
    Endpoint("GET", "/v1/setup_intents/{id}", RETRIEVE, _retrieve),
    Endpoint("POST", "/v1/setup_intents/{id}", UPDATE, _update),
]
