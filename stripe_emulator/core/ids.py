"""Stripe-looking ids (`cs_test_a1...`, `pi_3E...`, `acct_1E...`) and random tokens."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits

ID_LENGTHS = {
    "acct": 16,
    "cs_test": 58,
    "pi": 24,
    "ch": 24,
    "re": 24,
    "py": 24,
    "txn": 24,
    "pm": 24,
    "evt": 24,
    "li": 24,
    "prod": 14,
    "price": 24,
    "req": 14,
    "3ds": 20,
    "cus": 14,
}


def random_token(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: str) -> str:
    """Stripe-looking ids: cs_test_a1..., pi_3N..., evt_1P..."""
    length = ID_LENGTHS.get(prefix, 24)
    if prefix == "cs_test":
        return f"cs_test_a1{random_token(length - 2)}"
    if prefix in ("pi", "ch", "re", "py", "txn", "pm", "evt", "price", "li", "tr", "trr", "fee",
                  "fr", "po", "ba", "pyr"):
        return f"{prefix}_3E{random_token(length - 2)}"
    if prefix == "acct":
        return f"acct_1E{random_token(length - 2)}"
    return f"{prefix}_{random_token(length)}"
