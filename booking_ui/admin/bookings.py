"""Bookings (routes.ADMIN_BOOKINGS): upcoming and past bookings, 50 a page, filtered by status, dates
and client email; a booking's detail with its payment history; refund and cancel forms.

Thin: the list and detail come from `booking.booking_admin`, refunds and cancellations from
`booking.refunds` (Stripe is called off the event loop, in a background handler that shows progress).
Each form gets a request key when it opens, kept on the server: a double click sends the same key,
and the second request returns the first refund instead of making another.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import date

import reflex as rx

from booking.accounts import Actor, builder_scope
from booking.core import REFUND_REASONS, Builder, MoneyError, format_money, session_scope, to_minor_units
from booking.lifecycle import ASK_CANCEL_SESSION, DEFAULT_CANCEL_REASON, RefundChoice, Refused, request_refund
from booking.lifecycle import cancel_booking as refunds_cancel_booking
from booking.lifecycle import retry_refund as refunds_retry_refund
from booking.payments import PaymentProviderError
from booking.workspace import (
    STATUS_COLOURS,
    STATUS_LABELS,
    BookingDetail,
    BookingQuery,
    BookingRow,
    ErasureRefused,
    PaymentLine,
    RefundLine,
    booking_detail,
    erase_booking_personal_data,
    list_bookings,
)
from booking_ui import deps, routes
from booking_ui.admin.attendance import attendance_panel
from booking_ui.admin.base import AdminState, admin_background, admin_event, current_actor
from booking_ui.admin.components import pager
from booking_ui.admin.exports import export_form
from booking_ui.admin.host_tools import host_tools
from booking_ui.admin.layout import admin_layout
from booking_ui.offloop import off_loop

TITLE = "Bookings"
log = logging.getLogger(__name__)

_STATUS_OPTIONS = tuple(STATUS_LABELS.items())
_REASON_LABELS = {"requested_by_customer": "Requested by the client", "duplicate": "Duplicate payment",
                  "fraudulent": "Fraudulent"}
_AMOUNT_HELP = "Enter an amount such as 12.50 (or 5000 for yen)."


def _parse_date(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value or "").strip()) if str(value or "").strip() else None
    except ValueError:
        return None


def _parse_amount(value: object, currency: str) -> int | None:
    """Major units typed in the form -> minor units; empty means "all that is left"."""
    text = str(value or "").strip()
    if not text:
        return None
    return to_minor_units(text, currency)


def _viewer_zone(actor: Actor) -> str:
    if actor.builder_id is None:
        return "UTC"
    with session_scope(deps.engine()) as session:
        builder = session.get(Builder, actor.builder_id)
        return builder.time_zone if builder else "UTC"


def _load_detail(actor: Actor, booking_id: str, locale: str = "") -> BookingDetail:
    with session_scope(deps.engine()) as session:
        return booking_detail(session=session, actor=actor, booking_id=booking_id, locale=locale)


class BookingsState(AdminState):
    rows: list[BookingRow] = []
    page: int = 1
    has_next: bool = False
    when: str = "upcoming"  # upcoming | past
    status_filter: str = ""
    date_from: str = ""
    date_to: str = ""
    search: str = ""
    filter_error: str = ""

    detail: BookingDetail = BookingDetail()
    form_version: int = 0  # remounts the forms (fresh defaults) when a booking or a new form opens
    refund_busy: bool = False
    refund_done: bool = False
    refund_ok: bool = False
    refund_result: str = ""
    cancel_busy: bool = False
    cancel_ok: bool = False
    cancel_result: str = ""
    cancel_choice: str = RefundChoice.FULL.value
    retrying: str = ""
    # The confirm dialog before a refund or a cancellation: which ("" = closed), and what will happen.
    confirm_kind: str = ""
    confirm_title: str = ""
    confirm_text: str = ""
    confirm_action: str = ""
    erase_result: str = ""  # what "Erase personal data" did, or why it didn't

    _refund_key: str = ""
    _cancel_key: str = ""
    _pending_form: dict = {}  # the form that the dialog confirms

    # --- list ---------------------------------------------------------------------------------------

    def _refresh(self) -> None:
        actor = current_actor()
        query = BookingQuery(
            builder_id=builder_scope(actor, None), past=self.when == "past", status=self.status_filter,
            date_from=_parse_date(self.date_from), date_to=_parse_date(self.date_to), email=self.search,
            page=self.page, time_zone=_viewer_zone(actor), locale=deps.browser_language(self),
        )
        with session_scope(deps.engine()) as session:
            found = list_bookings(session=session, query=query)
        self.rows, self.page, self.has_next = found.rows, found.page, found.has_next

    @admin_event
    def load(self):
        self.page, self.filter_error = 1, ""
        self._close()
        self._refresh()
        return None

    @admin_event
    def set_when(self, value: str):
        """Upcoming (today on) or past."""
        self.when = "past" if value == "past" else "upcoming"
        self.page = 1
        self._refresh()
        return None

    @admin_event
    def set_status(self, status: str):
        """One status badge ("" or anything unknown: all)."""
        self.status_filter = status if status in STATUS_LABELS else ""
        self.page = 1
        self._refresh()
        return None

    @admin_event
    def set_search(self, value: str):
        """The client's email, or its beginning."""
        self.search = str(value or "").strip().lower()[:254]
        self.page = 1
        self._refresh()
        return None

    @admin_event
    def set_dates(self, form: dict):
        """From and to (inclusive), in the viewer's zone; either may be empty."""
        start, end = form.get("date_from", ""), form.get("date_to", "")
        parsed_start, parsed_end = _parse_date(start), _parse_date(end)
        if (str(start or "").strip() and parsed_start is None) or (str(end or "").strip() and parsed_end is None):
            self.filter_error = "Enter dates as YYYY-MM-DD."
            return None
        if parsed_start and parsed_end and parsed_end < parsed_start:
            self.filter_error = "The end date is before the start date."
            return None
        self.filter_error = ""
        self.date_from = parsed_start.isoformat() if parsed_start else ""
        self.date_to = parsed_end.isoformat() if parsed_end else ""
        self.page = 1
        self._refresh()
        return None

    @admin_event
    def set_page(self, page: int):
        try:
            self.page = max(1, int(page))
        except (TypeError, ValueError):
            self.page = 1
        self._refresh()
        return None

    # --- one booking --------------------------------------------------------------------------------

    def _close(self) -> None:
        self.erase_result = ""
        self.detail = BookingDetail()
        self._close_confirm()
        self._refund_key = self._cancel_key = ""
        self.refund_busy = self.cancel_busy = False
        self.refund_done = self.refund_ok = self.cancel_ok = False
        self.refund_result = self.cancel_result = self.retrying = ""

    def _new_forms(self) -> None:
        self._refund_key, self._cancel_key = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
        self.refund_done, self.refund_ok, self.refund_result = False, False, ""
        self.cancel_ok, self.cancel_result, self.cancel_choice = False, "", RefundChoice.FULL.value
        self.form_version += 1

    @admin_event
    def open_booking(self, booking_id: str):
        """The detail panel: payment history, and the refund and cancel forms (each with a fresh key)."""
        self._close()
        self.detail = _load_detail(current_actor(), str(booking_id), deps.browser_language(self))
        self._new_forms()
        return None

    @admin_event
    def erase_personal_data(self):
        """The client asked: their answers, the name given and the network digests of this booking go."""
        if not self.detail.id:
            return None
        actor = current_actor()
        try:
            with session_scope(deps.engine()) as session:
                erased = erase_booking_personal_data(session=session, actor=actor, booking_id=self.detail.id)
        except ErasureRefused as exc:
            self.erase_result = str(exc)
            return None
        self.detail = _load_detail(actor, self.detail.id, deps.browser_language(self))
        self.erase_result = (f"Erased: {erased.answers_deleted} answers and the name given with this booking.")
        return None

    @admin_event
    def close_booking(self):
        self._close()
        return None

    @admin_event
    def new_refund(self):
        """Another refund after one finished: a new form, a new request key."""
        if self.detail.id and not self.refund_busy:
            self.detail = _load_detail(current_actor(), self.detail.id, deps.browser_language(self))
            self._new_forms()
        return None

    # --- the confirm dialog ---------------------------------------------------------------------------

    def _close_confirm(self) -> None:
        self.confirm_kind = self.confirm_title = self.confirm_text = self.confirm_action = ""
        self._pending_form = {}

    def _ask(self, kind: str, form: dict, title: str, text: str, action: str) -> None:
        self._pending_form = {str(k): v for k, v in form.items()}
        self.confirm_kind, self.confirm_title, self.confirm_text, self.confirm_action = kind, title, text, action

    @admin_event
    def ask_refund(self, form: dict):
        """The refund form's submit: says what will happen and waits for "Refund" in the dialog."""
        detail = self.detail
        self.refund_result, self.refund_ok = "", False
        if not detail.id or self.refund_busy:
            return None
        try:
            amount = _parse_amount(form.get("amount"), detail.currency)
        except MoneyError:
            self.refund_result = _AMOUNT_HELP
            return None
        amount = detail.left_minor if amount is None else amount
        if amount <= 0 or amount > detail.left_minor:
            self.refund_result = f"Enter an amount up to {detail.left}."
            return None
        money = format_money(amount, detail.currency, locale=deps.browser_language(self) or None)
        full = amount == detail.left_minor
        session = _SESSION_CHOICES.get(str(form.get("session") or ""))
        if full and detail.upcoming and session is None:
            self.refund_result = ASK_CANCEL_SESSION
            return None
        if full and detail.upcoming and session:
            text = (f"{money} is refunded to the client and the session is cancelled: the time is freed and the "
                    "client is emailed.")
        elif detail.upcoming:
            text = (f"{money} is refunded to the client; the session stays booked. The client is emailed about "
                    "the refund.")
        else:
            text = f"{money} is refunded to the client; the booking is not changed. The client is emailed about it."
        self._ask("refund", form, f"Refund {money}?", text + " This can't be undone.", f"Refund {money}")
        return None

    @admin_event
    def ask_cancel(self, form: dict):
        """The cancel form's submit: says what will happen and waits for "Cancel booking" in the dialog."""
        detail = self.detail
        self.cancel_result, self.cancel_ok = "", False
        if not detail.id or self.cancel_busy:
            return None
        try:
            choice = RefundChoice.from_form(form.get("refund"))
        except Refused as exc:
            self.cancel_result = exc.message
            return None
        locale = deps.browser_language(self) or None
        if choice == RefundChoice.NONE or detail.left_minor <= 0:
            refund = "Nothing is refunded."
        elif choice == RefundChoice.FULL:
            refund = f"{format_money(detail.left_minor, detail.currency, locale=locale)} is refunded to them."
        else:
            try:
                amount = _parse_amount(form.get("amount"), detail.currency)
            except MoneyError:
                amount = None
            if amount is None or amount <= 0 or amount > detail.left_minor:
                self.cancel_result = f"Enter an amount to refund, up to {detail.left}."
                return None
            refund = f"{format_money(amount, detail.currency, locale=locale)} is refunded to them."
        self._ask("cancel", form, "Cancel this booking?",
                  f"The session is cancelled: the time is freed and the client is emailed. {refund} "
                  "This can't be undone.", "Cancel booking")
        return None

    @admin_event
    def confirm(self):
        """The dialog's confirm button: run what was asked (the same handlers, the same request keys)."""
        kind, form = self.confirm_kind, dict(self._pending_form)
        self._close_confirm()
        if kind == "refund":
            return BookingsState.refund(form)
        if kind == "cancel":
            return BookingsState.cancel_booking(form)
        return None

    @admin_event
    def set_confirm_open(self, value: bool):
        """Escape, "Go back" or a click outside: nothing happens."""
        if not value:
            self._close_confirm()
        return None

    @admin_event
    def set_cancel_choice(self, value: str):
        try:
            self.cancel_choice = RefundChoice(value).value
        except ValueError:
            self.cancel_choice = RefundChoice.FULL.value
        return None

    async def _after_money_change(self, actor: Actor, booking_id: str) -> None:
        detail = await asyncio.to_thread(_load_detail, actor, booking_id, deps.browser_language(self))
        async with self:
            if self.detail.id == booking_id:
                self.detail = detail
            await off_loop(self._refresh)

    @admin_background
    async def refund(self, form: dict):
        """Refund part or all of what is left; Stripe is asked off the event loop."""
        actor = current_actor()
        async with self:
            if self.refund_busy or not self.detail.id or not self._refund_key:
                return
            booking_id, key, currency = self.detail.id, self._refund_key, self.detail.currency
            self.refund_busy, self.refund_result = True, ""
        ok, answered, message = False, False, ""
        try:
            amount = _parse_amount(form.get("amount"), currency)
            outcome = await asyncio.to_thread(
                request_refund, engine=deps.engine(), gateway=deps.gateway(), actor=actor,
                booking_id=booking_id, amount=amount, reason=str(form.get("reason") or ""), request_key=key,
                cancel_session=_SESSION_CHOICES.get(str(form.get("session") or "")))
            ok, answered, message = outcome.ok, True, outcome.message
        except MoneyError:
            message = _AMOUNT_HELP
        except Refused as exc:
            message = exc.message
        except PaymentProviderError as exc:
            message = f"Stripe is not available: {exc}"
        finally:
            async with self:
                self.refund_busy = False
        async with self:
            # A refused form can be corrected and sent again with the same key (nothing was written);
            # an answered one (its key now names a refund) shows its result until "New refund".
            self.refund_ok, self.refund_result, self.refund_done = ok, message, answered
        await self._after_money_change(actor, booking_id)

    @admin_background
    async def retry_refund(self, refund_id: str):
        """Ask again for a failed refund (once per failed row, however often it is clicked)."""
        actor = current_actor()
        async with self:
            if self.retrying or not self.detail.id:
                return
            booking_id, self.retrying, self.refund_result = self.detail.id, str(refund_id), ""
        ok, message = False, ""
        try:
            outcome = await asyncio.to_thread(refunds_retry_refund, engine=deps.engine(), gateway=deps.gateway(),
                                              actor=actor, refund_id=str(refund_id))
            ok, message = outcome.ok, outcome.message
        except Refused as exc:
            message = exc.message
        except PaymentProviderError as exc:
            message = f"Stripe is not available: {exc}"
        finally:
            async with self:
                self.retrying = ""
        async with self:
            self.refund_ok, self.refund_result, self.refund_done = ok, message, True
        await self._after_money_change(actor, booking_id)

    @admin_background
    async def cancel_booking(self, form: dict):
        """Cancel (the slot is freed, the client emailed), then refund all, part or none."""
        actor = current_actor()
        async with self:
            if self.cancel_busy or not self.detail.id or not self._cancel_key:
                return
            booking_id, key, currency = self.detail.id, self._cancel_key, self.detail.currency
            self.cancel_busy, self.cancel_result = True, ""
        ok, message = False, ""
        try:
            choice = RefundChoice.from_form(form.get("refund"))
            amount = _parse_amount(form.get("amount"), currency) if choice == RefundChoice.PARTIAL else None
            outcome = await asyncio.to_thread(
                refunds_cancel_booking, engine=deps.engine(), gateway=deps.gateway(), actor=actor,
                booking_id=booking_id, refund=choice, amount=amount,
                refund_reason=str(form.get("refund_reason") or ""), request_key=key,
                reason=str(form.get("reason") or ""))
            ok, message = outcome.refund is None or outcome.refund.ok, outcome.message
        except MoneyError:
            message = _AMOUNT_HELP
        except Refused as exc:
            message = exc.message
        except PaymentProviderError as exc:
            message = f"Stripe is not available: {exc}"
        finally:
            async with self:
                self.cancel_busy = False
        async with self:
            self.cancel_ok, self.cancel_result = ok, message
        await self._after_money_change(actor, booking_id)


