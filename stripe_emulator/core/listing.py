"""Stripe list responses: limit / starting_after / ending_before pagination, `created` filters,
and the generic "list objects of one type with equality filters" endpoint."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stripe_emulator.core import errors
from stripe_emulator.core.engine import KINDS
from stripe_emulator.core.objects import list_object
from stripe_emulator.core.spec import CREATED, Endpoint, Param, list_spec

if TYPE_CHECKING:
    from stripe_emulator.core.context import RequestContext
    from stripe_emulator.core.engine import Engine


def paginate(items: list[dict[str, Any]], args: dict[str, Any], url: str, kind: str) -> dict[str, Any]:
    """`items` are newest first; returns Stripe's list object for the requested page."""
    limit = args.get("limit") or 10
    starting_after = args.get("starting_after")
    ending_before = args.get("ending_before")
    if starting_after and ending_before:
        raise errors.StripeError(
            "You may only specify one of these parameters: ending_before, starting_after.",
            param="ending_before",
            code="parameters_exclusive",
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


def range_filter(value: Any) -> Callable[[int | None], bool]:
    """`created=123` or `created[gte]=..&created[lt]=..` (already parsed) -> predicate."""
    if value is None:
        return lambda _: True
    if isinstance(value, int):
        return lambda actual: actual == value
    bounds = value

    def matches(actual: int | None) -> bool:
        if actual is None:
            return False
        return (
            ("gt" not in bounds or actual > bounds["gt"])
            and ("gte" not in bounds or actual >= bounds["gte"])
            and ("lt" not in bounds or actual < bounds["lt"])
            and ("lte" not in bounds or actual <= bounds["lte"])
        )

    return matches


def dig(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def matches(actual: Any, wanted: Any) -> bool:
    if isinstance(wanted, list):
        return any(matches(actual, item) for item in wanted)
    if isinstance(actual, bool):
        return str(actual).lower() == str(wanted).lower()
    if isinstance(actual, dict) and "id" in actual:
        actual = actual["id"]
    return actual is not None and str(actual) == str(wanted)


def filtered(
    items: list[dict[str, Any]], args: dict[str, Any], filters: dict[str, str]
) -> list[dict[str, Any]]:
    """Keep items whose field (dotted path) equals each filter given; nested hashes too."""
    wanted: dict[str, Any] = {}
    for name, path in filters.items():
        value = args.get(name)
        if isinstance(value, dict):
            for sub_name, sub_value in value.items():
                wanted[f"{path}.{sub_name}"] = sub_value
        elif value is not None:
            wanted[path] = value
    created_ok = range_filter(args.get("created"))
    return [
        obj
        for obj in items
        if created_ok(obj.get("created"))
        and all(matches(dig(obj, path), value) for path, value in wanted.items())
    ]


def list_objects(
    emu: Engine,
    object_type: str,
    args: dict[str, Any],
    url: str,
    filters: dict[str, str] | None = None,
    account: Any = None,
) -> dict[str, Any]:
    """List one account's objects with equality filters: {param name: dotted field path}."""
    with emu.tx():
        emu.tick_quietly()
        items = filtered(emu.store.all(object_type, account), args, filters or {})
        return paginate(items, args, url, KINDS.get(object_type, object_type))


def list_endpoint(
    path: str,
    object_type: str,
    filters: dict[str, tuple[str, Param]] | None = None,
    *,
    created: bool = True,
    platform_only: bool = False,
) -> Endpoint:
    """GET list of one object type; `filters`: param -> (dotted field path, its Param)."""
    filters = filters or {}
    params: dict[str, Param] = {name: param for name, (_, param) in filters.items()}
    if created:
        params["created"] = CREATED
    paths = {name: field for name, (field, _) in filters.items()}

    def handler(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
        return list_objects(emu, object_type, args, path, paths, ctx.account)

    return Endpoint("GET", path, list_spec(**params), handler, platform_only=platform_only)
