"""The Stripe Price of an offer (a session type, a package): making a new one and retiring old ones.

Prices are immutable, so a changed amount, currency or `currency_options` is a new Price and the old one is
deactivated once the offer's row names the new one. Callers hold no database transaction while these run.

Idempotency keys are `<prefix>-<step>-<digest of the parameters>`: the caller's prefix names the offer and
its revision; the digest gives a retry with other values a new key instead of Stripe's idempotency_error,
while a double click or a retry with the same values replays Stripe's first answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from booking.payments.gateway import PaymentGateway


def key(prefix: str, step: str, params: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"{prefix}-{step}-{digest}"


def create_price(gateway: PaymentGateway, *, key_prefix: str, step: str, product_id: str, unit_amount: int,
                 currency: str, currency_options: Mapping[str, int], metadata: dict[str, str]) -> str:
    """A new active Price of the product (`currency_options`: the other currencies, as clients pay them)."""
    params: dict[str, Any] = {"product_id": product_id, "unit_amount": unit_amount, "currency": currency,
                              "metadata": metadata}
    if currency_options:
        params["currency_options"] = dict(currency_options)
    return gateway.create_price(**params, idempotency_key=key(key_prefix, step, params)).id


def retire_prices(gateway: PaymentGateway, *, key_prefix: str, product_id: str, keep: set[str],
                  only: str | None = None) -> int:
    """Deactivate the product's active Prices other than `keep` (or just `only`): one active Price each."""
    retired = 0
    candidates = [only] if only else [price.id for price in gateway.list_active_prices(product_id)]
    for price_id in candidates:
        if price_id and price_id not in keep:
            gateway.set_price_active(price_id, active=False,
                                     idempotency_key=key(key_prefix, f"retire-{price_id}", {"active": False}))
            retired += 1
    return retired
