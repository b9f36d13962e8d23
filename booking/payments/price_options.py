"""An offer's prices in several currencies: its own price plus `PriceOption` rows (the Stripe Price's
`currency_options`), and which of them a viewer sees first.

The offer is a session type (`session_type_id`) or a package (`package_id`): one nullable column per kind
of offer, exactly one set. Reading and replacing rows are services: they take a session and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from babel import Locale
from babel.core import get_global
from babel.numbers import get_territory_currencies
from sqlmodel import Session, select

from booking.core.models import CreditPackage, PriceOption, SessionType
from booking.core.money import normalise_currency
from booking.core.time import LocaleLike, viewer_locale


class CurrencyNotOffered(ValueError):
    """The offer has no price in that currency."""


@dataclass(frozen=True)
class OfferPrice:
    amount: int  # minor units of `currency`
    currency: str


def options_of(*, session: Session, session_type_id: int) -> dict[str, int]:
    """The offer's other currencies: {currency: unit amount}, without its own currency."""
    rows = session.exec(select(PriceOption.currency, PriceOption.unit_amount)
                        .where(PriceOption.session_type_id == session_type_id)
                        .order_by(PriceOption.currency)).all()
    return {currency: amount for currency, amount in rows}


def package_options_of(*, session: Session, package_id: int) -> dict[str, int]:
    """A package's other currencies: {currency: unit amount}, without its own currency."""
    rows = session.exec(select(PriceOption.currency, PriceOption.unit_amount)
                        .where(PriceOption.package_id == package_id)
                        .order_by(PriceOption.currency)).all()
    return {currency: amount for currency, amount in rows}


def replace_package_options(*, session: Session, package_id: int, options: Mapping[str, int]) -> None:
    """The package's other currencies become exactly `options` (a service: the caller commits)."""
    session.execute(sa.delete(PriceOption).where(PriceOption.package_id == package_id))
    for currency, amount in sorted(options.items()):
        session.add(PriceOption(package_id=package_id, currency=normalise_currency(currency),
                                unit_amount=int(amount)))
    session.flush()


def options_by_offer(*, session: Session, session_type_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """`options_of` for many offers in one query (catalogue pages)."""
    ids = list(session_type_ids)
    found: dict[int, dict[str, int]] = {offer: {} for offer in ids}
    if not ids:
        return found
    rows = session.exec(select(PriceOption.session_type_id, PriceOption.currency, PriceOption.unit_amount)
                        .where(PriceOption.session_type_id.in_(ids)).order_by(PriceOption.currency)).all()
    for offer, currency, amount in rows:
        found[offer][currency] = amount
    return found


def replace_options(*, session: Session, session_type_id: int, options: Mapping[str, int]) -> None:
    """The offer's other currencies become exactly `options` (a service: the caller commits)."""
    session.execute(sa.delete(PriceOption).where(PriceOption.session_type_id == session_type_id))
    for currency, amount in sorted(options.items()):
        session.add(PriceOption(session_type_id=session_type_id, currency=normalise_currency(currency),
                                unit_amount=int(amount)))
    session.flush()


def all_prices(session_type: SessionType | CreditPackage, options: Mapping[str, int]) -> dict[str, int]:
    """Every currency the offer is sold in, its own first: {currency: unit amount}."""
    return {session_type.currency: session_type.price_amount,
            **{code: amount for code, amount in options.items() if code != session_type.currency}}


def price_in(session_type: SessionType | CreditPackage, options: Mapping[str, int], currency: str | None) -> OfferPrice:
    """The offer's price in `currency` (None: its own). Raises CurrencyNotOffered."""
    if not currency:
        return OfferPrice(session_type.price_amount, session_type.currency)
    code = normalise_currency(currency)
    prices = all_prices(session_type, options)
    if code not in prices:
        what = "package" if isinstance(session_type, CreditPackage) else "session"
        raise CurrencyNotOffered(f"This {what} isn't sold in {code.upper()}.")
    return OfferPrice(prices[code], code)


def locale_currency(locale: LocaleLike) -> str | None:
    """The currency of the viewer's territory ('de' -> eur, 'en-US' -> usd, 'ja' -> jpy), if Babel knows it."""
    loc: Locale = viewer_locale(locale)
    territory = loc.territory
    if territory is None:  # a bare language: its likely territory ('de' -> DE)
        likely = get_global("likely_subtags").get(loc.language, "")
        territory = next((part for part in likely.split("_")[1:] if part.isupper() and len(part) == 2), None)
    if territory is None:
        return None
    found = get_territory_currencies(territory)
    return found[0].lower() if found else None


def preferred_currency(available: Iterable[str], *, chosen: str | None = None,
                       locale: LocaleLike = None) -> str | None:
    """The currency a viewer sees first: the one they picked, else their locale's, else None (the offer's own)."""
    offered = [code.lower() for code in available]
    for candidate in (chosen, locale_currency(locale) if locale else None):
        if candidate and candidate.lower() in offered:
            return candidate.lower()
    return None
