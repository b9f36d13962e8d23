"""Prices in several currencies: Babel's text in the viewer's locale for two-, zero- and three-decimal
currencies, Stripe's minimum charges named when a price is refused, the other-currency form field, and the
currency a viewer sees first."""

from __future__ import annotations

import pytest

from booking.core.currencies import charge_problem, minimum_charge
from booking.core.money import decimals
from booking.core.time import format_money
from booking.payments.price_options import locale_currency, preferred_currency
from booking.workspace.session_types import InvalidSessionType, parse_form, parse_other_prices, parse_price

NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.mark.parametrize(("amount", "currency", "locale", "text"), [
    (5000, "jpy", "en-US", "¥5,000"),
    (5000, "jpy", "de", f"5.000{NBSP}¥"),
    (5000, "jpy", "ja", "￥5,000"),
    (5000, "jpy", "fr", f"5{NNBSP}000{NBSP}JPY"),
    (50000, "krw", "en-US", "₩50,000"),
    (50000, "krw", "de", f"50.000{NBSP}₩"),
    (50000, "krw", "ja", "₩50,000"),
    (12340, "bhd", "en-US", f"BHD{NBSP}12.340"),
    (12340, "bhd", "de", f"12,340{NBSP}BHD"),
    (12340, "bhd", "fr", f"12,340{NBSP}BHD"),
    (4550, "eur", "de", f"45,50{NBSP}€"),
    (4550, "eur", "fr", f"45,50{NBSP}€"),
    (4550, "eur", "en-US", "€45.50"),
    (4550, "eur", "ja", "€45.50"),
    (123456, "eur", "de", f"1.234,56{NBSP}€"),
])
def test_money_reads_as_the_viewers_locale_writes_it(amount, currency, locale, text):
    assert format_money(amount, currency, locale=locale) == text


def test_the_minor_unit_exponent_comes_from_stripes_lists():
    assert [decimals(code) for code in ("jpy", "krw", "eur", "usd", "bhd", "kwd", "jod", "omr", "tnd")] == \
        [0, 0, 2, 2, 3, 3, 3, 3, 3]


@pytest.mark.parametrize(("amount", "currency", "message"), [
    (49, "jpy", "Stripe's minimum charge in JPY is ¥50."),
    (29, "gbp", "Stripe's minimum charge in GBP is £0.30."),
    (49, "usd", "Stripe's minimum charge in USD is $0.50."),
    (49, "eur", "Stripe's minimum charge in EUR is €0.50."),
    (12345, "bhd", "Stripe needs BHD amounts to end in 0"),
])
def test_a_price_stripe_would_refuse_is_named_with_its_minimum(amount, currency, message):
    assert message in charge_problem(amount, currency)


def test_prices_at_the_minimum_or_unlisted_currencies_are_accepted():
    assert charge_problem(50, "jpy") is None and charge_problem(30, "gbp") is None
    assert charge_problem(12340, "bhd") is None
    assert minimum_charge("krw") is None and charge_problem(1, "krw") is None  # Stripe checks it at checkout


def test_the_form_refuses_a_price_below_the_minimum_and_names_it():
    with pytest.raises(ValueError, match="Stripe's minimum charge in JPY is ¥50"):
        parse_price("40", "jpy")
    with pytest.raises(InvalidSessionType) as info:
        parse_form({"name": "Call", "duration_minutes": "60", "price": "50.00", "currency": "gbp",
                    "other_prices": "EUR 0.20"})
    assert info.value.errors == {"other_prices": "EUR: Stripe's minimum charge in EUR is €0.50."}


def test_a_three_decimal_price_is_entered_with_three_decimals_and_must_end_in_zero():
    assert parse_price("12.340", "bhd") == 12340 and parse_price("5", "kwd") == 5000
    with pytest.raises(ValueError, match="Stripe needs KWD amounts to end in 0"):
        parse_price("12.345", "kwd")
    with pytest.raises(ValueError, match="at most 3 decimal places"):
        parse_price("1.2345", "bhd")


def test_other_currencies_are_parsed_once_each_and_never_the_main_one():
    assert parse_other_prices("usd 50, EUR 45.00;\nJPY 7000", "gbp") == (("eur", 4500), ("jpy", 7000),
                                                                          ("usd", 5000))
    assert parse_other_prices("  ", "gbp") == ()
    for text, message in [("GBP 40", "already the main price"), ("EUR 4, EUR 5", "EUR"),
                          ("EUR 45, EUR 46", "listed twice"), ("XYZ 5", "listed currency code"),
                          ("JPY 50.5", "no decimal places")]:
        with pytest.raises(ValueError, match=message):
            parse_other_prices(text, "gbp")


@pytest.mark.parametrize(("locale", "currency"), [("de", "eur"), ("de-CH", "chf"), ("en-US", "usd"),
                                                  ("ja", "jpy"), ("en-GB", "gbp"), ("fr", "eur")])
def test_the_locale_names_the_viewers_currency(locale, currency):
    assert locale_currency(locale) == currency


def test_the_viewer_sees_their_pick_then_their_locales_currency_then_the_offers_own():
    offered = ["gbp", "eur", "usd"]
    assert preferred_currency(offered, chosen="usd", locale="de") == "usd"
    assert preferred_currency(offered, chosen=None, locale="de") == "eur"
    assert preferred_currency(offered, chosen="jpy", locale="ja") is None