# --- the page -------------------------------------------------------------------------------------

def _status_badge(status, label) -> rx.Component:
    return rx.badge(label, variant="soft", data_testid="booking-status",
                    color_scheme=rx.match(status, *STATUS_COLOURS.items(), "gray"))


def _dispute_badge(label) -> rx.Component:
    """A dispute is a payment matter: shown beside the booking's state, never instead of it."""
    return rx.cond(label != "", rx.badge(label, variant="outline", data_testid="booking-dispute",
                                         color_scheme=rx.match(label, ("Dispute won", "green"), "red")))


def _row(row: BookingRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.button("Open", size="1", variant="soft", on_click=BookingsState.open_booking(row.id),
                                aria_label="Open booking " + row.id, data_testid="open-booking")),
        rx.table.cell(rx.text(row.when, white_space="nowrap")),
        rx.table.cell(rx.hstack(_status_badge(row.status, row.status_label), _dispute_badge(row.dispute_label),
                                spacing="1", wrap="wrap")),
        rx.table.cell(rx.vstack(rx.text(row.client_name, weight="medium"),
                                rx.text(row.client_email, size="1", color_scheme="gray",
                                        data_testid="booking-client-email"),
                                spacing="0")),
        rx.table.cell(row.session_type),
        rx.cond(AdminState.is_platform_admin, rx.table.cell(row.builder_name), rx.fragment()),
        rx.table.cell(rx.text(row.amount, white_space="nowrap")),
        data_testid="booking-row",
    )


