"""The client's wallet (/wallet/<token>): their credits with one builder, and booking a time with one.

The wallet token is the client's credential: no field of this state holds it; every handler reads it from
the page's address (as the manage page does). The month picker is the booking page's own component.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime

import reflex as rx

from booking.client import (
    NoMembership,
    WalletNotFound,
    WalletView,
    book_with_credit,
    load_wallet,
    portal_for_wallet,
    wallet_has_membership,
    wallet_month,
)
from booking.core import canonical_zone_or_utc, get_settings, locale_tag, session_scope, zone_or_utc
from booking.payments import PaymentProviderError
from booking_ui import deps, routes
from booking_ui.offloop import db_event
from booking_ui.state.book import BROWSER_PREFERENCES_JS
from booking_ui.state.month_picker import MonthPickerState

TOKEN_LENGTH = 43


def _token_from_path(path: str) -> str:
    parts = [part for part in path.split("?")[0].split("/") if part]
    return parts[1] if len(parts) >= 2 and parts[0] == "wallet" else ""


class WalletState(MonthPickerState, rx.State):  # the booking page's month picker
    loaded: bool = False
    view: WalletView | None = None
    zone: str = "UTC"
    hour12: bool = False  # the browser's clock until the client picks one, as on the booking page
    locale: str = ""
    session_type_id: str = ""
    selected_start: str = ""
    notice: str = ""
    notice_tone: str = "green"
    manage_path: str = ""
    booking: bool = False
    has_membership: bool = False  # "Manage membership": Stripe's customer portal
    opening_portal: bool = False

    def _token(self) -> str:
        query = self.router.url.query_parameters
        token = str(query.get("wallet_token", "") or "") or _token_from_path(str(self.router.url.path))
        return token if len(token) == TOKEN_LENGTH else ""

    @rx.var
    def pay_instead_url(self) -> str:
        """With no credit left: the session's own booking page, where it is paid for."""
        return routes.book_page(self.session_type_id) if self.session_type_id else ""

    @rx.var
    def chosen_credits(self) -> int:
        if self.view is None:
            return 0
        return next((row.credits for row in self.view.session_types if row.id == self.session_type_id), 0)

    @db_event
    def load(self):
        self.notice, self.manage_path, self.selected_start, self.booking = "", "", "", False
        self.locale = locale_tag(deps.browser_language(self))
        self._refresh()
        self.loaded = True
        return rx.call_script(BROWSER_PREFERENCES_JS, callback=WalletState.set_browser_preferences)

    @db_event
    def set_browser_preferences(self, preferences: dict):
        preferences = preferences if isinstance(preferences, dict) else {}
        self.zone = canonical_zone_or_utc(str(preferences.get("tz") or "UTC"))
        self.hour12 = preferences.get("hour12") is True
        if preferences.get("lang"):
            self.locale = locale_tag(str(preferences["lang"]))
        self._refresh()

    @rx.event
    def set_clock(self, value: str | list[str]):
        self.hour12 = (value[0] if isinstance(value, list) and value else value) == "12"

    def _refresh(self, year: int | None = None, month: int | None = None) -> None:
        token = self._token()
        try:
            self.view = load_wallet(engine=deps.engine(), token=token, time_zone=self.zone,
                                    locale=self.locale) if token else None
        except WalletNotFound:
            self.view = None
        with session_scope(deps.engine()) as session:
            self.has_membership = self.view is not None and wallet_has_membership(session=session, token=token)
        if self.view is None:
            self.weeks, self.times = [], []
            return
        ids = [row.id for row in self.view.session_types]
        if self.session_type_id not in ids:
            self.session_type_id = ids[0] if ids else ""
        month_view = wallet_month(engine=deps.engine(), token=token, session_type_id=self.session_type_id,
                                  time_zone=self.zone, year=year or self.view_year or None,
                                  month=month or self.view_month or None, locale=self.locale) \
            if self.session_type_id else None
        self._show_month(month_view, locale=self.locale)
        if month_view is not None:
            self._forget_time_not_shown()

    def _forget_time_not_shown(self) -> None:
        if self.selected_start not in [slot.start for slot in self.times]:
            self.selected_start = ""

    @db_event
    def set_zone(self, value: str):
        self.zone = zone_or_utc(str(value)).key
        self.selected_day = ""
        self._refresh()

    @db_event
    def choose_session_type(self, value: str):
        self.session_type_id = str(value)
        self.selected_day, self.view_year, self.view_month = "", 0, 0
        self._refresh()

    @db_event
    def previous_month(self):
        self._refresh(*self._month_before())

    @db_event
    def next_month(self):
        self._refresh(*self._month_after())

    @db_event
    def show_next_available(self):
        if not self.next_available_day:
            return
        day = date.fromisoformat(self.next_available_day)
        self.selected_day = day.isoformat()
        self._refresh(day.year, day.month)

    @rx.event
    def choose_day(self, value: str):
        self._show_day(str(value)[:10])
        self._forget_time_not_shown()

    @rx.event
    def choose_time(self, start: str):
        self.selected_start = str(start)[:40]
        self.notice = ""

    @rx.event(background=True)
    async def manage_membership(self):
        """Open Stripe's customer portal (a server-side call, off the event loop, no transaction open)."""
        async with self:
            if self.opening_portal:
                return None
            token, self.opening_portal, self.notice = self._token(), True, ""
            return_url = get_settings().public_url.rstrip("/") + str(self.router.url.path)
        try:
            url = await asyncio.to_thread(portal_for_wallet, engine=deps.engine(), gateway=deps.gateway(),
                                          token=token, return_url=return_url)
        except (NoMembership, PaymentProviderError) as exc:
            async with self:
                self.opening_portal, self.notice_tone = False, "red"
                self.notice = (str(exc) if isinstance(exc, NoMembership) else
                               "The payment provider is not available. Please try again in a moment.")
            return None
        async with self:
            self.opening_portal = False
        return rx.redirect(url)

    @db_event
    def book(self):
        if not self.selected_start:
            self.notice, self.notice_tone = "Pick a time first.", "red"
            return
        try:
            start = datetime.fromisoformat(self.selected_start)
        except ValueError:
            self.notice, self.notice_tone = "Pick a time first.", "red"
            return
        try:
            result = book_with_credit(engine=deps.engine(), token=self._token(), session_type_id=self.session_type_id,
                                      start_time=start, client_time_zone=self.zone, client_hour12=self.hour12,
                                      client_locale=self.locale)
        except WalletNotFound:
            self.view = None
            return
        self.notice, self.notice_tone = result.message, "green" if result.ok else "red"
        self.manage_path = result.manage_path
        self.selected_start = ""
        self._refresh()
