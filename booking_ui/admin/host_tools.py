"""The builder's tools in a booking's detail (routes.ADMIN_BOOKINGS): reschedule it with the booking page's
month picker, keep private notes, open the client's manage page. Thin: every handler is guarded
(`admin_event`: the signed-in actor, resolved on the server) and calls one service of booking.workspace,
which checks that the booking is the actor's.
"""

from __future__ import annotations

from datetime import date, datetime

import reflex as rx

from booking.client import month_view
from booking.core import get_settings, locale_tag, session_scope, utcnow
from booking.scheduling import SessionTypeNotFound
from booking.workspace import (
    NOTE_MAX,
    MoveRefused,
    NoteTooLong,
    manage_link_for_builder,
    reschedule_by_builder,
    reschedule_target,
    save_host_note,
)
from booking_ui import deps
from booking_ui.admin.base import AdminState, admin_event, current_actor
from booking_ui.state.month_picker import MonthPickerState


class HostToolsState(MonthPickerState, AdminState):  # the booking page's month picker
    booking_id: str = ""  # the booking the picker is open for ("" = closed)
    zone: str = "UTC"  # the builder's zone: the picker's times are theirs
    selected_start: str = ""
    result: str = ""
    result_ok: bool = False
    note_result: str = ""
    note_ok: bool = False
    manage_url: str = ""  # made on the server when asked; shown as a link for this booking only
    manage_for: str = ""
    _session_type_id: int = 0
    _current_start: datetime | None = None

    def _refresh(self, year: int | None = None, month: int | None = None) -> None:
        locale = locale_tag(deps.browser_language(self))  # the month's title and its days' labels alike
        try:
            with session_scope(deps.engine()) as session:
                view = month_view(session=session, session_type_id=self._session_type_id, viewer_time_zone=self.zone,
                                  now=utcnow(), year=year, month=month, locale=locale,
                                  ignore_booking_id=self.booking_id, exclude=self._current_start)
        except SessionTypeNotFound:
            self.booking_id, self.weeks, self.times = "", [], []
            self.result, self.result_ok = "This session type is no longer offered, so the booking can't be moved.", False
            return
        self._show_month(view, locale=locale)

    @admin_event
    def open_reschedule(self, booking_id: str):
        self.result, self.selected_start, self.selected_day = "", "", ""
        try:
            with session_scope(deps.engine()) as session:
                target = reschedule_target(session=session, actor=current_actor(), booking_id=booking_id)
        except MoveRefused as exc:
            self.result, self.result_ok = exc.message, False
            return
        self.booking_id, self.zone = target.booking_id, target.builder_time_zone
        self._session_type_id, self._current_start = target.session_type_id, target.start
        self._refresh()

    @admin_event
    def close_reschedule(self):
        self.booking_id, self.selected_start, self.times, self.weeks = "", "", [], []

    @admin_event
    def previous_month(self):
        if self.booking_id and self._session_type_id:
            self._refresh(*self._month_before())

    @admin_event
    def next_month(self):
        if self.booking_id and self._session_type_id:
            self._refresh(*self._month_after())

    @admin_event
    def show_next_available(self):
        if self.booking_id and self._session_type_id and self.next_available_day:
            day = date.fromisoformat(self.next_available_day)
            self.selected_day = day.isoformat()
            self._refresh(day.year, day.month)

    @admin_event
    def choose_day(self, value: str):
        self.selected_start = ""
        self._show_day(str(value)[:10])

    @admin_event
    def choose(self, value: str):
        self.selected_start = str(value)[:40]

    @admin_event
    def confirm_reschedule(self):
        if not self.booking_id or not self.selected_start:
            self.result, self.result_ok = "Pick a new time first.", False
            return None
        try:
            new_start = datetime.fromisoformat(self.selected_start)
        except ValueError:
            self.result, self.result_ok = "Pick one of the times shown.", False
            return None
        booking_id = self.booking_id
        try:
            with session_scope(deps.engine()) as session:
                reschedule_by_builder(session=session, actor=current_actor(), booking_id=booking_id,
                                      new_start=new_start)
        except MoveRefused as exc:
            self.result, self.result_ok = exc.message, False
            self.selected_start = ""
            self._refresh(self.view_year, self.view_month)
            return None
        self.booking_id, self.times, self.weeks, self.selected_start = "", [], [], ""
        self.result, self.result_ok = "Moved. The client has been emailed the updated invite.", True
        from booking_ui.admin.bookings import BookingsState  # that module shows this one's panels

        return BookingsState.open_booking(booking_id)

    @admin_event
    def save_note(self, form: dict):
        booking_id = str(form.get("booking_id", ""))[:40]
        try:
            with session_scope(deps.engine()) as session:
                save_host_note(session=session, actor=current_actor(), booking_id=booking_id,
                               note=str(form.get("note", "")))
        except NoteTooLong as exc:
            self.note_result, self.note_ok = str(exc), False
            return
        self.note_result, self.note_ok = "Notes saved.", True

    @admin_event
    def open_manage_page(self, booking_id: str):
        with session_scope(deps.engine()) as session:
            url = manage_link_for_builder(session=session, actor=current_actor(), booking_id=booking_id,
                                          public_url=get_settings().public_url)
        self.manage_url, self.manage_for = url, booking_id

    @admin_event
    def reset_tools(self):
        self.booking_id, self.result, self.note_result, self.manage_url, self.manage_for = "", "", "", "", ""


