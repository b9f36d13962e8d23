"""Customers: create, retrieve, update (with `invoice_settings.default_payment_method`), list
(by email), delete, and the PaymentMethods attached to one. Behaviour lives in
`core/customers.py`, which Checkout, SetupIntents and PaymentIntents share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core import customers
from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.listing import list_endpoint, paginate
from stripe_emulator.core.spec import (
    EXPAND,
    RETRIEVE,
    Email,
    Endpoint,
    Hash,
    List,
    Metadata,
    String,
    list_spec,
)

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

ADDRESS = Hash(
    city=String(max_length=200),
    country=String(max_length=2),
    line1=String(max_length=200),
    line2=String(max_length=200),
    postal_code=String(max_length=200),
    state=String(max_length=200),
    unsettable=True,
)
CUSTOM_FIELDS = List(
    Hash(name=String(required=True, max_length=40), value=String(required=True, max_length=140)),
    max_items=4,
    unsettable=True,
)
INVOICE_SETTINGS = Hash(
    custom_fields=CUSTOM_FIELDS,
    default_payment_method=String(),
    footer=String(max_length=5000),
)
CREATE = Hash(
    address=ADDRESS,
    description=String(max_length=350),
    email=Email(),
    expand=EXPAND,
    invoice_settings=INVOICE_SETTINGS,
    metadata=Metadata(),
    name=String(max_length=256),
    payment_method=String(),
    phone=String(max_length=20),
    preferred_locales=List(String(), max_items=10),
)
UPDATE = Hash(
    address=ADDRESS,
    description=String(max_length=350, unsettable=True),
    email=Email(unsettable=True),
    expand=EXPAND,
    invoice_settings=INVOICE_SETTINGS,
    metadata=Metadata(),
    name=String(max_length=256, unsettable=True),
    phone=String(max_length=20, unsettable=True),
    preferred_locales=List(String(), max_items=10, unsettable=True),
)
PAYMENT_METHOD_TYPES = ("card", "sepa_debit", "bacs_debit", "paypal")
LIST_PAYMENT_METHODS = list_spec(type=String(choices=PAYMENT_METHOD_TYPES))


def _create(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    return customers.create(emu, ctx, args)


def _retrieve(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return customers.retrieve(emu, ctx, id)


def _update(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return customers.update(emu, ctx, args, id)


def _delete(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return customers.delete(emu, ctx, id)


def _list_payment_methods(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    with emu.tx():
        customers.get_live(emu, id, ctx.account)
        found = customers.payment_methods(emu, id, ctx.account, args.get("type"))
        return paginate(found, args, f"/v1/customers/{id}/payment_methods", "PaymentMethod")


ENDPOINTS = [
    Endpoint("POST", "/v1/customers", CREATE, _create),
    list_endpoint("/v1/customers", "customer", {"email": ("email", String(max_length=512))}),
    Endpoint("GET", "/v1/customers/{id}", RETRIEVE, _retrieve),
    Endpoint("POST", "/v1/customers/{id}", UPDATE, _update),
    Endpoint("DELETE", "/v1/customers/{id}", Hash(), _delete),
    Endpoint("GET", "/v1/customers/{id}/payment_methods", LIST_PAYMENT_METHODS, _list_payment_methods),
]
