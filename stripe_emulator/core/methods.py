"""Which payment methods a Checkout Session offers (dynamic payment methods).

Stripe picks the methods from the session's currency; `allowed_payment_method_types` narrows the
choice and `excluded_payment_method_types` removes some. The emulator implements cards (with the
Apple Pay / Google Pay wallet buttons, which are cards), PayPal (a redirect), SEPA Direct Debit
(EUR) and Bacs Direct Debit (GBP), the last two delayed: the session completes `unpaid` and the
debit succeeds or fails later on the emulator's clock (`bank_debits.py`).
"""

from __future__ import annotations

# PayPal's presentment currencies on Stripe (docs.stripe.com/payments/paypal).
PAYPAL_CURRENCIES = frozenset(
    {"aud", "cad", "chf", "czk", "dkk", "eur", "gbp", "hkd", "nok", "nzd", "pln", "sek", "sgd", "usd"}
)
DEBIT_CURRENCIES = {"sepa_debit": "eur", "bacs_debit": "gbp"}
# What the emulator can take, in the order the hosted page shows them.
IMPLEMENTED = ("card", "sepa_debit", "bacs_debit", "paypal")
# Methods whose outcome arrives after Checkout completes (payment_status=unpaid, PI `processing`).
DELAYED = frozenset({"sepa_debit", "bacs_debit"})
WALLETS = ("apple_pay", "google_pay")
LABELS = {
    "card": "Card",
    "sepa_debit": "SEPA Direct Debit",
    "bacs_debit": "Bacs Direct Debit",
    "paypal": "PayPal",
    "apple_pay": "Apple Pay",
    "google_pay": "Google Pay",
}


def offered(currency: str, allowed: list[str] | None = None, excluded: list[str] | None = None) -> list[str]:
    """The payment method types a session in `currency` offers."""
    currency = (currency or "").lower()
    types = []
    for method in IMPLEMENTED:
        if method in DEBIT_CURRENCIES and DEBIT_CURRENCIES[method] != currency:
            continue
        if method == "paypal" and currency not in PAYPAL_CURRENCIES:
            continue
        types.append(method)
    if allowed is not None:
        types = [method for method in types if method in allowed]
    return [method for method in types if method not in set(excluded or ())]
