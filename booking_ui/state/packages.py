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
)
from booking.core import canonical_zone_or_utc, get_settings, session_scope
from booking.lifecycle import InvalidRequest, client_detail_errors
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
    name_error: str = ""
    email_error: str = ""
    notice: str = ""
    buying: bool = False

    @db_event
    def load(self):
        slug = str(self.router.url.query_parameters.get("builder_slug", "") or "")
        self.chosen_package, self.notice, self.buying = "", "", False
        with session_scope() as session:
            builder = get_builder(session=session, slug=slug)
            self.offers = package_offers(session=session, builder_id=int(builder.id),
                                         settings=get_settings()) if builder else []
        if self.offers:
            return rx.call_script(BROWSER_PREFERENCES_JS, callback=PackageShopState.set_browser_preferences)
        return None

    @rx.event
    def set_browser_preferences(self, preferences: dict):
        preferences = preferences if isinstance(preferences, dict) else {}
        self.time_zone = canonical_zone_or_utc(str(preferences.get("tz") or "UTC"))

    @rx.event
    def choose(self, package_id: str):
        self.chosen_package = str(package_id)
        self.name_error = self.email_error = self.notice = ""

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
                                             client_email=self.client_email, client_time_zone=self.time_zone)
        except InvalidRequest as exc:
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
