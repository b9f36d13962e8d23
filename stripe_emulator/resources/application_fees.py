"""Application fees (what the platform keeps from a destination charge) and their refunds.

Collecting a fee books `application_fee` (positive) on the platform; the connected account's
destination payment already shows it as a fee. Refunding part or all of it moves the amount
back: `application_fee_refund` negative on the platform, positive on the connected account
(`core/connect_money.py`, which destination charges and refunds use too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core import connect_money, errors
from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.listing import list_endpoint, list_objects
from stripe_emulator.core.objects import clean_metadata
from stripe_emulator.core.spec import EXPAND, RETRIEVE, Endpoint, Hash, Integer, Metadata, String, list_spec

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine


# --- endpoints ---------------------------------------------------------------------------------

REFUND_CREATE = Hash(amount=Integer(minimum=1), expand=EXPAND, metadata=Metadata())
REFUND_UPDATE = Hash(expand=EXPAND, metadata=Metadata())


def _retrieve(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.retrieve("application_fee", id, ctx.account)


def _create_refund(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    with emu.tx():
        fee = emu.get("application_fee", id, account=ctx.account)
        remaining = fee["amount"] - fee["amount_refunded"]
        amount = args.get("amount", remaining)
        if remaining <= 0 or amount > remaining:
            raise errors.StripeError(
                f"Application fee {id} has already been refunded."
                if remaining <= 0
                else f"Refund amount ({amount}) is greater than the unrefunded amount of the "
                f"application fee ({remaining}).",
                param="amount",
                code="amount_too_large",
            )
        fee_refund = connect_money.refund_fee(emu, fee, amount, clean_metadata(args.get("metadata")))
        emu.emit("application_fee.refunded", fee, ctx, fee["id"])
        return fee_refund


def _refund_of(emu: Engine, ctx: RequestContext, fee_id: str, refund_id: str) -> dict[str, Any]:
    emu.get("application_fee", fee_id, account=ctx.account)
    fee_refund = emu.get("fee_refund", refund_id, account=ctx.account)
    if fee_refund["fee"] != fee_id:
        raise errors.no_such("application fee refund", refund_id)
    return fee_refund


def _retrieve_refund(
    emu: Engine, ctx: RequestContext, args: dict[str, Any], fee: str, id: str
) -> dict[str, Any]:
    with emu.tx():
        return _refund_of(emu, ctx, fee, id)


def _update_refund(
    emu: Engine, ctx: RequestContext, args: dict[str, Any], fee: str, id: str
) -> dict[str, Any]:
    with emu.tx():
        _refund_of(emu, ctx, fee, id)
        return emu.update_fields("fee_refund", id, args, ctx)


def _list_refunds(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    with emu.tx():
        emu.get("application_fee", id, account=ctx.account)
        return list_objects(
            emu, "fee_refund", {**args, "fee": id}, f"/v1/application_fees/{id}/refunds",
            {"fee": "fee"}, ctx.account,
        )


ENDPOINTS = [
    list_endpoint(
        "/v1/application_fees", "application_fee", {"charge": ("charge", String())}, platform_only=True
    ),
    Endpoint("GET", "/v1/application_fees/{id}", RETRIEVE, _retrieve, platform_only=True),
    Endpoint("POST", "/v1/application_fees/{id}/refunds", REFUND_CREATE, _create_refund, platform_only=True),
    Endpoint("GET", "/v1/application_fees/{id}/refunds", list_spec(), _list_refunds, platform_only=True),
    Endpoint("GET", "/v1/application_fees/{fee}/refunds/{id}", RETRIEVE, _retrieve_refund, platform_only=True),
    Endpoint("POST", "/v1/application_fees/{fee}/refunds/{id}", REFUND_UPDATE, _update_refund, platform_only=True),
]
