"""Coupons and promotion codes applied to a Checkout Session: Stripe's redemption rules in one place.

The coupon and promotion code resources (`resources/coupons.py`, `resources/promotion_codes.py`) store
the objects; the checkout resource and the hosted page ask here whether a code may be redeemed on a
session, and what it takes off. A redemption is counted when the session completes (`redeem`), as
Stripe counts `times_redeemed`.

    discount = round_half_up(subtotal x percent_off / 100)   or   min(amount_off, subtotal)
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from stripe_emulator.core import errors

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

# Stripe: "Valid characters are lower case letters (a-z), upper case letters (A-Z), digits (0-9) and dashes (-)."
CODE_RE = re.compile(r"^[A-Za-z0-9-]{1,500}$")


class NotRedeemable(Exception):
    """A code that exists but can't be used on this session: the reason, in Stripe's words."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def coupon_problem(coupon: dict[str, Any], now: int) -> str | None:
    """Why a coupon can't be redeemed any more, or None."""
    if coupon.get("redeem_by") is not None and now >= int(coupon["redeem_by"]):
        return f"Coupon `{coupon['id']}` has expired and can no longer be redeemed."
    if coupon.get("max_redemptions") is not None and coupon["times_redeemed"] >= coupon["max_redemptions"]:
        return f"Coupon `{coupon['id']}` has been redeemed the maximum number of times."
    return None


def discount_amount(coupon: dict[str, Any], subtotal: int) -> int:
    """What the coupon takes off `subtotal` (never more than it)."""
    if coupon.get("percent_off") is not None:
        off = Decimal(subtotal) * Decimal(str(coupon["percent_off"])) / Decimal(100)
        return min(subtotal, int(off.to_integral_value(rounding=ROUND_HALF_UP)))
    return min(subtotal, int(coupon.get("amount_off") or 0))


def find_code(emu: Engine, code: str, account: Any) -> dict[str, Any] | None:
    """The active promotion code a customer typed (codes compare case-insensitively), else the newest."""
    matches = [promo for promo in emu.store.all("promotion_code", account)
               if str(promo["code"]).lower() == code.strip().lower()]
    return next((promo for promo in matches if promo["active"]), matches[0] if matches else None)


def _has_paid_before(emu: Engine, email: str | None, account: Any) -> bool:
    if not email:
        return False
    email = email.lower()
    for session in emu.store.all("checkout.session", account):
        paid_by = (session.get("customer_details") or {}).get("email") or session.get("customer_email") or ""
        if session["status"] == "complete" and session["payment_status"] == "paid" and paid_by.lower() == email:
            return True
    return False


def check_promotion_code(emu: Engine, promo: dict[str, Any], *, subtotal: int, currency: str,
                         email: str | None, account: Any) -> dict[str, Any]:
    """The promotion code's coupon, if the code may be redeemed on a session of `subtotal` in `currency`
    paid by `email`; else NotRedeemable with Stripe's reason."""
    now = emu.clock.now()
    code = promo["code"]
    if not promo["active"]:
        raise NotRedeemable(f"This promotion code ({code}) is inactive.")
    if promo.get("expires_at") is not None and now >= int(promo["expires_at"]):
        raise NotRedeemable(f"This promotion code ({code}) has expired.", "coupon_expired")
    if promo.get("max_redemptions") is not None and promo["times_redeemed"] >= promo["max_redemptions"]:
        raise NotRedeemable(f"This promotion code ({code}) has been redeemed the maximum number of times.")
    coupon = emu.store.get("coupon", promo["promotion"]["coupon"])
    if coupon is None:
        raise NotRedeemable(f"This promotion code ({code}) has no coupon.")
    check_coupon(coupon, now=now, currency=currency)
    restrictions = promo.get("restrictions") or {}
    minimum = restrictions.get("minimum_amount")
    if minimum is not None:
        if (restrictions.get("minimum_amount_currency") or "").lower() != currency.lower():
            raise NotRedeemable(f"This promotion code ({code}) can only be used with "
                                f"{str(restrictions.get('minimum_amount_currency')).upper()} payments.")
        if subtotal < int(minimum):
            raise NotRedeemable(f"This promotion code ({code}) requires a minimum order of {minimum} "
                                f"{currency.upper()} minor units.")
    if restrictions.get("first_time_transaction") and _has_paid_before(emu, email, account):
        raise NotRedeemable(f"This promotion code ({code}) cannot be redeemed because the associated "
                            "customer has prior transactions.")
    return coupon


