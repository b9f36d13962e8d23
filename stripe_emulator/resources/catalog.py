"""Products and prices: create, update (active, metadata, ...), with created/updated events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core import errors, ids, objects
from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.listing import list_endpoint
from stripe_emulator.core.money import (
    Currency,
    CurrencyOptions,
    check_three_decimal,
    save_currency_options,
    unit_amount,
)
from stripe_emulator.core.objects import clean_metadata, merge_metadata
from stripe_emulator.core.spec import (
    EXPAND,
    RETRIEVE,
    Boolean,
    Endpoint,
    Hash,
    Integer,
    List,
    Metadata,
    String,
    Url,
)

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

TAX_BEHAVIORS = ("exclusive", "inclusive", "unspecified")

TAX_DETAILS = Hash(tax_code=String(unsettable=True))
MARKETING_FEATURES = List(Hash(name=String(required=True, max_length=80)), max_items=15)
DEFAULT_PRICE_DATA = Hash(
    currency=Currency(required=True),
    metadata=Metadata(),
    tax_behavior=String(choices=TAX_BEHAVIORS),
    unit_amount=Integer(minimum=0, maximum=99_999_999),
    unit_amount_decimal=String(),
)
PRODUCT_CREATE = Hash(
    active=Boolean(),
    default_price_data=DEFAULT_PRICE_DATA,
    description=String(max_length=40000),
    expand=EXPAND,
    id=String(),
    images=List(Url(), max_items=8),
    marketing_features=MARKETING_FEATURES,
    metadata=Metadata(),
    name=String(required=True, max_length=250),
    shippable=Boolean(),
    statement_descriptor=String(max_length=22),
    tax_code=String(),
    tax_details=TAX_DETAILS,
    type=String(choices=("good", "service")),
    unit_label=String(max_length=12),
    url=Url(),
)
PRODUCT_UPDATE = Hash(
    active=Boolean(),
    default_price=String(unsettable=True),
    description=String(max_length=40000, unsettable=True),
    expand=EXPAND,
    images=List(Url(), max_items=8, unsettable=True),
    marketing_features=List(Hash(name=String(required=True, max_length=80)), unsettable=True),
    metadata=Metadata(),
    name=String(max_length=250),
    shippable=Boolean(),
    statement_descriptor=String(max_length=22, unsettable=True),
    tax_code=String(unsettable=True),
    tax_details=Hash(tax_code=String(unsettable=True), unsettable=True),
    unit_label=String(max_length=12, unsettable=True),
    url=Url(),
)
RECURRING = Hash(
    interval=String(required=True, choices=("day", "month", "week", "year")),
    interval_count=Integer(minimum=1),
    usage_type=String(choices=("licensed", "metered"), supported=("licensed",)),
)
PRICE_PRODUCT_DATA = Hash(
    active=Boolean(),
    id=String(),
    metadata=Metadata(),
    name=String(required=True, max_length=250),
    statement_descriptor=String(max_length=22),
    tax_code=String(),
    unit_label=String(max_length=12),
)
PRICE_CREATE = Hash(
    active=Boolean(),
    billing_scheme=String(choices=("per_unit", "tiered"), supported=("per_unit",)),
    currency=Currency(required=True),
    currency_options=CurrencyOptions(),
    expand=EXPAND,
    lookup_key=String(max_length=200),
    metadata=Metadata(),
    nickname=String(),
    product=String(),
    product_data=PRICE_PRODUCT_DATA,
    recurring=RECURRING,
    tax_behavior=String(choices=TAX_BEHAVIORS),
    transfer_lookup_key=Boolean(),
    unit_amount=Integer(minimum=0, maximum=99_999_999),
    unit_amount_decimal=String(),
)
PRICE_UPDATE = Hash(
    active=Boolean(),
    expand=EXPAND,
    lookup_key=String(max_length=200, unsettable=True),
    metadata=Metadata(),
    nickname=String(unsettable=True),
    tax_behavior=String(choices=TAX_BEHAVIORS),
    transfer_lookup_key=Boolean(),
)


def _tax_details(data: dict[str, Any] | None) -> dict[str, Any] | None:
    if data is None:
        return None
    return {"performance_location": None, "tax_code": data.get("tax_code")}


def create_product(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    custom_id = args.get("id")
    with emu.tx():
        now = emu.clock.now()
        if custom_id and emu.store.find(custom_id):
            raise errors.StripeError(
                f"Product already exists: {custom_id}", param="id", code="resource_already_exists"
            )
        product = objects.product(
            id=custom_id or ids.new_id("prod"),
            active=args.get("active") is not False,
            created=now,
            updated=now,
            name=args["name"],
            description=args.get("description"),
            images=args.get("images") or [],
            marketing_features=args.get("marketing_features") or [],
            metadata=clean_metadata(args.get("metadata")),
            shippable=args.get("shippable"),
            statement_descriptor=args.get("statement_descriptor"),
            tax_code=args.get("tax_code"),
            tax_details=_tax_details(args.get("tax_details")),
            type=args.get("type") or "service",
            unit_label=args.get("unit_label"),
            url=args.get("url"),
        )
        emu.store.put(product, account=ctx.account)
        emu.emit("product.created", product, ctx, product["id"])
        if "default_price_data" in args:
            data = args["default_price_data"]
            price = objects.price(
                id=ids.new_id("price"),
                created=now,
                currency=data["currency"].lower(),
                metadata=clean_metadata(data.get("metadata")),
                product=product["id"],
                unit_amount=unit_amount(data, "default_price_data"),
                tax_behavior=data.get("tax_behavior") or "unspecified",
            )
            emu.store.put(price, account=ctx.account)
            emu.emit("price.created", price, ctx, product["id"])
            product["default_price"] = price["id"]
            emu.store.put(product)
        return product


def update_product(emu: Engine, ctx: RequestContext, args: dict[str, Any], product_id: str) -> dict[str, Any]:
    with emu.tx():
        product = emu.get("product", product_id, account=ctx.account)
        before = dict(product)
        for key in ("name", "active", "description", "statement_descriptor", "tax_code",
                    "unit_label", "url", "shippable"):
            if key in args:
                product[key] = args[key]
        for key in ("images", "marketing_features"):
            if key in args:
                product[key] = args[key] or []
        if "tax_details" in args:
            product["tax_details"] = _tax_details(args["tax_details"])
        if "default_price" in args:
            price_id = args["default_price"]
            if price_id:
                price = emu.get("price", price_id, param="default_price", status=400, account=ctx.account)
                if price["product"] != product_id:
                    raise errors.invalid(
                        "default_price", "The default price must belong to this product."
                    )
            product["default_price"] = price_id
        product["metadata"] = merge_metadata(product.get("metadata") or {}, args.get("metadata"))
        return _save_with_event(emu, product, before, "product.updated", ctx, updated=True)


def _claim_lookup_key(
    emu: Engine, ctx: RequestContext, lookup_key: str, transfer: bool, price_id: str
) -> None:
    """Lookup keys are unique per account; `transfer_lookup_key=true` moves one."""
    for other in emu.store.where("price", "lookup_key", lookup_key, ctx.account):
        if other["id"] == price_id:
            continue
        if not transfer:
            raise errors.StripeError(
                f"A price ({other['id']}) already uses that lookup key.", param="lookup_key"
            )
        previous = {"lookup_key": lookup_key}
        other["lookup_key"] = None
        emu.store.put(other)
        emu.emit("price.updated", other, ctx, other["product"], previous_attributes=previous)


def create_price(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    amount = unit_amount(args, "")
    check_three_decimal(amount, args["currency"], "unit_amount")
    options = dict(args.get("currency_options") or {})
    own = args["currency"].lower()
    if own in options:
        if options[own]["unit_amount"] != amount:
            raise errors.invalid(
                f"currency_options[{own}][unit_amount]",
                "The currency option for the price's own currency must have the price's unit_amount.",
            )
        del options[own]
    recurring = None
    if "recurring" in args:
        rp = args["recurring"]
        recurring = {
            "interval": rp["interval"],
            "interval_count": rp.get("interval_count") or 1,
            "meter": None,
            "trial_period_days": None,
            "usage_type": rp.get("usage_type") or "licensed",
        }
    with emu.tx():
        now = emu.clock.now()
        if "product" in args and "product_data" in args:
            raise errors.StripeError(
                "You may only specify one of these parameters: product, product_data.",
                param="product",
                code="parameters_exclusive",
            )
        if "product" in args:
            product = emu.get("product", args["product"], param="product", status=400, account=ctx.account)
        elif "product_data" in args:
            data = args["product_data"]
            product = objects.product(
                id=data.get("id") or ids.new_id("prod"),
                active=data.get("active") is not False,
                created=now,
                updated=now,
                name=data["name"],
                metadata=clean_metadata(data.get("metadata")),
                statement_descriptor=data.get("statement_descriptor"),
                tax_code=data.get("tax_code"),
                unit_label=data.get("unit_label"),
            )
            emu.store.put(product, account=ctx.account)
            emu.emit("product.created", product, ctx, product["id"])
        else:
            raise errors.missing("product")
        price_id = ids.new_id("price")
        if args.get("lookup_key"):
            _claim_lookup_key(emu, ctx, args["lookup_key"], bool(args.get("transfer_lookup_key")), price_id)
        price = objects.price(
            id=price_id,
            active=args.get("active") is not False,
            created=now,
            currency=args["currency"].lower(),
            lookup_key=args.get("lookup_key"),
            metadata=clean_metadata(args.get("metadata")),
            nickname=args.get("nickname"),
            product=product["id"],
            recurring=recurring,
            tax_behavior=args.get("tax_behavior") or "unspecified",
            type="recurring" if recurring else "one_time",
            unit_amount=amount,
        )
        emu.store.put(price, account=ctx.account)
        save_currency_options(emu.store, price, options)
        emu.emit("price.created", price, ctx, product["id"])
        return price


def update_price(emu: Engine, ctx: RequestContext, args: dict[str, Any], price_id: str) -> dict[str, Any]:
    with emu.tx():
        price = emu.get("price", price_id, account=ctx.account)
        before = dict(price)
        for key in ("active", "nickname", "tax_behavior"):
            if key in args:
                price[key] = args[key]
        if "lookup_key" in args:
            if args["lookup_key"]:
                _claim_lookup_key(
                    emu, ctx, args["lookup_key"], bool(args.get("transfer_lookup_key")), price_id
                )
            price["lookup_key"] = args["lookup_key"]
        price["metadata"] = merge_metadata(price.get("metadata") or {}, args.get("metadata"))
        return _save_with_event(emu, price, before, "price.updated", ctx, updated=False)


def _save_with_event(
    emu: Engine,
    obj: dict[str, Any],
    before: dict[str, Any],
    event_type: str,
    ctx: RequestContext,
    *,
    updated: bool,
) -> dict[str, Any]:
    previous = {key: before[key] for key in obj if key != "updated" and obj[key] != before.get(key)}
    if previous:
        if updated:
            previous["updated"] = before["updated"]
            obj["updated"] = emu.clock.now()
        emu.store.put(obj)
        key = obj["product"] if obj["object"] == "price" else obj["id"]
        emu.emit(event_type, obj, ctx, key, previous_attributes=previous)
    return obj


# --- endpoints ---------------------------------------------------------------------------------


def _create_product(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    return create_product(emu, ctx, args)


def _update_product(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return update_product(emu, ctx, args, id)


def _create_price(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    return create_price(emu, ctx, args)


def _update_price(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return update_price(emu, ctx, args, id)


def _retriever(object_type: str) -> Any:
    def retrieve(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
        return emu.retrieve(object_type, id, ctx.account)

    return retrieve


ENDPOINTS = [
    Endpoint("POST", "/v1/products", PRODUCT_CREATE, _create_product),
    list_endpoint(
        "/v1/products",
        "product",
        {
            "active": ("active", Boolean()),
            "ids": ("id", List(String())),
            "shippable": ("shippable", Boolean()),
            "type": ("type", String(choices=("good", "service"))),
            "url": ("url", String()),
        },
    ),
    Endpoint("GET", "/v1/products/{id}", RETRIEVE, _retriever("product")),
    Endpoint("POST", "/v1/products/{id}", PRODUCT_UPDATE, _update_product),
    Endpoint("POST", "/v1/prices", PRICE_CREATE, _create_price),
    list_endpoint(
        "/v1/prices",
        "price",
        {
            "active": ("active", Boolean()),
            "currency": ("currency", String()),
            "lookup_keys": ("lookup_key", List(String(), max_items=10)),
            "product": ("product", String()),
            "type": ("type", String(choices=("one_time", "recurring"))),
        },
    ),
    Endpoint("GET", "/v1/prices/{id}", RETRIEVE, _retriever("price")),
    Endpoint("POST", "/v1/prices/{id}", PRICE_UPDATE, _update_price),
]
