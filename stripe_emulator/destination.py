"""Destination charges: a Checkout payment with `payment_intent_data[transfer_data][destination]`
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

from stripe_emulator import application_fees, errors, ledger, transfers
from stripe_emulator.context import RequestContext

if TYPE_CHECKING:
    from stripe_emulator.emulator import Emulator

FEE_PARAM = "payment_intent_data[application_fee_amount]"
DESTINATION_PARAM = "payment_intent_data[transfer_data][destination]"


def validate(emu: Emulator, ctx: RequestContext, intent_data: dict[str, Any], amount: int) -> None:
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
        transfers.destination_account(emu, transfer_data["destination"], DESTINATION_PARAM)
    if fee is not None and fee > amount:
        raise errors.invalid(
            FEE_PARAM,
            f"The application fee amount ({fee}) must be less than or equal to the total amount "
            f"of the Checkout Session ({amount}).",
        )


def settle(
    emu: Emulator, pi: dict[str, Any], charge: dict[str, Any], owner: str | None
) -> list[tuple[str, dict[str, Any]]]:
    """Book a succeeded charge on its owner's balance; for a destination charge also transfer the
    funds and collect the fee. Updates `charge` in place; returns the events to emit."""
    txn = ledger.incoming(
        emu,
        account=owner,
        type="charge",
        amount=charge["amount"],
        currency=charge["currency"],
        source=charge["id"],
        description=charge["description"],
    )
    charge["balance_transaction"] = txn["id"]
    transfer_data = pi.get("transfer_data")
    if not transfer_data:
        return []
    destination = transfer_data["destination"]
    group = pi.get("transfer_group") or f"group_{pi['id']}"
    fee_amount = pi.get("application_fee_amount")
    transfer = transfers.create_transfer(
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
        fee = application_fees.collect(
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
    emu: Emulator,
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
                reversal = transfers.reverse(emu, transfer, amount, source_refund=refund["id"])
                refund["transfer_reversal"] = reversal["id"]
                events.append(("transfer.reversed", transfer))
    if refund_application_fee and charge.get("application_fee"):
        fee = emu.store.get("application_fee", charge["application_fee"])
        if fee is not None:
            amount = share(fee["amount"], refunded, charge["amount"]) - fee["amount_refunded"]
            if amount > 0:
                application_fees.refund(emu, fee, amount)
                events.append(("application_fee.refunded", fee))
    return events


def refund_fee_for_reversal(emu: Emulator, transfer: dict[str, Any], ctx: RequestContext) -> None:
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
        application_fees.refund(emu, fee, amount)
        emu.emit("application_fee.refunded", fee, ctx, fee["id"])
