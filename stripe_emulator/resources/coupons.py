"""Coupons: create, retrieve, list, update (name, metadata), with coupon.created / coupon.updated.

A coupon takes `percent_off` (0 < p <= 100) or `amount_off` with its `currency` off a payment; in
Checkout's payment mode every `duration` applies once. `max_redemptions` and `redeem_by` end it
(`valid` turns false); redemptions are counted by `core/discounts.py` when a session completes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core import errors, ids
from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.defaults import blank
from stripe_emulator.core.discounts import CODE_RE, coupon_problem
from stripe_emulator.core.listing import list_endpoint
from stripe_emulator.core.money import Currency
from stripe_emulator.core.objects import clean_metadata, merge_metadata
from stripe_emulator.core.spec import EXPAND, RETRIEVE, Endpoint, Hash, Integer, Metadata, Number, String

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

CREATE = Hash(
    amount_off=Integer(minimum=1),
    currency=Currency(),
    duration=String(choices=("forever", "once", "repeating")),
    duration_in_months=Integer(minimum=1),
    expand=EXPAND,
    id=String(max_length=200),
    max_redemptions=Integer(minimum=1),
    metadata=Metadata(),
    name=String(max_length=40),
    percent_off=Number(minimum=0, maximum=100, exclusive_minimum=True),
    redeem_by=Integer(),
)
UPDATE = Hash(expand=EXPAND, metadata=Metadata(), name=String(max_length=40, unsettable=True))


def create_coupon(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    percent, amount = args.get("percent_off"), args.get("amount_off")
    if (percent is None) == (amount is None):
        raise errors.invalid("percent_off" if percent is not None else "amount_off",
                             "You must pass exactly one of `percent_off` or `amount_off`.")
    if amount is not None and not args.get("currency"):
        raise errors.missing("currency")
    if percent is not None and args.get("currency"):
        raise errors.invalid("currency", "You may only pass a currency with `amount_off`.")
    duration = args.get("duration") or "once"
    if duration == "repeating" and not args.get("duration_in_months"):
        raise errors.missing("duration_in_months")
    if duration != "repeating" and args.get("duration_in_months"):
        raise errors.invalid("duration_in_months",
                             "You may only pass `duration_in_months` with `duration=repeating`.")
    with emu.tx():
        now = emu.clock.now()
        if args.get("redeem_by") is not None and args["redeem_by"] <= now:
            raise errors.invalid("redeem_by", "Coupon redeem_by must be in the future.")
        coupon_id = args.get("id") or ids.random_token(8).upper()
        if not CODE_RE.match(coupon_id):
            raise errors.invalid("id", "Coupon ids may only contain letters, digits and dashes.")
        if emu.store.find(coupon_id) is not None:
            raise errors.StripeError("Coupon already exists.", param="id", code="resource_already_exists")
        coupon = blank("coupon")
        coupon.update(
            id=coupon_id,
            amount_off=amount,
            created=now,
            currency=args["currency"].lower() if amount is not None else None,
            duration=duration,
            duration_in_months=args.get("duration_in_months"),
            max_redemptions=args.get("max_redemptions"),
            metadata=clean_metadata(args.get("metadata")),
            name=args.get("name"),
            percent_off=percent,
            redeem_by=args.get("redeem_by"),
        )
        emu.store.put(coupon, account=ctx.account)
        emu.emit("coupon.created", coupon, ctx, coupon_id)
        return coupon


def update_coupon(emu: Engine, ctx: RequestContext, args: dict[str, Any], coupon_id: str) -> dict[str, Any]:
    with emu.tx():
        coupon = emu.get("coupon", coupon_id, account=ctx.account)
        previous: dict[str, Any] = {}
        if "name" in args and args["name"] != coupon["name"]:
            previous["name"] = coupon["name"]
            coupon["name"] = args["name"]
        metadata = merge_metadata(coupon["metadata"], args.get("metadata"))
        if metadata != coupon["metadata"]:
            previous["metadata"] = coupon["metadata"]
            coupon["metadata"] = metadata
        if previous:
            emu.store.put(coupon)
            emu.emit("coupon.updated", coupon, ctx, coupon_id, previous_attributes=previous)
        return coupon


def _retrieve(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    with emu.tx():
        coupon = emu.get("coupon", id, account=ctx.account)
        valid = coupon_problem(coupon, emu.clock.now()) is None
        if valid != coupon["valid"]:  # redeem_by passed on the emulator's clock
            coupon["valid"] = valid
            emu.store.put(coupon)
        return coupon


def _create(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    return create_coupon(emu, ctx, args)


def _update(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return update_coupon(emu, ctx, args, id)


ENDPOINTS = [
    Endpoint("POST", "/v1/coupons", CREATE, _create),
    list_endpoint("/v1/coupons", "coupon"),
    Endpoint("GET", "/v1/coupons/{id}", RETRIEVE, _retrieve),
    Endpoint("POST", "/v1/coupons/{id}", UPDATE, _update),
]
