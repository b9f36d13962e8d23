"""Currencies: which are zero-decimal, how to show an amount in minor units to a human, and the
currency and unit-amount parameters prices take."""

from __future__ import annotations

from typing import Any

from stripe_emulator.core import errors
from stripe_emulator.core.spec import String, join

# https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL = frozenset(
    ["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"]
)
# Stripe treats these as three-decimal in the API.
THREE_DECIMAL = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])

SYMBOLS = {
    "usd": "$",
    "eur": "€",
    "gbp": "£",
    "jpy": "¥",
    "krw": "₩",
    "inr": "₹",
    "cny": "CN¥",
    "cad": "CA$",
    "aud": "A$",
    "nzd": "NZ$",
    "hkd": "HK$",
    "sgd": "SGD ",
    "chf": "CHF ",
    "sek": "SEK ",
    "nok": "NOK ",
    "dkk": "DKK ",
    "pln": "PLN ",
    "brl": "R$",
    "mxn": "MX$",
    "vnd": "₫",
    "ils": "₪",
    "thb": "฿",
    "php": "₱",
    "try": "TRY ",
}

# ISO 4217 codes Stripe settles or presents in; enough to reject typos like "uds".
KNOWN_CURRENCIES = frozenset(
    ["aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn", "bam", "bbd", "bdt", "bgn", "bhd", "bif", "bmd", "bnd", "bob", "brl", "bsd", "bwp", "byn", "bzd", "cad", "cdf", "chf", "clp", "cny", "cop", "crc", "cve", "czk", "djf", "dkk", "dop", "dzd", "egp", "etb", "eur", "fjd", "fkp", "gbp", "gel", "gip", "gmd", "gnf", "gtq", "gyd", "hkd", "hnl", "htg", "huf", "idr", "ils", "inr", "isk", "jmd", "jod", "jpy", "kes", "kgs", "khr", "kmf", "krw", "kwd", "kyd", "kzt", "lak", "lbp", "lkr", "lrd", "lsl", "mad", "mdl", "mga", "mkd", "mmk", "mnt", "mop", "mur", "mvr", "mwk", "mxn", "myr", "mzn", "nad", "ngn", "nio", "nok", "npr", "nzd", "omr", "pab", "pen", "pgk", "php", "pkr", "pln", "pyg", "qar", "ron", "rsd", "rub", "rwf", "sar", "sbd", "scr", "sek", "sgd", "shp", "sle", "sos", "srd", "std", "szl", "thb", "tjs", "tnd", "top", "try", "ttd", "twd", "tzs", "uah", "ugx", "usd", "uyu", "uzs", "vnd", "vuv", "wst", "xaf", "xcd", "xof", "xpf", "yer", "zar", "zmw"]
)


def decimals(currency: str) -> int:
    currency = currency.lower()
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def format_amount(amount: int, currency: str) -> str:
    """5000 JPY -> '¥5,000'; 5000 GBP -> '£50.00'; 1234 SEK -> 'SEK 12.34'."""
    currency = currency.lower()
    places = decimals(currency)
    negative = amount < 0
    value = abs(amount) / (10**places) if places else abs(amount)
    number = f"{value:,.{places}f}"
    symbol = SYMBOLS.get(currency)
    text = f"{symbol}{number}" if symbol else f"{number} {currency.upper()}"
    return f"-{text}" if negative else text


def _check_currency(value: str, path: str) -> None:
    if value.lower() not in KNOWN_CURRENCIES:
        raise errors.invalid(path, f"Invalid currency: {value}.")


def Currency(*, required: bool = False) -> String:
    return String(required=required, max_length=3, check=_check_currency)


def unit_amount(args: dict[str, Any], path: str) -> int:
    """`unit_amount`, or `unit_amount_decimal` rounded to whole minor units."""
    if "unit_amount" in args and "unit_amount_decimal" in args:
        raise errors.StripeError(
            "You may only specify one of these parameters: unit_amount, unit_amount_decimal.",
            param=join(path, "unit_amount"),
            code="parameters_exclusive",
        )
    if "unit_amount" in args:
        return int(args["unit_amount"])
    decimal = args.get("unit_amount_decimal")
    if decimal is None:
        raise errors.missing(join(path, "unit_amount"))
    try:
        amount = round(float(decimal))
    except ValueError:
        raise errors.invalid(join(path, "unit_amount_decimal"), f"Invalid decimal: {decimal}") from None
    if amount < 0:
        raise errors.invalid(join(path, "unit_amount_decimal"), "This value must be >= 0.")
    return amount
