"""Cancellation policy (routes.ADMIN_POLICY): the builder's policy, and overrides per session type.

Thin over booking.policy_admin: every id from the browser goes through `authz.load_owned` there, and
every save records an audit entry. A builder edits their own; a platform admin picks a builder.
"""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from booking.core import session_scope
from booking.scheduling import FIELD_NAMES, FIELDS, InvalidPolicy, builder_policy
from booking.workspace import (
    SessionTypePolicyRow,
    builder_choices,
    clear_session_type_policy,
    load_builder,
    load_session_type_policy,
    policy_values,
    save_builder_policy,
    save_session_type_policy,
    short_summary,
)
from booking.workspace import policy_list_session_types as list_session_types
from booking_ui import deps, routes
from booking_ui.admin.base import AdminState, admin_event, current_actor
from booking_ui.admin.components import error_callout, pager, success_callout
from booking_ui.admin.layout import admin_layout
from booking_ui.admin.reminders_and_fees import reminders_and_fees_section

TITLE = "Cancellation policy"


@dataclass(frozen=True)
class BuilderOption:
    id: str
    name: str


def _blank() -> dict[str, str]:
    return dict.fromkeys(FIELD_NAMES, "")


class PolicyState(AdminState):
    builders: list[BuilderOption] = []  # a platform admin's choice of whose policy to edit
    policy_builder_id: str = ""
    policy_builder_name: str = ""
    builder_values: dict[str, str] = _blank()
    builder_summary: str = ""
    builder_errors: dict[str, str] = {}
    builder_notice: str = ""
    rows: list[SessionTypePolicyRow] = []
    page_number: int = 1
    has_next: bool = False
    editing_session_type_id: str = ""
    editing_name: str = ""
    override_values: dict[str, str] = _blank()
    override_errors: dict[str, str] = {}
    override_notice: str = ""
    form_key: str = "0"
    _serial: int = 0

    def _target(self) -> str:
        """Whose policy: a builder always their own; an admin the chosen one (checked by load_owned)."""
        actor = current_actor()
        return str(actor.builder_id) if not actor.is_admin else self.policy_builder_id

    def _remount(self) -> None:
        self._serial += 1
        self.form_key = str(self._serial)

    def _show(self) -> None:
        actor = current_actor()
        self.builder_errors, self.override_errors = {}, {}
        target = self._target()
        if not target:
            self.policy_builder_name, self.builder_values, self.builder_summary = "", _blank(), ""
            self.rows, self.has_next = [], False
            return
        with session_scope(deps.engine()) as session:
            builder = load_builder(session=session, actor=actor, builder_id=target)
            rules = builder_policy(builder)
            self.policy_builder_id, self.policy_builder_name = str(builder.id), builder.name
            self.builder_values, self.builder_summary = policy_values(rules), short_summary(rules)
            self.rows, self.has_next = list_session_types(session=session, actor=actor, builder_id=builder.id,
                                                          page=self.page_number - 1)
        self._remount()

    @admin_event
    def load(self):
        actor = current_actor()
        self.page_number, self.builder_notice, self.override_notice = 1, "", ""
        self.editing_session_type_id = self.editing_name = ""
        if actor.is_admin:
            with session_scope(deps.engine()) as session:
                self.builders = [BuilderOption(id=b_id, name=name)
                                 for b_id, name in builder_choices(session=session, actor=actor)][:500]
            known = {option.id for option in self.builders}
            if self.policy_builder_id not in known:
                self.policy_builder_id = self.builders[0].id if self.builders else ""
        else:
            self.builders = []
        self._show()

    @admin_event
    def set_builder(self, value: str):
        """A platform admin picks whose policy to edit (a builder can only ever see their own)."""
        if not current_actor().is_admin:
            return
        with session_scope(deps.engine()) as session:
            builder = load_builder(session=session, actor=current_actor(), builder_id=value)
            self.policy_builder_id = str(builder.id)
        self.page_number, self.builder_notice, self.override_notice = 1, "", ""
        self.editing_session_type_id = self.editing_name = ""
        self._show()

    @admin_event
    def go_to_page(self, page: int):
        self.page_number = max(1, int(page))
        self.editing_session_type_id = self.editing_name = ""
        self._show()

    @admin_event
    def save_builder(self, form: dict):
        actor = current_actor()
        self.builder_errors, self.builder_notice = {}, ""
        target = self._target()
        if not target:
            self.builder_errors = {"form": "Choose a builder first."}
            return
        try:
            with session_scope(deps.engine()) as session:
                rules = save_builder_policy(session=session, actor=actor, builder_id=target, form=form)
        except InvalidPolicy as exc:
            self.builder_values = {name: str(form.get(name) or "") for name in FIELD_NAMES}
            self.builder_errors = exc.errors
            return
        self._show()
        self.builder_notice = f"Saved: {short_summary(rules)}."

    @admin_event
    def edit_override(self, session_type_id: str):
        with session_scope(deps.engine()) as session:
            row = load_session_type_policy(session=session, actor=current_actor(), session_type_id=session_type_id)
        self.editing_session_type_id, self.editing_name = row.session_type_id, row.name
        self.override_values = dict(row.values)
        self.override_errors, self.override_notice = {}, ""
        self._remount()

    @admin_event
    def cancel_override(self):
        self.editing_session_type_id = self.editing_name = ""
        self.override_errors = {}

    @admin_event
    def save_override(self, form: dict):
        self.override_errors, self.override_notice = {}, ""
        if not self.editing_session_type_id:
            self.override_errors = {"form": "Choose a session type to edit first."}
            return
        try:
            with session_scope(deps.engine()) as session:
                row = save_session_type_policy(session=session, actor=current_actor(),
                                               session_type_id=self.editing_session_type_id, form=form)
        except InvalidPolicy as exc:
            self.override_values = {name: str(form.get(name) or "") for name in FIELD_NAMES}
            self.override_errors = exc.errors
            return
        self.editing_session_type_id = self.editing_name = ""
        self._show()
        self.override_notice = f"Saved “{row.name}”: {row.summary}."

    @admin_event
    def clear_override(self, session_type_id: str):
        self.override_errors, self.override_notice = {}, ""
        with session_scope(deps.engine()) as session:
            row = clear_session_type_policy(session=session, actor=current_actor(), session_type_id=session_type_id)
        if self.editing_session_type_id == row.session_type_id:
            self.editing_session_type_id = self.editing_name = ""
        self._show()
        self.override_notice = f"“{row.name}” now follows the builder's policy."


