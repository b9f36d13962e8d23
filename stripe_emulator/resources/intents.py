"""PaymentIntents (created by Checkout at the first payment attempt) and PaymentMethods:
retrieve, list and the few fields an integration updates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.listing import list_endpoint
from stripe_emulator.core.spec import EXPAND, RETRIEVE, Email, Endpoint, Hash, Metadata, String

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

UPDATE = Hash(
    description=String(max_length=1000, unsettable=True),
    expand=EXPAND,
    metadata=Metadata(),
    receipt_email=Email(),
)


def _retrieve_intent(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.retrieve("payment_intent", id, ctx.account)


def _update_intent(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.update_fields("payment_intent", id, args, ctx)


def _retrieve_method(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.retrieve("payment_method", id, ctx.account)


ENDPOINTS = [
    list_endpoint("/v1/payment_intents", "payment_intent", {"customer": ("customer", String())}),
    Endpoint("GET", "/v1/payment_intents/{id}", RETRIEVE, _retrieve_intent),
    Endpoint("POST", "/v1/payment_intents/{id}", UPDATE, _update_intent),
    Endpoint("GET", "/v1/payment_methods/{id}", RETRIEVE, _retrieve_method),
]
