"""Customers, shared by the resources that use them: the Customer resource itself, Checkout
(`customer`, setup mode), SetupIntents, PaymentMethods (attach / detach / list for a customer)
and off-session PaymentIntents.

A deleted customer leaves a tombstone (`customer_deleted:<id>` in private data): retrieving
it answers Stripe's `{"id", "object": "customer", "deleted": true}`, and every write that
names it is refused with `resource_missing`, as Stripe does.
"""

from __future__ import annotations

import copy
import secrets
from typing import TYPE_CHECKING, Any

from stripe_emulator.core import errors, ids, objects
from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.objects import clean_metadata, merge_metadata

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

# Fields a create or update copies as given (None unsets the updatable ones).
PLAIN_FIELDS = ("description", "email", "name", "phone")


def _tombstone_key(customer_id: str) -> str:
    return f"customer_deleted:{customer_id}"


def get_live(
    emu: Engine, customer_id: str | None, account: Any, *, param: str = "id", status: int = 404
) -> dict[str, Any]:
    """A customer that exists and is not deleted, seen from `account`; else `resource_missing`."""
    return emu.get("customer", customer_id, param=param, status=status, account=account)


def _address(data: dict[str, Any] | None) -> dict[str, Any] | None:
    if data is None:
        return None
    return {key: data.get(key) for key in ("city", "country", "line1", "line2", "postal_code", "state")}


