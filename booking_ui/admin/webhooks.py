"""Webhook log (routes.ADMIN_WEBHOOKS): every stored Stripe event with its type, times, status,
attempts and error (traceback on demand), the payload on demand, and Replay for failed events.

Replay runs `booking.events.webhooks.replay_event`, the CLI's `replay-event` path (via `replay_failed_event`,
which checks ownership and audits). A builder sees only the events about their own bookings.
"""

from __future__ import annotations

import asyncio
import logging

import reflex as rx

from booking.accounts import NotFound, builder_scope
from booking.core import session_scope
from booking.payments import PaymentProviderError
from booking.workspace import (
    EVENT_STATUSES,
    EventRow,
    NotReplayable,
    ReplayFailed,
    event_payload,
    replay_failed_event,
    viewer_zone,
)
from booking.workspace import events as monitor_events
from booking_ui import deps, routes
from booking_ui.admin.base import AdminState, admin_background, admin_event, current_actor
from booking_ui.admin.components import pager, success_callout
from booking_ui.admin.layout import admin_layout
from booking_ui.offloop import off_loop

TITLE = "Webhook log"

log = logging.getLogger(__name__)


class WebhooksState(AdminState):
    events: list[EventRow] = []
    page: int = 1
    pages: int = 1
    total: int = 0
    status_filter: str = ""
    type_search: str = ""
    notice: str = ""
    replaying: str = ""  # the event being replayed, if any
    payload_open: bool = False
    payload_of: str = ""
    payload_text: str = ""

    def _refresh(self) -> None:
        actor = current_actor()
        with session_scope(deps.engine()) as session:
            found = monitor_events(session=session, builder_id=builder_scope(actor, None),
                                   zone=viewer_zone(session=session, actor=actor),
                                   status=self.status_filter, type_contains=self.type_search, page=self.page)
        self.events, self.page, self.pages, self.total = found.rows, found.page, found.pages, found.total

    @admin_event
    def load(self):
        self.page, self.notice = 1, ""
        self.payload_open, self.payload_of, self.payload_text = False, "", ""
        self._refresh()
        return None

    @admin_event
    def set_status(self, status: str):
        """Show one status ("" or anything unknown: all)."""
        self.status_filter = status if status in EVENT_STATUSES else ""
        self.page, self.notice = 1, ""
        self._refresh()
        return None

    @admin_event
    def set_search(self, value: str):
        """Filter by event type (part of it, e.g. "refund")."""
        self.type_search = str(value or "").strip()[:100]
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
    def show_payload(self, event_id: str):
        """The stored payload in a dialog (only an event the caller may see)."""
        self.payload_open, self.payload_of, self.payload_text = False, "", ""
        with session_scope(deps.engine()) as session:
            text = event_payload(session=session, actor=current_actor(), event_id=event_id)
        self.payload_of, self.payload_text, self.payload_open = str(event_id), text, True
        return None

    @admin_event
    def set_payload_open(self, checked: bool):
        """The dialog's own open/close (Escape, the Close button): closing forgets the payload."""
        if not checked:
            self.payload_open, self.payload_of, self.payload_text = False, "", ""
        return None

    @admin_background
    async def replay(self, event_id: str):
        """Run a failed event's handler again (the CLI's replay-event path); the row shows the outcome."""
        actor = current_actor()
        async with self:
            if self.replaying:
                return
            self.replaying, self.notice = str(event_id), ""
        notice, error = "", ""
        try:
            outcome = await asyncio.to_thread(replay_failed_event, engine=deps.engine(),
                                              gateway=deps.gateway(), actor=actor, event_id=str(event_id))
            notice = f"Replayed {event_id}: {outcome}."
        except NotFound:
            raise
        except NotReplayable as exc:
            error = str(exc)
        except ReplayFailed as exc:
            error = f"The replay failed again: {exc}. The log shows the new traceback."
        except PaymentProviderError as exc:
            error = f"Replay stopped: {exc}"
        except Exception:
            log.exception("replay of %s from the workspace failed", event_id)
            error = "The replay failed unexpectedly; the server log has the details."
        finally:
            async with self:
                self.replaying = ""
        async with self:
            self.notice, self.admin_error = notice, error
            await off_loop(self._refresh)


# --- the page -------------------------------------------------------------------------------------