def _labelled(label: str, control_id: str, control: rx.Component) -> rx.Component:
    return rx.vstack(rx.el.label(label, html_for=control_id), control, spacing="1")


def _filters() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.hstack(
                *[rx.button(label, variant=rx.cond(BookingsState.when == value, "solid", "soft"),
                            aria_pressed=rx.cond(BookingsState.when == value, "true", "false"),
                            on_click=BookingsState.set_when(value), data_testid=f"show-{value}")
                  for value, label in (("upcoming", "Upcoming"), ("past", "Past"))],
                spacing="1", role="group", aria_label="Which bookings",
            ),
            _labelled("Status", "booking-status-filter", rx.el.select(
                rx.el.option("All", value=""),
                *[rx.el.option(label, value=value) for value, label in _STATUS_OPTIONS],
                id="booking-status-filter", value=BookingsState.status_filter, on_change=BookingsState.set_status,
            )),
            _labelled("Client email", "booking-search", rx.input(
                id="booking-search", type="search", default_value=BookingsState.search,
                on_blur=BookingsState.set_search, placeholder="e.g. ann@example.com", max_length=254,
            )),
            rx.form(
                rx.hstack(
                    _labelled("From", "booking-date-from", rx.input(id="booking-date-from", name="date_from",
                                                                    type="date", default_value=BookingsState.date_from)),
                    _labelled("To", "booking-date-to", rx.input(id="booking-date-to", name="date_to", type="date",
                                                                default_value=BookingsState.date_to)),
                    rx.button("Apply dates", type="submit", variant="soft"),
                    align="end",
                    spacing="2",
                    wrap="wrap",
                ),
                on_submit=BookingsState.set_dates,
            ),
            spacing="4",
            align="end",
            wrap="wrap",
        ),
        rx.cond(BookingsState.filter_error != "",
                rx.text(BookingsState.filter_error, color_scheme="red", size="2", role="alert")),
        spacing="2",
        width="100%",
    )


