"""The one seam for prices and fees: what a client pays (`quote`), what the platform keeps, what a builder gets.

Everything is integer minor units of one currency (pence, cents; yen and won are already minor units).
Nothing else in the code does arithmetic on fees: Checkout, refunds, the Payment rows and the
payouts page all ask this module.

The rounding rule
-----------------
    fee = min(amount, round_half_up(amount × PLATFORM_FEE_PERCENT / 100) + fixed fee of the currency)

The percentage part is computed exactly (decimal arithmetic, no floats) and rounded half-up to a whole
minor unit of the currency: 10 % of £0.05 is 0.5p → 1p; 10 % of ¥55 is ¥5.5 → ¥6 (a zero-decimal
currency's minor unit is one yen). The fixed fee (PLATFORM_FIXED_FEES, already in minor units) is added,
and the fee never exceeds the amount, so the builder's share is never negative.

Refunds give back the fee in proportion, cumulatively: after refunds totalling R of an amount A, the
platform has given back round_half_up(fee × R / A) in all. Each refund's share is the step from the
total before it to the total after it, so partial refunds never add up to more than the fee, and the
refund that brings R to A returns exactly what is left of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from booking.core.money import normalise_currency
from booking.core.time import format_money

HUNDRED = Decimal(100)


class FeeSettings(Protocol):
    platform_fee_percent: Decimal

    @property
    def fixed_fees(self) -> dict[str, int]: ...


@dataclass(frozen=True)
class FeeSchedule:
    """The platform's fee: a percentage of each payment plus a fixed amount per currency."""

    percent: Decimal = Decimal(10)
    fixed: dict[str, int] = field(default_factory=dict)  # currency -> minor units

    def __post_init__(self) -> None:
        percent = Decimal(str(self.percent))
        if not percent.is_finite() or not 0 <= percent <= 100:
            raise ValueError("the fee percentage must be between 0 and 100")
        if any(amount < 0 for amount in self.fixed.values()):
            raise ValueError("a fixed fee can't be negative")
        object.__setattr__(self, "percent", percent)
        object.__setattr__(self, "fixed", {normalise_currency(code): int(amount) for code, amount in self.fixed.items()})

    @classmethod
    def of(cls, settings: FeeSettings | FeeSchedule) -> FeeSchedule:
        if isinstance(settings, FeeSchedule):
            return settings
        return cls(percent=settings.platform_fee_percent, fixed=settings.fixed_fees)

    def fixed_for(self, currency: str) -> int:
        return self.fixed.get(normalise_currency(currency), 0)


@dataclass(frozen=True)
class Quote:
    amount: int  # the price
    currency: str
    client_pays: int  # the price less the discount: what is charged, and what the fee is computed on
    platform_fee: int
    builder_gets: int
    discount: int = 0  # a promotion code's (booking.payments.promotions)


