"""Stripe's processing fee of a card charge, from a schedule (Stripe's standard pricing by default).

The fee is a percentage of the charge (by the platform account's country) plus a fixed amount (by the
charge's currency), rounded half up to the minor unit, as Stripe publishes for standard card pricing:

| platform country | percent | fixed (in the charge's currency) |
|---|---|---|
| US (the default) | 2.9 %  | 30¢, 20p, €0.25, ... (`FIXED_BY_CURRENCY`) |
| GB               | 1.5 %  | (UK cards) |
| EU countries     | 1.5 %  | (EEA cards) |
| AU 1.7 %, CA 2.9 %, JP 3.6 %, others 2.9 % |

The card's own country is not considered (Stripe charges more for international cards).
`STRIPE_EMULATOR_COUNTRY` (default US) picks the platform's country; `STRIPE_EMULATOR_FEES`, a JSON
object such as `{"percent": "2.5", "fixed": {"gbp": 10}}`, overrides the schedule ("percent" alone keeps
the fixed table; `{"percent": "0", "fixed": {}}` turns fees off).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

COUNTRY_ENV = "STRIPE_EMULATOR_COUNTRY"
SCHEDULE_ENV = "STRIPE_EMULATOR_FEES"

EU_COUNTRIES = frozenset(["AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU", "LV",
                          "MT", "NL", "PT", "SI", "SK", "BG", "CZ", "DK", "HU", "PL", "RO", "SE"])
PERCENT_BY_COUNTRY: dict[str, str] = {"US": "2.9", "GB": "1.5", "AU": "1.7", "CA": "2.9", "JP": "3.6",
                                      **{country: "1.5" for country in EU_COUNTRIES}}
DEFAULT_PERCENT = "2.9"
# Stripe's fixed fee per successful card charge, in the charge's currency (minor units).
FIXED_BY_CURRENCY: dict[str, int] = {"usd": 30, "gbp": 20, "eur": 25, "cad": 30, "aud": 30, "nzd": 30, "chf": 30,
                                     "sek": 180, "nok": 200, "dkk": 180, "pln": 100, "czk": 650, "sgd": 50,
                                     "hkd": 235, "jpy": 0, "mxn": 300, "brl": 39}
DEFAULT_FIXED = 30


@dataclass(frozen=True)
class FeeSchedule:
    percent: Decimal
    fixed: dict[str, int] = field(default_factory=lambda: dict(FIXED_BY_CURRENCY))
    default_fixed: int = DEFAULT_FIXED

    def fee(self, amount: int, currency: str) -> int:
        """Stripe's fee of a charge of `amount` (minor units) in `currency`; never more than the amount."""
        if amount <= 0:
            return 0
        variable = (Decimal(amount) * self.percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return min(int(variable) + self.fixed.get(currency.lower(), self.default_fixed), amount)

    def describe(self, currency: str) -> str:
        fixed = self.fixed.get(currency.lower(), self.default_fixed)
        return f"{self.percent.normalize()}% + {fixed} {currency.upper()} minor units"


def standard(country: str | None) -> FeeSchedule:
    """Stripe's standard card pricing of a platform in `country` (ISO code)."""
    return FeeSchedule(percent=Decimal(PERCENT_BY_COUNTRY.get((country or "US").upper(), DEFAULT_PERCENT)))


def parse(text: str, country: str | None = None) -> FeeSchedule:
    """A schedule from JSON ({"percent": "2.5", "fixed": {"gbp": 10}, "default_fixed": 30}); ValueError if bad."""
    try:
        data: Any = json.loads(text)
        base = standard(country)
        if not isinstance(data, dict):
            raise ValueError("a JSON object")
        percent = Decimal(str(data.get("percent", base.percent)))
        fixed = data.get("fixed", base.fixed)
        if not isinstance(fixed, dict) or percent < 0 or percent >= 100:
            raise ValueError("percent in [0, 100) and fixed an object of currency: minor units")
        fixed = {str(currency).lower(): int(value) for currency, value in fixed.items()}
        default_fixed = int(data.get("default_fixed", base.default_fixed if "fixed" not in data else 0))
        if any(value < 0 for value in fixed.values()) or default_fixed < 0:
            raise ValueError("fixed fees are never negative")
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise ValueError(f"{SCHEDULE_ENV}: {exc}") from None
    return FeeSchedule(percent=percent, fixed=fixed, default_fixed=default_fixed)


def from_environment(environ: dict[str, str] | None = None) -> FeeSchedule:
    environ = os.environ if environ is None else environ
    country = environ.get(COUNTRY_ENV, "").strip().upper() or "US"
    text = environ.get(SCHEDULE_ENV, "").strip()
    return parse(text, country) if text else standard(country)


def details(fee: int, currency: str) -> list[dict[str, Any]]:
    """A balance transaction's `fee_details` for Stripe's processing fee."""
    if fee <= 0:
        return []
    return [{"amount": fee, "application": None, "currency": currency, "description": "Stripe processing fees",
             "type": "stripe_fee"}]
