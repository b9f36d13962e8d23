"""Stripe list responses: limit / starting_after / ending_before pagination and `created` filters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stripe_emulator import errors
from stripe_emulator.params import Params
from stripe_emulator.resources import list_object

PAGINATION_PARAMS = frozenset({"limit", "starting_after", "ending_before", "expand"})


def paginate(items: list[dict[str, Any]], p: Params, url: str, kind: str) -> dict[str, Any]:
    """`items` are newest first; returns Stripe's list object for the requested page."""
    limit = p.integer("limit", minimum=1, maximum=100) or 10
    starting_after = p.string("starting_after")
    ending_before = p.string("ending_before")
    if starting_after and ending_before:
        raise errors.StripeError(
            "You may only specify one of these parameters: ending_before, starting_after.",
            param="ending_before",
        )
    ids = [item["id"] for item in items]
    if starting_after:
        if starting_after not in ids:
            raise errors.no_such(kind, starting_after, param="starting_after", status=400)
        window = items[ids.index(starting_after) + 1 :]
        return list_object(window[:limit], url, len(window) > limit)
    if ending_before:
        if ending_before not in ids:
            raise errors.no_such(kind, ending_before, param="ending_before", status=400)
        window = items[: ids.index(ending_before)]
        return list_object(window[-limit:], url, len(window) > limit)
    return list_object(items[:limit], url, len(items) > limit)


def created_filter(p: Params, key: str = "created") -> Callable[[int], bool]:
    """`created=123` or `created[gte]=..&created[lt]=..` -> predicate on a timestamp."""
    raw = p.raw(key)
    if raw is None or raw == "":
        return lambda _: True
    if isinstance(raw, str):
        exact = p.integer(key)
        return lambda value: value == exact
    sub = p.sub(key)
    sub.reject_unknown({"gt", "gte", "lt", "lte"})
    bounds = {op: sub.integer(op) for op in ("gt", "gte", "lt", "lte")}

    def matches(value: int) -> bool:
        return (
            (bounds["gt"] is None or value > bounds["gt"])
            and (bounds["gte"] is None or value >= bounds["gte"])
            and (bounds["lt"] is None or value < bounds["lt"])
            and (bounds["lte"] is None or value <= bounds["lte"])
        )

    return matches
