"""What Stripe accepts per currency: the smallest charge, and the rule for three-decimal amounts.

The minor-unit exponent of each currency lives in `booking.core.money` (`decimals`: Stripe's zero-decimal
and three-decimal lists); display text in `booking.core.time.format_money` (Babel). This module names the
limits a price must meet before it is saved, so a price Stripe would refuse at checkout is refused in the
form instead, with the minimum named.
"""

from __future__ import annotations

from booking.core.money import THREE_DECIMAL_CURRENCIES, normalise_currency

# Stripe's minimum charge amounts, in minor units (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts).
# A currency missing here has Stripe's floor of the equivalent of USD 0.50 at settlement, which we can't know
# offline: it is checked by Stripe at checkout, as before.
MINIMUM_CHARGE: dict[str, int] = {
    "usd": 50, "aed": 200, "aud": 50, "bgn": 100, "brl": 50, "cad": 50, "chf": 50, "czk": 1500, "dkk": 250,
    "eur": 50, "gbp": 30, "hkd": 400, "huf": 17500, "inr": 50, "jpy": 50, "mxn": 1000, "myr": 200, "nok": 300,
    "nzd": 50, "pln": 200, "ron": 200, "sek": 300, "sgd": 50, "thb": 1000,
}


def minimum_charge(currency: str) -> int | None:
    """Stripe's smallest charge in `currency`, in minor units; None when Stripe's table does not list it."""
    return MINIMUM_CHARGE.get(normalise_currency(currency))


def charge_problem(amount: int, currency: str, *, locale: object = None) -> str | None:
    """Why Stripe would refuse to charge `amount` minor units of `currency` (a sentence), or None."""
    from booking.core.time import format_money  # the formatters sit above this table

    code = normalise_currency(currency)
    floor = MINIMUM_CHARGE.get(code)
    if floor is not None and amount < floor:
        return f"Stripe's minimum charge in {code.upper()} is {format_money(floor, code, locale=locale)}."
    if code in THREE_DECIMAL_CURRENCIES and amount % 10:
        return f"Stripe needs {code.upper()} amounts to end in 0 (whole hundredths), such as " \
               f"{format_money(amount - amount % 10 + 10, code, locale=locale)}."
    return None
