"""Events: retrieve and list (`type` with `*` wildcards, `types[]`, `created`, `delivery_success`).

Each account sees its own events: the platform's, or with `Stripe-Account` a connected
account's (those carry `account`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core import errors
from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.listing import paginate, range_filter
from stripe_emulator.core.spec import CREATED, RETRIEVE, Boolean, Endpoint, List, String, list_spec

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

LIST = list_spec(
    created=CREATED,
    delivery_success=Boolean(),
    type=String(),
    types=List(String(), max_items=20),
)


def _type_matches(event_type: str, pattern: str) -> bool:
    if pattern.endswith("*"):
        return event_type.startswith(pattern[:-1])
    return event_type == pattern


def list_events(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    event_type = args.get("type")
    types = args.get("types") or []
    if event_type and types:
        raise errors.StripeError(
            "You may only specify one of these parameters: type, types.",
            param="types",
            code="parameters_exclusive",
        )
    delivery_success = args.get("delivery_success")
    created_ok = range_filter(args.get("created"))
    with emu.tx():
        emu.tick_quietly()
        statuses = emu.store.delivery_statuses()
        items = []
        for event in emu.store.all("event", ctx.account):
            if not created_ok(event["created"]):
                continue
            if event_type and not _type_matches(event["type"], event_type):
                continue
            if types and not any(_type_matches(event["type"], t) for t in types):
                continue
            if delivery_success is not None:
                delivered = statuses.get(event["id"], "none") in ("succeeded", "none")
                if delivered != delivery_success:
                    continue
            items.append(event)
        return paginate(items, args, "/v1/events", "event")


def _retrieve(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.retrieve("event", id, ctx.account)


ENDPOINTS = [
    Endpoint("GET", "/v1/events", LIST, list_events),
    Endpoint("GET", "/v1/events/{id}", RETRIEVE, _retrieve),
]
