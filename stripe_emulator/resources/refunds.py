"""Refunds: full or partial, by payment_intent or charge; the PaymentIntent is left untouched.

On a destination charge, `reverse_transfer=true` and `refund_application_fee=true` reverse the
transfer and refund the application fee in proportion (see `core/connect_money.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core import cards, connect_money, errors, ids, ledger, objects
from stripe_emulator.core.context import AUTOMATIC, RequestContext
from stripe_emulator.core.listing import list_endpoint
from stripe_emulator.core.money import format_amount
from stripe_emulator.core.objects import clean_metadata
from stripe_emulator.core.spec import EXPAND, RETRIEVE, Boolean, Endpoint, Hash, Integer, Metadata, String

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

REASONS = ("duplicate", "fraudulent", "requested_by_customer")
CREATE = Hash(
    amount=Integer(minimum=1),
    charge=String(),
    expand=EXPAND,
    metadata=Metadata(),
    payment_intent=String(),
    reason=String(choices=REASONS),
    refund_application_fee=Boolean(),
    reverse_transfer=Boolean(),
)
UPDATE = Hash(expand=EXPAND, metadata=Metadata())


def create_refund(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    charge_id = args.get("charge")
    pi_id = args.get("payment_intent")
    if not charge_id and not pi_id:
        raise errors.StripeError(
            "One of the following params should be provided for this request: payment_intent "
            "or charge.",
            param="payment_intent",
            code="parameter_missing",
        )
    amount = args.get("amount")
    reason = args.get("reason")
    metadata = clean_metadata(args.get("metadata"))

    with emu.tx():
        charge = _refundable_charge(emu, ctx, charge_id, pi_id)
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
        owner = emu.store.owner(charge["id"])
        refund_id = ids.new_id("re")
        txn = ledger.record(
            emu,
            account=owner,
            type="refund",
            amount=-amount,
            currency=charge["currency"],
            source=refund_id,
        )
        refund = objects.build(
            "refund",
            id=refund_id,
            amount=amount,
            balance_transaction=txn["id"],
            charge=charge["id"],
            created=now,
            currency=charge["currency"],
            metadata=metadata,
            payment_intent=charge["payment_intent"],
            payment_method=charge["payment_method"],
            reason=reason,
            status="succeeded",
        )
        behaviour = cards.refund_behaviour(
            ((charge.get("payment_method_details") or {}).get("card") or {}).get("fingerprint")
        )
        if behaviour == cards.REFUND_PENDING:
            refund["status"] = "pending"
        if behaviour is not None:
            _schedule(emu, refund_id, now + cards.REFUND_SETTLE_SECONDS, behaviour)
        refund["destination_details"] = {
            "card": {
                "reference": ids.random_token(12),
                "reference_status": "available",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
            "type": "card",
        }
        previous = {
            "amount_refunded": charge["amount_refunded"],
            "refunded": charge["refunded"],
        }
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        refunds_list = charge.get("refunds") or objects.list_object(
            [], f"/v1/charges/{charge['id']}/refunds"
        )
        refunds_list["data"] = [refund, *refunds_list.get("data", [])]
        refunds_list["url"] = f"/v1/charges/{charge['id']}/refunds"
        charge["refunds"] = refunds_list
        connect_events = connect_money.on_refund(
            emu,
            charge,
            refund,
            reverse_transfer=bool(args.get("reverse_transfer")),
            refund_application_fee=bool(args.get("refund_application_fee")),
        )
        emu.store.put(refund, account=owner)
        emu.store.put(charge)
        key = _ordering_key(emu, charge)
        emu.emit("refund.created", refund, ctx, key)
        emu.emit("charge.refunded", charge, ctx, key, previous_attributes=previous)
        for event_type, obj in connect_events:
            emu.emit(event_type, obj, ctx, key)
        return refund


# --- refunds that settle later (Stripe's test cards, see core/cards.py) --------------------------

_DUE_KEY = "refunds_due"
FAILURE_REASON = "expired_or_canceled_card"


def _schedule(emu: Engine, refund_id: str, at: int, behaviour: str) -> None:
    due = emu.store.get_private(_DUE_KEY) or []
    due.append({"refund": refund_id, "at": at, "behaviour": behaviour})
    emu.store.put_private(_DUE_KEY, due)


def settle_due(emu: Engine) -> list[str]:
    """Clock tick: a pending refund succeeds, a refund of the failing card fails (the money returns
    to the balance); `refund.updated` and `charge.refund.updated` (and `refund.failed`) are sent."""
    now = emu.clock.now()
    due = emu.store.get_private(_DUE_KEY) or []
    ready = [entry for entry in due if entry["at"] <= now]
    if not ready:
        return []
    emu.store.put_private(_DUE_KEY, [entry for entry in due if entry["at"] > now])
    settled = []
    for entry in sorted(ready, key=lambda item: item["at"]):
        refund = emu.store.get("refund", entry["refund"])
        if refund is None or refund["status"] not in ("pending", "succeeded"):
            continue
        charge = emu.store.get("charge", refund["charge"])
        if charge is None:
            continue
        previous = {"status": refund["status"]}
        if entry["behaviour"] == cards.REFUND_PENDING:
            refund["status"] = "succeeded"
        else:
            txn = ledger.record(
                emu,
                account=emu.store.owner(refund["id"]),
                type="refund_failure",
                amount=refund["amount"],
                currency=refund["currency"],
                source=refund["id"],
                created=entry["at"],
            )
            refund.update(
                status="failed", failure_reason=FAILURE_REASON, failure_balance_transaction=txn["id"]
            )
            previous.update(failure_reason=None, failure_balance_transaction=None)
            charge["amount_refunded"] = max(charge["amount_refunded"] - refund["amount"], 0)
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        listed = (charge.get("refunds") or {}).get("data") or []
        charge["refunds"]["data"] = [refund if item["id"] == refund["id"] else item for item in listed]
        emu.store.put(refund)
        emu.store.put(charge)
        key = _ordering_key(emu, charge)
        emu.emit("refund.updated", refund, AUTOMATIC, key, previous_attributes=previous)
        emu.emit("charge.refund.updated", refund, AUTOMATIC, key, previous_attributes=previous)
        if refund["status"] == "failed":
            emu.emit("refund.failed", refund, AUTOMATIC, key)
        settled.append(refund["id"])
    return settled


def _refundable_charge(
    emu: Engine, ctx: RequestContext, charge_id: str | None, pi_id: str | None
) -> dict[str, Any]:
    if pi_id:
        pi = emu.get("payment_intent", pi_id, param="payment_intent", status=400, account=ctx.account)
        if pi["status"] != "succeeded" or not pi["latest_charge"]:
            raise errors.StripeError(
                f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                param="payment_intent",
                code="charge_not_refundable",
            )
        charge = emu.get("charge", pi["latest_charge"], param="payment_intent", status=400, account=ctx.account)
        if charge_id and charge_id != charge["id"]:
            raise errors.StripeError(
                f"The charge {charge_id} does not belong to PaymentIntent {pi_id}.",
                param="charge",
            )
        return charge
    assert charge_id is not None
    charge = emu.get("charge", charge_id, param="charge", status=400, account=ctx.account)
    if charge["status"] != "succeeded":
        raise errors.StripeError(
            f"Charge {charge_id} has not succeeded and cannot be refunded.",
            param="charge",
            code="charge_not_refundable",
        )
    return charge


def _ordering_key(emu: Engine, charge: dict[str, Any]) -> str:
    if charge.get("payment_intent"):
        session_id = emu.store.get_private(f"pi_session:{charge['payment_intent']}")
        if session_id:
            return str(session_id)
        return str(charge["payment_intent"])
    return str(charge["id"])


# --- endpoints ---------------------------------------------------------------------------------


def _create(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    return create_refund(emu, ctx, args)


def _retrieve(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.retrieve("refund", id, ctx.account)


def _update(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.update_fields("refund", id, args, ctx)


ENDPOINTS = [
    Endpoint("POST", "/v1/refunds", CREATE, _create),
    list_endpoint(
        "/v1/refunds",
        "refund",
        {"charge": ("charge", String()), "payment_intent": ("payment_intent", String())},
    ),
    Endpoint("GET", "/v1/refunds/{id}", RETRIEVE, _retrieve),
    Endpoint("POST", "/v1/refunds/{id}", UPDATE, _update),
]