# --- the page ----------------------------------------------------------------------------------------

S = PolicyState
_HINTS = {
    "full_refund_hours": "N: a full refund until N hours before the start.",
    "partial_refund_percent": "P: the share refunded after that.",
    "partial_refund_hours": "M: the partial refund ends M hours before (M ≤ N).",
    "reschedule_hours": "Clients can move a booking until this many hours before.",
    "max_reschedules": "How many times one booking can be moved (0–10).",
}


def _error(errors, name: str, prefix: str) -> rx.Component:
    return rx.cond(errors.contains(name),
                   rx.text(errors[name], color_scheme="red", size="2", id=f"{prefix}-{name}-error",
                           data_testid=f"{prefix}-error-{name}"))


def _number_input(name: str, label: str, lowest: int, highest: int, *, prefix: str, values, errors,
                  blank_hint: str = "") -> rx.Component:
    input_id = f"{prefix}-{name.replace('_', '-')}"
    return rx.vstack(
        rx.el.label(label, html_for=input_id, font_weight="500"),
        rx.input(id=input_id, name=name, default_value=values[name], input_mode="numeric", width="9em",
                 placeholder=blank_hint, aria_invalid=rx.cond(errors.contains(name), "true", "false"),
                 aria_describedby=f"{input_id}-hint"),
        rx.text(f"{_HINTS[name]} {lowest}–{highest}.", size="1", color_scheme="gray", id=f"{input_id}-hint"),
        _error(errors, name, prefix),
        spacing="1",
        align="start",
        max_width="16em",
    )


def _builder_chooser() -> rx.Component:
    return rx.cond(
        S.is_platform_admin,
        rx.hstack(
            rx.el.label("Builder", html_for="policy-builder", font_weight="500"),
            rx.el.select(rx.foreach(S.builders, lambda b: rx.el.option(b.name, value=b.id)),
                         id="policy-builder", value=S.policy_builder_id, on_change=S.set_builder),
            align="center",
            spacing="2",
        ),
    )


