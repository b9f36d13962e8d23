"""Money as integer minor units + ISO 4217 currency (Stripe's convention).

Arithmetic only: display text comes from `booking.core.time.format_money` (Babel, the viewer's locale).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Stripe's zero-decimal currencies: the amount is already in the smallest unit (¥5000 = 5000).
ZERO_DECIMAL_CURRENCIES = frozenset(
    ["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"]
)
# Stripe's three-decimal currencies (amounts must end in 0 for card payments).
THREE_DECIMAL_CURRENCIES = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])

# Longest amount text accepted, and the largest power of ten: '1E+500000' would otherwise build a
# 500,000-digit integer (seconds of CPU) before any range check could refuse it.
MAX_AMOUNT_TEXT = 32
MAX_AMOUNT_DIGITS = 15


class MoneyError(ValueError):
    """An amount or currency that cannot be charged."""


@dataclass(frozen=True)
class Money:
    amount: int  # minor units
    currency: str  # lower-case ISO code

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise MoneyError("amount must be an integer number of minor units")
        object.__setattr__(self, "currency", normalise_currency(self.currency))

    @property
    def display(self) -> str:
        """The default locale's text; a viewer's own: `booking.core.time.format_money(..., locale=...)`."""
        from booking.core.time import format_money  # the formatters sit above the arithmetic they use

        return format_money(self.amount, self.currency)


def normalise_currency(currency: str) -> str:
    code = (currency or "").strip().lower()
    if len(code) != 3 or not code.isalpha():
        raise MoneyError(f"'{currency}' is not a three-letter ISO currency code")
    return code


def decimals(currency: str) -> int:
    code = normalise_currency(currency)
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def to_minor_units(major: str | int | Decimal, currency: str) -> int:
    """'50' GBP -> 5000; '5000' JPY -> 5000. Refuses more precision than the currency has."""
    if isinstance(major, str):
        text = major.strip()
        if len(text) > MAX_AMOUNT_TEXT or "e" in text.lower():
            raise MoneyError("amount must be a plain number such as 49.99, without an exponent")
        major = text
    try:
        value = Decimal(str(major).strip())
    except InvalidOperation:
        raise MoneyError(f"'{major}' is not a number") from None
    if not value.is_finite() or value < 0:
        raise MoneyError("price must be a positive number")
    if value and value.adjusted() >= MAX_AMOUNT_DIGITS:
        raise MoneyError("amount is too large")
    places = decimals(currency)
    scaled = value.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{currency.upper()} allows at most {places} decimal places")
    return int(scaled.to_integral_value(rounding=ROUND_HALF_UP))


def to_major_units(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-decimals(currency))