def _pager() -> rx.Component:
    return pager(page=BookingsState.page, has_next=BookingsState.has_next, on_page=BookingsState.set_page,
                 label="bookings")


def _payment_row(line: PaymentLine) -> rx.Component:
    return rx.table.row(
        rx.table.cell(line.attempt),
        rx.table.cell(rx.badge(line.status, variant="soft")),
        rx.table.cell(rx.text(line.method, data_testid="payment-method")),
        rx.table.cell(line.amount),
        rx.table.cell(line.refunded),
        rx.table.cell(rx.vstack(rx.code(line.checkout_session_id, size="1"),
                                rx.code(line.payment_intent_id, size="1"), spacing="1")),
        rx.table.cell(rx.text(line.failure, size="1")),
        rx.table.cell(rx.text(line.created, white_space="nowrap")),
        rx.table.cell(rx.text(line.paid, white_space="nowrap")),
    )


def _refund_row(line: RefundLine) -> rx.Component:
    return rx.table.row(
        rx.table.cell(line.amount),
        rx.table.cell(rx.badge(line.status, variant="soft", data_testid="refund-status",
                               color_scheme=rx.match(line.status, ("succeeded", "green"), ("failed", "red"),
                                                     ("canceled", "red"), "amber"))),
        rx.table.cell(line.reason),
        rx.table.cell(line.requested_by),
        rx.table.cell(rx.text(line.created, white_space="nowrap")),
        rx.table.cell(rx.vstack(rx.text(line.failure_reason, size="1", color_scheme="red"),
                                rx.code(line.stripe_refund_id, size="1"), spacing="1")),
        rx.table.cell(rx.cond(line.can_retry, rx.button(
            "Retry", size="1", on_click=BookingsState.retry_refund(line.id),
            loading=BookingsState.retrying == line.id, disabled=BookingsState.retrying != "",
            data_testid="refund-retry"))),
    )


