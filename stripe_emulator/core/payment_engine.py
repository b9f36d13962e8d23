"""The payment engine: paying an open checkout session with a test card creates its
PaymentIntent (at the first attempt), a PaymentMethod and a charge, books the charge on the
ledger (with the transfer and fee of a destination charge, see `connect_money.py`), and
completes the session. The checkout resource (`resources/checkout.py`) finds the payable
session; the hosted page and the control API's `complete` endpoint both go through it.

Success:  charge.succeeded -> payment_intent.succeeded -> checkout.session.completed
Decline:  charge.failed -> payment_intent.payment_failed (session stays open)
3DS card: payment_intent.requires_action, then `authenticate(..., "complete" | "fail")`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stripe_emulator.core import billing, cards, connect_money, discounts, disputes, ids, invoicing, objects
from stripe_emulator.core.cards import Card, Outcome
from stripe_emulator.core.context import AUTOMATIC
from stripe_emulator.core.errors import doc_url

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SessionUnavailable(Exception):
    """The session cannot take a payment: reason is 'not_found', 'expired' or 'complete'."""

    def __init__(self, reason: str, session: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.session = session


@dataclass
class PaymentResult:
    status: str  # "succeeded" | "processing" (a bank debit) | "failed" | "requires_action" | "invalid"
    session: dict[str, Any]
    payment_intent: dict[str, Any] | None = None
    charge: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    field_errors: dict[str, str] = field(default_factory=dict)
    challenge_id: str | None = None
    next_url: str | None = None  # success_url (substituted) or the 3D Secure page

    @property
    def message(self) -> str | None:
        return (self.error or {}).get("message")

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.status in ("succeeded", "processing"),
            "status": self.status,
            "error": self.error,
            "field_errors": self.field_errors,
            "session": self.session,
            "payment_intent": self.payment_intent,
            "charge": self.charge,
            "challenge_id": self.challenge_id,
            "next_url": self.next_url,
        }


def success_redirect(session: dict[str, Any]) -> str:
    return str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session["id"])


def pay(
    emu: Engine,
    session: dict[str, Any],
    intent_data: dict[str, Any],
    *,
    email: str = "",
    name: str = "",
    number: str = "",
    expiry: str = "",
    cvc: str = "",
) -> PaymentResult:
    """One payment attempt on an open `session` (`intent_data`: its `payment_intent_data`)."""
    with emu.tx():
        email, name = (email or "").strip(), (name or "").strip()
        card, invalid = check_payer(emu, session, email=email, name=name, number=number, expiry=expiry, cvc=cvc)
        if invalid is not None or card is None:
            return invalid or PaymentResult("invalid", session)
        pi = _ensure_payment_intent(emu, session, intent_data)
        pm = objects.payment_method(card=card, created=emu.clock.now(), email=email, name=name)
        emu.store.put(pm, account=emu.store.owner(session["id"]))
        outcome = cards.outcome_for(card)
        if outcome.kind == "requires_action":
            return _require_action(emu, session, pi, pm, card, email, name)
        return _charge(emu, session, pi, pm, card, outcome, email, name, three_d_secure=False)


def check_payer(
    emu: Engine, session: dict[str, Any], *, email: str, name: str, number: str, expiry: str, cvc: str
) -> tuple[Card | None, PaymentResult | None]:
    """What the payer typed: the card, or the `invalid` result naming each problem (Stripe.js codes)."""
    today = datetime.fromtimestamp(emu.clock.now(), tz=UTC).date()
    problems: dict[str, str] = {}
    if not email:
        problems["email"] = "Your email address is incomplete."
    elif not EMAIL_RE.match(email):
        problems["email"] = "Your email address is invalid."
    card, card_problems = cards.validate_card(number, expiry, cvc, today)
    problems.update(card_problems)
    if not name:
        problems["name"] = "Your cardholder name is incomplete."
    if problems or card is None:
        first = next(iter(problems.values()))
        code = cards.VALIDATION_CODES.get(first, "validation_error")
        return None, PaymentResult(
            "invalid",
            session,
            error={"type": "validation_error", "code": code, "message": first},
            field_errors=problems,
        )
    return card, None


def challenge(emu: Engine, challenge_id: str) -> dict[str, Any] | None:
    """A 3D Secure challenge (what `pay` answered `requires_action` with)."""
    return emu.store.get_private(f"3ds:{challenge_id}")


def authenticate(
    emu: Engine, session: dict[str, Any], challenge: dict[str, Any], action: str
) -> PaymentResult:
    """Resolve `challenge` on the open `session`: action 'complete' charges the card, 'fail'
    fails it."""
    challenge_id = challenge["id"]
    with emu.tx():
        pi = emu.store.get("payment_intent", challenge["payment_intent"])
        pm = emu.store.get("payment_method", challenge["payment_method"])
        if (
            challenge["status"] != "pending"
            or pi is None
            or pm is None
            or pi["status"] != "requires_action"
            or pi["payment_method"] != pm["id"]
        ):
            return PaymentResult(
                "invalid",
                session,
                payment_intent=pi,
                error={
                    "type": "invalid_request_error",
                    "code": "payment_intent_unexpected_state",
                    "message": "This authentication is no longer pending; please pay again.",
                },
            )
        challenge["status"] = action
        emu.store.put_private(f"3ds:{challenge_id}", challenge)
        card = Card(**challenge["card"])
        if action == "fail":
            error = {
                "code": "payment_intent_authentication_failure",
                "doc_url": doc_url("payment_intent_authentication_failure"),
                "message": cards.AUTHENTICATION_FAILED,
                "payment_method": pm,
                "payment_method_type": "card",
                "type": "invalid_request_error",
            }
            pi.update(
                status="requires_payment_method",
                last_payment_error=error,
                next_action=None,
                payment_method=None,
            )
            emu.store.put(pi)
            emu.emit("payment_intent.payment_failed", pi, AUTOMATIC, session["id"])
            return PaymentResult("failed", session, payment_intent=pi, error=_public_error(error))
        outcome = cards.outcome_for(card).after_authentication or cards.SUCCESS
        return _charge(
            emu, session, pi, pm, card, outcome, challenge["email"], challenge["name"],
            three_d_secure=True,
        )


def _ensure_payment_intent(emu: Engine, session: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Stripe creates the PaymentIntent when the payer first tries to pay."""
    if session.get("payment_intent"):
        pi = emu.store.get("payment_intent", session["payment_intent"])
        if pi is not None:
            return pi
    transfer_data = data.get("transfer_data")
    pi = objects.payment_intent(
        id=ids.new_id("pi"),
        allowed_payment_method_types=session.get("allowed_payment_method_types"),
        amount=session["amount_total"],
        application_fee_amount=data.get("application_fee_amount"),
        currency=session["currency"],
        created=emu.clock.now(),
        customer=session.get("customer"),
        capture_method=data.get("capture_method") or "automatic",
        description=data.get("description"),
        metadata=dict(data.get("metadata") or {}),
        payment_method_types=list(session["payment_method_types"]),
        receipt_email=data.get("receipt_email"),
        statement_descriptor=data.get("statement_descriptor"),
        statement_descriptor_suffix=data.get("statement_descriptor_suffix"),
        transfer_data={"destination": transfer_data["destination"]} if transfer_data else None,
        transfer_group=data.get("transfer_group"),
    )
    emu.store.put(pi, account=emu.store.owner(session["id"]))
    emu.store.put_private(f"pi_session:{pi['id']}", session["id"])
    session["payment_intent"] = pi["id"]
    emu.store.put(session)
    emu.emit("payment_intent.created", pi, AUTOMATIC, session["id"])
    return pi


