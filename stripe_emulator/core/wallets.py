"""Apple Pay and Google Pay: card wallets. The hosted page's wallet button opens an emulated wallet
sheet; paying there charges the wallet's (test) card like any card, and the charge records
`payment_method_details.card.wallet.type` (and the PaymentMethod its `card.wallet`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stripe_emulator.core import cards, objects, payment_engine
from stripe_emulator.core.cards import Card
from stripe_emulator.core.payment_engine import EMAIL_RE, PaymentResult

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

WALLET_CARD = "4242424242424242"  # the test card in the emulated wallet


def details(wallet: str, card: Card) -> dict[str, Any]:
    """The `wallet` hash of a card charged through `wallet` (apple_pay | google_pay)."""
    return {wallet: {}, "dynamic_last4": card.last4, "type": wallet}


def pay(emu: Engine, session: dict[str, Any], intent_data: dict[str, Any], *, wallet: str,
        email: str, name: str) -> PaymentResult:
    with emu.tx():
        email, name = (email or "").strip(), (name or "").strip() or "Wallet Payer"
        if not EMAIL_RE.match(email):
            message = "Your email address is invalid." if email else "Your email address is incomplete."
            return PaymentResult("invalid", session, field_errors={"email": message},
                                 error={"type": "validation_error", "code": "email_invalid", "message": message})
        year = datetime.fromtimestamp(emu.clock.now(), tz=UTC).year + 3
        card = Card(number=WALLET_CARD, brand=cards.brand_for(WALLET_CARD), exp_month=12, exp_year=year)
        pi = payment_engine._ensure_payment_intent(emu, session, intent_data)
        pm = objects.payment_method(card=card, created=emu.clock.now(), email=email, name=name)
        pm["card"]["wallet"] = details(wallet, card)
        emu.store.put(pm, account=emu.store.owner(session["id"]))
        return payment_engine._charge(emu, session, pi, pm, card, cards.SUCCESS, email, name,
                                      three_d_secure=False, wallet=wallet)