def _history() -> rx.Component:
    detail = BookingsState.detail
    return rx.vstack(
        rx.heading("Payment history", size="3", as_="h3"),
        rx.cond(detail.payments.length() > 0, rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(name) for name in (
                "Attempt", "Status", "Paid by", "Amount", "Refunded", "Stripe ids", "Failure", "Started",
                "Paid")])),
            rx.table.body(rx.foreach(detail.payments, _payment_row)),
            size="1", variant="surface", width="100%",
        ), rx.text("No checkout yet.", color_scheme="gray", size="2")),
        rx.heading("Refunds", size="3", as_="h3"),
        rx.cond(detail.refunds.length() > 0, rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(name) for name in (
                "Amount", "Status", "Reason", "Asked by", "When", "Stripe", "")])),
            rx.table.body(rx.foreach(detail.refunds, _refund_row)),
            size="1", variant="surface", width="100%",
        ), rx.text("No refunds.", color_scheme="gray", size="2")),
        spacing="2",
        width="100%",
        data_testid="payment-history",
    )


def _reason_select(control_id: str, name: str) -> rx.Component:
    return _labelled("Reason", control_id, rx.el.select(
        *[rx.el.option(_REASON_LABELS.get(reason, reason), value=reason) for reason in REFUND_REASONS],
        id=control_id, name=name, default_value=REFUND_REASONS[0],
    ))