def _require_action(
    emu: Engine,
    session: dict[str, Any],
    pi: dict[str, Any],
    pm: dict[str, Any],
    card: Card,
    email: str,
    name: str,
) -> PaymentResult:
    challenge_id = ids.new_id("3ds")
    emu.store.put_private(
        f"3ds:{challenge_id}",
        {
            "id": challenge_id,
            "session": session["id"],
            "payment_intent": pi["id"],
            "payment_method": pm["id"],
            "card": asdict(card),
            "email": email,
            "name": name,
            "status": "pending",
            "amount": pi["amount"],
            "currency": pi["currency"],
        },
    )
    challenge_url = f"{emu.config.base_url}/c/pay/{session['id']}/authenticate/{challenge_id}"
    pi.update(
        status="requires_action",
        payment_method=pm["id"],
        last_payment_error=None,
        next_action={
            "type": "redirect_to_url",
            "redirect_to_url": {
                "return_url": f"{emu.config.base_url}/c/pay/{session['id']}",
                "url": challenge_url,
            },
        },
    )
    emu.store.put(pi)
    emu.emit("payment_intent.requires_action", pi, AUTOMATIC, session["id"])
    return PaymentResult(
        "requires_action",
        session,
        payment_intent=pi,
        challenge_id=challenge_id,
        next_url=challenge_url,
    )


