"""PaymentIntents created and confirmed at once against a saved card, the cardholder away
(`POST /v1/payment_intents` with `customer`, `payment_method`, `confirm=true`, `off_session=true`): what a
platform does to charge a no-show fee. A destination charge (`transfer_data[destination]`,
`application_fee_amount`) moves the money as Checkout's do (`connect_money.settle`).

The issuer's answer is `cards.off_session_outcome`: 4242… succeeds; 4000 0025 0000 3155 succeeds once set
up (Checkout in setup mode), else needs authentication; 4000 0027 6000 3184 always needs it; 9995 lacks
funds. Like Stripe, a refused payment is kept (the PaymentIntent, a failed charge for a decline) and the
request answers 402 with a `card_error` carrying the PaymentIntent: `authentication_required` leaves it in
`requires_action`, a decline in `requires_payment_method`.

`confirm` returns (pi, error): the caller commits first, then raises the error, so the refused
PaymentIntent is stored and its events go out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core import cards, connect_money, customers, errors, ids, objects, setup_engine
from stripe_emulator.core.cards import Card, Outcome
from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.objects import clean_metadata
from stripe_emulator.core.payment_engine import _blocked_outcome

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine


def create_and_confirm(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> tuple[dict[str, Any], errors.StripeError | None]:
    if not args.get("confirm"):
        raise errors.not_implemented("confirm", "PaymentIntents confirmed later (only confirm=true)")
    if not args.get("off_session"):
        raise errors.not_implemented(
            "off_session", "on-session PaymentIntents (take on-session payments through Checkout)"
        )
    for required in ("customer", "payment_method"):
        if not args.get(required):
            raise errors.missing(required)
    transfer_data = args.get("transfer_data")
    fee = args.get("application_fee_amount")
    if ctx.account and transfer_data:
        raise errors.not_implemented("transfer_data", "destination charges made by a connected account")
    if fee is not None and not transfer_data:
        raise errors.invalid(
            "application_fee_amount",
            "Can only apply an application_fee_amount when the PaymentIntent is attempting a direct "
            "payment (using an OAuth key or Stripe-Account header) or destination payment (using "
            "`transfer_data[destination]`).",
        )
    if fee is not None and fee > args["amount"]:
        raise errors.invalid(
            "application_fee_amount",
            f"The application fee amount ({fee}) must be less than or equal to the amount ({args['amount']}).",
        )
    with emu.tx():
        if transfer_data:
            connect_money.destination_account(emu, transfer_data["destination"], "transfer_data[destination]")
        customer = customers.get_live(emu, args["customer"], ctx.account, param="customer", status=400)
        pm = customers.require_attached(emu, customer["id"], args["payment_method"], ctx.account, "payment_method")
        saved = setup_engine.saved_card(emu, pm["id"])
        if saved is None:
            raise errors.not_implemented("payment_method", "off-session payments with this PaymentMethod "
                                         "(only cards saved through the emulator's Checkout)")
        card, set_up = saved
        now = emu.clock.now()
        pi = objects.payment_intent(
            id=ids.new_id("pi"),
            amount=args["amount"],
            currency=args["currency"].lower(),
            created=now,
            application_fee_amount=fee,
            customer=customer["id"],
            description=args.get("description"),
            metadata=clean_metadata(args.get("metadata")),
            payment_method=pm["id"],
            payment_method_types=["card"],
            receipt_email=args.get("receipt_email"),
            statement_descriptor_suffix=args.get("statement_descriptor_suffix"),
            transfer_data={"destination": transfer_data["destination"]} if transfer_data else None,
            transfer_group=args.get("transfer_group"),
            confirmation_method="automatic",
        )
        emu.store.put(pi, account=ctx.account)
        emu.emit("payment_intent.created", pi, ctx, pi["id"])
        outcome = cards.off_session_outcome(card, set_up=set_up)
        if outcome.kind == "requires_action":
            return pi, _require_authentication(emu, ctx, pi, pm, outcome)
        return pi, _charge(emu, ctx, pi, pm, card, outcome)


def _card_error(outcome: Outcome, pi: dict[str, Any], pm: dict[str, Any], charge_id: str | None) -> errors.StripeError:
    return errors.StripeError(
        outcome.message or cards.DECLINED,
        code=outcome.code,
        status=402,
        type="card_error",
        extra={"decline_code": outcome.decline_code, "charge": charge_id, "payment_intent": pi,
               "payment_method": pm},
    )


def _last_error(outcome: Outcome, pm: dict[str, Any], charge_id: str | None) -> dict[str, Any]:
    return {
        "advice_code": None,
        "charge": charge_id,
        "code": outcome.code,
        "decline_code": outcome.decline_code,
        "doc_url": errors.doc_url(outcome.code or "card_declined"),
        "message": outcome.message,
        "network_advice_code": None,
        "network_decline_code": None,
        "param": None,
        "payment_method": pm,
        "payment_method_type": "card",
        "type": "card_error",
    }


def _require_authentication(
    emu: Engine, ctx: RequestContext, pi: dict[str, Any], pm: dict[str, Any], outcome: Outcome
) -> errors.StripeError:
    """Nothing is charged: the PaymentIntent waits for the cardholder (on-session) in `requires_action`."""
    pi.update(status="requires_action", last_payment_error=_last_error(outcome, pm, None),
              next_action={"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect"}})
    emu.store.put(pi)
    emu.emit("payment_intent.requires_action", pi, ctx, pi["id"])
    emu.emit("payment_intent.payment_failed", pi, ctx, pi["id"])
    return _card_error(outcome, pi, pm, None)


def _charge(
    emu: Engine, ctx: RequestContext, pi: dict[str, Any], pm: dict[str, Any], card: Card, outcome: Outcome
) -> errors.StripeError | None:
    now = emu.clock.now()
    owner = ctx.account
    charge_id = ids.new_id("ch")
    charge = objects.build(
        "charge",
        id=charge_id,
        amount=pi["amount"],
        created=now,
        currency=pi["currency"],
        customer=pi["customer"],
        description=pi["description"],
        metadata=dict(pi["metadata"]),
        payment_intent=pi["id"],
        payment_method=pm["id"],
        payment_method_details=objects.charge_payment_method_details(card, False),
        receipt_email=pi["receipt_email"],
        statement_descriptor_suffix=pi["statement_descriptor_suffix"],
        refunds=objects.list_object([], f"/v1/charges/{charge_id}/refunds"),
    )
    charge["billing_details"].update(pm["billing_details"])
    key = pi["id"]
    if outcome.succeeded:
        charge.update(
            status="succeeded", paid=True, captured=True, amount_captured=pi["amount"],
            receipt_url=f"{emu.config.base_url}/receipts/{charge_id}",
            outcome={"advice_code": None, "network_advice_code": None, "network_decline_code": None,
                     "network_status": "approved_by_network", "reason": None, "risk_level": "normal",
                     "risk_score": 20, "seller_message": "Payment complete.", "type": "authorized"},
        )
        charge["payment_method_details"]["card"]["amount_authorized"] = pi["amount"]
        connect_events = connect_money.settle(emu, pi, charge, owner)
        emu.store.put(charge, account=owner)
        pi.update(status="succeeded", amount_received=pi["amount"], latest_charge=charge_id,
                  last_payment_error=None, next_action=None)
        emu.store.put(pi)
        emu.emit("charge.succeeded", charge, ctx, key)
        emu.emit("payment_intent.succeeded", pi, ctx, key)
        for event_type, obj in connect_events:
            emu.emit(event_type, obj, ctx, key)
        return None
    decline_code = outcome.decline_code
    charge.update(
        status="failed", paid=False, captured=False, failure_code=outcome.code, failure_message=outcome.message,
        outcome=_blocked_outcome() if outcome.blocked else {
            "advice_code": None, "network_advice_code": None, "network_decline_code": None,
            "network_status": "declined_by_network", "reason": decline_code, "risk_level": "normal",
            "risk_score": 30, "seller_message": f"The bank returned the decline code `{decline_code}`.",
            "type": "issuer_declined",
        },
    )
    emu.store.put(charge, account=owner)
    pi.update(status="requires_payment_method", last_payment_error=_last_error(outcome, pm, charge_id),
              latest_charge=charge_id, next_action=None)
    emu.store.put(pi)
    emu.emit("charge.failed", charge, ctx, key)
    emu.emit("payment_intent.payment_failed", pi, ctx, key)
    return _card_error(outcome, pi, pm, charge_id)