STATUS_COLOURS = (("processed", "green"), ("failed", "red"), ("received", "blue"), ("ignored", "gray"))


def _status_badge(status) -> rx.Component:
    return rx.badge(status, variant="soft", data_testid="event-status",
                    color_scheme=rx.match(status, *STATUS_COLOURS, "gray"))


def _error(row: EventRow) -> rx.Component:
    return rx.cond(
        row.error != "",
        rx.el.details(
            rx.el.summary(row.error_summary, style={"cursor": "pointer"}),
            rx.el.pre(row.error, style={"margin": 0, "white_space": "pre-wrap", "font_size": "12px",
                                        "max_height": "24em", "overflow": "auto"}),
            data_testid="event-error",
        ),
        rx.text("—", color_scheme="gray"),
    )


def _actions(row: EventRow) -> rx.Component:
    return rx.hstack(
        rx.button("Payload", variant="soft", size="1", on_click=WebhooksState.show_payload(row.id),
                  data_testid="payload-button"),
        rx.link("Raw", href=routes.admin_event_payload(row.id), is_external=True, size="1"),
        rx.cond(
            row.replayable,
            rx.button("Replay", size="1", color_scheme="orange", on_click=WebhooksState.replay(row.id),
                      loading=WebhooksState.replaying == row.id, disabled=WebhooksState.replaying != "",
                      data_testid="replay-button"),
        ),
        spacing="2",
        align="center",
    )


def _row(row: EventRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.vstack(rx.text(row.type, weight="medium", data_testid="event-type"),
                                rx.code(row.id, size="1"), spacing="1")),
        rx.table.cell(_status_badge(row.status)),
        rx.table.cell(rx.text(row.received_at, white_space="nowrap")),
        rx.table.cell(rx.text(row.processed_at, white_space="nowrap")),
        rx.table.cell(row.attempts),
        rx.table.cell(row.source),
        rx.table.cell(_error(row)),
        rx.table.cell(_actions(row)),
        data_testid="event-row",
    )


def _filters() -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.el.label("Status", html_for="event-status-filter"),
            rx.el.select(
                rx.el.option("All", value=""),
                *[rx.el.option(status.capitalize(), value=status) for status in EVENT_STATUSES],
                id="event-status-filter", value=WebhooksState.status_filter, on_change=WebhooksState.set_status,
            ),
            spacing="1",
        ),
        rx.vstack(
            rx.el.label("Event type", html_for="event-type-filter"),
            rx.input(id="event-type-filter", default_value=WebhooksState.type_search,
                     on_blur=WebhooksState.set_search, placeholder="e.g. checkout.session", max_length=100),
            spacing="1",
        ),
        spacing="4",
        align="end",
        wrap="wrap",
    )


def _pager() -> rx.Component:
    return pager(WebhooksState.page, WebhooksState.page < WebhooksState.pages, WebhooksState.set_page,
                 " of ", WebhooksState.pages, " · ", WebhooksState.total, " events", label="events")


def _payload_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Payload of ", WebhooksState.payload_of),
            rx.el.pre(WebhooksState.payload_text, style={"white_space": "pre-wrap", "font_size": "12px",
                                                         "max_height": "60vh", "overflow": "auto"},
                      data_testid="event-payload"),
            rx.dialog.close(rx.button("Close", variant="soft")),
            max_width="56em",
        ),
        open=WebhooksState.payload_open,
        on_open_change=WebhooksState.set_payload_open,
    )


def _content() -> rx.Component:
    return rx.vstack(
        _filters(),
        rx.cond(WebhooksState.notice != "",
                success_callout(WebhooksState.notice, data_testid="webhooks-notice")),
        rx.cond(
            WebhooksState.events.length() > 0,
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(name) for name in (
                    "Event", "Status", "Received", "Processed", "Attempts", "Source", "Error", "")])),
                rx.table.body(rx.foreach(WebhooksState.events, _row)),
                width="100%",
                variant="surface",
            ),
            rx.text("No events.", color_scheme="gray"),
        ),
        _pager(),
        _payload_dialog(),
        spacing="4",
        width="100%",
    )


def page() -> rx.Component:
    return admin_layout(_content(), title=TITLE)


def register(app: rx.App) -> None:
    app.add_page(page, route=routes.ADMIN_WEBHOOKS, title=TITLE + " · Workspace", on_load=[AdminState.guard, WebhooksState.load])