def _times() -> rx.Component:
    S = HostToolsState
    return rx.vstack(
        rx.cond(S.selected_day_label != "", rx.text(S.selected_day_label, weight="medium", size="2")),
        rx.flex(rx.foreach(S.times, lambda slot: rx.button(
            slot.label_24, on_click=S.choose(slot.start), size="1", type="button",
            variant=rx.cond(S.selected_start == slot.start, "solid", "outline"),
            aria_pressed=rx.cond(S.selected_start == slot.start, "true", "false"),
            aria_label=slot.aria_24, data_testid="reschedule-time")), wrap="wrap", spacing="2"),
        spacing="2",
    )


def reschedule_panel(detail) -> rx.Component:
    """"Reschedule" for a confirmed, upcoming booking; the picker opens in place."""
    from booking_ui.components.month_calendar import month_calendar

    S = HostToolsState
    picker = rx.vstack(
        rx.text("Times are in ", S.zone, ". The client is emailed the new time and an updated invite.", size="2"),
        rx.flex(month_calendar(S, prefix="reschedule-"), _times(), spacing="4", wrap="wrap"),
        rx.hstack(
            rx.button("Move booking", on_click=S.confirm_reschedule, disabled=S.selected_start == "",
                      data_testid="reschedule-confirm", type="button"),
            rx.button("Close", variant="soft", on_click=S.close_reschedule, type="button"),
            spacing="3",
        ),
        spacing="3",
        width="100%",
        data_testid="reschedule-picker",
    )
    return rx.vstack(
        rx.heading("Reschedule", size="3", as_="h3"),
        rx.cond(S.booking_id == detail.id, picker,
                rx.cond(detail.can_reschedule,
                        rx.button("Pick a new time", variant="soft", on_click=S.open_reschedule(detail.id),
                                  data_testid="reschedule-open", type="button"),
                        rx.text("Only an upcoming, confirmed booking can be moved.", size="2", color_scheme="gray"))),
        rx.cond(S.result != "", rx.callout(S.result, icon=rx.cond(S.result_ok, "check", "triangle_alert"),
                                           color_scheme=rx.cond(S.result_ok, "green", "red"), role="status",
                                           data_testid="reschedule-result")),
        spacing="2",
        width="100%",
    )


def notes_panel(detail) -> rx.Component:
    S = HostToolsState
    return rx.vstack(
        rx.heading("Private notes", size="3", as_="h3"),
        rx.text("Only you see these: never the client, never Stripe.", size="1", color_scheme="gray"),
        rx.form(
            rx.vstack(
                rx.el.input(type="hidden", name="booking_id", value=detail.id),
                rx.el.label("Notes", html_for="host-note", class_name="rt-visually-hidden"),
                rx.text_area(id="host-note", name="note", default_value=detail.host_note, max_length=NOTE_MAX,
                             rows="3", width="100%", data_testid="host-note"),
                rx.button("Save notes", type="submit", size="1", data_testid="host-note-save"),
                spacing="2",
                width="100%",
            ),
            on_submit=S.save_note,
            reset_on_submit=False,
            key=detail.id,
            width="100%",
        ),
        rx.cond(S.note_result != "", rx.text(S.note_result, size="2", role="status",
                                             color_scheme=rx.cond(S.note_ok, "green", "red"),
                                             data_testid="host-note-result")),
        rx.hstack(
            rx.button("Open the client's manage page", variant="soft", size="1", type="button",
                      on_click=S.open_manage_page(detail.id), data_testid="manage-link-open"),
            rx.cond((S.manage_url != "") & (S.manage_for == detail.id),
                    rx.link("Manage page (opens in a new tab)", href=S.manage_url, is_external=True, size="2",
                            data_testid="manage-link")),
            spacing="3", align="center", wrap="wrap",
        ),
        spacing="2",
        width="100%",
    )


def host_tools(detail) -> rx.Component:
    return rx.vstack(reschedule_panel(detail), notes_panel(detail), spacing="4", width="100%",
                     data_testid="host-tools")
