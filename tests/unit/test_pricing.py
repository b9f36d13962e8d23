"""The platform fee: what a client pays, what the platform keeps, what the builder gets, and what a
refund gives back of the fee — properties over amounts, currencies (zero-decimal ones too) and rates."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.core.config import SettingsError, load_settings
from booking.core.money import ZERO_DECIMAL_CURRENCIES
from booking.payments.pricing import FeeSchedule, builder_net, describe, fee_refund_for, quote

CURRENCIES = ["gbp", "usd", "eur", "jpy", "krw", "clp", "vnd", "bhd", "kwd"]
amounts = st.integers(min_value=0, max_value=10**9)
percents = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False)
currencies = st.sampled_from(CURRENCIES)
fixed_fees = st.integers(min_value=0, max_value=10_000)


@given(amount=amounts, currency=currencies, percent=percents, fixed=fixed_fees)
def test_the_split_adds_up_and_the_fee_never_exceeds_the_amount(amount, currency, percent, fixed):
    q = quote(amount, currency, FeeSchedule(percent=percent, fixed={currency: fixed}))
    assert q.client_pays == amount
    assert q.platform_fee + q.builder_gets == q.client_pays
    assert 0 <= q.platform_fee <= amount and q.builder_gets >= 0
    assert all(isinstance(v, int) for v in (q.client_pays, q.platform_fee, q.builder_gets))


@given(amount=amounts, currency=currencies, percent=percents)
def test_the_percentage_is_rounded_half_up_to_a_whole_minor_unit(amount, currency, percent):
    q = quote(amount, currency, FeeSchedule(percent=percent))
    exact = Decimal(amount) * percent / 100
    # Within half a minor unit of the exact fee, and a half rounds up (never down).
    assert abs(Decimal(q.platform_fee) - exact) <= Decimal("0.5")
    if exact - int(exact) == Decimal("0.5"):
        assert q.platform_fee == int(exact) + 1


@given(amount=amounts, currency=currencies, percent=percents, fixed=fixed_fees)
def test_the_fixed_fee_is_added_in_its_own_currency_only(amount, currency, percent, fixed):
    other = "usd" if currency != "usd" else "gbp"
    with_fixed = quote(amount, currency, FeeSchedule(percent=percent, fixed={currency: fixed}))
    elsewhere = quote(amount, currency, FeeSchedule(percent=percent, fixed={other: fixed}))
    without = quote(amount, currency, FeeSchedule(percent=percent))
    assert elsewhere == without
    assert with_fixed.platform_fee == min(amount, without.platform_fee + fixed)


@given(small=amounts, extra=st.integers(min_value=0, max_value=10**6), currency=currencies, percent=percents)
def test_a_higher_price_never_costs_the_builder_more_than_it_brings(small, extra, currency, percent):
    schedule = FeeSchedule(percent=percent, fixed={currency: 30})
    low, high = quote(small, currency, schedule), quote(small + extra, currency, schedule)
    assert low.platform_fee <= high.platform_fee
    assert low.builder_gets <= high.builder_gets


@pytest.mark.parametrize(("amount", "currency", "percent", "fixed", "fee"), [
    (5000, "gbp", "10", 0, 500),         # £50.00 at 10% -> £5.00
    (5, "gbp", "10", 0, 1),              # 0.5p rounds half up to 1p
    (4, "gbp", "10", 0, 0),              # 0.4p rounds down
    (55, "jpy", "10", 0, 6),             # ¥5.5 -> ¥6: one yen is the minor unit
    (5000, "jpy", "10", 50, 550),        # ¥500 + ¥50 fixed
    (15, "krw", "10", 0, 2),             # ₩1.5 -> ₩2
    (4250, "gbp", "2.5", 30, 136),       # 106.25p -> 106p, + 30p
    (20, "usd", "10", 30, 20),           # the fixed fee is capped by the amount
    (0, "gbp", "10", 30, 0),
    (9999, "usd", "100", 0, 9999),
    (9999, "usd", "0", 0, 0),
])
def test_worked_examples(amount, currency, percent, fixed, fee):
    q = quote(amount, currency, FeeSchedule(percent=Decimal(percent), fixed={currency: fixed} if fixed else {}))
    assert (q.platform_fee, q.builder_gets) == (fee, amount - fee)


def test_every_zero_decimal_currency_is_charged_in_whole_units():
    for currency in ZERO_DECIMAL_CURRENCIES:
        assert quote(1005, currency, FeeSchedule(percent=Decimal("10"))).platform_fee == 101  # 100.5 -> 101


@st.composite
def refund_sequences(draw):
    amount = draw(st.integers(min_value=1, max_value=10**7))
    fee = draw(st.integers(min_value=0, max_value=amount))
    cuts = draw(st.lists(st.integers(min_value=1, max_value=amount), max_size=8))
    parts, left = [], amount
    for cut in cuts:
        if left <= 0:
            break
        part = min(cut, left)
        parts.append(part)
        left -= part
    return amount, fee, parts


@settings(max_examples=300)
@given(refund_sequences())
def test_partial_fee_refunds_never_exceed_the_fee(case):
    amount, fee, parts = case
    refunded = returned = 0
    for part in parts:
        share = fee_refund_for(part, amount, fee, already_refunded=refunded)
        assert share >= 0
        refunded += part
        returned += share
        assert returned <= fee
    if refunded == amount:
        assert returned == fee  # the refund that completes the amount returns the rest of the fee


@given(amount=st.integers(min_value=1, max_value=10**9), percent=percents, currency=currencies)
def test_a_full_refund_returns_the_whole_fee(amount, percent, currency):
    fee = quote(amount, currency, FeeSchedule(percent=percent, fixed={currency: 30})).platform_fee
    assert fee_refund_for(amount, amount, fee) == fee


@given(refund_sequences())
def test_fee_refunds_track_the_rule_even_after_another_rounding(case):
    """An earlier refund rounded otherwise (one unit up or down) never pushes the total past the fee."""
    amount, fee, parts = case
    refunded = returned = 0
    for index, part in enumerate(parts):
        share = fee_refund_for(part, amount, fee, already_refunded=refunded, fee_already_refunded=returned)
        if index == 0 and 0 < share < fee:
            share += 1  # someone else's rounding
        refunded += part
        returned += share
        assert 0 <= returned <= fee
    if refunded == amount:
        assert returned == fee


@given(amount=st.integers(min_value=2, max_value=10**7), percent=percents)
def test_a_half_refund_returns_about_half_the_fee(amount, percent):
    fee = quote(amount, "gbp", FeeSchedule(percent=percent)).platform_fee
    half = amount // 2
    share = fee_refund_for(half, amount, fee)
    assert abs(Decimal(share) - Decimal(fee) * half / amount) <= Decimal("0.5")


def test_the_builders_net_after_refunds():
    assert builder_net(amount=5000, refunded=0, fee=500, fee_refunded=0) == 4500
    assert builder_net(amount=5000, refunded=2500, fee=500, fee_refunded=250) == 2250
    assert builder_net(amount=5000, refunded=5000, fee=500, fee_refunded=500) == 0


# --- settings ---------------------------------------------------------------------------------------------


def test_fee_settings_default_to_ten_percent_and_no_fixed_fee(monkeypatch):
    for name in ("PLATFORM_FEE_PERCENT", "PLATFORM_FIXED_FEES", "REQUIRE_PAYOUTS"):
        monkeypatch.delenv(name, raising=False)
    loaded = load_settings()
    assert loaded.platform_fee_percent == Decimal(10) and loaded.fixed_fees == {} and not loaded.require_payouts
    assert quote(5000, "gbp", loaded).platform_fee == 500


def test_fee_settings_are_read(monkeypatch):
    monkeypatch.setenv("PLATFORM_FEE_PERCENT", "2.9")
    monkeypatch.setenv("PLATFORM_FIXED_FEES", "GBP:30, usd:30,jpy:50")
    monkeypatch.setenv("REQUIRE_PAYOUTS", "true")
    loaded = load_settings()
    assert loaded.fixed_fees == {"gbp": 30, "usd": 30, "jpy": 50} and loaded.require_payouts
    assert quote(10000, "jpy", loaded).platform_fee == 340  # ¥290 + ¥50
    assert describe(loaded, "gbp") == "2.9% of each payment + £0.30"


@pytest.mark.parametrize(("name", "value"), [("PLATFORM_FEE_PERCENT", "101"), ("PLATFORM_FEE_PERCENT", "-1"),
                                             ("PLATFORM_FIXED_FEES", "gbp=30"), ("PLATFORM_FIXED_FEES", "pound:30"),
                                             ("PLATFORM_FIXED_FEES", "gbp:-3")])
def test_bad_fee_settings_are_refused_by_name(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()


def test_several_webhook_secrets_are_accepted(monkeypatch):
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_one, whsec_two")
    monkeypatch.setenv("STRIPE_CONNECT_WEBHOOK_SECRET", "whsec_connect")
    assert load_settings().webhook_secrets == ("whsec_one", "whsec_two", "whsec_connect")
    monkeypatch.setenv("STRIPE_CONNECT_WEBHOOK_SECRET", "sk_test_not_a_secret")
    with pytest.raises(SettingsError, match="STRIPE_CONNECT_WEBHOOK_SECRET"):
        load_settings()
