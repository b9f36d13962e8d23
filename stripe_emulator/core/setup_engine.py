"""Checkout in setup mode: the hosted page collects a card without charging it. Completing it creates a
PaymentMethod (attached to the session's customer, if any) and a succeeded SetupIntent for off-session
use, then completes the session (`payment_status=no_payment_required`, `setup_intent`).

Events: setup_intent.created -> payment_method.attached (with a customer) -> setup_intent.succeeded ->
checkout.session.completed. A card the issuer refuses outright (a generic decline, a lost or stolen
card, a wrong CVC...) fails the setup and the page says why; a card that only lacks funds is saved (its
charge fails later). The emulator shows no challenge for setting up a 3D Secure card: setting it up is
the authentication (`off_session_outcome` then knows it was set up).

What a saved card is, for the off-session payments that follow (`core/off_session.py`), is kept in
private data (`saved_card:<pm id>`): the test card's number and whether it was set up.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from stripe_emulator.core import cards, customers, ids, objects
from stripe_emulator.core.cards import Card
from stripe_emulator.core.context import AUTOMATIC
from stripe_emulator.core.payment_engine import PaymentResult, check_payer, success_redirect

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

# Declines that fail a setup; an insufficient-funds card is still saved (only its charge fails).
SAVED_DESPITE = frozenset({"insufficient_funds"})


def saved_card_key(payment_method_id: str) -> str:
    return f"saved_card:{payment_method_id}"


def remember_card(emu: Engine, payment_method_id: str, card: Card, *, set_up: bool) -> None:
    emu.store.put_private(saved_card_key(payment_method_id), {"card": asdict(card), "set_up": set_up})


def saved_card(emu: Engine, payment_method_id: str) -> tuple[Card, bool] | None:
    data = emu.store.get_private(saved_card_key(payment_method_id))
    if data is None:
        return None
    return Card(**data["card"]), bool(data["set_up"])


def save_card(
    emu: Engine,
    session: dict[str, Any],
    setup_data: dict[str, Any],
    *,
    email: str = "",
    name: str = "",
    number: str = "",
    expiry: str = "",
    cvc: str = "",
) -> PaymentResult:
    """One attempt to save a card on an open setup-mode `session` (`setup_data`: its `setup_intent_data`)."""
    with emu.tx():
        email, name = (email or "").strip(), (name or "").strip()
        card, invalid = check_payer(emu, session, email=email, name=name, number=number, expiry=expiry, cvc=cvc)
        if invalid is not None or card is None:
            return invalid or PaymentResult("invalid", session)
        outcome = cards.outcome_for(card)
        if outcome.kind == "declined" and outcome.decline_code not in SAVED_DESPITE:
            return PaymentResult(
                "failed",
                session,
                error={"type": "card_error", "code": outcome.code, "decline_code": outcome.decline_code,
                       "message": outcome.message},
            )
        now = emu.clock.now()
        owner = emu.store.owner(session["id"])
        pm = objects.payment_method(card=card, created=now, email=email, name=name)
        pm["allow_redisplay"] = "limited"
        emu.store.put(pm, account=owner)
        remember_card(emu, pm["id"], card, set_up=True)
        setup_id = ids.new_id("seti")
        setup_intent = objects.build(
            "setup_intent",
            id=setup_id,
            client_secret=f"{setup_id}_secret_{ids.random_token(25)}",
            created=now,
            customer=session.get("customer"),
            description=setup_data.get("description"),
            metadata=dict(setup_data.get("metadata") or {}),
            payment_method_types=["card"],
            status="requires_payment_method",
        )
        key = session["id"]
        emu.store.put(setup_intent, account=owner)
        emu.emit("setup_intent.created", setup_intent, AUTOMATIC, key)
        if session.get("customer"):
            customers.attach(emu, pm, session["customer"], AUTOMATIC)
        setup_intent.update(status="succeeded", payment_method=pm["id"])
        emu.store.put(setup_intent)
        session.update(
            status="complete",
            setup_intent=setup_id,
            url=None,
            customer_details={
                "address": None,
                "business_name": None,
                "email": email,
                "individual_name": None,
                "name": name,
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            },
        )
        emu.store.put(session)
        emu.emit("setup_intent.succeeded", setup_intent, AUTOMATIC, key)
        emu.emit("checkout.session.completed", session, AUTOMATIC, key)
        return PaymentResult("succeeded", session, next_url=success_redirect(session))
