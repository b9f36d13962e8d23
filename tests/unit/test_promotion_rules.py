"""Promotion code rules without a database: what a code takes off, the fee on what is left, and each reason a
code is refused (in words the client reads)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking.core.models import DiscountKind, PromotionCode, SessionType
from booking.payments import pricing, promotions

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def code(**fields) -> PromotionCode:
    defaults = {"id": 1, "code": "WELCOME10", "kind": DiscountKind.PERCENT, "percent_off": 10, "active": True}
    return PromotionCode(**{**defaults, **fields})


def session_type(**fields) -> SessionType:
    defaults = {"id": 7, "builder_id": 3, "name": "Pairing", "duration_minutes": 60, "price_amount": 5000,
                "currency": "gbp"}
    return SessionType(**{**defaults, **fields})


def problem(row: PromotionCode, *, uses: int = 0, booked: bool = False, **type_fields) -> str | None:
    return promotions.rule_problem(row, session_type=session_type(**type_fields), now=NOW, uses=uses,
                                   client_has_booked=booked)


def test_percent_and_amount_off():
    assert promotions.discount_for(code(percent_off=10), 5000) == 500
    assert promotions.discount_for(code(percent_off=15), 55) == 8  # 8.25 -> 8
    assert promotions.discount_for(code(percent_off=50), 5) == 3  # 2.5 rounds half up
    assert promotions.discount_for(code(kind=DiscountKind.AMOUNT, percent_off=None, amount_off=700,
                                        currency="gbp"), 500) == 500  # never more than the price


def test_the_fee_is_on_what_the_client_pays():
    quote = pricing.quote(5000, "gbp", pricing.FeeSchedule(percent=10, fixed={"gbp": 20}), discount=500)
    assert (quote.amount, quote.client_pays, quote.platform_fee, quote.builder_gets, quote.discount) == (
        5000, 4500, 470, 4030, 500)
    free = pricing.quote(5000, "gbp", pricing.FeeSchedule(percent=10, fixed={"gbp": 20}), discount=5000)
    assert (free.client_pays, free.platform_fee, free.builder_gets) == (0, 0, 0)
    with pytest.raises(ValueError):
        pricing.quote(5000, "gbp", pricing.FeeSchedule(), discount=5001)


@given(amount=st.integers(min_value=0, max_value=10**8), percent=st.integers(min_value=1, max_value=100))
def test_a_discounted_quote_never_goes_negative_and_adds_up(amount, percent):
    off = promotions.discount_for(code(percent_off=percent), amount)
    quote = pricing.quote(amount, "gbp", pricing.FeeSchedule(percent=10), discount=off)
    assert 0 <= off <= amount and quote.client_pays == amount - off
    assert quote.platform_fee + quote.builder_gets == quote.client_pays and quote.builder_gets >= 0


@pytest.mark.parametrize(
    ("row", "kwargs", "reason"),
    [
        (code(active=False), {}, "no longer active"),
        (code(builder_id=4), {}, "not valid for this builder's sessions"),
        (code(builder_id=3, session_type_id=8), {}, "not valid for this session"),
        (code(expires_at=NOW - timedelta(seconds=1)), {}, "expired"),
        (code(max_uses=3), {"uses": 3}, "used up"),
        (code(kind=DiscountKind.AMOUNT, percent_off=None, amount_off=500, currency="eur"), {}, "in EUR"),
        (code(minimum_amount=6000), {}, "at least £60.00"),
        (code(first_booking_only=True), {"booked": True}, "first booking only"),
    ],
)
def test_each_refusal_says_why(row, kwargs, reason):
    message = problem(row, **kwargs)
    assert message is not None and reason in message and "WELCOME10" in message


def test_a_code_within_every_limit_is_accepted():
    row = code(builder_id=3, session_type_id=7, expires_at=NOW + timedelta(days=1), max_uses=3,
               minimum_amount=5000, first_booking_only=True)
    assert problem(row, uses=2, booked=False) is None
    assert problem(code()) is None  # the platform's code: any builder's session


def test_codes_compare_case_insensitively():
    assert promotions.normalise_code("  welcome10 ") == "WELCOME10"
    assert promotions.CODE_PATTERN.match("SPRING-2026") and not promotions.CODE_PATTERN.match("no spaces")


def test_any_price_can_be_checked_the_hook_for_packages():
    package_price = promotions.PriceTarget(builder_id=3, price_amount=20000, currency="gbp")
    kwargs = {"now": NOW, "uses": 0, "client_has_booked": False}
    assert promotions.rule_problem(code(builder_id=3), session_type=package_price, **kwargs) is None
    refused = promotions.rule_problem(code(builder_id=3, session_type_id=7), session_type=package_price, **kwargs)
    assert refused is not None and "not valid for this session" in refused


def package_price(package_id: int = 11, builder_id: int = 3) -> promotions.PriceTarget:
    return promotions.PriceTarget(builder_id=builder_id, price_amount=13500, currency="gbp", package_id=package_id)


def package_problem(row: PromotionCode, **target) -> str | None:
    return promotions.rule_problem(row, session_type=package_price(**target), now=NOW, uses=0,
                                   client_has_booked=False)


def test_a_code_for_one_package_applies_to_that_package_only():
    for_package = code(builder_id=3, package_id=11)
    assert package_problem(for_package) is None
    assert package_problem(for_package, package_id=12) == "The code WELCOME10 is only valid for one package."
    assert problem(for_package) == "The code WELCOME10 is only valid for one package."  # not a session type
    assert problem(code(builder_id=3, session_type_id=7)) is None
    assert package_problem(code(builder_id=3, session_type_id=7)) == "The code WELCOME10 is not valid for this package."
    assert package_problem(code(builder_id=3)) is None  # a builder's "all": their packages too
    assert package_problem(code(builder_id=4)) is not None and package_problem(code()) is None


def test_a_minimum_counts_in_its_own_currency_only():
    """A £50 minimum is no ¥50 or ¥5,000 minimum: a price in another currency can't use the code."""
    kwargs = {"now": NOW, "uses": 0, "client_has_booked": False}
    row = code(builder_id=3, minimum_amount=5000, minimum_currency="gbp")
    in_yen = promotions.PriceTarget(builder_id=3, price_amount=900000, currency="jpy")
    assert promotions.rule_problem(row, session_type=in_yen, **kwargs) == \
        "The code WELCOME10 is for prices in GBP (from £50.00)."
    pounds = promotions.PriceTarget(builder_id=3, price_amount=4999, currency="gbp")
    assert "at least £50.00" in promotions.rule_problem(row, session_type=pounds, **kwargs)
    assert promotions.rule_problem(row, session_type=promotions.PriceTarget(
        builder_id=3, price_amount=5000, currency="GBP"), **kwargs) is None
