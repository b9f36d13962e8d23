"""Transfers to connected accounts and their reversals.

A transfer moves funds from the platform's balance to a connected account's: the platform
books a `transfer` balance transaction (negative), and the connected account receives a
"destination payment" (a charge object `py_...` it owns) with a `payment` balance transaction.
A reversal moves funds back: `transfer_refund` on the platform, and a refund of the
destination payment (`payment_refund`) on the connected account. The movements themselves are
in `core/connect_money.py` (destination charges and refunds make them too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core import connect_money, errors, ledger
from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.listing import list_endpoint, list_objects
from stripe_emulator.core.objects import clean_metadata
from stripe_emulator.core.spec import (
    EXPAND,
    RETRIEVE,
    Boolean,
    Endpoint,
    Hash,
    Integer,
    Metadata,
    String,
    list_spec,
)

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

# --- endpoints ---------------------------------------------------------------------------------

CREATE = Hash(
    amount=Integer(minimum=1),
    currency=String(required=True, max_length=3),
    destination=String(required=True),
    description=String(),
    expand=EXPAND,
    metadata=Metadata(),
    source_transaction=String(),
    transfer_group=String(),
)
UPDATE = Hash(description=String(unsettable=True), expand=EXPAND, metadata=Metadata())
REVERSAL_CREATE = Hash(
    amount=Integer(minimum=1),
    expand=EXPAND,
    metadata=Metadata(),
    refund_application_fee=Boolean(),
)
REVERSAL_UPDATE = Hash(expand=EXPAND, metadata=Metadata())


def _create(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    currency = args["currency"].lower()
    with emu.tx():
        connect_money.destination_account(emu, args["destination"], "destination")
        source = args.get("source_transaction")
        amount = args.get("amount")
        available_on = None
        if source:
            charge = emu.get("charge", source, param="source_transaction", status=400, account=None)
            if charge["status"] != "succeeded":
                raise errors.invalid("source_transaction", f"The charge {source} has not succeeded.")
            if charge["currency"] != currency:
                raise errors.invalid(
                    "currency", f"The currency must match the source transaction's ({charge['currency']})."
                )
            amount = charge["amount"] if amount is None else amount
            if amount > charge["amount"] - charge["amount_refunded"]:
                raise errors.invalid(
                    "amount", "The transfer amount exceeds what remains of the source transaction."
                )
            txn = emu.store.get("balance_transaction", charge["balance_transaction"] or "")
            available_on = txn["available_on"] if txn else None
        elif amount is None:
            raise errors.missing("amount")
        elif ledger.available(emu, None, currency) < amount:
            raise errors.StripeError(
                "You have insufficient funds in your Stripe account for this transfer. Your card "
                "balance is too low. You can use the /v1/balance endpoint to view your Stripe "
                "balance (for more details, see stripe.com/docs/api#balance).",
                code="balance_insufficient",
            )
        transfer = connect_money.create_transfer(
            emu,
            amount=amount,
            currency=currency,
            destination=args["destination"],
            source_transaction=source,
            transfer_group=args.get("transfer_group"),
            description=args.get("description"),
            metadata=clean_metadata(args.get("metadata")),
            available_on=available_on,
        )
        emu.emit("transfer.created", transfer, ctx, transfer["id"])
        return transfer


def _retrieve(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.retrieve("transfer", id, ctx.account)


def _update(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.update_fields("transfer", id, args, ctx, event_type="transfer.updated")


def _create_reversal(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    with emu.tx():
        transfer = emu.get("transfer", id, account=ctx.account)
        remaining = transfer["amount"] - transfer["amount_reversed"]
        amount = args.get("amount", remaining)
        if remaining <= 0 or amount > remaining:
            raise errors.StripeError(
                f"Transfer {id} has already been reversed."
                if remaining <= 0
                else f"You have attempted to reverse {amount} but the transfer has only "
                f"{remaining} left to reverse.",
                param="amount",
                code="amount_too_large",
            )
        reversal = connect_money.transfer_reversal(
            emu, transfer, amount, metadata=clean_metadata(args.get("metadata"))
        )
        emu.emit("transfer.reversed", transfer, ctx, transfer["id"])
        if args.get("refund_application_fee"):
            connect_money.refund_fee_for_reversal(emu, transfer, ctx)
        return reversal


def _reversal(emu: Engine, ctx: RequestContext, transfer_id: str, reversal_id: str) -> dict[str, Any]:
    emu.get("transfer", transfer_id, account=ctx.account)
    reversal = emu.get("transfer_reversal", reversal_id, account=ctx.account)
    if reversal["transfer"] != transfer_id:
        raise errors.no_such("transfer reversal", reversal_id)
    return reversal


def _retrieve_reversal(
    emu: Engine, ctx: RequestContext, args: dict[str, Any], transfer: str, id: str
) -> dict[str, Any]:
    with emu.tx():
        return _reversal(emu, ctx, transfer, id)


def _update_reversal(
    emu: Engine, ctx: RequestContext, args: dict[str, Any], transfer: str, id: str
) -> dict[str, Any]:
    with emu.tx():
        _reversal(emu, ctx, transfer, id)
        return emu.update_fields("transfer_reversal", id, args, ctx)


def _list_reversals(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    with emu.tx():
        emu.get("transfer", id, account=ctx.account)
        return list_objects(
            emu, "transfer_reversal", {**args, "transfer": id}, f"/v1/transfers/{id}/reversals",
            {"transfer": "transfer"}, ctx.account,
        )


ENDPOINTS = [
    Endpoint("POST", "/v1/transfers", CREATE, _create, platform_only=True),
    list_endpoint(
        "/v1/transfers",
        "transfer",
        {"destination": ("destination", String()), "transfer_group": ("transfer_group", String())},
    ),
    Endpoint("GET", "/v1/transfers/{id}", RETRIEVE, _retrieve),
    Endpoint("POST", "/v1/transfers/{id}", UPDATE, _update),
    Endpoint("POST", "/v1/transfers/{id}/reversals", REVERSAL_CREATE, _create_reversal),
    Endpoint("GET", "/v1/transfers/{id}/reversals", list_spec(), _list_reversals),
    Endpoint("GET", "/v1/transfers/{transfer}/reversals/{id}", RETRIEVE, _retrieve_reversal),
    Endpoint("POST", "/v1/transfers/{transfer}/reversals/{id}", REVERSAL_UPDATE, _update_reversal),
]
