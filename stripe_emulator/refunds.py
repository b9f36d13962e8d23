"""Refunds: full or partial, by payment_intent or charge; the PaymentIntent is left untouched."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator import errors, resources
from stripe_emulator.context import RequestContext
from stripe_emulator.money import format_amount
from stripe_emulator.params import Params

if TYPE_CHECKING:
    from stripe_emulator.emulator import Emulator

CREATE_PARAMS = frozenset(
    {"amount", "charge", "payment_intent", "reason", "metadata", "expand", "instructions_email",
     "origin", "refund_application_fee", "reverse_transfer", "currency", "customer"}
)
REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def create_refund(emu: Emulator, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    p = Params(params)
    p.reject_unknown(CREATE_PARAMS)
    charge_id = p.string("charge")
    pi_id = p.string("payment_intent")
    if not charge_id and not pi_id:
        raise errors.StripeError(
            "One of the following params should be provided for this request: payment_intent "
            "or charge.",
            param="payment_intent",
            code="parameter_missing",
        )
    amount = p.integer("amount", minimum=1)
    reason = p.string("reason", choices=REASONS)
    metadata = {k: v for k, v in (p.metadata() or {}).items() if v != ""}

    with emu.tx():
        charge = _refundable_charge(emu, charge_id, pi_id)
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining <= 0:
            raise errors.StripeError(
                f"Charge {charge['id']} has already been refunded.",
                param="charge" if charge_id else "payment_intent",
                code="charge_already_refunded",
            )
        if amount is None:
            amount = remaining
        if amount > remaining:
            currency = charge["currency"]
            raise errors.StripeError(
                f"Refund amount ({format_amount(amount, currency)}) is greater than unrefunded "
                f"amount on charge ({format_amount(remaining, currency)})",
                param="amount",
                code="amount_too_large",
            )
        now = emu.clock.now()
        refund = resources.build(
            "refund",
            id=resources.new_id("re"),
            amount=amount,
            balance_transaction=resources.new_id("txn"),
            charge=charge["id"],
            created=now,
            currency=charge["currency"],
            metadata=metadata,
            payment_intent=charge["payment_intent"],
            payment_method=charge["payment_method"],
            reason=reason,
            status="succeeded",
        )
        refund["destination_details"] = {
            "card": {
                "reference": resources.random_token(12),
                "reference_status": "available",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
            "type": "card",
        }
        emu.store.put(refund)
        previous = {
            "amount_refunded": charge["amount_refunded"],
            "refunded": charge["refunded"],
        }
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        refunds_list = charge.get("refunds") or resources.list_object(
            [], f"/v1/charges/{charge['id']}/refunds"
        )
        refunds_list["data"] = [refund, *refunds_list.get("data", [])]
        refunds_list["url"] = f"/v1/charges/{charge['id']}/refunds"
        charge["refunds"] = refunds_list
        emu.store.put(charge)
        key = _ordering_key(emu, charge)
        emu.emit("refund.created", refund, ctx, key)
        emu.emit("charge.refunded", charge, ctx, key, previous_attributes=previous)
        return refund


def _refundable_charge(emu: Emulator, charge_id: str | None, pi_id: str | None) -> dict[str, Any]:
    if pi_id:
        pi = emu.get("payment_intent", pi_id, param="payment_intent", status=400)
        if pi["status"] != "succeeded" or not pi["latest_charge"]:
            raise errors.StripeError(
                f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                param="payment_intent",
                code="charge_not_refundable",
            )
        charge = emu.get("charge", pi["latest_charge"], param="payment_intent", status=400)
        if charge_id and charge_id != charge["id"]:
            raise errors.StripeError(
                f"The charge {charge_id} does not belong to PaymentIntent {pi_id}.",
                param="charge",
            )
        return charge
    assert charge_id is not None
    charge = emu.get("charge", charge_id, param="charge", status=400)
    if charge["status"] != "succeeded":
        raise errors.StripeError(
            f"Charge {charge_id} has not succeeded and cannot be refunded.",
            param="charge",
            code="charge_not_refundable",
        )
    return charge


def _ordering_key(emu: Emulator, charge: dict[str, Any]) -> str:
    if charge.get("payment_intent"):
        session_id = emu.store.get_private(f"pi_session:{charge['payment_intent']}")
        if session_id:
            return str(session_id)
        return str(charge["payment_intent"])
    return str(charge["id"])