def _result(text, ok, testid: str) -> rx.Component:
    return rx.cond(text != "", rx.callout(text, icon=rx.cond(ok, "check", "triangle_alert"),
                                          color_scheme=rx.cond(ok, "green", "red"), role="status",
                                          data_testid=testid))


# A full refund of an upcoming booking: is the session cancelled too? (None: not answered.)
_SESSION_CHOICES = {"cancel": True, "keep": False}


def _session_choice() -> rx.Component:
    """Asked before a full refund of an upcoming booking: both answers keep both calendars right."""
    return rx.el.fieldset(
        rx.el.legend("If this refunds everything, is the session cancelled too?", style={"font_size": "0.875rem"}),
        rx.radio_group.root(
            rx.hstack(
                rx.el.label(rx.radio_group.item(value="cancel", id="refund-session-cancel"),
                            " Cancel the session too", html_for="refund-session-cancel"),
                rx.el.label(rx.radio_group.item(value="keep", id="refund-session-keep"),
                            " Keep the session", html_for="refund-session-keep"),
                spacing="4",
            ),
            name="session",
        ),
        data_testid="refund-session",
        style={"border": "none", "padding": 0, "margin": 0},
    )


def _refund_form() -> rx.Component:
    detail = BookingsState.detail
    form = rx.form(
        rx.vstack(
            rx.text("Left to refund: ", rx.text.strong(detail.left), size="2"),
            rx.cond(detail.upcoming, _session_choice()),
            rx.hstack(
                _labelled("Amount (" + detail.currency.upper() + ")", "refund-amount", rx.input(
                    id="refund-amount", name="amount", default_value=detail.left_major, inputmode="decimal",
                    data_testid="refund-amount")),
                _reason_select("refund-reason", "reason"),
                rx.button("Refund", type="submit", loading=BookingsState.refund_busy,
                          disabled=BookingsState.refund_busy, data_testid="refund-submit"),
                align="end", spacing="3", wrap="wrap",
            ),
            rx.cond(BookingsState.refund_busy,
                    rx.hstack(rx.spinner(size="1"), rx.text("Asking Stripe…", size="2"), role="status")),
            spacing="2",
        ),
        on_submit=BookingsState.ask_refund,
        reset_on_submit=False,
        key=BookingsState.form_version,
        data_testid="refund-form",
    )
    return rx.vstack(
        rx.heading("Refund", size="3", as_="h3"),
        rx.cond(BookingsState.refund_done,
                rx.button("New refund", variant="soft", size="1", on_click=BookingsState.new_refund),
                rx.cond(detail.can_refund, form, rx.text("Nothing to refund.", color_scheme="gray", size="2"))),
        _result(BookingsState.refund_result, BookingsState.refund_ok, "refund-result"),
        spacing="2",
        width="100%",
    )


