"""Connect money movements, shared by every resource that moves funds between accounts.

Transfers: a transfer moves funds from the platform's balance to a connected account's: the
platform books a `transfer` balance transaction (negative), and the connected account receives a
"destination payment" (a charge object `py_...` it owns) with a `payment` balance transaction.
A reversal moves funds back: `transfer_refund` on the platform, and a refund of the
destination payment (`payment_refund`) on the connected account.

Application fees: collecting a fee books `application_fee` (positive) on the platform; the
connected account's destination payment already shows it as a fee. Refunding part or all of it
moves the amount back: `application_fee_refund` negative on the platform, positive on the
connected account.

Destination charges: a Checkout payment with `payment_intent_data[transfer_data][destination]`
and optionally `payment_intent_data[application_fee_amount]`.

As on Stripe, when the charge succeeds the full amount is transferred to the destination
account, and the application fee is taken back from it for the platform: the transfer's
`amount` is the charge amount, the destination payment's balance transaction shows the fee, and
the connected account's balance rises by amount - fee (pending, then available after the
account's payout delay).

Refunds with `reverse_transfer=true` / `refund_application_fee=true` reverse the transfer and
refund the fee in proportion to the share of the charge refunded. Shares are computed on the
cumulative refunded amount and rounded half up, so partial refunds never add up to more or
less than the whole: after refunds totalling R of a charge A, the fee refunded so far is
round_half_up(fee * R / A), and a refund that completes the charge returns exactly what is left.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core import errors, fees, ids, ledger
from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.objects import build, list_object

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

APPLICATION_ID = "ca_EmulatorPlatformApplication0"  # the platform's Connect application


def destination_account(emu: Engine, account_id: str, param: str) -> dict[str, Any]:
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
    emu: Engine,
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
    transfer_id = ids.new_id("tr")
    platform_txn = ledger.record(
        emu,
        account=None,
        type="transfer",
        amount=-amount,
        currency=currency,
        source=transfer_id,
        available_on=available_on,
    )
    payment_id = ids.new_id("py")
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
    payment = build(
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
    transfer = build(
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


def transfer_reversal(
    emu: Engine,
    transfer: dict[str, Any],
    amount: int,
    *,
    source_refund: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Take `amount` of a transfer back from the connected account (the transfer is updated)."""
    now = emu.clock.now()
    currency = transfer["currency"]
    reversal_id = ids.new_id("trr")
    destination = transfer["destination"]
    payment = emu.store.get("charge", transfer["destination_payment"]) if transfer["destination_payment"] else None
    payment_refund_id = None
    if payment is not None:
        payment_refund_id = ids.new_id("pyr")
        refund_txn = ledger.record(
            emu,
            account=destination,
            type="payment_refund",
            amount=-amount,
            currency=currency,
            source=payment_refund_id,
        )
        payment_refund = build(
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
    reversal = build(
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



def collect_fee(
    emu: Engine,
    *,
    account: str,
    amount: int,
    currency: str,
    charge: str,
    originating_transaction: str,
    available_on: int | None,
) -> dict[str, Any]:
    """The platform's fee on a payment to `account` (`charge` is the destination payment)."""
    fee_id = ids.new_id("fee")
    txn = ledger.record(
        emu,
        account=None,
        type="application_fee",
        amount=amount,
        currency=currency,
        source=fee_id,
        available_on=available_on,
    )
    fee = build(
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


def refund_fee(
    emu: Engine, fee: dict[str, Any], amount: int, metadata: dict[str, str] | None = None
) -> dict[str, Any]:
    """Give `amount` of the fee back to the connected account (the fee is updated)."""
    refund_id = ids.new_id("fr")
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
    fee_refund = build(
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


# --- destination charges ---------------------------------------------------------------------

FEE_PARAM = "payment_intent_data[application_fee_amount]"
DESTINATION_PARAM = "payment_intent_data[transfer_data][destination]"


def validate(emu: Engine, ctx: RequestContext, intent_data: dict[str, Any], amount: int) -> None:
    """Checks done when the Checkout Session is created."""
    fee = intent_data.get("application_fee_amount")
    transfer_data = intent_data.get("transfer_data")
    if ctx.account and transfer_data:
        raise errors.not_implemented(
            "payment_intent_data[transfer_data]", "destination charges made by a connected account"
        )
    if fee is not None and not transfer_data:
        if ctx.account:
            raise errors.not_implemented(FEE_PARAM, "application fees on direct charges")
        raise errors.invalid(
            FEE_PARAM,
            "Can only apply an application_fee_amount when the PaymentIntent is attempting a "
            "direct payment (using an OAuth key or Stripe-Account header) or destination payment "
            "(using `transfer_data[destination]`).",
        )
    if transfer_data:
        destination_account(emu, transfer_data["destination"], DESTINATION_PARAM)
    if fee is not None and fee > amount:
        raise errors.invalid(
            FEE_PARAM,
            f"The application fee amount ({fee}) must be less than or equal to the total amount "
            f"of the Checkout Session ({amount}).",
        )


def settle(
    emu: Engine, pi: dict[str, Any], charge: dict[str, Any], owner: str | None
) -> list[tuple[str, dict[str, Any]]]:
    """Book a succeeded charge on its owner's balance; for a destination charge also transfer the
    funds and collect the fee. Updates `charge` in place; returns the events to emit."""
    # Stripe's processing fee (core/fees.py) comes off the charge's owner: the platform, for a
    # destination charge too.
    stripe_fee = emu.config.fee_schedule.fee(charge["amount"], charge["currency"])
    txn = ledger.incoming(
        emu,
        account=owner,
        type="charge",
        amount=charge["amount"],
        currency=charge["currency"],
        source=charge["id"],
        description=charge["description"],
        fee=stripe_fee,
        fee_details=fees.details(stripe_fee, charge["currency"]),
    )
    charge["balance_transaction"] = txn["id"]
    transfer_data = pi.get("transfer_data")
    if not transfer_data:
        return []
    destination = transfer_data["destination"]
    group = pi.get("transfer_group") or f"group_{pi['id']}"
    fee_amount = pi.get("application_fee_amount")
    transfer = create_transfer(
        emu,
        amount=charge["amount"],
        currency=charge["currency"],
        destination=destination,
        source_transaction=charge["id"],
        transfer_group=group,
        available_on=txn["available_on"],
        application_fee=fee_amount or 0,
    )
    charge.update(
        transfer=transfer["id"],
        transfer_data={"amount": None, "destination": destination},
        transfer_group=group,
        application_fee_amount=fee_amount,
    )
    events: list[tuple[str, dict[str, Any]]] = [("transfer.created", transfer)]
    if fee_amount:
        fee = collect_fee(
            emu,
            account=destination,
            amount=fee_amount,
            currency=charge["currency"],
            charge=transfer["destination_payment"],
            originating_transaction=charge["id"],
            available_on=txn["available_on"],
        )
        charge["application_fee"] = fee["id"]
        events.append(("application_fee.created", fee))
    return events


def share(total: int, refunded: int, charge_amount: int) -> int:
    """What of `total` corresponds to `refunded` of `charge_amount`, rounded half up."""
    if refunded >= charge_amount:
        return total
    return (2 * total * refunded + charge_amount) // (2 * charge_amount)


def on_refund(
    emu: Engine,
    charge: dict[str, Any],
    refund: dict[str, Any],
    *,
    reverse_transfer: bool,
    refund_application_fee: bool,
) -> list[tuple[str, dict[str, Any]]]:
    """After `refund` (already counted in charge.amount_refunded): reverse the transfer and
    refund the fee in proportion, as asked. Updates `refund`; returns the events to emit."""
    events: list[tuple[str, dict[str, Any]]] = []
    refunded = charge["amount_refunded"]
    if reverse_transfer and charge.get("transfer"):
        transfer = emu.store.get("transfer", charge["transfer"])
        if transfer is not None:
            target = share(transfer["amount"], refunded, charge["amount"])
            amount = min(target, transfer["amount"]) - transfer["amount_reversed"]
            if amount > 0:
                reversal = transfer_reversal(emu, transfer, amount, source_refund=refund["id"])
                refund["transfer_reversal"] = reversal["id"]
                events.append(("transfer.reversed", transfer))
    if refund_application_fee and charge.get("application_fee"):
        fee = emu.store.get("application_fee", charge["application_fee"])
        if fee is not None:
            amount = share(fee["amount"], refunded, charge["amount"]) - fee["amount_refunded"]
            if amount > 0:
                refund_fee(emu, fee, amount)
                events.append(("application_fee.refunded", fee))
    return events


def refund_fee_for_reversal(emu: Engine, transfer: dict[str, Any], ctx: RequestContext) -> None:
    """`refund_application_fee=true` on a transfer reversal: refund the fee of the charge the
    transfer came from, in proportion to the share of the transfer reversed so far."""
    charge = emu.store.get("charge", transfer.get("source_transaction") or "")
    if charge is None or not charge.get("application_fee"):
        return
    fee = emu.store.get("application_fee", charge["application_fee"])
    if fee is None:
        return
    amount = share(fee["amount"], transfer["amount_reversed"], transfer["amount"]) - fee["amount_refunded"]
    if amount > 0:
        refund_fee(emu, fee, amount)
        emu.emit("application_fee.refunded", fee, ctx, fee["id"])
