"""Promotion codes: the customer-facing codes of a coupon. Create, retrieve, list (by code, coupon,
active), update (active, metadata), with promotion_code.created / promotion_code.updated.

Restrictions applied at redemption (`core/discounts.py`): `expires_at`, `max_redemptions`,
`restrictions[minimum_amount]` with its currency, `restrictions[first_time_transaction]` (by the
payer's email: the emulator keeps no customers). Two active codes never share a code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core import errors, ids
from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.defaults import blank
from stripe_emulator.core.discounts import CODE_RE
from stripe_emulator.core.listing import list_endpoint
from stripe_emulator.core.money import Currency
from stripe_emulator.core.objects import clean_metadata, merge_metadata
from stripe_emulator.core.spec import EXPAND, RETRIEVE, Boolean, Endpoint, Hash, Integer, Metadata, String

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

CREATE = Hash(
    active=Boolean(),
    code=String(max_length=500),
    expand=EXPAND,
    expires_at=Integer(),
    max_redemptions=Integer(minimum=1),
    metadata=Metadata(),
    promotion=Hash(required=True, coupon=String(), type=String(required=True, choices=("coupon",))),
    restrictions=Hash(
        first_time_transaction=Boolean(),
        minimum_amount=Integer(minimum=1),
        minimum_amount_currency=Currency(),
    ),
)
UPDATE = Hash(active=Boolean(), expand=EXPAND, metadata=Metadata())


def _code_taken(emu: Engine, ctx: RequestContext, code: str, except_id: str | None = None) -> bool:
    return any(promo["active"] and promo["id"] != except_id and promo["code"].lower() == code.lower()
               for promo in emu.store.all("promotion_code", ctx.account))


def create_promotion_code(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    promotion = args["promotion"]
    if not promotion.get("coupon"):
        raise errors.missing("promotion[coupon]")
    restrictions = args.get("restrictions") or {}
    if ("minimum_amount" in restrictions) != ("minimum_amount_currency" in restrictions):
        missing = "minimum_amount_currency" if "minimum_amount" in restrictions else "minimum_amount"
        raise errors.missing(f"restrictions[{missing}]")
    with emu.tx():
        now = emu.clock.now()
        coupon = emu.get("coupon", promotion["coupon"], param="promotion[coupon]", status=400,
                         account=ctx.account)
        code = args.get("code") or ids.random_token(8).upper()
        if not CODE_RE.match(code):
            raise errors.invalid("code", "Promotion codes may only contain letters, digits and dashes.")
        active = args.get("active") is not False
        if active and _code_taken(emu, ctx, code):
            raise errors.StripeError(f"An active promotion code with `code: {code}` already exists.",
                                     param="code", code="resource_already_exists")
        if args.get("expires_at") is not None:
            if args["expires_at"] <= now:
                raise errors.invalid("expires_at", "The expires_at timestamp must be in the future.")
            if coupon.get("redeem_by") is not None and args["expires_at"] > coupon["redeem_by"]:
                raise errors.invalid("expires_at", "The promotion code's expires_at can't be after the "
                                     "coupon's redeem_by.")
        promo = blank("promotion_code")
        promo.update(
            id=ids.new_id("promo"),
            active=active,
            code=code,
            created=now,
            expires_at=args.get("expires_at"),
            max_redemptions=args.get("max_redemptions"),
            metadata=clean_metadata(args.get("metadata")),
            promotion={"coupon": coupon["id"], "type": "coupon"},
            restrictions={
                "first_time_transaction": bool(restrictions.get("first_time_transaction")),
                "minimum_amount": restrictions.get("minimum_amount"),
                "minimum_amount_currency": (restrictions.get("minimum_amount_currency") or "").lower() or None,
            },
        )
        emu.store.put(promo, account=ctx.account)
        emu.emit("promotion_code.created", promo, ctx, promo["id"])
        return promo


def update_promotion_code(emu: Engine, ctx: RequestContext, args: dict[str, Any], promo_id: str) -> dict[str, Any]:
    with emu.tx():
        promo = emu.get("promotion_code", promo_id, account=ctx.account)
        previous: dict[str, Any] = {}
        if "active" in args and args["active"] != promo["active"]:
            if args["active"] and _code_taken(emu, ctx, promo["code"], except_id=promo_id):
                raise errors.StripeError(f"An active promotion code with `code: {promo['code']}` already exists.",
                                         param="active", code="resource_already_exists")
            previous["active"] = promo["active"]
            promo["active"] = args["active"]
        metadata = merge_metadata(promo["metadata"], args.get("metadata"))
        if metadata != promo["metadata"]:
            previous["metadata"] = promo["metadata"]
            promo["metadata"] = metadata
        if previous:
            emu.store.put(promo)
            emu.emit("promotion_code.updated", promo, ctx, promo_id, previous_attributes=previous)
        return promo


def _create(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    return create_promotion_code(emu, ctx, args)


def _retrieve(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.retrieve("promotion_code", id, ctx.account)


def _update(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return update_promotion_code(emu, ctx, args, id)


ENDPOINTS = [
    Endpoint("POST", "/v1/promotion_codes", CREATE, _create),
    list_endpoint(
        "/v1/promotion_codes",
        "promotion_code",
        {
            "active": ("active", Boolean()),
            "code": ("code", String()),
            "coupon": ("promotion.coupon", String()),
        },
    ),
    Endpoint("GET", "/v1/promotion_codes/{id}", RETRIEVE, _retrieve),
    Endpoint("POST", "/v1/promotion_codes/{id}", UPDATE, _update),
]
