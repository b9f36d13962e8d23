"""Email outbox (routes.ADMIN_OUTBOX): every queued email with its status, attempts and last error, and
Retry for failed (or stuck) ones, which makes them due now for the worker. Audited.

A builder sees only the emails about their own bookings.
"""

from __future__ import annotations

import reflex as rx

from booking.accounts import builder_scope
from booking.core import session_scope
from booking.workspace import NOTIFICATION_STATUSES, NotRetryable, OutboxRow, outbox, retry_notification, viewer_zone
from booking_ui import deps, routes
from booking_ui.admin.base import AdminState, admin_event, current_actor
from booking_ui.admin.components import pager, success_callout
from booking_ui.admin.layout import admin_layout

TITLE = "Email outbox"


class OutboxState(AdminState):
    rows: list[OutboxRow] = []
    page: int = 1
    pages: int = 1
    total: int = 0
    status_filter: str = ""
    search: str = ""
    notice: str = ""

    def _refresh(self) -> None:
        actor = current_actor()
        with session_scope(deps.engine()) as session:
            found = outbox(session=session, builder_id=builder_scope(actor, None),
                                   zone=viewer_zone(session=session, actor=actor),
                                   status=self.status_filter, search=self.search, page=self.page)
        self.rows, self.page, self.pages, self.total = found.rows, found.page, found.pages, found.total

    @admin_event
    def load(self):
        self.page, self.notice = 1, ""
        self._refresh()
        return None

    @admin_event
    def set_status(self, status: str):
        """Show one status ("" or anything unknown: all)."""
        self.status_filter = status if status in NOTIFICATION_STATUSES else ""
        self.page, self.notice = 1, ""
        self._refresh()
        return None

    @admin_event
    def set_search(self, value: str):
        """Filter by recipient or kind (part of it)."""
        self.search = str(value or "").strip()[:254]
        self.page, self.notice = 1, ""
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

    @admin_event
    def retry(self, notification_id: str):
        """Make a failed or stuck email due now; the worker sends it on its next tick."""
        self.notice = ""
        try:
            with session_scope(deps.engine()) as session:
                row = retry_notification(session=session, actor=current_actor(),
                                                 notification_id=notification_id)
                recipient = row.recipient
        except NotRetryable as exc:
            self.admin_error = str(exc)
        else:
            self.notice = f"The email to {recipient} will be sent again shortly."
        self._refresh()
        return None


# --- the page -------------------------------------------------------------------------------------

STATUS_COLOURS = (("sent", "green"), ("failed", "red"), ("pending", "amber"))


def _row(row: OutboxRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.created_at, white_space="nowrap")),
        rx.table.cell(rx.text(row.kind, data_testid="outbox-kind")),
        rx.table.cell(row.recipient),
        rx.table.cell(rx.code(row.booking_id, size="1")),
        rx.table.cell(rx.badge(row.status, variant="soft", data_testid="outbox-status",
                               color_scheme=rx.match(row.status, *STATUS_COLOURS, "gray"))),
        rx.table.cell(row.attempts),
        rx.table.cell(rx.text(row.last_error, size="1", color_scheme="gray")),
        rx.table.cell(rx.vstack(rx.text(row.sent_at, white_space="nowrap"),
                                rx.cond(row.next_attempt_at != "",
                                        rx.text("due ", row.next_attempt_at, size="1", color_scheme="gray",
                                                white_space="nowrap")),
                                spacing="0")),
        rx.table.cell(rx.cond(row.retryable,
                              rx.button("Retry", size="1", on_click=OutboxState.retry(row.id),
                                        data_testid="retry-button"))),
        data_testid="outbox-row",
    )


def _filters() -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.el.label("Status", html_for="outbox-status-filter"),
            rx.el.select(
                rx.el.option("All", value=""),
                *[rx.el.option(status.capitalize(), value=status) for status in NOTIFICATION_STATUSES],
                id="outbox-status-filter", value=OutboxState.status_filter, on_change=OutboxState.set_status,
            ),
            spacing="1",
        ),
        rx.vstack(
            rx.el.label("Recipient or kind", html_for="outbox-search"),
            rx.input(id="outbox-search", default_value=OutboxState.search, on_blur=OutboxState.set_search,
                     placeholder="e.g. ann@example.com", max_length=254),
            spacing="1",
        ),
        spacing="4",
        align="end",
        wrap="wrap",
    )


def _pager() -> rx.Component:
    return pager(OutboxState.page, OutboxState.page < OutboxState.pages, OutboxState.set_page,
                 " of ", OutboxState.pages, " · ", OutboxState.total, " emails", label="emails")


def _content() -> rx.Component:
    return rx.vstack(
        _filters(),
        rx.cond(OutboxState.notice != "",
                success_callout(OutboxState.notice, data_testid="outbox-notice")),
        rx.cond(
            OutboxState.rows.length() > 0,
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(name) for name in (
                    "Created", "Kind", "Recipient", "Booking", "Status", "Attempts", "Last error", "Sent", "")])),
                rx.table.body(rx.foreach(OutboxState.rows, _row)),
                width="100%",
                variant="surface",
            ),
            rx.text("No emails.", color_scheme="gray"),
        ),
        _pager(),
        spacing="4",
        width="100%",
    )


def page() -> rx.Component:
    return admin_layout(_content(), title=TITLE)


def register(app: rx.App) -> None:
    app.add_page(page, route=routes.ADMIN_OUTBOX, title=TITLE + " · Workspace", on_load=[AdminState.guard, OutboxState.load])
