"""A membership's platform share is a percentage of each invoice (Stripe's `application_fee_percent`, two
decimals): it takes the platform's usual fee of the price within a minor unit, and never more than the invoice.
The emulator bills the same day next month, the 31st falling back to the month's last day."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from booking.payments import pricing
from booking.payments.pricing import FeeSchedule
from stripe_emulator.core.billing import add_months, fee_from_percent


@given(amount=st.integers(min_value=50, max_value=99_999_999), percent=st.decimals(min_value=0, max_value=30, places=2),
       fixed=st.integers(min_value=0, max_value=500))
def test_the_percentage_takes_the_usual_fee_within_rounding(amount: int, percent: Decimal, fixed: int) -> None:
    schedule = FeeSchedule(percent=percent, fixed={"gbp": fixed})
    usual = pricing.quote(amount, "gbp", schedule).platform_fee
    share = pricing.membership_fee(amount, pricing.membership_fee_percent(amount, "gbp", schedule))
    # Two decimals of a percent are worth at most amount / 20,000 minor units, plus the rounding.
    assert abs(share - usual) <= amount // 20_000 + 1
    assert 0 <= share <= amount


@given(amount=st.integers(min_value=1, max_value=99_999_999), percent=st.decimals(min_value=0, max_value=100, places=2))
def test_stripe_and_the_ledger_round_the_share_alike(amount: int, percent: Decimal) -> None:
    assert pricing.membership_fee(amount, percent) == fee_from_percent(amount, float(percent))


def test_a_month_later_is_the_same_day_or_the_months_last() -> None:
    def ts(*args: int) -> int:
        return int(datetime(*args, tzinfo=UTC).timestamp())

    assert add_months(ts(2026, 12, 7, 15, 0), 1) == ts(2027, 1, 7, 15, 0)
    assert add_months(ts(2027, 1, 31, 9, 30), 1) == ts(2027, 2, 28, 9, 30)
    assert add_months(ts(2028, 1, 31), 1) == ts(2028, 2, 29)
    assert add_months(ts(2026, 11, 30), 3) == ts(2027, 2, 28)