def check_coupon(coupon: dict[str, Any], *, now: int, currency: str) -> None:
    problem = coupon_problem(coupon, now)
    if problem:
        raise NotRedeemable(problem, "coupon_expired" if "expired" in problem else None)
    if coupon.get("amount_off") is not None and (coupon.get("currency") or "").lower() != currency.lower():
        raise NotRedeemable(f"Coupon `{coupon['id']}` is in {str(coupon.get('currency')).upper()}, "
                            f"and can't be applied to a payment in {currency.upper()}.")


def resolve(emu: Engine, entries: list[dict[str, Any]], *, subtotal: int, currency: str, email: str | None,
            account: Any) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """`discounts` of a new Checkout Session -> (coupon, promotion code or None), or None when empty.
    Refusals name the parameter, as Stripe's do."""
    if not entries:
        return None
    if len(entries) > 1:
        raise errors.invalid("discounts", "You may only specify one discount per Checkout Session.")
    entry = entries[0]
    if ("coupon" in entry) == ("promotion_code" in entry):
        raise errors.StripeError("You must specify exactly one of these parameters: coupon, promotion_code.",
                                 param="discounts[0]", code="parameter_missing")
    now = emu.clock.now()
    try:
        if "promotion_code" in entry:
            param = "discounts[0][promotion_code]"
            promo = emu.get("promotion_code", entry["promotion_code"], param=param, status=400, account=account)
            coupon = check_promotion_code(emu, promo, subtotal=subtotal, currency=currency, email=email,
                                          account=account)
            return coupon, promo
        param = "discounts[0][coupon]"
        coupon = emu.get("coupon", entry["coupon"], param=param, status=400, account=account)
        check_coupon(coupon, now=now, currency=currency)
        return coupon, None
    except NotRedeemable as refusal:
        raise errors.invalid(param, refusal.message, refusal.code) from None


def apply(session: dict[str, Any], items: list[dict[str, Any]], coupon: dict[str, Any],
          promo: dict[str, Any] | None) -> int:
    """Put the discount on the session and its line items (spread by amount, the last item takes the
    rest); returns the amount taken off."""
    subtotal = sum(item["amount_subtotal"] for item in items)
    off = discount_amount(coupon, subtotal)
    left = off
    for index, item in enumerate(items):
        share = left if index == len(items) - 1 else (off * item["amount_subtotal"] // subtotal if subtotal else 0)
        share = min(share, item["amount_subtotal"], left)
        left -= share
        item["amount_discount"] = share
        item["amount_total"] = item["amount_subtotal"] - share
    session["amount_subtotal"] = subtotal
    session["amount_total"] = subtotal - off
    session["total_details"] = {**session["total_details"], "amount_discount": off}
    session["discounts"] = [{"coupon": None if promo else coupon["id"], "promotion_code": promo["id"] if promo else None}]
    return off


def redeem(emu: Engine, session: dict[str, Any]) -> None:
    """A session with a discount completed: its coupon and promotion code count one redemption each."""
    for entry in session.get("discounts") or []:
        promo = emu.store.get("promotion_code", entry["promotion_code"]) if entry.get("promotion_code") else None
        coupon_id = promo["promotion"]["coupon"] if promo else entry.get("coupon")
        if promo is not None:
            promo["times_redeemed"] += 1
            emu.store.put(promo)
        coupon = emu.store.get("coupon", coupon_id) if coupon_id else None
        if coupon is not None:
            coupon["times_redeemed"] += 1
            coupon["valid"] = coupon_problem(coupon, emu.clock.now()) is None
            emu.store.put(coupon)
