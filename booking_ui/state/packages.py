"""The builder page's packages (buy one: name, email, then Stripe's Checkout) and the page after paying."""

from __future__ import annotations

import logging

import reflex as rx

from booking.client import (
    PackageOffer,
    begin_package_purchase,
    finish_package_purchase,
    get_builder,
    package_offers,
    package_price_with_code,
)
from booking.core import canonical_zone_or_utc, get_settings, locale_tag, session_scope
from booking.lifecycle import InvalidRequest, PromotionCodeInvalid, client_detail_errors
from booking.payments import PaymentProviderError
from booking_ui import deps
from booking_ui.offloop import db_event
from booking_ui.state.book import BROWSER_PREFERENCES_JS

log = logging.getLogger(__name__)


class PackageShopState(rx.State):
    offers: list[PackageOffer] = []
    chosen_package: str = ""  # the offer whose form is open
    client_name: str = ""
    client_email: str = ""
    time_zone: str = "UTC"
    locale: str = ""  # the browser's language: which currency a package is shown in first
    chosen_currency: str = ""  # the picker's choice ("" = the locale's, else each package's own)
    currencies: list[str] = []  # every currency some package is sold in
    promotion_code: str = ""
    promo_price: str = ""  # what the code leaves to pay, shown before Checkout
    promo_error: str = ""
    name_error: str = ""
    email_error: str = ""
    notice: str = ""
    buying: bool = False

    @db_event
    def load(self):
        slug = self._slug()
        self.chosen_package, self.notice, self.buying = "", "", False
        self.locale = self.locale or locale_tag(deps.browser_language(self))
        self._reprice(slug)
        if self.offers:
            return rx.call_script(BROWSER_PREFERENCES_JS, callback=PackageShopState.set_browser_preferences)
        return None

    def _slug(self) -> str:
        """The builder of the page (/b/<slug>): the route's parameter, as every event of the page reads it."""
        return str(self.router.url.query_parameters.get("builder_slug", "") or self.builder_slug or "")

    def _reprice(self, slug: str | None = None) -> None:
        slug = slug if slug is not None else self._slug()
        with session_scope() as session:
            builder = get_builder(session=session, slug=slug)
            self.offers = package_offers(session=session, builder_id=int(builder.id), settings=get_settings(),
                                         currency=self.chosen_currency or None,
                                         locale=self.locale or None) if builder else []
        self.currencies = list(dict.fromkeys(code for offer in self.offers for code in offer.currencies))

    @db_event
    def set_browser_preferences(self, preferences: dict):
        preferences = preferences if isinstance(preferences, dict) else {}
        self.time_zone = canonical_zone_or_utc(str(preferences.get("tz") or "UTC"))
        if preferences.get("lang"):
            self.locale = locale_tag(str(preferences["lang"]))
            self._reprice()

    @db_event
    def choose_currency(self, value: str):
        """The currency picker: the prices shown, and the one Checkout charges where a package has it."""
        self.chosen_currency = str(value or "").strip().lower()[:3]
        self.promo_price = ""  # worked out in the other currency
        self._reprice()

    @rx.event
    def set_promotion_code(self, value: str):
        self.promotion_code = str(value)[:100]
        self.promo_price = self.promo_error = ""

    def _chosen_currency(self) -> str | None:
        return next((offer.currency for offer in self.offers if offer.id == self.chosen_package), None)

    @db_event
    def apply_code(self):
        """Check the code on the server and show the price it leaves (nothing is reserved yet)."""
        self.promo_price = self.promo_error = ""
        if not self.promotion_code.strip():
            self.promo_error = "Enter a promotion code."
            return None
        try:
            with session_scope() as session:
                self.promo_price = package_price_with_code(
                    session=session, package_id=self.chosen_package, code=self.promotion_code,
                    settings=get_settings(), currency=self._chosen_currency(),
                    client_email=self.client_email.strip() or None)
        except (InvalidRequest, PromotionCodeInvalid) as exc:
            self.promo_error = str(exc)
        return None

    @rx.event
    def choose(self, package_id: str):
        self.chosen_package = str(package_id)
        self.name_error = self.email_error = self.notice = self.promo_price = self.promo_error = ""

    @rx.event
    def set_client_name(self, value: str):
        self.client_name = str(value)[:200]

    @rx.event
    def set_client_email(self, value: str):
        self.client_email = str(value)[:300]

    @db_event
    def buy(self):
        errors = client_detail_errors(name=self.client_name, email=self.client_email)
        self.name_error = errors.get("client_name", "")
        self.email_error = errors.get("client_email", "")
        if errors:
            return None
        self.buying = True
        try:
            started = begin_package_purchase(engine=deps.engine(), gateway=deps.gateway(), settings=get_settings(),
                                             package_id=self.chosen_package, client_name=self.client_name,
                                             client_email=self.client_email, client_time_zone=self.time_zone,
                                             client_locale=self.locale,  # the emails write its dates and amounts
                                             currency=self._chosen_currency(),
                                             promotion_code=self.promotion_code.strip() or None)
        except (InvalidRequest, PromotionCodeInvalid) as exc:
            self.buying, self.notice = False, str(exc)
            return None
        except PaymentProviderError:
            log.warning("package checkout could not start")
            self.buying = False
            self.notice = "We could not reach the payment provider. Nothing was charged; please try again."
            return None
        return rx.redirect(started.checkout_url)


class PackageThanksState(rx.State):
    loaded: bool = False
    paid: bool = False
    package_name: str = ""
    sessions: int = 0
    email_hint: str = ""

    @db_event
    def load(self) -> None:
        session_id = str(self.router.url.query_parameters.get("session_id", "") or "")
        receipt = finish_package_purchase(engine=deps.engine(), gateway=deps.gateway(),
                                          checkout_session_id=session_id)
        self.paid, self.package_name = receipt.paid, receipt.package_name
        self.sessions, self.email_hint = receipt.sessions, receipt.email_hint
        self.loaded = True