def _builder_form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Policy for all session types", size="4", as_="h2"),
                rx.text("Applies to ", S.policy_builder_name, "'s bookings unless a session type overrides it. "
                        "Now: ", S.builder_summary, ".", size="2", color_scheme="gray",
                        data_testid="builder-policy-summary"),
                rx.cond(S.builder_errors.contains("form"),
                        error_callout(S.builder_errors["form"])),
                rx.flex(*[_number_input(name, label, lowest, highest, prefix="policy", values=S.builder_values,
                                        errors=S.builder_errors)
                          for name, _column, label, lowest, highest in FIELDS],
                        spacing="5", wrap="wrap"),
                rx.button("Save", type="submit", data_testid="save-builder-policy"),
                spacing="3",
                width="100%",
            ),
            on_submit=S.save_builder,
            reset_on_submit=False,
            key="builder-" + S.form_key,
            data_testid="builder-policy-form",
        ),
        width="100%",
    )


def _override_form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Override for ", S.editing_name, size="4", as_="h2"),
                rx.text("Leave a field blank to use the builder's number.", size="2", color_scheme="gray"),
                rx.cond(S.override_errors.contains("form"),
                        error_callout(S.override_errors["form"])),
                rx.flex(*[_number_input(name, label, lowest, highest, prefix="override", values=S.override_values,
                                        errors=S.override_errors, blank_hint="builder's")
                          for name, _column, label, lowest, highest in FIELDS],
                        spacing="5", wrap="wrap"),
                rx.hstack(
                    rx.button("Save override", type="submit", data_testid="save-override"),
                    rx.button("Cancel", type="button", variant="soft", color_scheme="gray", on_click=S.cancel_override),
                    spacing="3",
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=S.save_override,
            reset_on_submit=False,
            key="override-" + S.form_key,
            data_testid="override-form",
        ),
        width="100%",
    )


def _row(row: SessionTypePolicyRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.name, weight="medium"), rx.cond(~row.active, rx.badge("Inactive", color_scheme="gray"))),
        rx.table.cell(rx.cond(row.overridden, rx.badge("Own policy", color_scheme="blue"),
                              rx.badge("Builder's policy", color_scheme="gray")), data_testid="policy-source"),
        rx.table.cell(rx.text(row.summary, size="2"), data_testid="policy-effective"),
        rx.table.cell(rx.hstack(
            rx.button("Edit", size="1", variant="soft", on_click=S.edit_override(row.session_type_id),
                      data_testid="edit-override"),
            rx.cond(row.overridden, rx.button("Use builder's", size="1", variant="soft", color_scheme="gray",
                                              on_click=S.clear_override(row.session_type_id),
                                              data_testid="clear-override")),
            spacing="2",
        )),
        data_testid="policy-row",
    )


def _table() -> rx.Component:
    return rx.cond(
        S.rows.length() > 0,
        rx.table.root(
            rx.table.header(rx.table.row(
                rx.table.column_header_cell("Session type"),
                rx.table.column_header_cell("Source"),
                rx.table.column_header_cell("What applies"),
                rx.table.column_header_cell("Actions"),
            )),
            rx.table.body(rx.foreach(S.rows, _row)),
            width="100%",
            data_testid="policy-list",
        ),
        rx.text("No session types yet.", color_scheme="gray"),
    )


def page() -> rx.Component:
    return admin_layout(
        _builder_chooser(),
        rx.cond(S.builder_notice != "", success_callout(S.builder_notice, data_testid="policy-notice")),
        _builder_form(),
        rx.heading("Per session type", size="4", as_="h2"),
        rx.cond(S.override_notice != "", success_callout(S.override_notice, data_testid="override-notice")),
        rx.cond(S.editing_session_type_id != "", _override_form()),
        _table(),
        pager(S.page_number, S.has_next, S.go_to_page, label="session types"),
        reminders_and_fees_section(S.policy_builder_id),
        title=TITLE,
    )


def register(app: rx.App) -> None:
    app.add_page(page, route=routes.ADMIN_POLICY, title=TITLE + " · Workspace",
                 on_load=[AdminState.guard, PolicyState.load])
