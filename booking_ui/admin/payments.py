"""Payments (routes.ADMIN_PAYMENTS): payment mismatches (a webhook's session, amount or currency differing
from the booking's), failed payments, holds that expired unpaid, refunds, and (platform admins only)
Reconcile against Stripe for the last 7 days.

Each list is one page of 50 from `booking.monitor`, scoped by `builder_scope`: a builder sees
their own bookings' rows, a platform admin everyone's.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

import reflex as rx

from booking.accounts import builder_scope
from booking.core import session_scope
from booking.events import ReconcileReport, reconcile_with_stripe
from booking.payments import PaymentProviderError
from booking.workspace import (
    ExpiredHoldRow,
    FailedPaymentRow,
    MismatchRow,
    RefundRow,
    expired_holds,
    monitor_failed_payments,
    viewer_zone,
)
from booking.workspace import mismatches as monitor_mismatches
from booking.workspace import refunds as monitor_refunds
from booking_ui import deps, routes
from booking_ui.admin.base import AdminState, admin_background, admin_event, current_actor
from booking_ui.admin.components import error_callout, pager
from booking_ui.admin.layout import admin_layout
from booking_ui.offloop import off_loop

TITLE = "Payments"
RECONCILE_WINDOW = timedelta(days=7)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CountView:
    name: str
    value: int


@dataclass(frozen=True)
class MismatchView:
    kind: str
    booking_id: str
    stripe_object: str
    ours: str
    stripe: str


class PaymentsState(AdminState):
    failed: list[FailedPaymentRow] = []
    failed_page: int = 1
    failed_pages: int = 1
    failed_total: int = 0
    expired: list[ExpiredHoldRow] = []
    expired_page: int = 1
    expired_pages: int = 1
    expired_total: int = 0
    refunds: list[RefundRow] = []
    refunds_page: int = 1
    refunds_pages: int = 1
    refunds_total: int = 0
    mismatches: list[MismatchRow] = []
    mismatches_page: int = 1
    mismatches_pages: int = 1
    mismatches_total: int = 0
    reconcile_running: bool = False
    reconcile_done: bool = False
    reconcile_error: str = ""
    reconcile_counts: list[CountView] = []
    reconcile_mismatches: list[MismatchView] = []
    reconcile_notes: list[str] = []

    def _refresh(self) -> None:
        actor = current_actor()
        scope = builder_scope(actor, None)
        with session_scope(deps.engine()) as session:
            zone = viewer_zone(session=session, actor=actor)
            failed = monitor_failed_payments(session=session, builder_id=scope, zone=zone, page=self.failed_page)
            expired = expired_holds(session=session, builder_id=scope, zone=zone, page=self.expired_page)
            refunds = monitor_refunds(session=session, builder_id=scope, zone=zone, page=self.refunds_page)
            mismatches = monitor_mismatches(session=session, builder_id=scope, zone=zone,
                                            page=self.mismatches_page)
        self.failed, self.failed_page, self.failed_pages, self.failed_total = (
            failed.rows, failed.page, failed.pages, failed.total)
        self.expired, self.expired_page, self.expired_pages, self.expired_total = (
            expired.rows, expired.page, expired.pages, expired.total)
        self.refunds, self.refunds_page, self.refunds_pages, self.refunds_total = (
            refunds.rows, refunds.page, refunds.pages, refunds.total)
        self.mismatches, self.mismatches_page, self.mismatches_pages, self.mismatches_total = (
            mismatches.rows, mismatches.page, mismatches.pages, mismatches.total)

    @admin_event
    def load(self):
        self.failed_page = self.expired_page = self.refunds_page = self.mismatches_page = 1
        self.reconcile_done, self.reconcile_error = False, ""
        self.reconcile_counts, self.reconcile_mismatches, self.reconcile_notes = [], [], []
        self._refresh()
        return None

    @admin_event
    def show_failed_page(self, page: int):
        self.failed_page = _page_number(page)
        self._refresh()
        return None

    @admin_event
    def show_expired_page(self, page: int):
        self.expired_page = _page_number(page)
        self._refresh()
        return None

    @admin_event
    def show_refunds_page(self, page: int):
        self.refunds_page = _page_number(page)
        self._refresh()
        return None

    @admin_event
    def show_mismatches_page(self, page: int):
        self.mismatches_page = _page_number(page)
        self._refresh()
        return None

    @admin_background
    async def run_reconcile(self):
        """Platform admins only: compare with Stripe over the last 7 days, apply what was missed, report."""
        actor = current_actor()
        actor.require_admin()
        async with self:
            if self.reconcile_running:
                return
            self.reconcile_running, self.reconcile_done, self.reconcile_error = True, False, ""
        report: ReconcileReport | None = None
        error = ""
        try:
            report = await asyncio.to_thread(reconcile_with_stripe, engine=deps.engine(), gateway=deps.gateway(),
                                             since=RECONCILE_WINDOW, actor=actor)
        except PaymentProviderError as exc:
            error = f"Reconcile stopped: {exc}"
        except Exception:
            log.exception("reconcile from the workspace failed")
            error = "Reconcile failed unexpectedly; the server log has the details."
        async with self:
            self.reconcile_running = False
            self.reconcile_error = error
            if report is not None:
                self.reconcile_done = True
                self.reconcile_counts = [CountView(name, value) for name, value in report.counts().items()]
                self.reconcile_mismatches = [
                    MismatchView(kind=m.label, booking_id=m.booking_id, stripe_object=m.stripe_object,
                                 ours=m.ours, stripe=m.stripe)
                    for m in report.mismatches
                ]
                self.reconcile_notes = report.problems[:50]
            await off_loop(self._refresh)  # reconcile may have confirmed, released or refunded bookings


def _page_number(page: int) -> int:
    try:
        return max(1, int(page))
    except (TypeError, ValueError):
        return 1


# --- the page -------------------------------------------------------------------------------------


def _pager(label: str, page, pages, handler) -> rx.Component:
    return pager(page, page < pages, handler, " of ", pages, label=label)


def _table(headers: tuple[str, ...], rows, row_view, empty: str) -> rx.Component:
    return rx.cond(
        rows.length() > 0,
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(name) for name in headers])),
            rx.table.body(rx.foreach(rows, row_view)),
            width="100%",
            variant="surface",
        ),
        rx.text(empty, color_scheme="gray"),
    )


def _section(title: str, total, *children: rx.Component) -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.heading(title, size="4", as_="h2"), rx.badge(total, variant="soft"), align="center"),
        *children,
        spacing="3",
        width="100%",
    )


def _client(name, email) -> rx.Component:
    return rx.vstack(rx.text(name), rx.text(email, size="1", color_scheme="gray"), spacing="0")


def _failed_row(row: FailedPaymentRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.when, white_space="nowrap")),
        rx.table.cell(_client(row.client, row.client_email)),
        rx.table.cell(row.session_type),
        rx.table.cell(row.amount),
        rx.table.cell(rx.vstack(rx.badge(row.code, color_scheme="red", variant="soft"),
                                rx.text(row.message, size="1", color_scheme="gray"), spacing="1")),
        data_testid="failed-payment-row",
    )


def _expired_row(row: ExpiredHoldRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.expired, white_space="nowrap")),
        rx.table.cell(_client(row.client, row.client_email)),
        rx.table.cell(row.session_type),
        rx.table.cell(rx.text(row.start, white_space="nowrap")),
        rx.table.cell(row.amount),
        data_testid="expired-hold-row",
    )


def _refund_status(status) -> rx.Component:
    return rx.badge(status, variant="soft", data_testid="refund-status", color_scheme=rx.match(
        status, ("succeeded", "green"), ("failed", "red"), ("canceled", "red"), "amber"))


def _refund_row(row: RefundRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.when, white_space="nowrap")),
        rx.table.cell(row.client),
        rx.table.cell(row.amount),
        rx.table.cell(row.reason),
        rx.table.cell(_refund_status(row.status)),
        rx.table.cell(row.requested_by),
        rx.table.cell(rx.code(row.stripe_refund_id)),
        data_testid="refund-row",
    )


def _payment_mismatch_row(row: MismatchRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.when, white_space="nowrap")),
        rx.table.cell(rx.badge(row.kind, color_scheme="red", variant="soft", data_testid="mismatch-kind")),
        rx.table.cell(rx.vstack(rx.code(row.booking_id), rx.text(row.client, size="1", color_scheme="gray"),
                                spacing="0")),
        rx.table.cell(row.expected),
        rx.table.cell(row.actual),
        rx.table.cell(rx.vstack(rx.code(row.stripe_object_id), rx.text(row.event_id, size="1", color_scheme="gray"),
                                spacing="0")),
        data_testid="payment-mismatch-row",
    )


def _mismatch_row(row: MismatchView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.kind),
        rx.table.cell(rx.code(row.booking_id)),
        rx.table.cell(rx.code(row.stripe_object)),
        rx.table.cell(row.ours),
        rx.table.cell(row.stripe),
        data_testid="mismatch-row",
    )


def _reconcile() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading("Reconcile", size="4", as_="h2"),
            rx.button(rx.cond(PaymentsState.reconcile_running, "Reconciling…", "Reconcile"),
                      on_click=PaymentsState.run_reconcile, loading=PaymentsState.reconcile_running,
                      disabled=PaymentsState.reconcile_running, data_testid="reconcile-button"),
            align="center",
            spacing="4",
        ),
        rx.text("Compares Stripe's Checkout Sessions, PaymentIntents, refunds and events of the last 7 days "
                "with ours, applies every event we never processed, and lists what still disagrees.",
                size="2", color_scheme="gray"),
        rx.cond(PaymentsState.reconcile_error != "",
                error_callout(PaymentsState.reconcile_error)),
        rx.cond(
            PaymentsState.reconcile_done,
            rx.vstack(
                rx.flex(rx.foreach(PaymentsState.reconcile_counts,
                                   lambda count: rx.badge(count.name, ": ", count.value, variant="surface")),
                        wrap="wrap", spacing="2"),
                _table(("Mismatch", "Booking", "Stripe object", "Ours", "Stripe"),
                       PaymentsState.reconcile_mismatches, _mismatch_row, "No mismatches."),
                rx.foreach(PaymentsState.reconcile_notes, lambda note: rx.text(note, size="1", color_scheme="gray")),
                spacing="3",
                width="100%",
                data_testid="reconcile-report",
                role="status",
            ),
        ),
        spacing="3",
        width="100%",
    )


def _content() -> rx.Component:
    return rx.vstack(
        rx.cond(PaymentsState.is_platform_admin, _reconcile()),
        _section(
            "Mismatches", PaymentsState.mismatches_total,
            rx.text("Stripe reported a payment that differs from what we asked for (another session, amount or "
                    "currency). It did not confirm the booking: check it in Stripe, then refund or book by hand.",
                    size="2", color_scheme="gray"),
            _table(("When", "Mismatch", "Booking", "Expected", "Stripe says", "Stripe object / event"),
                   PaymentsState.mismatches, _payment_mismatch_row, "No mismatches."),
            _pager("mismatches", PaymentsState.mismatches_page, PaymentsState.mismatches_pages,
                   PaymentsState.show_mismatches_page),
        ),
        _section(
            "Failed payments", PaymentsState.failed_total,
            _table(("When", "Client", "For", "Amount", "Decline"), PaymentsState.failed, _failed_row,
                   "No failed payments."),
            _pager("failed payments", PaymentsState.failed_page, PaymentsState.failed_pages,
                   PaymentsState.show_failed_page),
        ),
        _section(
            "Holds that expired unpaid", PaymentsState.expired_total,
            _table(("Expired", "Client", "Session type", "Session time", "Amount"), PaymentsState.expired,
                   _expired_row, "No expired holds."),
            _pager("expired holds", PaymentsState.expired_page, PaymentsState.expired_pages,
                   PaymentsState.show_expired_page),
        ),
        _section(
            "Refunds", PaymentsState.refunds_total,
            _table(("When", "Client", "Amount", "Reason", "Status", "Asked by", "Stripe refund"),
                   PaymentsState.refunds, _refund_row, "No refunds."),
            _pager("refunds", PaymentsState.refunds_page, PaymentsState.refunds_pages,
                   PaymentsState.show_refunds_page),
        ),
        spacing="6",
        width="100%",
    )


def page() -> rx.Component:
    return admin_layout(_content(), title=TITLE)


def register(app: rx.App) -> None:
    app.add_page(page, route=routes.ADMIN_PAYMENTS, title=TITLE + " · Workspace", on_load=[AdminState.guard, PaymentsState.load])