def _refund_option(choice: RefundChoice, label: str) -> rx.Component:
    option_id = f"cancel-refund-{choice.value}"
    return rx.el.label(rx.radio_group.item(value=choice.value, id=option_id), label, html_for=option_id)


def _cancel_form() -> rx.Component:
    detail = BookingsState.detail
    return rx.cond(detail.can_cancel, rx.vstack(
        rx.heading("Cancel booking", size="3", as_="h3"),
        rx.form(
            rx.vstack(
                rx.el.fieldset(
                    rx.el.legend("Refund"),
                    rx.radio_group.root(
                        rx.hstack(
                            _refund_option(RefundChoice.FULL, " Full"),
                            _refund_option(RefundChoice.PARTIAL, " Partial"),
                            _refund_option(RefundChoice.NONE, " No refund"),
                            spacing="4",
                        ),
                        name="refund", value=BookingsState.cancel_choice, on_change=BookingsState.set_cancel_choice,
                    ),
                    style={"border": "none", "padding": 0, "margin": 0},
                ),
                rx.hstack(
                    rx.cond(BookingsState.cancel_choice == RefundChoice.PARTIAL.value, _labelled(
                        "Amount to refund (" + detail.currency.upper() + ")", "cancel-amount",
                        rx.input(id="cancel-amount", name="amount", inputmode="decimal", data_testid="cancel-amount"))),
                    rx.cond(BookingsState.cancel_choice != RefundChoice.NONE.value,
                            _reason_select("cancel-refund-reason", "refund_reason")),
                    _labelled("Message to the client (optional)", "cancel-reason", rx.input(
                        id="cancel-reason", name="reason", max_length=500, placeholder=DEFAULT_CANCEL_REASON)),
                    align="end", spacing="3", wrap="wrap",
                ),
                rx.button("Cancel booking", type="submit", color_scheme="red", loading=BookingsState.cancel_busy,
                          disabled=BookingsState.cancel_busy, data_testid="cancel-submit"),
                spacing="2",
            ),
            on_submit=BookingsState.ask_cancel,
            reset_on_submit=False,
            key=BookingsState.form_version,
            data_testid="cancel-form",
        ),
        spacing="2",
        width="100%",
    ))


def _confirm_dialog() -> rx.Component:
    """Before a refund or a cancellation: what will happen, "Go back" (focused first) or go ahead."""
    S = BookingsState
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(S.confirm_title),
            rx.alert_dialog.description(S.confirm_text, data_testid="confirm-text"),
            rx.flex(
                rx.alert_dialog.cancel(rx.button("Go back", variant="soft", color_scheme="gray",
                                                 data_testid="confirm-back")),
                rx.button(S.confirm_action, color_scheme="red", on_click=S.confirm, data_testid="confirm-go"),
                spacing="3",
                margin_top="1em",
                justify="end",
                wrap="wrap",
            ),
            max_width="32em",
            data_testid="confirm-dialog",
        ),
        open=S.confirm_kind != "",
        on_open_change=S.set_confirm_open,
    )


def _answer_row(line) -> rx.Component:
    return rx.table.row(rx.table.cell(line.question), rx.table.cell(rx.text(line.answer, white_space="pre-wrap")),
                        data_testid="answer-row")


def _attendee_row(line) -> rx.Component:
    return rx.table.row(rx.table.cell(line.seat), rx.table.cell(line.name), rx.table.cell(line.email),
                        rx.table.cell(line.status_label), data_testid="attendee-row")


