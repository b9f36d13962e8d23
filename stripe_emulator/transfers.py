"""Transfers to connected accounts and their reversals.

A transfer moves funds from the platform's balance to a connected account's: the platform
books a `transfer` balance transaction (negative), and the connected account receives a
"destination payment" (a charge object `py_...` it owns) with a `payment` balance transaction.
A reversal moves funds back: `transfer_refund` on the platform, and a refund of the
destination payment (`payment_refund`) on the connected account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator import errors, ledger, resources
from stripe_emulator.context import RequestContext
from stripe_emulator.listing import list_endpoint
from stripe_emulator.resources import clean_metadata, list_object
from stripe_emulator.spec import (
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
    from stripe_emulator.emulator import Emulator

APPLICATION_ID = "ca_EmulatorPlatformApplication0"  # the platform's Connect application


def destination_account(emu: Emulator, account_id: str, param: str) -> dict[str, Any]:
    """A connected account of this platform that can receive transfers."""
    account = emu.store.get("account", account_id, None)
    if account is None:
        raise errors.no_such("destination", account_id, param=param, status=400)
    if (account.get("capabilities") or {}).get("transfers") != "active":
        raise errors.invalid(
            param,
            "Your destination account needs to have at least one of the following capabilities "
            "enabled: transfers, crypto_transfers, legacy_payments",
        )
    return account


def create_transfer(
    emu: Emulator,
    *,
    amount: int,
    currency: str,
    destination: str,
    source_transaction: str | None = None,
    transfer_group: str | None = None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
    available_on: int | None = None,
    application_fee: int = 0,
) -> dict[str, Any]:
    """Move `amount` to `destination`. `available_on`: when the platform's outgoing booking
    counts (a destination charge's transfer leaves with the charge's own funds);
    `application_fee`: withheld from the destination payment's net (destination charges)."""
    now = emu.clock.now()
    transfer_id = resources.new_id("tr")
    platform_txn = ledger.record(
        emu,
        account=None,
        type="transfer",
        amount=-amount,
        currency=currency,
        source=transfer_id,
        available_on=available_on,
    )
    payment_id = resources.new_id("py")
    fee_details = []
    if application_fee:
        fee_details.append(
            {
                "amount": application_fee,
                "application": APPLICATION_ID,
                "currency": currency,
                "description": "Application fee",
                "type": "application_fee",
            }
        )
    payment_txn = ledger.incoming(
        emu,
        account=destination,
        type="payment",
        amount=amount,
        currency=currency,
        source=payment_id,
        fee=application_fee,
        fee_details=fee_details,
    )
    payment = resources.build(
        "charge",
        id=payment_id,
        amount=amount,
        amount_captured=amount,
        balance_transaction=payment_txn["id"],
        captured=True,
        created=now,
        currency=currency,
        paid=True,
        refunds=list_object([], f"/v1/charges/{payment_id}/refunds"),
        source_transfer=transfer_id,
        status="succeeded",
    )
    payment["payment_method_details"] = {"stripe_account": {}, "type": "stripe_account"}
    emu.store.put(payment, account=destination)
    transfer = resources.build(
        "transfer",
        id=transfer_id,
        amount=amount,
        balance_transaction=platform_txn["id"],
        created=now,
        currency=currency,
        description=description,
        destination=destination,
        destination_payment=payment_id,
        metadata=metadata or {},
        reversals=list_object([], f"/v1/transfers/{transfer_id}/reversals"),
        source_transaction=source_transaction,
        transfer_group=transfer_group,
    )
    emu.store.put(transfer)
    return transfer


def reverse(
    emu: Emulator,
    transfer: dict[str, Any],
    amount: int,
    *,
    source_refund: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Take `amount` of a transfer back from the connected account (the transfer is updated)."""
    now = emu.clock.now()
    currency = transfer["currency"]
    reversal_id = resources.new_id("trr")
    destination = transfer["destination"]
    payment = emu.store.get("charge", transfer["destination_payment"]) if transfer["destination_payment"] else None
    payment_refund_id = None
    if payment is not None:
        payment_refund_id = resources.new_id("pyr")
        refund_txn = ledger.record(
            emu,
            account=destination,
            type="payment_refund",
            amount=-amount,
            currency=currency,
            source=payment_refund_id,
        )
        payment_refund = resources.build(
            "refund",
            id=payment_refund_id,
            amount=amount,
            balance_transaction=refund_txn["id"],
            charge=payment["id"],
            created=now,
            currency=currency,
            status="succeeded",
        )
        payment_refund["destination_details"] = None
        emu.store.put(payment_refund, account=destination)
        payment["amount_refunded"] += amount
        payment["refunded"] = payment["amount_refunded"] >= payment["amount"]
        payment["refunds"]["data"].insert(0, payment_refund)
        emu.store.put(payment)
    platform_txn = ledger.record(
        emu,
        account=None,
        type="transfer_refund",
        amount=amount,
        currency=currency,
        source=reversal_id,
    )
    reversal = resources.build(
        "transfer_reversal",
        id=reversal_id,
        amount=amount,
        balance_transaction=platform_txn["id"],
        created=now,
        currency=currency,
        destination_payment_refund=payment_refund_id,
        metadata=metadata or {},
        source_refund=source_refund,
        transfer=transfer["id"],
    )
    emu.store.put(reversal)
    transfer["amount_reversed"] += amount
    transfer["reversed"] = transfer["amount_reversed"] >= transfer["amount"]
    transfer["reversals"]["data"].insert(0, reversal)
    transfer["reversals"]["has_more"] = False
    emu.store.put(transfer)
    return reversal


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


def _create(emu: Emulator, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    currency = args["currency"].lower()
    with emu.tx():
        destination_account(emu, args["destination"], "destination")
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
        transfer = create_transfer(
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


def _retrieve(emu: Emulator, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.retrieve("transfer", id, ctx.account)


def _update(emu: Emulator, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.update_fields("transfer", id, args, ctx, event_type="transfer.updated")


def _create_reversal(emu: Emulator, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    from stripe_emulator import destination  # the fee side of a reversal lives there

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
        reversal = reverse(emu, transfer, amount, metadata=clean_metadata(args.get("metadata")))
        emu.emit("transfer.reversed", transfer, ctx, transfer["id"])
        if args.get("refund_application_fee"):
            destination.refund_fee_for_reversal(emu, transfer, ctx)
        return reversal


def _reversal(emu: Emulator, ctx: RequestContext, transfer_id: str, reversal_id: str) -> dict[str, Any]:
    emu.get("transfer", transfer_id, account=ctx.account)
    reversal = emu.get("transfer_reversal", reversal_id, account=ctx.account)
    if reversal["transfer"] != transfer_id:
        raise errors.no_such("transfer reversal", reversal_id)
    return reversal


def _retrieve_reversal(
    emu: Emulator, ctx: RequestContext, args: dict[str, Any], transfer: str, id: str
) -> dict[str, Any]:
    with emu.tx():
        return _reversal(emu, ctx, transfer, id)


def _update_reversal(
    emu: Emulator, ctx: RequestContext, args: dict[str, Any], transfer: str, id: str
) -> dict[str, Any]:
    with emu.tx():
        _reversal(emu, ctx, transfer, id)
        return emu.update_fields("transfer_reversal", id, args, ctx)


def _list_reversals(emu: Emulator, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    with emu.tx():
        emu.get("transfer", id, account=ctx.account)
        return emu.list_objects(
            "transfer_reversal", {**args, "transfer": id}, f"/v1/transfers/{id}/reversals",
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
