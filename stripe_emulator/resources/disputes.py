"""Disputes: list, retrieve, update with evidence (staged or submitted) and close (accept).

What opens a dispute, and how the clock decides it, is in `core/disputes.py`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core import disputes
from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.listing import list_endpoint
from stripe_emulator.core.spec import EXPAND, RETRIEVE, Boolean, Endpoint, Hash, Metadata, String

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

# The text evidence fields (Stripe's names and limits). File evidence (receipt, customer_communication,
# ...) needs the Files API, which the emulator does not have: those parameters are refused as unknown.
_TEXT = 20000
EVIDENCE = Hash(
    access_activity_log=String(max_length=_TEXT, unsettable=True),
    billing_address=String(unsettable=True),
    cancellation_policy_disclosure=String(max_length=_TEXT, unsettable=True),
    cancellation_rebuttal=String(max_length=_TEXT, unsettable=True),
    customer_email_address=String(unsettable=True),
    customer_name=String(unsettable=True),
    customer_purchase_ip=String(unsettable=True),
    duplicate_charge_explanation=String(max_length=_TEXT, unsettable=True),
    duplicate_charge_id=String(unsettable=True),
    product_description=String(max_length=_TEXT, unsettable=True),
    refund_policy_disclosure=String(max_length=_TEXT, unsettable=True),
    refund_refusal_explanation=String(max_length=_TEXT, unsettable=True),
    service_date=String(unsettable=True),
    shipping_address=String(unsettable=True),
    shipping_carrier=String(unsettable=True),
    shipping_date=String(unsettable=True),
    shipping_tracking_number=String(unsettable=True),
    uncategorized_text=String(max_length=_TEXT, unsettable=True),
)
UPDATE = Hash(evidence=EVIDENCE, expand=EXPAND, metadata=Metadata(), submit=Boolean())
CLOSE = Hash(expand=EXPAND)


def _retrieve(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.retrieve("dispute", id, ctx.account)


def _update(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return disputes.update(emu, ctx, id, args)


def _close(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return disputes.close(emu, ctx, id)


ENDPOINTS = [
    list_endpoint(
        "/v1/disputes",
        "dispute",
        {"charge": ("charge", String()), "payment_intent": ("payment_intent", String())},
    ),
    Endpoint("GET", "/v1/disputes/{id}", RETRIEVE, _retrieve),
    Endpoint("POST", "/v1/disputes/{id}", UPDATE, _update),
    Endpoint("POST", "/v1/disputes/{id}/close", CLOSE, _close),
]
