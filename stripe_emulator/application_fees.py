"""Application fees (what the platform keeps from a destination charge) and their refunds.

Collecting a fee books `application_fee` (positive) on the platform; the connected account's
destination payment already shows it as a fee. Refunding part or all of it moves the amount
back: `application_fee_refund` negative on the platform, positive on the connected account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator import errors, ledger, resources
from stripe_emulator.context import RequestContext
from stripe_emulator.listing import list_endpoint
from stripe_emulator.resources import clean_metadata, list_object
from stripe_emulator.spec import EXPAND, RETRIEVE, Endpoint, Hash, Integer, Metadata, String, list_spec
from stripe_emulator.transfers import APPLICATION_ID

if TYPE_CHECKING:
    from stripe_emulator.emulator import Emulator


def collect(
    emu: Emulator,
    *,
    account: str,
    amount: int,
    currency: str,
    charge: str,
    originating_transaction: str,
    available_on: int | None,
) -> dict[str, Any]:
    """The platform's fee on a payment to `account` (`charge` is the destination payment)."""
    fee_id = resources.new_id("fee")
    txn = ledger.record(
        emu,
        account=None,
        type="application_fee",
        amount=amount,
        currency=currency,
        source=fee_id,
        available_on=available_on,
    )
    fee = resources.build(
        "application_fee",
        id=fee_id,
        account=account,
        amount=amount,
        application=APPLICATION_ID,
        balance_transaction=txn["id"],
        charge=charge,
        created=emu.clock.now(),
        currency=currency,
        fee_source={"charge": charge, "type": "charge"},
        originating_transaction=originating_transaction,
        refunds=list_object([], f"/v1/application_fees/{fee_id}/refunds"),
    )
    emu.store.put(fee)
    return fee


def refund(
    emu: Emulator, fee: dict[str, Any], amount: int, metadata: dict[str, str] | None = None
) -> dict[str, Any]:
    """Give `amount` of the fee back to the connected account (the fee is updated)."""
    refund_id = resources.new_id("fr")
    currency = fee["currency"]
    platform_txn = ledger.record(
        emu,
        account=None,
        type="application_fee_refund",
        amount=-amount,
        currency=currency,
        source=refund_id,
    )
    ledger.record(
        emu,
        account=fee["account"],
        type="application_fee_refund",
        amount=amount,
        currency=currency,
        source=refund_id,
    )
    fee_refund = resources.build(
        "fee_refund",
        id=refund_id,
        amount=amount,
        balance_transaction=platform_txn["id"],
        created=emu.clock.now(),
        currency=currency,
        fee=fee["id"],
        metadata=metadata or {},
    )
    emu.store.put(fee_refund)
    fee["amount_refunded"] += amount
    fee["refunded"] = fee["amount_refunded"] >= fee["amount"]
    fee["refunds"]["data"].insert(0, fee_refund)
    emu.store.put(fee)
    return fee_refund


# --- endpoints ---------------------------------------------------------------------------------

REFUND_CREATE = Hash(amount=Integer(minimum=1), expand=EXPAND, metadata=Metadata())
REFUND_UPDATE = Hash(expand=EXPAND, metadata=Metadata())


def _retrieve(emu: Emulator, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.retrieve("application_fee", id, ctx.account)


def _create_refund(emu: Emulator, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
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
        fee_refund = refund(emu, fee, amount, clean_metadata(args.get("metadata")))
        emu.emit("application_fee.refunded", fee, ctx, fee["id"])
        return fee_refund


def _refund_of(emu: Emulator, ctx: RequestContext, fee_id: str, refund_id: str) -> dict[str, Any]:
    emu.get("application_fee", fee_id, account=ctx.account)
    fee_refund = emu.get("fee_refund", refund_id, account=ctx.account)
    if fee_refund["fee"] != fee_id:
        raise errors.no_such("application fee refund", refund_id)
    return fee_refund


def _retrieve_refund(
    emu: Emulator, ctx: RequestContext, args: dict[str, Any], fee: str, id: str
) -> dict[str, Any]:
    with emu.tx():
        return _refund_of(emu, ctx, fee, id)


def _update_refund(
    emu: Emulator, ctx: RequestContext, args: dict[str, Any], fee: str, id: str
) -> dict[str, Any]:
    with emu.tx():
        _refund_of(emu, ctx, fee, id)
        return emu.update_fields("fee_refund", id, args, ctx)


def _list_refunds(emu: Emulator, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    with emu.tx():
        emu.get("application_fee", id, account=ctx.account)
        return emu.list_objects(
            "fee_refund", {**args, "fee": id}, f"/v1/application_fees/{id}/refunds",
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
