"""Currencies: which are zero-decimal, how to show an amount in minor units to a human, and the
currency and unit-amount parameters prices take."""

from __future__ import annotations

from typing import Any

from stripe_emulator.core import errors
from stripe_emulator.core.spec import Hash, Integer, Param, String, join

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


# https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts (minor units). The emulator's own
# copy: it never imports the app.
MINIMUM_CHARGE = {
    "usd": 50, "aed": 200, "aud": 50, "bgn": 100, "brl": 50, "cad": 50, "chf": 50, "czk": 1500, "dkk": 250,
    "eur": 50, "gbp": 30, "hkd": 400, "huf": 17500, "inr": 50, "jpy": 50, "mxn": 1000, "myr": 200, "nok": 300,
    "nzd": 50, "pln": 200, "ron": 200, "sek": 300, "sgd": 50, "thb": 1000,
}


def check_chargeable(amount: int, currency: str, param: str) -> None:
    """A charge Stripe refuses: below its minimum for the currency (`amount_too_small`), or a three-decimal
    amount whose last digit isn't 0 (card payments need whole hundredths; `invalid_charge_amount`)."""
    currency = currency.lower()
    floor = MINIMUM_CHARGE.get(currency)
    if floor is not None and 0 < amount < floor:
        raise errors.invalid(
            param,
            f"The Checkout Session's total amount due must add up to at least {format_amount(floor, currency)} "
            f"{currency}",
            code="amount_too_small",
        )
    check_three_decimal(amount, currency, param)


def check_three_decimal(amount: int, currency: str, param: str) -> None:
    if currency.lower() in THREE_DECIMAL and amount % 10:
        raise errors.invalid(
            param,
            f"Amounts in {currency.upper()} must be divisible by 10 (the last decimal must be 0): {amount}.",
            code="invalid_charge_amount",
        )


class CurrencyOptions(Param):
    """`currency_options[eur][unit_amount]=4500`: the Price in other currencies. Each key is a currency;
    each value takes `unit_amount` (or `unit_amount_decimal`) and `tax_behavior`, nothing else."""

    OPTION = Hash(
        tax_behavior=String(choices=("exclusive", "inclusive", "unspecified")),
        unit_amount=Integer(minimum=0, maximum=99_999_999),
        unit_amount_decimal=String(),
    )

    def convert(self, value: Any, path: str) -> dict[str, dict[str, Any]]:
        if not isinstance(value, dict):
            raise errors.invalid(path, "Invalid object")
        result: dict[str, dict[str, Any]] = {}
        for code, option in value.items():
            option_path = join(path, code)
            _check_currency(code, option_path)
            parsed = self.OPTION.parse(option, option_path)
            amount = unit_amount(parsed, option_path)
            check_three_decimal(amount, code, join(option_path, "unit_amount"))
            result[code.lower()] = {
                "custom_unit_amount": None,
                "tax_behavior": parsed.get("tax_behavior") or "unspecified",
                "tiers": None,
                "unit_amount": amount,
                "unit_amount_decimal": str(amount),
            }
        return result


def _options_key(price_id: str) -> str:
    return f"price:{price_id}:currency_options"


def save_currency_options(store: Any, price: dict[str, Any], options: dict[str, dict[str, Any]]) -> None:
    """Kept beside the price: Stripe includes `currency_options` only when asked (`expand[]`)."""
    store.put_private(_options_key(price["id"]), options)


def currency_options(store: Any, price: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The price's `currency_options`, its own currency included, as Stripe shows them when expanded."""
    own = {
        price["currency"]: {
            "custom_unit_amount": None,
            "tax_behavior": price.get("tax_behavior") or "unspecified",
            "tiers": None,
            "unit_amount": price.get("unit_amount"),
            "unit_amount_decimal": price.get("unit_amount_decimal"),
        }
    }
    return {**own, **(store.get_private(_options_key(price["id"])) or {})}


def amount_in(store: Any, price: dict[str, Any], currency: str) -> int | None:
    """The price's unit amount in `currency` (its own or an option), or None when it has none."""
    option = currency_options(store, price).get(currency.lower())
    return None if option is None else int(option["unit_amount"] or 0)
