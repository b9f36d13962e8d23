"""The slot picker and details step: thin over booking.booking_page and booking.payments."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import reflex as rx

from booking import catalog, payments, slots
from booking.availability import load_zone
from booking.booking_page import DaySlots, slots_by_day
from booking.config import get_settings
from booking.db import session_scope
from booking.gateway import PaymentProviderError
from booking.models import utcnow
from booking_ui import deps

log = logging.getLogger(__name__)

COMMON_ZONES = [
    "UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York", "America/Chicago",
    "America/Denver", "America/Los_Angeles", "America/Sao_Paulo", "Asia/Tokyo", "Asia/Kolkata",
    "Asia/Singapore", "Australia/Sydney", "Pacific/Auckland",
]


class BookState(rx.State):
    session_type: catalog.SessionTypeView | None = None
    not_found: bool = False
    time_zone: str = "UTC"
    days: list[DaySlots] = []
    loading_slots: bool = True
    selected_start: str = ""
    selected_label: str = ""
    client_name: str = ""
    client_email: str = ""
    name_error: str = ""
    email_error: str = ""
    notice: str = ""  # a slot was taken meanwhile, or Stripe failed
    paying: bool = False

    def _session_type_id(self) -> int | None:
        raw = str(self.router.url.query_parameters.get("session_type_id", "") or self.session_type_id)
        return int(raw) if raw.isdigit() else None

    @rx.var
    def zone_choices(self) -> list[str]:
        return COMMON_ZONES if self.time_zone in COMMON_ZONES else [self.time_zone, *COMMON_ZONES]

    @rx.event
    def load(self):
        self.selected_start = self.selected_label = self.notice = ""
        self.paying = False
        type_id = self._session_type_id()
        with session_scope(deps.engine()) as session:
            self.session_type = catalog.get_session_type(session=session, session_type_id=type_id) if type_id else None
        self.not_found = self.session_type is None
        if self.not_found:
            self.loading_slots = False
            return None
        return rx.call_script("Intl.DateTimeFormat().resolvedOptions().timeZone", callback=BookState.set_time_zone)

    @rx.event
    def set_time_zone(self, zone: str):
        try:
            load_zone(zone)
            self.time_zone = zone
        except ValueError:
            self.time_zone = "UTC"
        self.selected_start = self.selected_label = ""
        self._refresh_slots()

    def _refresh_slots(self) -> None:
        type_id = self._session_type_id()
        if type_id is None:
            return
        with session_scope(deps.engine()) as session:
            try:
                self.days = slots_by_day(session=session, session_type_id=type_id,
                                         viewer_time_zone=self.time_zone, now=utcnow())
            except slots.SessionTypeNotFound:
                self.days, self.not_found = [], True
        self.loading_slots = False

    @rx.event
    def choose(self, start: str, label: str):
        self.selected_start = start
        self.selected_label = label
        self.notice = ""

    @rx.event
    def change_time(self):
        self.selected_start = self.selected_label = ""

    @rx.event
    def set_client_name(self, value: str):
        self.client_name = value
        self.name_error = ""

    @rx.event
    def set_client_email(self, value: str):
        self.client_email = value
        self.email_error = ""

    @rx.event
    def pay(self):
        if self.paying or not self.selected_start:
            return None
        errors = payments.client_detail_errors(name=self.client_name, email=self.client_email)
        self.name_error = errors.get("client_name", "")
        self.email_error = errors.get("client_email", "")
        if errors:
            return None
        self.paying = True
        self.notice = ""
        return BookState.start_payment

    @rx.event(background=True)
    async def start_payment(self):
        async with self:
            request = dict(
                session_type_id=self._session_type_id(),
                start_time=datetime.fromisoformat(self.selected_start),
                client_name=self.client_name,
                client_email=self.client_email,
                client_time_zone=self.time_zone,
            )
        try:
            started = await asyncio.to_thread(
                payments.begin_checkout, engine=deps.engine(), gateway=deps.gateway(), settings=get_settings(),
                **request,
            )
        except payments.SlotUnavailable:
            async with self:
                self.paying = False
                self.selected_start = self.selected_label = ""
                self.notice = "Sorry — that time was just taken. Here are the times still free; nothing was charged."
                self._refresh_slots()
            return None
        except Exception as exc:
            if not isinstance(exc, (PaymentProviderError, payments.InvalidRequest, slots.SessionTypeNotFound)):
                log.exception("checkout could not start")
            async with self:
                self.paying = False
                self.notice = (exc.message if isinstance(exc, payments.InvalidRequest) else
                               "We could not reach the payment provider. Nothing was charged and your "
                               "time was not held — please try again in a moment.")
            return None
        return rx.redirect(started.checkout_url)
