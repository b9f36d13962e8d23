"""Charges (one per payment attempt, plus the `py_...` destination payments a connected account
receives): retrieve, list, update, and each charge's refunds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.listing import list_endpoint, list_objects
from stripe_emulator.core.spec import EXPAND, RETRIEVE, Email, Endpoint, Hash, Metadata, String, list_spec

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

UPDATE = Hash(
    description=String(max_length=1000, unsettable=True),
    expand=EXPAND,
    metadata=Metadata(),
    receipt_email=Email(),
)


def _retrieve(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.retrieve("charge", id, ctx.account)


def _update(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.update_fields("charge", id, args, ctx)


def _refunds(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    with emu.tx():
        emu.get("charge", id, account=ctx.account)
        return list_objects(
            emu, "refund", {**args, "charge": id}, f"/v1/charges/{id}/refunds", {"charge": "charge"}, ctx.account
        )


ENDPOINTS = [
    list_endpoint(
        "/v1/charges",
        "charge",
        {
            "customer": ("customer", String()),
            "payment_intent": ("payment_intent", String()),
            "transfer_group": ("transfer_group", String()),
        },
    ),
    Endpoint("GET", "/v1/charges/{id}", RETRIEVE, _retrieve),
    Endpoint("POST", "/v1/charges/{id}", UPDATE, _update),
    Endpoint("GET", "/v1/charges/{id}/refunds", list_spec(), _refunds),
]