def _seats_and_answers() -> rx.Component:
    """A workshop's attendees (the builder's eyes only) and the client's answers to the booking questions."""
    detail = BookingsState.detail
    return rx.vstack(
        rx.cond(detail.seat != "", rx.vstack(
            rx.heading("Attendees", size="3", as_="h3"),
            rx.text(detail.seat, size="2", data_testid="booking-seat"),
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(name) for name in (
                    "Seat", "Name", "Email", "State")])),
                rx.table.body(rx.foreach(detail.attendees, _attendee_row)),
                size="1", variant="surface", width="100%", data_testid="attendees",
            ),
            spacing="2", width="100%",
        )),
        rx.cond(detail.answers.length() > 0, rx.vstack(
            rx.heading("Answers", size="3", as_="h3"),
            rx.table.root(
                rx.table.header(rx.table.row(rx.table.column_header_cell("Question"),
                                             rx.table.column_header_cell("Answer"))),
                rx.table.body(rx.foreach(detail.answers, _answer_row)),
                size="1", variant="surface", width="100%", data_testid="answers",
            ),
            spacing="2", width="100%",
        )),
        rx.hstack(
            rx.button("Erase personal data", size="1", variant="soft", color_scheme="red",
                      on_click=BookingsState.erase_personal_data, data_testid="erase-personal-data"),
            rx.cond(BookingsState.erase_result != "", rx.text(BookingsState.erase_result, size="2",
                                                              role="status", data_testid="erase-result")),
            align="center", spacing="3",
        ),
        spacing="3",
        width="100%",
    )


def _detail() -> rx.Component:
    detail = BookingsState.detail
    return rx.cond(detail.id != "", rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(detail.session_type, " · ", detail.when, size="4", as_="h2"),
                _status_badge(detail.status, detail.status_label),
                _dispute_badge(detail.dispute_label),
                rx.cond(detail.dispute_id != "",
                        rx.link("Open on the Disputes page", href=routes.ADMIN_DISPUTES, size="2")),
                rx.spacer(),
                rx.button("Close", variant="soft", size="1", on_click=BookingsState.close_booking),
                align="center", width="100%", wrap="wrap",
            ),
            rx.text(detail.client_name, " · ", detail.client_email, " · ", detail.amount,
                    rx.cond(AdminState.is_platform_admin, rx.text.span(" · ", detail.builder_name))),
            rx.cond(detail.end_reason != "",
                    rx.text("Cancelled: ", detail.end_reason, size="2", color_scheme="gray")),
            _seats_and_answers(),
            _history(),
            host_tools(detail),
            attendance_panel(detail),
            _refund_form(),
            _cancel_form(),
            _result(BookingsState.cancel_result, BookingsState.cancel_ok, "cancel-result"),
            spacing="3",
            width="100%",
        ),
        width="100%",
        data_testid="booking-detail",
    ))


def _content() -> rx.Component:
    return rx.vstack(
        _filters(),
        _detail(),
        _confirm_dialog(),
        rx.cond(
            BookingsState.rows.length() > 0,
            rx.table.root(
                rx.table.header(rx.table.row(
                    rx.table.column_header_cell(rx.el.span("Open", class_name="rt-visually-hidden")),
                    rx.table.column_header_cell("When"),
                    rx.table.column_header_cell("Status"),
                    rx.table.column_header_cell("Client"),
                    rx.table.column_header_cell("Session"),
                    rx.cond(AdminState.is_platform_admin, rx.table.column_header_cell("Builder"), rx.fragment()),
                    rx.table.column_header_cell("Amount"),
                )),
                rx.table.body(rx.foreach(BookingsState.rows, _row)),
                width="100%",
                variant="surface",
            ),
            rx.text("No bookings.", color_scheme="gray"),
        ),
        _pager(),
        export_form(),
        spacing="4",
        width="100%",
    )


def page() -> rx.Component:
    return admin_layout(_content(), title=TITLE)


def register(app: rx.App) -> None:
    app.add_page(page, route=routes.ADMIN_BOOKINGS, title=TITLE + " · Workspace", on_load=[AdminState.guard, BookingsState.load])
