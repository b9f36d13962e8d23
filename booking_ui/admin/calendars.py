"""External calendars (routes.ADMIN_CALENDARS): the builder's ICS feeds and CalDAV accounts, when each was
last synced and its last error. Thin over booking.workspace.calendars (ownership checked there); the job
worker does every fetch, this page never does."""

from __future__ import annotations

import reflex as rx

from booking.core import session_scope
from booking.scheduling import CalendarInputError
from booking.workspace import (
    CalendarRow,
    add_builder_calendar,
    builder_choices,
    calendar_rows,
    remove_builder_calendar,
    sync_soon,
)
from booking_ui import deps, routes
from booking_ui.admin.base import AdminState, admin_event, current_actor
from booking_ui.admin.components import error_callout, info_callout, success_callout
from booking_ui.admin.layout import admin_layout
from booking_ui.admin.policy import BuilderOption

TITLE = "Calendars"


class CalendarsState(AdminState):
    builders: list[BuilderOption] = []
    calendars_builder_id: str = ""
    calendars_builder_name: str = ""
    rows: list[CalendarRow] = []
    errors: dict[str, str] = {}
    notice: str = ""
    form_key: str = "0"
    _serial: int = 0

    def _target(self) -> str:
        actor = current_actor()
        return str(actor.builder_id) if not actor.is_admin else self.calendars_builder_id

    def _show(self) -> None:
        target = self._target()
        if not target:
            self.rows, self.calendars_builder_name = [], ""
            return
        with session_scope(deps.engine()) as session:
            builder, self.rows = calendar_rows(session=session, actor=current_actor(), builder_id=target)
            self.calendars_builder_id, self.calendars_builder_name = str(builder.id), builder.name

    @admin_event
    def load(self):
        actor = current_actor()
        self.errors, self.notice = {}, ""
        if actor.is_admin:
            with session_scope(deps.engine()) as session:
                self.builders = [BuilderOption(id=b_id, name=name)
                                 for b_id, name in builder_choices(session=session, actor=actor)][:500]
            if self.calendars_builder_id not in {option.id for option in self.builders}:
                self.calendars_builder_id = self.builders[0].id if self.builders else ""
        else:
            self.builders = []
        self._show()

    @admin_event
    def set_builder(self, value: str):
        if not current_actor().is_admin:
            return
        self.calendars_builder_id, self.errors, self.notice = str(value), {}, ""
        self._show()

    @admin_event
    def add(self, form: dict):
        self.errors, self.notice = {}, ""
        target = self._target()
        if not target:
            self.errors = {"form": "Choose a builder first."}
            return
        try:
            with session_scope(deps.engine()) as session:
                calendar = add_builder_calendar(session=session, actor=current_actor(), builder_id=target,
                                                form=form)
                name = calendar.name
        except CalendarInputError as exc:
            self.errors = {exc.field: str(exc).capitalize() + "."}
            return
        self._serial += 1
        self.form_key = str(self._serial)
        self._show()
        self.notice = f"Added “{name}”. It is fetched within a minute; its busy times then block your slots."

    @admin_event
    def remove(self, calendar_id: str):
        with session_scope(deps.engine()) as session:
            name = remove_builder_calendar(session=session, actor=current_actor(), calendar_id=calendar_id)
        self._show()
        self.notice = f"Removed “{name}”: its events no longer block your slots."

    @admin_event
    def sync_now(self, calendar_id: str):
        with session_scope(deps.engine()) as session:
            name = sync_soon(session=session, actor=current_actor(), calendar_id=calendar_id)
        self._show()
        self.notice = f"“{name}” will be fetched within a minute. Reload to see the result."


S = CalendarsState


def _field(label: str, name: str, *, hint: str = "", **props) -> rx.Component:
    input_id = f"calendar-{name}"
    return rx.vstack(
        rx.el.label(label, html_for=input_id, font_weight="500"),
        rx.input(id=input_id, name=name, width="100%", aria_describedby=f"{input_id}-hint",
                 aria_invalid=rx.cond(S.errors.contains(name), "true", "false"), **props),
        rx.cond(hint != "", rx.text(hint, size="1", color_scheme="gray", id=f"{input_id}-hint")),
        rx.cond(S.errors.contains(name), rx.text(S.errors[name], color_scheme="red", size="2",
                                                 data_testid=f"calendar-error-{name}")),
        spacing="1", align="start", width="100%",
    )