def _round_half_up(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def quote(amount: int, currency: str, settings: FeeSettings | FeeSchedule, *, discount: int = 0) -> Quote:
    """What the client pays for a price of `amount` minor units, less a promotion code's `discount`, and
    how it splits: THE pricing function.

    Every amount a client is shown or charged comes from here (the catalogue, the booking page, the
    Checkout Session and its Payment row, the admin's price notes), and so does the platform fee of a
    destination charge (`connect.charge_plan` takes the quote). The fee is computed on what the client
    actually pays; nothing to pay (a 100 % code) means no fee."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        raise ValueError("amount must be a non-negative integer number of minor units")
    if not isinstance(discount, int) or isinstance(discount, bool) or not 0 <= discount <= amount:
        raise ValueError("a discount must be a whole number of minor units between 0 and the amount")
    schedule = FeeSchedule.of(settings)
    code = normalise_currency(currency)
    pays = amount - discount
    percentage = _round_half_up(Decimal(pays) * schedule.percent / HUNDRED)
    fee = min(pays, percentage + schedule.fixed_for(code))
    return Quote(amount=amount, currency=code, client_pays=pays, platform_fee=fee, builder_gets=pays - fee,
                 discount=discount)


def percent_of(amount: int, percent: int | Decimal) -> int:
    """`percent` % of `amount`, rounded half up to a whole minor unit (a promotion code's percent off)."""
    return _round_half_up(Decimal(amount) * Decimal(str(percent)) / HUNDRED)


def fee_refund_for(refund_amount: int, amount: int, fee: int, *, already_refunded: int = 0,
                   fee_already_refunded: int | None = None) -> int:
    """The part of the platform fee a refund of `refund_amount` gives back (see the rule above).

    `already_refunded` is what earlier refunds of the same payment took; `fee_already_refunded` what
    they gave back of the fee, when it is known to differ from this rule's own total (say Stripe
    rounded an earlier one otherwise): the answer then keeps the running total on this rule's track
    without going below zero or past the fee.
    """
    if amount <= 0 or fee <= 0 or refund_amount <= 0:
        return 0
    before = min(max(already_refunded, 0), amount)
    after = min(before + refund_amount, amount)
    returned_before = _cumulative_fee_refund(before, amount, fee) if fee_already_refunded is None \
        else min(max(fee_already_refunded, 0), fee)
    return max(0, min(_cumulative_fee_refund(after, amount, fee) - returned_before, fee - returned_before))


def _cumulative_fee_refund(refunded: int, amount: int, fee: int) -> int:
    if refunded >= amount:
        return fee
    return _round_half_up(Decimal(fee) * Decimal(refunded) / Decimal(amount))


def pro_rata(amount: int, part: int, whole: int) -> int:
    """`part` of `whole` units of something that cost `amount` (unused package credits): rounded down, so
    refunds of parts never add up to more than was paid."""
    if whole <= 0 or part <= 0 or amount <= 0:
        return 0
    return amount * min(part, whole) // whole


def builder_net(*, amount: int, refunded: int, fee: int, fee_refunded: int) -> int:
    """What reaches the builder of a destination charge: the amount less refunds, less the fee kept."""
    return max(amount - refunded - max(fee - fee_refunded, 0), 0)


def fee_kept(*, fee: int, fee_refunded: int) -> int:
    return max(fee - fee_refunded, 0)


def split_text(q: Quote) -> str:
    """"Fee £5.30 · you get £44.70": a price's split, as the builder sees it next to the price."""
    return f"Fee {format_money(q.platform_fee, q.currency)} · you get {format_money(q.builder_gets, q.currency)}"


def describe(settings: FeeSettings | FeeSchedule, currency: str | None = None) -> str:
    """The fee in words: "10% of each payment + £0.30" (the fixed part only for `currency`, if given)."""
    schedule = FeeSchedule.of(settings)
    percent = schedule.percent.normalize()
    text = f"{percent:f}% of each payment"
    if currency is not None:
        fixed = schedule.fixed_for(currency)
        return f"{text} + {format_money(fixed, currency)}" if fixed else text
    if schedule.fixed:
        extras = ", ".join(format_money(amount, code) for code, amount in sorted(schedule.fixed.items()))
        return f"{text} + a fixed {extras} (by currency)"
    return text


# --- memberships: a subscription's platform share is a percentage (subscription_data.application_fee_percent) ---


def membership_fee_percent(amount: int, currency: str, settings: FeeSettings | FeeSchedule) -> Decimal:
    """The percentage (two decimals, Stripe's precision) that takes the platform's usual fee of `amount`
    (percentage + fixed fee, `quote`) from every invoice of a subscription to that price."""
    if amount <= 0:
        return Decimal(0)
    fee = quote(amount, currency, settings).platform_fee
    return (Decimal(fee) * HUNDRED / Decimal(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def membership_fee(amount: int, percent: Decimal) -> int:
    """What Stripe keeps for the platform of an invoice of `amount` at `percent` (rounded half up)."""
    return min(amount, _round_half_up(Decimal(amount) * Decimal(percent) / HUNDRED))
