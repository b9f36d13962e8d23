"""Money: the prices a client reads and the amounts Stripe is asked to charge."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking.core.money import (
    Money,
    MoneyError,
    decimals,
    normalise_currency,
    to_major_units,
    to_minor_units,
)
from booking.core.time import format_money

# Two-decimal with and without a symbol, zero-decimal, three-decimal.
CURRENCIES = ["gbp", "usd", "eur", "chf", "sek", "pln", "jpy", "krw", "vnd", "clp", "kwd", "bhd", "jod"]
STRIPE_MAX_AMOUNT = 99_999_999  # Stripe's largest charge, in minor units (8 digits)


# --- display ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (5000, "gbp", "£50.00"),
        (5000, "GBP", "£50.00"),
        (3500, "gbp", "£35.00"),
        (5000, "jpy", "¥5,000"),  # zero-decimal: 5000 is already yen
        (15000, "jpy", "¥15,000"),
        (123456, "usd", "$1,234.56"),
        (30000, "usd", "$300.00"),
        (5, "usd", "$0.05"),
        (0, "gbp", "£0.00"),
        (1000, "kwd", "KWD\u00a01.000"),  # three-decimal, no symbol: the code, kept with the amount
        (1234567, "bhd", "BHD\u00a01,234.567"),
        (1234, "chf", "CHF\u00a012.34"),
        (2599, "pln", "PLN\u00a025.99"),  # no symbol known: the code is shown
        (5000, "krw", "₩5,000"),
    ],
)
def test_prices_read_as_a_client_expects(amount: int, currency: str, shown: str) -> None:
    assert format_money(amount, currency) == shown
    assert Money(amount, currency).display == shown


def test_unknown_currency_shows_its_code() -> None:
    shown = format_money(1999, "xyz")

    assert shown == "XYZ\u00a019.99"


# --- parsing what an operator types -----------------------------------------------------------


@pytest.mark.parametrize(
    ("major", "currency", "minor"),
    [
        ("49.99", "gbp", 4999),
        ("50", "gbp", 5000),
        (50, "gbp", 5000),
        (Decimal("50.5"), "usd", 5050),
        (" 12.30 ", "eur", 1230),
        ("5000", "jpy", 5000),
        ("5000", "JPY", 5000),
        ("1.5", "kwd", 1500),
        ("0.005", "kwd", 5),
        ("0", "gbp", 0),
        ("50.00", "jpy", 50),  # trailing zeros are not extra precision
    ],
)
def test_to_minor_units(major: object, currency: str, minor: int) -> None:
    assert to_minor_units(major, currency) == minor


@pytest.mark.parametrize(
    ("major", "currency"),
    [("1.5", "jpy"), ("49.999", "gbp"), ("0.001", "usd"), ("1.0005", "kwd")],
)
def test_more_decimals_than_the_currency_has_are_refused(major: str, currency: str) -> None:
    with pytest.raises(MoneyError, match="decimal"):
        to_minor_units(major, currency)


@pytest.mark.parametrize("major", ["-1", "-0.01", "abc", "", "12,50", "£50", "NaN", "Infinity", "1e"])
def test_negative_or_garbage_prices_are_refused(major: str) -> None:
    with pytest.raises(MoneyError):
        to_minor_units(major, "gbp")


@pytest.mark.parametrize("currency", ["", "gb", "gbpp", "12a", "£££", None])
def test_prices_in_a_bad_currency_code_are_refused(currency: object) -> None:
    with pytest.raises(MoneyError):
        to_minor_units("10", currency)  # type: ignore[arg-type]


def test_minor_unit_decimals_follow_stripe() -> None:
    assert decimals("gbp") == 2
    assert decimals("JPY") == 0
    assert decimals("kwd") == 3


@given(amount=st.integers(min_value=0, max_value=STRIPE_MAX_AMOUNT * 1000), currency=st.sampled_from(CURRENCIES))
def test_minor_to_major_and_back_is_lossless(amount: int, currency: str) -> None:
    major = to_major_units(amount, currency)

    assert to_minor_units(major, currency) == amount
    assert to_minor_units(str(major), currency.upper()) == amount  # what a form would send back


@given(amount=st.integers(min_value=0, max_value=STRIPE_MAX_AMOUNT), currency=st.sampled_from(CURRENCIES))
def test_displayed_number_is_the_major_amount(amount: int, currency: str) -> None:
    shown = format_money(amount, currency)
    digits = "".join(ch for ch in shown if ch.isdigit() or ch == ".")

    assert Decimal(digits) == to_major_units(amount, currency)


# --- the Money value --------------------------------------------------------------------------


def test_money_normalises_the_currency_code() -> None:
    money = Money(5000, " GBP ")

    assert money.currency == "gbp"
    assert money == Money(5000, "gbp")


@pytest.mark.parametrize("amount", [50.0, 49.99, True, False, "5000", Decimal("5000"), None])
def test_money_amount_must_be_integer_minor_units(amount: object) -> None:
    with pytest.raises(MoneyError):
        Money(amount, "gbp")  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["", "gb", "pounds", "g8p", None])
def test_money_refuses_a_bad_currency_code(currency: object) -> None:
    with pytest.raises(MoneyError):
        Money(100, currency)  # type: ignore[arg-type]


def test_money_is_immutable() -> None:
    money = Money(100, "usd")

    with pytest.raises(AttributeError):
        money.amount = 1  # type: ignore[misc]


def test_normalise_currency_names_the_bad_code() -> None:
    with pytest.raises(MoneyError, match="pounds"):
        normalise_currency("pounds")


@pytest.mark.parametrize("major", ["1E+500000", "1e500000", "1E-500000", "9" * 40, "1" + "0" * 20, Decimal("1E+500000")])
def test_exponents_and_absurd_amounts_are_refused_without_building_them(major: object) -> None:
    started = time.perf_counter()

    with pytest.raises(MoneyError):
        to_minor_units(major, "gbp")

    assert time.perf_counter() - started < 0.05
