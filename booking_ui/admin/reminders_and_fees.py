"""Reminder times and no-show fees, on the policy page (routes.ADMIN_POLICY): when reminders go out before
each session, and which session types keep a card for a no-show fee instead of payment up front.

Thin over booking.workspace (reminders_and_fees): ids from the browser go through `authz.load_owned` there,
and each save records an audit entry.
"""

from __future__ import annotations

import reflex as rx

from booking.core import session_scope
from booking.workspace import (
    InvalidNoShowFee,
    InvalidReminderTimes,
    NoShowFeeRow,
    no_show_fee_rows,
    reminder_times,
    save_no_show_fee,
    save_reminder_times,
)
from booking_ui import deps
from booking_ui.admin.base import AdminState, admin_event, current_actor
from booking_ui.admin.components import error_callout, success_callout


class RemindersFeesState(AdminState):
    target_builder_id: str = ""
    reminder_text: str = ""
    reminder_error: str = ""
    reminder_notice: str = ""
    fee_rows: list[NoShowFeeRow] = []
    fee_error: str = ""
    fee_notice: str = ""
    form_key: int = 0

    def _reload(self) -> None:
        actor = current_actor()
        if not self.target_builder_id:
            self.reminder_text, self.fee_rows = "", []
            return
        with session_scope(deps.engine()) as session:
            self.reminder_text = reminder_times(session=session, actor=actor, builder_id=self.target_builder_id)
            self.fee_rows = no_show_fee_rows(session=session, actor=actor, builder_id=self.target_builder_id)
        self.form_key += 1

    @admin_event
    def load(self, value: str):
        """A builder's own settings; a platform admin's chosen builder (`value`: its id, checked by load_owned)."""
        actor = current_actor()
        self.target_builder_id = value if actor.is_admin else str(actor.builder_id or "")
        self.reminder_error = self.reminder_notice = self.fee_error = self.fee_notice = ""
        self._reload()

    @admin_event
    def save_reminders(self, form: dict):
        self.reminder_error = self.reminder_notice = ""
        try:
            with session_scope(deps.engine()) as session:
                saved = save_reminder_times(session=session, actor=current_actor(),
                                            builder_id=self.target_builder_id, text=form.get("reminder_offsets"))
        except InvalidReminderTimes as exc:
            self.reminder_error = str(exc)
            return
        self._reload()
        self.reminder_notice = (f"Saved: reminders {saved.replace(',', ', ')} minutes before each session."
                                if saved else "Saved: no reminders.")

    @admin_event
    def save_fee(self, form: dict):
        self.fee_error = self.fee_notice = ""
        try:
            with session_scope(deps.engine()) as session:
                row = save_no_show_fee(session=session, actor=current_actor(),
                                       session_type_id=form.get("session_type_id"), fee=form.get("fee"),
                                       window_hours=form.get("window_hours"))
        except InvalidNoShowFee as exc:
            self.fee_error = str(exc)
            return
        self._reload()
        self.fee_notice = f"{row.name}: {row.summary}."


S = RemindersFeesState


def _reminder_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.heading("Reminders", size="4", as_="h2"),
            rx.text("Emails to you and the client before each session, with the manage link and the location. "
                    "Minutes before the start, comma-separated (1440 = a day, 60 = an hour; empty: none).",
                    size="2", color_scheme="gray"),
            rx.el.label("Reminder times (minutes before)", html_for="reminder-offsets", font_weight="500"),
            rx.input(id="reminder-offsets", name="reminder_offsets", default_value=S.reminder_text, width="14em",
                     data_testid="reminder-offsets"),
            rx.cond(S.reminder_error != "", error_callout(S.reminder_error, data_testid="reminder-error")),
            rx.cond(S.reminder_notice != "", success_callout(S.reminder_notice, data_testid="reminder-notice")),
            rx.button("Save reminders", type="submit", data_testid="save-reminders"),
            spacing="2",
            width="100%",
        ),
        on_submit=S.save_reminders,
        reset_on_submit=False,
        key="reminders-" + S.form_key.to_string(),
    )


def _fee_row(row: NoShowFeeRow) -> rx.Component:
    fee_id = "fee-" + row.session_type_id
    window_id = "window-" + row.session_type_id
    return rx.table.row(
        rx.table.cell(rx.text(row.name, weight="medium"), rx.text(row.summary, size="1", color_scheme="gray")),
        rx.table.cell(rx.form(
            rx.hstack(
                rx.el.input(type="hidden", name="session_type_id", value=row.session_type_id),
                rx.vstack(rx.el.label("Fee (" + row.currency.upper() + ")", html_for=fee_id, font_size="0.8em"),
                          rx.input(id=fee_id, name="fee", default_value=row.fee, width="7em", input_mode="decimal",
                                   data_testid="no-show-fee"), spacing="0"),
                rx.vstack(rx.el.label("Window (hours after start)", html_for=window_id, font_size="0.8em"),
                          rx.input(id=window_id, name="window_hours", default_value=row.window_hours, width="6em",
                                   input_mode="numeric", data_testid="no-show-window"), spacing="0"),
                rx.button("Save", type="submit", size="1", data_testid="save-no-show-fee"),
                align="end", spacing="2", wrap="wrap",
            ),
            on_submit=S.save_fee,
            reset_on_submit=False,
            key=row.session_type_id + "-" + S.form_key.to_string(),
        )),
        data_testid="no-show-row",
    )


def reminders_and_fees_section(builder_id) -> rx.Component:
    """The section, loaded for `builder_id` (the policy page's chosen builder) when it appears."""
    return rx.card(
        rx.vstack(
            _reminder_form(),
            rx.heading("No-show fees", size="4", as_="h2"),
            rx.text("A session type with a fee takes no payment when booked: Checkout keeps the client's card, and "
                    "you may charge the fee if you mark a no-show within the window after the start.",
                    size="2", color_scheme="gray"),
            rx.cond(S.fee_error != "", error_callout(S.fee_error, data_testid="no-show-fee-error")),
            rx.cond(S.fee_notice != "", success_callout(S.fee_notice, data_testid="no-show-fee-notice")),
            rx.cond(S.fee_rows.length() > 0,
                    rx.table.root(rx.table.body(rx.foreach(S.fee_rows, _fee_row)), width="100%"),
                    rx.text("No session types yet.", color_scheme="gray")),
            spacing="3",
            width="100%",
        ),
        width="100%",
        on_mount=S.load(builder_id),
        data_testid="reminders-and-fees",
    )
