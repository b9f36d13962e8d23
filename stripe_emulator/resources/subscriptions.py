"""Subscriptions (made by Checkout in `mode=subscription`, billed on the clock by `core/billing.py`):
retrieve, list, update (`cancel_at_period_end`, `metadata`, `description`) and cancel at once
(`DELETE`). Creating one directly (`POST /v1/subscriptions`) is not implemented: Checkout makes them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core import billing, errors
from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.listing import filtered, paginate
from stripe_emulator.core.objects import merge_metadata
from stripe_emulator.core.spec import (
    CREATED,
    EXPAND,
    RETRIEVE,
    Boolean,
    Endpoint,
    Hash,
    Metadata,
    String,
    list_spec,
)

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

FEEDBACK = ("customer_service", "low_quality", "missing_features", "other", "switched_service",
            "too_complex", "too_expensive", "unused")
UPDATE = Hash(
    cancel_at_period_end=Boolean(),
    cancellation_details=Hash(comment=String(max_length=500, unsettable=True),
                              feedback=String(choices=FEEDBACK, unsettable=True)),
    description=String(max_length=500, unsettable=True),
    expand=EXPAND,
    metadata=Metadata(),
)
CANCEL = Hash(
    cancellation_details=Hash(comment=String(max_length=500, unsettable=True),
                              feedback=String(choices=FEEDBACK, unsettable=True)),
    expand=EXPAND,
    invoice_now=Boolean(supported=(False,)),
    prorate=Boolean(supported=(False,)),
)
STATUSES = ("active", "all", "canceled", "ended", "incomplete", "incomplete_expired", "past_due",
            "paused", "trialing", "unpaid")


def _retrieve(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.retrieve("subscription", id, ctx.account)


def _update(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    with emu.tx():
        emu.tick_quietly()
        subscription = emu.get("subscription", id, account=ctx.account)
        if subscription["status"] == "canceled":
            raise errors.StripeError(
                "A canceled subscription can only update its cancellation_details and metadata.",
                param="cancel_at_period_end" if "cancel_at_period_end" in args else None,
            )
        before = {key: subscription[key] for key in ("metadata", "description")}
        if "metadata" in args:
            subscription["metadata"] = merge_metadata(subscription["metadata"], args["metadata"])
        if "description" in args:
            subscription["description"] = args["description"]
        emu.store.put(subscription)
        changed = {key: value for key, value in before.items() if subscription[key] != value}
        feedback = (args.get("cancellation_details") or {}).get("feedback")
        if "cancel_at_period_end" in args and args["cancel_at_period_end"] != subscription["cancel_at_period_end"]:
            return billing.set_cancel_at_period_end(emu, subscription, args["cancel_at_period_end"], ctx, feedback)
        if changed:
            emu.emit("customer.subscription.updated", subscription, ctx, id, previous_attributes=changed)
        return subscription


def _cancel(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    with emu.tx():
        emu.tick_quietly()
        subscription = emu.get("subscription", id, account=ctx.account)
        if subscription["status"] in ("canceled", "incomplete_expired"):
            raise errors.StripeError(
                f"A canceled subscription can only update its cancellation_details and metadata. "
                f"This subscription ({id}) is already canceled."
            )
        return billing.cancel_now(emu, subscription, ctx, args.get("cancellation_details"))


LIST_SPEC = list_spec(
    created=CREATED,
    customer=String(),
    price=String(),
    status=String(choices=STATUSES),
)


def _list(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    """Stripe lists subscriptions that have not ended by default; `status=all` lists every one."""
    status = args.get("status")
    with emu.tx():
        emu.tick_quietly()
        found = filtered(emu.store.all("subscription", ctx.account), args, {"customer": "customer"})
        if args.get("price"):
            found = [sub for sub in found
                     if any(item["price"]["id"] == args["price"] for item in sub["items"]["data"])]
        if status == "ended":
            found = [sub for sub in found if sub["status"] in ("canceled", "incomplete_expired")]
        elif status and status != "all":
            found = [sub for sub in found if sub["status"] == status]
        elif not status:
            found = [sub for sub in found if sub["status"] not in ("canceled", "incomplete_expired")]
        return paginate(found, args, "/v1/subscriptions", "subscription")


ENDPOINTS = [
    Endpoint("GET", "/v1/subscriptions", LIST_SPEC, _list),
    Endpoint("GET", "/v1/subscriptions/{id}", RETRIEVE, _retrieve),
    Endpoint("POST", "/v1/subscriptions/{id}", UPDATE, _update),
    Endpoint("DELETE", "/v1/subscriptions/{id}", CANCEL, _cancel),
]
