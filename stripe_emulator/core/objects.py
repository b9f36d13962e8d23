"""Builders for Stripe objects: defaults for every key, then what the emulator knows."""

from __future__ import annotations

from typing import Any

from stripe_emulator.core.defaults import blank
from stripe_emulator.core.ids import new_id, random_token


def build(object_type: str, **fields: Any) -> dict[str, Any]:
    obj = blank(object_type)
    unknown = set(fields) - set(obj)
    if unknown:
        raise KeyError(f"{object_type} has no fields {sorted(unknown)}")
    obj.update(fields)
    return obj


def list_object(data: list[dict[str, Any]], url: str, has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def checkout_session(**fields: Any) -> dict[str, Any]:
    return build("checkout.session", **fields)


def payment_intent(*, id: str, amount: int, currency: str, created: int, **fields: Any) -> dict[str, Any]:
    return build(
        "payment_intent",
        id=id,
        amount=amount,
        currency=currency,
        created=created,
        client_secret=f"{id}_secret_{random_token(25)}",
        **fields,
    )


def product(**fields: Any) -> dict[str, Any]:
    return build("product", **fields)


def price(**fields: Any) -> dict[str, Any]:
    obj = build("price", **fields)
    if obj["unit_amount"] is not None and obj["unit_amount_decimal"] is None:
        obj["unit_amount_decimal"] = str(obj["unit_amount"])
    return obj


def line_item(*, price_obj: dict[str, Any], quantity: int, description: str | None) -> dict[str, Any]:
    subtotal = int(price_obj["unit_amount"] or 0) * quantity
    return build(
        "item",
        id=new_id("li"),
        amount_subtotal=subtotal,
        amount_total=subtotal,
        currency=price_obj["currency"],
        description=description,
        price=price_obj,
        quantity=quantity,
    )


def payment_method(*, card: Any, created: int, email: str | None, name: str | None) -> dict[str, Any]:
    pm = build("payment_method", id=new_id("pm"), created=created, card=card_details(card))
    pm["billing_details"]["email"] = email
    pm["billing_details"]["name"] = name
    return pm


def card_details(card: Any) -> dict[str, Any]:
    """The `card` hash on a PaymentMethod."""
    return {
        "brand": card.brand,
        "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
        "country": card.country,
        "display_brand": card.brand,
        "exp_month": card.exp_month,
        "exp_year": card.exp_year,
        "fingerprint": card.fingerprint,
        "funding": card.funding,
        "generated_from": None,
        "last4": card.last4,
        "networks": {"available": [card.brand], "preferred": None},
        "regulated_status": "unregulated",
        "three_d_secure_usage": {"supported": True},
        "wallet": None,
    }


def charge_payment_method_details(card: Any, three_d_secure: bool) -> dict[str, Any]:
    return {
        "card": {
            "amount_authorized": None,
            "authorization_code": None,
            "brand": card.brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "pass",
            },
            "country": card.country,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
            "extended_authorization": {"status": "disabled"},
            "fingerprint": card.fingerprint,
            "funding": card.funding,
            "incremental_authorization": {"status": "unavailable"},
            "installments": None,
            "last4": card.last4,
            "mandate": None,
            "multicapture": {"status": "unavailable"},
            "network": card.brand,
            "network_token": {"used": False},
            "network_transaction_id": random_token(15),
            "overcapture": {"maximum_amount_capturable": 0, "status": "unavailable"},
            "regulated_status": "unregulated",
            "three_d_secure": (
                {
                    "authentication_flow": "challenge",
                    "electronic_commerce_indicator": "05",
                    "exemption_indicator": None,
                    "result": "authenticated",
                    "result_reason": None,
                    "transaction_id": random_token(32),
                    "version": "2.2.0",
                }
                if three_d_secure
                else None
            ),
            "wallet": None,
        },
        "type": "card",
    }


def merge_metadata(current: dict[str, str], update: dict[str, str] | None) -> dict[str, str]:
    """Stripe semantics: keys set to '' are removed; metadata='' clears everything."""
    if update is None:
        return dict(current)
    if update == {}:
        return {}
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def clean_metadata(metadata: dict[str, str] | None) -> dict[str, str]:
    """Metadata given at creation: '' values mean "not set"."""
    return {key: value for key, value in (metadata or {}).items() if value != ""}
