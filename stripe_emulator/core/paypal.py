"""PayPal: a redirect payment method. The hosted page sends the payer to PayPal (here: the
emulator's test page, with "Authorize test payment" and "Fail test payment" as in Stripe's test
mode); authorizing charges the PaymentIntent at once, failing brings the payer back to Checkout
with the error, the session still open.

start:      payment_intent.created, payment_intent.requires_action
authorize:  charge.succeeded, payment_intent.succeeded, checkout.session.completed
fail:       payment_intent.payment_failed
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core import cards, connect_money, discounts, ids, objects, payment_engine
from stripe_emulator.core.context import AUTOMATIC
from stripe_emulator.core.errors import doc_url
from stripe_emulator.core.payment_engine import EMAIL_RE, PaymentResult, success_redirect

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine


def _key(attempt_id: str) -> str:
    return f"paypal:{attempt_id}"


def attempt(emu: Engine, attempt_id: str) -> dict[str, Any] | None:
    return emu.store.get_private(_key(attempt_id))


def start(emu: Engine, session: dict[str, Any], intent_data: dict[str, Any], *, email: str) -> PaymentResult:
    """The payer chose PayPal: a PaymentMethod, and the PaymentIntent waits for the redirect."""
    with emu.tx():
        email = (email or "").strip()
        if not EMAIL_RE.match(email):
            message = "Your email address is invalid." if email else "Your email address is incomplete."
            return PaymentResult("invalid", session, field_errors={"email": message},
                                 error={"type": "validation_error", "code": "email_invalid", "message": message})
        pi = payment_engine._ensure_payment_intent(emu, session, intent_data)
        pm = objects.build("payment_method", id=ids.new_id("pm"), created=emu.clock.now(), type="paypal")
        pm["billing_details"]["email"] = email
        pm["paypal"] = {"country": None, "payer_email": None, "payer_id": None}
        emu.store.put(pm, account=emu.store.owner(session["id"]))
        attempt_id = ids.new_id("ppa")
        url = f"{emu.config.base_url}/c/pay/{session['id']}/paypal/{attempt_id}"
        emu.store.put_private(_key(attempt_id), {
            "id": attempt_id, "session": session["id"], "payment_intent": pi["id"],
            "payment_method": pm["id"], "email": email, "status": "pending",
            "amount": pi["amount"], "currency": pi["currency"],
        })
        pi.update(
            status="requires_action",
            payment_method=pm["id"],
            last_payment_error=None,
            next_action={"type": "redirect_to_url",
                         "redirect_to_url": {"return_url": f"{emu.config.base_url}/c/pay/{session['id']}",
                                             "url": url}},
        )
        emu.store.put(pi)
        emu.emit("payment_intent.requires_action", pi, AUTOMATIC, session["id"])
        return PaymentResult("requires_action", session, payment_intent=pi, challenge_id=attempt_id, next_url=url)


def resolve(emu: Engine, session: dict[str, Any], data: dict[str, Any], action: str) -> PaymentResult:
    """`authorize` charges the PaymentIntent; `fail` fails it (the session stays open)."""
    with emu.tx():
        pi = emu.store.get("payment_intent", data["payment_intent"])
        pm = emu.store.get("payment_method", data["payment_method"])
        if data["status"] != "pending" or pi is None or pm is None or pi["status"] != "requires_action" \
                or pi["payment_method"] != pm["id"]:
            return PaymentResult("invalid", session, payment_intent=pi, error={
                "type": "invalid_request_error", "code": "payment_intent_unexpected_state",
                "message": "This PayPal authorization is no longer pending; please pay again."})
        data["status"] = action
        emu.store.put_private(_key(data["id"]), data)
        key = session["id"]
        if action == "fail":
            error = {
                "code": "payment_intent_authentication_failure",
                "doc_url": doc_url("payment_intent_authentication_failure"),
                "message": cards.AUTHENTICATION_FAILED,
                "payment_method": pm,
                "payment_method_type": "paypal",
                "type": "invalid_request_error",
            }
            pi.update(status="requires_payment_method", last_payment_error=error, next_action=None,
                      payment_method=None)
            emu.store.put(pi)
            emu.emit("payment_intent.payment_failed", pi, AUTOMATIC, key)
            return PaymentResult("failed", session, payment_intent=pi, error={
                "type": error["type"], "code": error["code"], "decline_code": None, "message": error["message"]})
        email = data["email"]
        payer = {"country": "GB", "payer_email": email, "payer_id": ids.random_token(13).upper(),
                 "payer_name": "Test Payer"}
        pm["paypal"] = {"country": payer["country"], "payer_email": email, "payer_id": payer["payer_id"]}
        pm["billing_details"]["name"] = payer["payer_name"]
        emu.store.put(pm)
        now = emu.clock.now()
        owner = emu.store.owner(session["id"])
        charge_id = ids.new_id("py")
        charge = objects.build(
            "charge", id=charge_id, amount=pi["amount"], created=now, currency=pi["currency"],
            description=pi["description"], metadata=dict(pi["metadata"]), payment_intent=pi["id"],
            payment_method=pm["id"], receipt_email=pi["receipt_email"],
            statement_descriptor=pi["statement_descriptor"],
            statement_descriptor_suffix=pi["statement_descriptor_suffix"],
            payment_method_details={"type": "paypal", "paypal": {
                **payer, "seller_protection": {"dispute_categories": ["fraudulent", "product_not_received"],
                                               "status": "eligible"},
                "transaction_id": ids.random_token(17).upper()}},
            refunds=objects.list_object([], f"/v1/charges/{charge_id}/refunds"),
            status="succeeded", paid=True, captured=True, amount_captured=pi["amount"],
            receipt_url=f"{emu.config.base_url}/receipts/{charge_id}",
            outcome={"advice_code": None, "network_advice_code": None, "network_decline_code": None,
                     "network_status": "approved_by_network", "reason": None, "risk_level": "not_assessed",
                     "seller_message": "Payment complete.", "type": "authorized"},
        )
        charge["billing_details"].update(email=email, name=payer["payer_name"])
        connect_events = connect_money.settle(emu, pi, charge, owner)
        emu.store.put(charge, account=owner)
        pi.update(status="succeeded", amount_received=pi["amount"], latest_charge=charge_id,
                  last_payment_error=None, next_action=None)
        emu.store.put(pi)
        session.update(status="complete", payment_status="paid", payment_intent=pi["id"], url=None,
                       customer_details={
                           "address": {"city": None, "country": payer["country"], "line1": None, "line2": None,
                                       "postal_code": None, "state": None},
                           "business_name": None, "email": email, "individual_name": None,
                           "name": payer["payer_name"], "phone": None, "tax_exempt": "none", "tax_ids": []})
        discounts.redeem(emu, session)
        emu.store.put(session)
        emu.emit("charge.succeeded", charge, AUTOMATIC, key)
        emu.emit("payment_intent.succeeded", pi, AUTOMATIC, key)
        emu.emit("checkout.session.completed", session, AUTOMATIC, key)
        for event_type, obj in connect_events:
            emu.emit(event_type, obj, AUTOMATIC, key)
        return PaymentResult("succeeded", session, payment_intent=pi, charge=charge,
                             next_url=success_redirect(session))