def _invoice_settings(current: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    settings = copy.deepcopy(current)
    for key in ("custom_fields", "footer"):
        if key in given:
            settings[key] = given[key]
    if "default_payment_method" in given:
        settings["default_payment_method"] = given["default_payment_method"]
    return settings


def require_attached(
    emu: Engine, customer_id: str, payment_method_id: str, account: Any, param: str
) -> dict[str, Any]:
    """The PaymentMethod, which must be attached to this customer (Stripe's rule for a default
    payment method and for off-session payments)."""
    pm = emu.get("payment_method", payment_method_id, param=param, status=400, account=account)
    if pm.get("customer") != customer_id:
        raise errors.StripeError(
            f"The customer does not have a payment method with the ID {payment_method_id}. "
            "The payment method must be attached to the customer.",
            param=param,
            code="resource_missing",
        )
    return pm


def attach(
    emu: Engine, pm: dict[str, Any], customer_id: str, ctx: RequestContext
) -> dict[str, Any]:
    """Attach a PaymentMethod to a customer (`payment_method.attached`). A PaymentMethod belongs
    to at most one customer."""
    if pm.get("customer") == customer_id:
        return pm
    if pm.get("customer"):
        raise errors.StripeError(
            "The payment method you provided has already been attached to a customer.",
            param="payment_method",
            code="payment_method_unexpected_state",
        )
    pm["customer"] = customer_id
    emu.store.put(pm)
    emu.emit("payment_method.attached", pm, ctx, customer_id)
    return pm


def detach(emu: Engine, pm: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    """Detach a PaymentMethod; a customer whose default it was loses its default."""
    customer_id = pm.get("customer")
    if not customer_id:
        raise errors.StripeError(
            "The payment method you provided is not attached to a customer so detachment is "
            "impossible.",
            param="payment_method",
            code="payment_method_unexpected_state",
        )
    pm["customer"] = None
    emu.store.put(pm)
    customer = emu.store.get("customer", customer_id)
    if customer is not None and customer["invoice_settings"]["default_payment_method"] == pm["id"]:
        before = copy.deepcopy(customer["invoice_settings"])
        customer["invoice_settings"]["default_payment_method"] = None
        emu.store.put(customer)
        emu.emit("customer.updated", customer, ctx, customer_id,
                 previous_attributes={"invoice_settings": before})
    emu.emit("payment_method.detached", pm, ctx, customer_id)
    return pm


def create(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    with emu.tx():
        customer_id = ids.new_id("cus")
        customer = objects.build(
            "customer",
            id=customer_id,
            created=emu.clock.now(),
            address=_address(args.get("address")),
            invoice_prefix=secrets.token_hex(4).upper(),
            metadata=clean_metadata(args.get("metadata")),
            preferred_locales=list(args.get("preferred_locales") or []),
            **{key: args.get(key) for key in PLAIN_FIELDS},
        )
        pm = None
        if args.get("payment_method"):
            pm = emu.get("payment_method", args["payment_method"], param="payment_method",
                         status=400, account=ctx.account)
        given_settings = args.get("invoice_settings") or {}
        default_pm = given_settings.get("default_payment_method")
        if default_pm and (pm is None or pm["id"] != default_pm):
            # Only the PaymentMethod attached by this same request can be the default at creation.
            raise errors.StripeError(
                f"The customer does not have a payment method with the ID {default_pm}. "
                "The payment method must be attached to the customer.",
                param="invoice_settings[default_payment_method]",
                code="resource_missing",
            )
        customer["invoice_settings"] = _invoice_settings(customer["invoice_settings"], given_settings)
        emu.store.put(customer, account=ctx.account)
        emu.emit("customer.created", customer, ctx, customer_id)
        if pm is not None:
            attach(emu, pm, customer_id, ctx)
        return customer


def update(emu: Engine, ctx: RequestContext, args: dict[str, Any], customer_id: str) -> dict[str, Any]:
    with emu.tx():
        customer = get_live(emu, customer_id, ctx.account)
        before = copy.deepcopy(customer)
        for key in PLAIN_FIELDS:
            if key in args:
                customer[key] = args[key]
        if "address" in args:
            customer["address"] = _address(args["address"])
        if "preferred_locales" in args:
            customer["preferred_locales"] = list(args["preferred_locales"] or [])
        if "invoice_settings" in args:
            given = args["invoice_settings"] or {}
            default_pm = given.get("default_payment_method")
            if default_pm:
                require_attached(emu, customer_id, default_pm, ctx.account,
                                 "invoice_settings[default_payment_method]")
            customer["invoice_settings"] = _invoice_settings(customer["invoice_settings"], given)
        customer["metadata"] = merge_metadata(customer.get("metadata") or {}, args.get("metadata"))
        previous = {key: before[key] for key in customer if customer[key] != before.get(key)}
        if previous:
            emu.store.put(customer)
            emu.emit("customer.updated", customer, ctx, customer_id, previous_attributes=previous)
        return customer


def retrieve(emu: Engine, ctx: RequestContext, customer_id: str) -> dict[str, Any]:
    with emu.tx():
        emu.tick_quietly()
        owner = emu.store.get_private(_tombstone_key(customer_id))
        if owner is not None and owner.get("account") == ctx.account:
            return {**objects.build("deleted_customer"), "id": customer_id}
        return get_live(emu, customer_id, ctx.account)


def delete(emu: Engine, ctx: RequestContext, customer_id: str) -> dict[str, Any]:
    """Delete a customer: its PaymentMethods are detached (Stripe does so), `customer.deleted`."""
    with emu.tx():
        customer = get_live(emu, customer_id, ctx.account)
        for pm in emu.store.where("payment_method", "customer", customer_id, ctx.account):
            pm["customer"] = None
            emu.store.put(pm)
            emu.emit("payment_method.detached", pm, ctx, customer_id)
        emu.store.delete(customer_id)
        emu.store.put_private(_tombstone_key(customer_id), {"account": ctx.account})
        emu.emit("customer.deleted", customer, ctx, customer_id, account=ctx.account)
        return {**objects.build("deleted_customer"), "id": customer_id}


def payment_methods(emu: Engine, customer_id: str, account: Any, method_type: str | None) -> list[dict[str, Any]]:
    """The customer's attached PaymentMethods, newest first."""
    found = emu.store.where("payment_method", "customer", customer_id, account)
    return [pm for pm in found if method_type is None or pm["type"] == method_type]
