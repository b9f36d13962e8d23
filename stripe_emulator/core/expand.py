"""`expand[]=payment_intent`, `expand[]=data.latest_charge`, `expand[]=payment_intent.latest_charge`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stripe_emulator.core import errors

EXPANDABLE: dict[str, frozenset[str]] = {
    "checkout.session": frozenset(
        {"payment_intent", "line_items", "customer", "invoice", "subscription", "setup_intent",
         "payment_link"}
    ),
    "payment_intent": frozenset(
        {"latest_charge", "payment_method", "customer", "application", "on_behalf_of", "review"}
    ),
    "charge": frozenset(
        {"payment_intent", "balance_transaction", "customer", "application", "application_fee",
         "review", "on_behalf_of", "source_transfer", "failure_balance_transaction", "transfer",
         "payment_method"}
    ),
    "refund": frozenset(
        {"charge", "payment_intent", "balance_transaction", "transfer_reversal",
         "source_transfer_reversal", "failure_balance_transaction"}
    ),
    "transfer": frozenset(
        {"balance_transaction", "destination", "destination_payment", "source_transaction"}
    ),
    "transfer_reversal": frozenset(
        {"balance_transaction", "destination_payment_refund", "source_refund", "transfer"}
    ),
    "application_fee": frozenset(
        {"account", "balance_transaction", "charge", "originating_transaction"}
    ),
    "fee_refund": frozenset({"balance_transaction", "fee"}),
    "payout": frozenset(
        {"balance_transaction", "destination", "failure_balance_transaction", "original_payout",
         "reversed_by", "application_fee"}
    ),
    "balance_transaction": frozenset({"source"}),
    "price": frozenset({"product", "currency_options"}),
    "product": frozenset({"default_price"}),
    "payment_method": frozenset({"customer"}),
    "item": frozenset({"price.product", "price"}),
    "invoice": frozenset({"customer", "default_payment_method", "payments"}),
    "subscription": frozenset({"customer", "default_payment_method", "latest_invoice"}),
    "invoice_payment": frozenset({"invoice", "payment.payment_intent", "payment.charge"}),
}

# Fields computed (rather than looked up by id) when expanded, by the engine (`Engine.compute`): a session's
# line_items, a price's currency_options, an invoice's payments.
COMPUTED_FIELDS = frozenset({"line_items", "currency_options", "payments"})

# (object, field) -> value for fields that are computed rather than stored, e.g. line_items.
Computed = Callable[[dict[str, Any], str], Any]


def expand(
    obj: dict[str, Any],
    paths: list[str],
    lookup: Callable[[str], dict[str, Any] | None],
    computed: Computed,
) -> dict[str, Any]:
    for path in paths:
        if path.count(".") > 3:
            raise errors.StripeError(
                f"You cannot expand more than 4 levels of a property. Property: {path}",
                param="expand",
            )
        _expand(obj, path.split("."), path, lookup, computed)
    return obj


def _expand(
    obj: Any,
    parts: list[str],
    full: str,
    lookup: Callable[[str], dict[str, Any] | None],
    computed: Computed,
) -> None:
    if not isinstance(obj, dict) or not parts:
        return
    if obj.get("object") == "list":
        if parts[0] != "data":
            raise errors.StripeError(f"This property cannot be expanded ({full}).", param="expand")
        for item in obj.get("data", []):
            _expand(item, parts[1:], full, lookup, computed)
        return
    field = parts[0]
    if field not in EXPANDABLE.get(obj.get("object", ""), frozenset()):
        raise errors.StripeError(f"This property cannot be expanded ({full}).", param="expand")
    value = obj.get(field)
    if field in COMPUTED_FIELDS:
        value = obj[field] = computed(obj, field)
    elif isinstance(value, str):
        found = lookup(value)
        if found is not None:
            value = obj[field] = found
    _expand(value, parts[1:], full, lookup, computed)
