"""Products and prices: create, update (active, metadata, ...), with created/updated events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator import errors, resources
from stripe_emulator.checkout import currency_param, unit_amount_param
from stripe_emulator.context import RequestContext
from stripe_emulator.params import Params, merge_metadata

if TYPE_CHECKING:
    from stripe_emulator.emulator import Emulator

PRODUCT_CREATE_PARAMS = frozenset(
    {"name", "active", "description", "id", "metadata", "images", "url", "unit_label",
     "statement_descriptor", "tax_code", "shippable", "type", "default_price_data",
     "marketing_features", "package_dimensions", "expand"}
)
PRODUCT_UPDATE_PARAMS = frozenset(
    {"name", "active", "description", "metadata", "images", "url", "unit_label",
     "statement_descriptor", "tax_code", "shippable", "default_price", "marketing_features",
     "package_dimensions", "expand"}
)
PRICE_CREATE_PARAMS = frozenset(
    {"currency", "product", "product_data", "unit_amount", "unit_amount_decimal", "active",
     "metadata", "nickname", "lookup_key", "transfer_lookup_key", "recurring", "tax_behavior",
     "billing_scheme", "expand"}
)
PRICE_UPDATE_PARAMS = frozenset(
    {"active", "metadata", "nickname", "lookup_key", "transfer_lookup_key", "tax_behavior", "expand"}
)
TAX_BEHAVIORS = ("exclusive", "inclusive", "unspecified")


def create_product(emu: Emulator, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    p = Params(params)
    p.reject_unknown(PRODUCT_CREATE_PARAMS)
    name = p.string("name", required=True, max_length=250)
    custom_id = p.string("id")
    with emu.tx():
        now = emu.clock.now()
        if custom_id and emu.store.find(custom_id):
            raise errors.StripeError(
                f"Product already exists: {custom_id}", param="id", code="resource_already_exists"
            )
        product = resources.product(
            id=custom_id or resources.new_id("prod"),
            active=p.boolean("active") is not False,
            created=now,
            updated=now,
            name=name,
            description=p.string("description", max_length=40000),
            images=p.string_array("images"),
            metadata={k: v for k, v in (p.metadata() or {}).items() if v != ""},
            shippable=p.boolean("shippable"),
            statement_descriptor=p.string("statement_descriptor", max_length=22),
            tax_code=p.string("tax_code"),
            unit_label=p.string("unit_label", max_length=12),
            url=p.url("url"),
        )
        emu.store.put(product)
        emu.emit("product.created", product, ctx, product["id"])
        if p.has("default_price_data"):
            data = p.sub("default_price_data")
            data.reject_unknown({"currency", "unit_amount", "unit_amount_decimal", "tax_behavior", "metadata"})
            price = resources.price(
                id=resources.new_id("price"),
                created=now,
                currency=currency_param(data),
                product=product["id"],
                unit_amount=unit_amount_param(data),
                tax_behavior=data.string("tax_behavior", choices=TAX_BEHAVIORS) or "unspecified",
            )
            emu.store.put(price)
            emu.emit("price.created", price, ctx, product["id"])
            product["default_price"] = price["id"]
            emu.store.put(product)
        return product


def update_product(emu: Emulator, product_id: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    p = Params(params)
    p.reject_unknown(PRODUCT_UPDATE_PARAMS)
    with emu.tx():
        product = emu.get("product", product_id)
        before = dict(product)
        if p.has("name"):
            product["name"] = p.string("name", required=True, max_length=250)
        if p.boolean("active") is not None:
            product["active"] = p.boolean("active")
        for key in ("description", "statement_descriptor", "tax_code", "unit_label"):
            if p.has(key):
                product[key] = p.string(key)
        if p.has("url"):
            product["url"] = p.url("url")
        if p.has("images"):
            product["images"] = p.string_array("images")
        if p.boolean("shippable") is not None:
            product["shippable"] = p.boolean("shippable")
        if p.has("default_price"):
            price_id = p.string("default_price")
            if price_id:
                price = emu.get("price", price_id, param="default_price", status=400)
                if price["product"] != product_id:
                    raise errors.invalid(
                        "default_price", "The default price must belong to this product."
                    )
            product["default_price"] = price_id
        product["metadata"] = merge_metadata(product.get("metadata") or {}, p.metadata())
        return _save_with_event(emu, product, before, "product.updated", ctx, updated=True)


def create_price(emu: Emulator, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    p = Params(params)
    p.reject_unknown(PRICE_CREATE_PARAMS)
    currency = currency_param(p)
    unit_amount = unit_amount_param(p)
    billing_scheme = p.string("billing_scheme", choices=("per_unit", "tiered")) or "per_unit"
    if billing_scheme != "per_unit":
        raise errors.invalid("billing_scheme", "The emulator only supports per_unit prices.")
    recurring = None
    if p.has("recurring"):
        rp = p.sub("recurring")
        rp.reject_unknown({"interval", "interval_count", "usage_type", "trial_period_days", "meter"})
        recurring = {
            "interval": rp.string("interval", required=True, choices=("day", "week", "month", "year")),
            "interval_count": rp.integer("interval_count", minimum=1) or 1,
            "meter": None,
            "trial_period_days": rp.integer("trial_period_days"),
            "usage_type": rp.string("usage_type", choices=("licensed", "metered")) or "licensed",
        }
    with emu.tx():
        now = emu.clock.now()
        if p.has("product") and p.has("product_data"):
            raise errors.invalid(
                "product", "You may only specify one of these parameters: product, product_data."
            )
        if p.has("product"):
            product_id = p.string("product", required=True)
            assert product_id is not None
            product = emu.get("product", product_id, param="product", status=400)
        elif p.has("product_data"):
            data = p.sub("product_data")
            data.reject_unknown({"name", "active", "id", "metadata", "statement_descriptor", "tax_code", "unit_label"})
            product = resources.product(
                id=data.string("id") or resources.new_id("prod"),
                active=data.boolean("active") is not False,
                created=now,
                updated=now,
                name=data.string("name", required=True, max_length=250),
                metadata={k: v for k, v in (data.metadata() or {}).items() if v != ""},
                statement_descriptor=data.string("statement_descriptor"),
                tax_code=data.string("tax_code"),
                unit_label=data.string("unit_label"),
            )
            emu.store.put(product)
            emu.emit("product.created", product, ctx, product["id"])
        else:
            raise errors.missing("product")
        price = resources.price(
            id=resources.new_id("price"),
            active=p.boolean("active") is not False,
            created=now,
            currency=currency,
            lookup_key=p.string("lookup_key", max_length=200),
            metadata={k: v for k, v in (p.metadata() or {}).items() if v != ""},
            nickname=p.string("nickname"),
            product=product["id"],
            recurring=recurring,
            tax_behavior=p.string("tax_behavior", choices=TAX_BEHAVIORS) or "unspecified",
            type="recurring" if recurring else "one_time",
            unit_amount=unit_amount,
        )
        emu.store.put(price)
        emu.emit("price.created", price, ctx, product["id"])
        return price


def update_price(emu: Emulator, price_id: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    p = Params(params)
    p.reject_unknown(PRICE_UPDATE_PARAMS)
    with emu.tx():
        price = emu.get("price", price_id)
        before = dict(price)
        if p.boolean("active") is not None:
            price["active"] = p.boolean("active")
        for key in ("nickname", "lookup_key"):
            if p.has(key):
                price[key] = p.string(key)
        if p.has("tax_behavior"):
            price["tax_behavior"] = p.string("tax_behavior", choices=TAX_BEHAVIORS)
        price["metadata"] = merge_metadata(price.get("metadata") or {}, p.metadata())
        return _save_with_event(emu, price, before, "price.updated", ctx, updated=False)


def _save_with_event(
    emu: Emulator,
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
