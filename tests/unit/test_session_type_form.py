"""The session type form's rules: prices typed in major units, stored in minor units; every field checked."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking.core.currencies import minimum_charge
from booking.core.money import decimals
from booking.core.time import format_money
from booking.workspace.session_types import (
    MAX_UNIT_AMOUNT,
    SUPPORTED_CURRENCIES,
    InvalidSessionType,
    SessionTypeInput,
    parse_form,
    parse_location,
    parse_price,
    price_input,
)

VALID = {"name": "1:1 call", "description": "An hour.", "duration_minutes": "60", "price": "50.00",
         "currency": "gbp", "location": "https://meet.example/ada"}


@pytest.mark.parametrize(("text", "currency", "minor"), [
    ("50.00", "gbp", 5000),
    ("50", "gbp", 5000),
    ("50.5", "usd", 5050),
    (" 0.50 ", "eur", 50),
    ("5000", "jpy", 5000),
    ("12000", "krw", 12000),
    ("999999.99", "usd", MAX_UNIT_AMOUNT),
    ("99999999", "jpy", MAX_UNIT_AMOUNT),
])
def test_a_price_in_major_units_is_stored_in_minor_units(text, currency, minor):
    assert parse_price(text, currency) == minor


@pytest.mark.parametrize(("text", "currency", "message"), [
    ("-1", "gbp", "can't be negative"),
    ("-0.50", "usd", "can't be negative"),
    ("0.001", "gbp", "at most 2 decimal places"),
    ("50.000", "gbp", "at most 2 decimal places"),
    ("5000.5", "jpy", "no decimal places"),
    ("5000.0", "jpy", "no decimal places"),
    ("²", "gbp", "in digits"),
    ("5²", "gbp", "in digits"),
    ("٥٠", "gbp", "in digits"),  # Arabic-Indic digits: Python's int() would take them
    ("５０", "jpy", "in digits"),  # full-width digits
    ("1e3", "gbp", "in digits"),
    ("NaN", "gbp", "in digits"),
    ("Infinity", "usd", "in digits"),
    ("0x10", "usd", "in digits"),
    ("1_000", "usd", "in digits"),
    ("5,000", "jpy", "in digits"),
    ("50,00", "eur", "in digits"),
    (".50", "gbp", "in digits"),
    ("50.", "gbp", "in digits"),
    ("+5", "gbp", "in digits"),
    ("£50", "gbp", "in digits"),
    ("", "gbp", "Enter a price"),
    ("   ", "gbp", "Enter a price"),
    ("0", "gbp", "more than zero"),
    ("0.00", "gbp", "more than zero"),
    ("1000000.00", "usd", "at most $999,999.99"),
    ("100000000", "jpy", "at most ¥99,999,999"),
    ("9" * 5000, "usd", "at most"),  # no int() of a huge string
])
def test_prices_that_cannot_be_charged_are_refused_with_a_reason(text, currency, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_price(text, currency)


@given(amount=st.integers(min_value=1, max_value=MAX_UNIT_AMOUNT), currency=st.sampled_from(SUPPORTED_CURRENCIES))
def test_the_form_shows_a_stored_price_so_that_saving_it_again_changes_nothing(amount, currency):
    amount = max(amount, minimum_charge(currency) or 1)  # below Stripe's minimum it is refused (tested apart)
    if decimals(currency) == 3:  # and a three-decimal amount must end in 0
        amount = max(10, amount - amount % 10)
    assert parse_price(price_input(amount, currency), currency) == amount


def test_every_offered_currency_formats_with_its_symbol_or_code():
    for currency in SUPPORTED_CURRENCIES:
        assert format_money(1000, currency)


def test_a_valid_form_gives_clean_values():
    assert parse_form({**VALID, "name": "  1:1 call  ", "currency": " GBP "}) == SessionTypeInput(
        name="1:1 call", description="An hour.", duration_minutes=60, price_amount=5000, currency="gbp",
        location="https://meet.example/ada")


def test_every_problem_is_reported_at_once_by_field():
    with pytest.raises(InvalidSessionType) as caught:
        parse_form({"name": " ", "description": "x" * 2001, "duration_minutes": "4", "price": "-1",
                    "currency": "gbp", "location": "javascript:alert(1)"})
    assert set(caught.value.errors) == {"name", "description", "duration_minutes", "price", "location"}


@pytest.mark.parametrize(("field", "value"), [
    ("name", "x" * 121),
    ("name", "bad\x00name"),
    ("description", "nul\x00byte"),
    ("duration_minutes", "481"),
    ("duration_minutes", "4"),
    ("duration_minutes", "60.5"),
    ("duration_minutes", "６０"),
    ("duration_minutes", "-30"),
    ("duration_minutes", ""),
    ("currency", "xyz"),
    ("currency", "xau"),  # a real ISO code, not one builders can price in
    ("currency", ""),
    ("location", "x" * 501),
])
def test_each_field_is_checked(field, value):
    with pytest.raises(InvalidSessionType) as caught:
        parse_form({**VALID, field: value})
    assert field in caught.value.errors


def test_durations_from_5_to_480_minutes_are_accepted():
    assert parse_form({**VALID, "duration_minutes": "5"}).duration_minutes == 5
    assert parse_form({**VALID, "duration_minutes": " 480 "}).duration_minutes == 480


def test_a_missing_price_with_an_unknown_currency_still_says_both():
    with pytest.raises(InvalidSessionType) as caught:
        parse_form({**VALID, "price": "", "currency": "zzz"})
    assert set(caught.value.errors) == {"price", "currency"}


def test_non_text_form_values_are_refused_not_crashed_on():
    with pytest.raises(InvalidSessionType) as caught:
        parse_form({"name": None, "duration_minutes": ["60"], "price": {"x": 1}, "currency": 7})
    assert {"name", "duration_minutes", "currency"} <= set(caught.value.errors)


@pytest.mark.parametrize("location", [
    "",
    "https://meet.example/ada?pwd=abc",
    "HTTPS://Zoom.example/j/123",
    "http://meet.example",
    "12 Analytical Row, London N1 9GU",
    "Room 4: second floor",
    "London: 10 Downing St",
])
def test_video_links_and_addresses_are_accepted(location):
    assert parse_location(location) == location.strip()


@pytest.mark.parametrize("location", [
    "javascript:alert(1)",
    "  JavaScript:alert(document.cookie)",
    "data:text/html;base64,PHNjcmlwdD4=",
    "vbscript:msgbox",
    "file:///etc/passwd",
    "ftp://files.example/x",
    "mailto:ada@example.com",
    "https://",
    "https://meet example.com",
    "https://meet.example/\x00",
    "Main St\nLondon",
])
def test_other_schemes_broken_links_and_control_characters_are_refused(location):
    with pytest.raises(ValueError):
        parse_location(location)
