"""PaymentIntents (created by Checkout at the first payment attempt, or by the API against a saved card
off-session: `core/off_session.py`) and PaymentMethods: retrieve, list, the few fields an integration
updates, and attaching a PaymentMethod to a customer (`core/customers.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core import customers, off_session
from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.listing import list_endpoint, paginate
from stripe_emulator.core.money import Currency
from stripe_emulator.core.spec import (
    EXPAND,
    RETRIEVE,
    Boolean,
    Email,
    Endpoint,
    Hash,
    Integer,
    Metadata,
    String,
    list_spec,
)

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

UPDATE = Hash(
    description=String(max_length=1000, unsettable=True),
    expand=EXPAND,
    metadata=Metadata(),
    receipt_email=Email(),
)
# POST /v1/payment_intents: a saved card charged off-session, confirmed at once (see core/off_session.py).
CREATE = Hash(
    amount=Integer(required=True, minimum=1, maximum=99_999_999),
    application_fee_amount=Integer(minimum=0),
    confirm=Boolean(),
    currency=Currency(required=True),
    customer=String(),
    description=String(max_length=1000),
    expand=EXPAND,
    metadata=Metadata(),
    off_session=Boolean(),
    payment_method=String(),
    receipt_email=Email(),
    statement_descriptor_suffix=String(max_length=22),
    transfer_data=Hash(destination=String(required=True)),
    transfer_group=String(),
)
ATTACH = Hash(customer=String(required=True), expand=EXPAND)
PAYMENT_METHOD_TYPES = ("card", "sepa_debit", "bacs_debit", "paypal")
LIST_PAYMENT_METHODS = list_spec(customer=String(), type=String(choices=PAYMENT_METHOD_TYPES))


def _create_intent(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    pi, error = off_session.create_and_confirm(emu, ctx, args)  # committed, refused or not
    if error is not None:
        raise error
    return pi


def _retrieve_intent(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.retrieve("payment_intent", id, ctx.account)


def _update_intent(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.update_fields("payment_intent", id, args, ctx)


def _retrieve_method(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.retrieve("payment_method", id, ctx.account)


def _attach(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    with emu.tx():
        pm = emu.get("payment_method", id, account=ctx.account)
        customer = customers.get_live(emu, args["customer"], ctx.account, param="customer", status=400)
        return customers.attach(emu, pm, customer["id"], ctx)


def _detach(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    with emu.tx():
        return customers.detach(emu, emu.get("payment_method", id, account=ctx.account), ctx)


def _list_methods(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    """Stripe lists a customer's PaymentMethods here (without `customer`: the Treasury ones, none)."""
    with emu.tx():
        found: list[dict[str, Any]] = []
        if args.get("customer"):
            customers.get_live(emu, args["customer"], ctx.account, param="customer", status=400)
            found = customers.payment_methods(emu, args["customer"], ctx.account, args.get("type"))
        return paginate(found, args, "/v1/payment_methods", "PaymentMethod")


ENDPOINTS = [
    Endpoint("POST", "/v1/payment_intents", CREATE, _create_intent),
    list_endpoint("/v1/payment_intents", "payment_intent", {"customer": ("customer", String())}),
    Endpoint("GET", "/v1/payment_intents/{id}", RETRIEVE, _retrieve_intent),
    Endpoint("POST", "/v1/payment_intents/{id}", UPDATE, _update_intent),
    Endpoint("GET", "/v1/payment_methods", LIST_PAYMENT_METHODS, _list_methods),
    Endpoint("GET", "/v1/payment_methods/{id}", RETRIEVE, _retrieve_method),
    Endpoint("POST", "/v1/payment_methods/{id}/attach", ATTACH, _attach),
    Endpoint("POST", "/v1/payment_methods/{id}/detach", Hash(expand=EXPAND), _detach),
]