def _form() -> rx.Component:
    return rx.card(rx.form(
        rx.vstack(
            rx.heading("Add a calendar", size="4", as_="h2"),
            rx.cond(S.errors.contains("form"), error_callout(S.errors["form"])),
            rx.vstack(
                rx.el.label("Kind", html_for="calendar-kind", font_weight="500"),
                rx.el.select(rx.el.option("ICS feed (a calendar's secret address)", value="ics"),
                             rx.el.option("CalDAV account (Fastmail, iCloud, Nextcloud …)", value="caldav"),
                             id="calendar-kind", name="kind", default_value="ics"),
                rx.cond(S.errors.contains("kind"), rx.text(S.errors["kind"], color_scheme="red", size="2")),
                spacing="1", align="start",
            ),
            _field("Address", "url", placeholder="https://…/basic.ics",
                   hint="The feed's address, or the CalDAV calendar's address."),
            _field("Name (optional)", "name"),
            _field("CalDAV user name", "username", hint="CalDAV only.", auto_complete="off"),
            _field("CalDAV app password", "password", type="password", auto_complete="new-password",
                   hint="CalDAV only. Stored encrypted; never shown again."),
            rx.el.label(rx.checkbox(name="write_bookings", id="calendar-write-bookings"),
                        " Write confirmed bookings to this calendar (CalDAV only)",
                        html_for="calendar-write-bookings", display="flex", gap="0.5em", align_items="center"),
            rx.cond(S.errors.contains("write_bookings"),
                    rx.text(S.errors["write_bookings"], color_scheme="red", size="2")),
            rx.button("Add calendar", type="submit", data_testid="add-calendar"),
            spacing="3", width="100%",
        ),
        on_submit=S.add, reset_on_submit=False, key="calendar-form-" + S.form_key, data_testid="calendar-form",
    ), width="100%")


def _row(row: CalendarRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.name, weight="medium"),
                      rx.text(row.url, size="1", color_scheme="gray", overflow_wrap="anywhere"),
                      rx.cond(row.writes_bookings, rx.badge("Bookings written here", color_scheme="blue"))),
        rx.table.cell(row.kind),
        rx.table.cell(row.last_synced, data_testid="calendar-last-synced"),
        rx.table.cell(row.busy_count, data_testid="calendar-busy-count"),
        rx.table.cell(rx.cond(row.last_error != "", rx.text(row.last_error, color_scheme="red", size="2"),
                              rx.text("—", color_scheme="gray")), data_testid="calendar-last-error"),
        rx.table.cell(rx.hstack(
            rx.button("Sync now", size="1", variant="soft", on_click=S.sync_now(row.id), data_testid="sync-calendar"),
            rx.button("Remove", size="1", variant="soft", color_scheme="red", on_click=S.remove(row.id),
                      data_testid="remove-calendar"),
            spacing="2")),
        data_testid="calendar-row",
    )


def _table() -> rx.Component:
    return rx.cond(
        S.rows.length() > 0,
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(name) for name in (
                "Calendar", "Kind", "Last synced", "Busy times", "Last error", "Actions")])),
            rx.table.body(rx.foreach(S.rows, _row)),
            width="100%", data_testid="calendar-list",
        ),
        rx.text("No calendars yet: only your bookings block your slots.", color_scheme="gray"),
    )


def page() -> rx.Component:
    return admin_layout(
        rx.cond(S.is_platform_admin, rx.hstack(
            rx.el.label("Builder", html_for="calendars-builder", font_weight="500"),
            rx.el.select(rx.foreach(S.builders, lambda b: rx.el.option(b.name, value=b.id)),
                         id="calendars-builder", value=S.calendars_builder_id, on_change=S.set_builder),
            align="center", spacing="2")),
        info_callout("Events in these calendars block your slots (recurring ones included; free and cancelled "
                     "ones don't). They are fetched in the background every few minutes."),
        rx.cond(S.notice != "", success_callout(S.notice, data_testid="calendar-notice")),
        _table(),
        _form(),
        title=TITLE,
    )


def register(app: rx.App) -> None:
    app.add_page(page, route=routes.ADMIN_CALENDARS, title=TITLE + " · Workspace",
                 on_load=[AdminState.guard, CalendarsState.load])