def _charge(
    emu: Engine,
    session: dict[str, Any],
    pi: dict[str, Any],
    pm: dict[str, Any],
    card: Card,
    outcome: Outcome,
    email: str,
    name: str,
    *,
    three_d_secure: bool,
    wallet: str | None = None,
) -> PaymentResult:
    now = emu.clock.now()
    owner = emu.store.owner(session["id"])
    charge_id = ids.new_id("ch")
    charge = objects.build(
        "charge",
        id=charge_id,
        amount=pi["amount"],
        created=now,
        currency=pi["currency"],
        description=pi["description"],
        metadata=dict(pi["metadata"]),
        payment_intent=pi["id"],
        payment_method=pm["id"],
        payment_method_details=objects.charge_payment_method_details(card, three_d_secure),
        receipt_email=pi["receipt_email"],
        statement_descriptor=pi["statement_descriptor"],
        statement_descriptor_suffix=pi["statement_descriptor_suffix"],
        refunds=objects.list_object([], f"/v1/charges/{charge_id}/refunds"),
    )
    charge["billing_details"].update(email=email, name=name)
    if wallet:  # Apple Pay / Google Pay (core/wallets.py)
        charge["payment_method_details"]["card"]["wallet"] = {wallet: {}, "dynamic_last4": card.last4,
                                                              "type": wallet}
    key = session["id"]
    if outcome.succeeded:
        charge.update(
            status="succeeded",
            paid=True,
            captured=True,
            amount_captured=pi["amount"],
            receipt_url=f"{emu.config.base_url}/receipts/{charge_id}",
            outcome={
                "advice_code": None,
                "network_advice_code": None,
                "network_decline_code": None,
                "network_status": "approved_by_network",
                "reason": None,
                "risk_level": "normal",
                "risk_score": 20,
                "seller_message": "Payment complete.",
                "type": "authorized",
            },
        )
        charge["payment_method_details"]["card"]["amount_authorized"] = pi["amount"]
        connect_events = connect_money.settle(emu, pi, charge, owner)
        emu.store.put(charge, account=owner)
        pi.update(
            status="succeeded",
            amount_received=pi["amount"],
            latest_charge=charge_id,
            payment_method=pm["id"],
            last_payment_error=None,
            next_action=None,
        )
        emu.store.put(pi)
        session.update(
            status="complete",
            payment_status="paid",
            payment_intent=pi["id"],
            url=None,
            customer_details={
                "address": {
                    "city": None,
                    "country": card.country,
                    "line1": None,
                    "line2": None,
                    "postal_code": None,
                    "state": None,
                },
                "business_name": None,
                "email": email,
                "individual_name": None,
                "name": name,
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            },
        )
        discounts.redeem(emu, session)
        invoice_events = invoicing.complete_session(emu, session, charge, pi)
        billing_before: list[tuple[str, dict[str, Any]]] = []
        if session.get("mode") == "subscription":  # core/billing.py: the Subscription and its invoice
            billing_before, billing_after = billing.start_from_checkout(emu, session, pi, charge, pm, card)
            invoice_events += billing_after
        emu.store.put(session)
        for event_type, obj in billing_before:
            emu.emit(event_type, obj, AUTOMATIC, key)
        emu.emit("charge.succeeded", charge, AUTOMATIC, key)
        emu.emit("payment_intent.succeeded", pi, AUTOMATIC, key)
        emu.emit("checkout.session.completed", session, AUTOMATIC, key)
        for event_type, obj in invoice_events:
            emu.emit(event_type, obj, AUTOMATIC, key)
        for event_type, obj in connect_events:
            emu.emit(event_type, obj, AUTOMATIC, key)
        disputed = cards.dispute_for(card)
        if disputed is not None:  # Stripe's dispute test cards: disputed right after the payment
            reason, inquiry = disputed
            for event_type, obj in disputes.open_dispute(emu, charge, card, reason=reason, inquiry=inquiry):
                emu.emit(event_type, obj, AUTOMATIC, key)
        return PaymentResult(
            "succeeded", session, payment_intent=pi, charge=charge, next_url=success_redirect(session)
        )

    decline_code = outcome.decline_code
    charge.update(
        status="failed",
        paid=False,
        captured=False,
        failure_code=outcome.code,
        failure_message=outcome.message,
        outcome=_blocked_outcome() if outcome.blocked else {
            "advice_code": "try_again_later" if decline_code == "processing_error" else None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "declined_by_network",
            "reason": decline_code,
            "risk_level": "normal",
            "risk_score": 30,
            "seller_message": (
                "The bank did not return any further details with this decline."
                if decline_code == "generic_decline"
                else f"The bank returned the decline code `{decline_code}`."
            ),
            "type": "issuer_declined",
        },
    )
    emu.store.put(charge, account=owner)
    error = {
        "advice_code": None,
        "charge": charge_id,
        "code": outcome.code,
        "decline_code": decline_code,
        "doc_url": doc_url(outcome.code or "card_declined"),
        "message": outcome.message,
        "network_advice_code": None,
        "network_decline_code": None,
        "param": None,
        "payment_method": pm,
        "payment_method_type": "card",
        "type": "card_error",
    }
    pi.update(
        status="requires_payment_method",
        last_payment_error=error,
        latest_charge=charge_id,
        payment_method=None,
        next_action=None,
    )
    emu.store.put(pi)
    emu.emit("charge.failed", charge, AUTOMATIC, key)
    emu.emit("payment_intent.payment_failed", pi, AUTOMATIC, key)
    return PaymentResult(
        "failed", session, payment_intent=pi, charge=charge, error=_public_error(error)
    )


def _blocked_outcome() -> dict[str, Any]:
    """Radar's answer for a payment it blocked as highest risk (never sent to the card network)."""
    return {
        "advice_code": "do_not_try_again",
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "not_sent_to_network",
        "reason": "highest_risk_level",
        "risk_level": "highest",
        "risk_score": 95,
        "seller_message": "Stripe blocked this payment as too risky.",
        "type": "blocked",
    }


def _public_error(error: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": error["type"],
        "code": error.get("code"),
        "decline_code": error.get("decline_code"),
        "message": error["message"],
    }
