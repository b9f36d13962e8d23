"""Session types (routes.ADMIN_SESSION_TYPES): list, create, edit, deactivate and reactivate.

Thin: the rules and the Stripe flows live in booking.session_type_admin. Saves call Stripe, so they run
as background handlers and show progress; the Stripe ids never reach the browser.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import reflex as rx

from booking.accounts import Actor, Forbidden, NotFound
from booking.core import MoneyError, get_settings, session_scope, to_minor_units
from booking.payments import PaymentProviderError, quote, split_text
from booking.workspace import (
    DESCRIPTION_MAX,
    LOCATION_MAX,
    MAX_DURATION_MINUTES,
    MIN_DURATION_MINUTES,
    NAME_MAX,
    SUPPORTED_CURRENCIES,
    InvalidSessionType,
    Saved,
    SessionTypeConflict,
    SessionTypeRow,
    builder_choices,
    create_session_type,
    load_session_type,
    parse_form,
    set_session_type_active,
    update_session_type,
)
from booking.workspace import session_types_list_session_types as list_session_types
from booking_ui import deps, routes
from booking_ui.admin.base import AdminState, admin_background, admin_event, current_actor
from booking_ui.admin.components import error_callout, tone_callout
from booking_ui.admin.layout import admin_layout
from booking_ui.admin.seats_and_questions import SeatsQuestionsState, seats_questions_panel
from booking_ui.admin.type_settings import open_button as type_settings_button
from booking_ui.admin.type_settings import type_settings_panel

TITLE = "Session types"
log = logging.getLogger(__name__)
UNEXPECTED = "Something went wrong while saving; nothing was changed. Please try again."


@dataclass(frozen=True)
class BuilderOption:
    id: str
    name: str


def _blank_form(currency: str = "gbp") -> dict[str, str]:
    return {"name": "", "description": "", "duration_minutes": "60", "price": "", "currency": currency,
            "other_prices": "", "location": ""}


def _fetch(actor: Actor, page: int) -> tuple[list[SessionTypeRow], bool, list[BuilderOption]]:
    with session_scope(deps.engine()) as session:
        rows, has_more = list_session_types(session=session, actor=actor, page=page)
        builders = ([BuilderOption(id=b_id, name=name) for b_id, name in builder_choices(session=session, actor=actor)]
                    if actor.is_admin else [])
    return rows, has_more, builders


class SessionTypesState(AdminState):
    rows: list[SessionTypeRow] = []
    page_number: int = 0
    has_more: bool = False
    builders: list[BuilderOption] = []  # platform admin only: whose type "New" creates
    builder_id: str = ""
    form_open: bool = False
    form_key: str = "closed"  # a new key remounts the form, so its inputs show the new defaults
    form_values: dict[str, str] = _blank_form()
    editing_session_type_id: str = ""
    field_errors: dict[str, str] = {}
    form_error: str = ""
    saving: bool = False
    busy_session_type_id: str = ""
    notice: str = ""
    notice_tone: str = "success"  # "warning" when saved but Stripe still differs
    action_error: str = ""
    _editing_revision: int = -1
    _form_serial: int = 0
    fee_notes: dict[str, str] = {}  # session type id -> "Fee £5.30 · you get £44.70" (booking.pricing)

    def _show(self, rows: list[SessionTypeRow], has_more: bool, builders: list[BuilderOption]) -> None:
        self.rows, self.has_more, self.builders = rows, has_more, builders
        self.fee_notes = _fee_notes(rows)

    def _open_form(self, values: dict[str, str], editing: str, revision: int) -> None:
        self._form_serial += 1
        self.form_key = f"{editing or 'new'}-{self._form_serial}"
        self.form_values = values
        self.editing_session_type_id = editing
        self._editing_revision = revision
        self.field_errors, self.form_error, self.notice, self.action_error = {}, "", "", ""
        self.form_open = True

    def _close_form(self) -> None:
        self.form_open = False
        self.form_key = "closed"
        self.editing_session_type_id = ""
        self._editing_revision = -1
        self.field_errors, self.form_error = {}, ""

    @admin_event
    def load(self):
        self._close_form()
        self.page_number, self.saving, self.busy_session_type_id = 0, False, ""
        self.notice = self.action_error = ""
        self._show(*_fetch(current_actor(), 0))

    @admin_event
    def go_to_page(self, page: int):
        self.page_number = max(0, int(page))
        self._show(*_fetch(current_actor(), self.page_number))

    @admin_event
    def start_new(self):
        currency = self.rows[0].currency if self.rows else "gbp"
        self._open_form(_blank_form(currency), "", -1)

    @admin_event
    def edit(self, session_type_id: str):
        with session_scope(deps.engine()) as session:
            row = load_session_type(session=session, actor=current_actor(), session_type_id=session_type_id)
        values = {"name": row.name, "description": row.description, "duration_minutes": str(row.duration_minutes),
                  "price": row.price_input, "currency": row.currency, "other_prices": row.other_prices_input,
                  "location": row.location}
        self._open_form(values, row.id, row.revision)

    @admin_event
    def cancel_edit(self):
        self._close_form()

    @admin_event
    def set_builder(self, value: str):
        """Platform admin: the builder a new session type belongs to (checked again when saving)."""
        if current_actor().is_admin:
            self.builder_id = value if value.isdigit() else ""

    @admin_background
    async def save(self, form: dict):
        actor = current_actor()
        async with self:
            if self.saving:  # a double click: the first save is still running
                return
            self.saving = True
            self.field_errors, self.form_error, self.notice = {}, "", ""
            editing, revision, page = self.editing_session_type_id, self._editing_revision, self.page_number
            builder_id = str(form.get("builder_id") or self.builder_id or "")
        try:
            data = parse_form(form)
            if editing:
                saved = await asyncio.to_thread(
                    update_session_type, engine=deps.engine(), gateway=deps.gateway(), actor=actor,
                    session_type_id=editing, data=data, expected_revision=revision if revision >= 0 else None)
            else:
                saved = await asyncio.to_thread(
                    create_session_type, engine=deps.engine(), gateway=deps.gateway(), actor=actor, data=data,
                    builder_id=builder_id)
            listing = await asyncio.to_thread(_fetch, actor, page)
        except InvalidSessionType as exc:
            async with self:
                self.field_errors = exc.errors
            return
        except (PaymentProviderError, SessionTypeConflict) as exc:
            async with self:
                self.form_error = str(exc)
            return
        except (NotFound, Forbidden):  # the guard shows its message
            raise
        except Exception:
            log.exception("saving a session type failed")
            async with self:
                self.form_error = UNEXPECTED
            return
        finally:
            async with self:
                self.saving = False
        async with self:
            self._close_form()
            self._show(*listing)
            self.notice = _saved_message(saved)
            self.notice_tone = "warning" if saved.warning else "success"

    @admin_background
    async def deactivate(self, session_type_id: str):
        await _set_active(self, session_type_id, False)

    @admin_background
    async def reactivate(self, session_type_id: str):
        await _set_active(self, session_type_id, True)


def _fee_notes(rows: list[SessionTypeRow]) -> dict[str, str]:
    settings = get_settings()
    notes = {}
    for row in rows:
        try:
            amount = to_minor_units(row.price_input, row.currency)
        except MoneyError:
            continue
        notes[row.id] = split_text(quote(amount, row.currency, settings))
    return notes


def _saved_message(saved: Saved) -> str:
    if not saved.changed:
        return f"No changes to save for “{saved.name}”."
    return saved.warning or f"Saved “{saved.name}”."


async def _set_active(state: SessionTypesState, session_type_id: str, active: bool) -> None:
    actor = current_actor()
    async with state:
        if state.busy_session_type_id:
            return
        state.busy_session_type_id = str(session_type_id)
        state.notice = state.action_error = ""
        page = state.page_number
    try:
        saved = await asyncio.to_thread(set_session_type_active, engine=deps.engine(), gateway=deps.gateway(),
                                        actor=actor, session_type_id=session_type_id, active=active)
        listing = await asyncio.to_thread(_fetch, actor, page)
    except (PaymentProviderError, SessionTypeConflict) as exc:
        async with state:
            state.action_error = str(exc)
        return
    except (NotFound, Forbidden):
        raise
    except Exception:
        log.exception("changing a session type's status failed")
        async with state:
            state.action_error = UNEXPECTED
        return
    finally:
        async with state:
            state.busy_session_type_id = ""
    async with state:
        state._show(*listing)
        state.notice = saved.warning or (f"“{saved.name}” is active again." if active
                                         else f"“{saved.name}” is deactivated: clients can no longer book it.")
        state.notice_tone = "warning" if saved.warning else "success"


# --- the page ----------------------------------------------------------------------------------------

S = SessionTypesState


def _field_error(key: str) -> rx.Component:
    return rx.cond(
        S.field_errors.contains(key),
        rx.text(S.field_errors[key], color_scheme="red", size="2", id=f"st-{key}-error",
                data_testid=f"error-{key}"),
    )


def _field(label: str, input_id: str, key: str, control: rx.Component, hint: str = "") -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=input_id, font_weight="500"),
        control,
        rx.text(hint, size="1", color_scheme="gray") if hint else rx.fragment(),
        _field_error(key),
        spacing="1",
        width="100%",
    )


def _builder_chooser() -> rx.Component:
    return rx.cond(
        S.is_platform_admin & (S.editing_session_type_id == ""),
        _field(
            "Builder", "st-builder", "builder_id",
            rx.el.select(
                rx.el.option("Choose a builder…", value=""),
                rx.foreach(S.builders, lambda b: rx.el.option(b.name, value=b.id)),
                id="st-builder", name="builder_id", value=S.builder_id, on_change=S.set_builder,
            ),
        ),
    )


def _form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading(rx.cond(S.editing_session_type_id != "", "Edit session type", "New session type"),
                           size="4", as_="h2"),
                rx.cond(S.form_error != "",
                        error_callout(S.form_error, data_testid="session-type-form-error")),
                _builder_chooser(),
                _field("Name", "st-name", "name",
                       rx.input(id="st-name", name="name", default_value=S.form_values["name"],
                                max_length=NAME_MAX, width="100%")),
                _field("Description", "st-description", "description",
                       rx.text_area(id="st-description", name="description",
                                    default_value=S.form_values["description"], max_length=DESCRIPTION_MAX,
                                    rows="3", width="100%")),
                rx.hstack(
                    _field("Duration (minutes)", "st-duration", "duration_minutes",
                           rx.input(id="st-duration", name="duration_minutes", input_mode="numeric",
                                    default_value=S.form_values["duration_minutes"], width="100%"),
                           hint=f"{MIN_DURATION_MINUTES} to {MAX_DURATION_MINUTES}"),
                    _field("Price", "st-price", "price",
                           rx.input(id="st-price", name="price", input_mode="decimal",
                                    default_value=S.form_values["price"], width="100%"),
                           hint="In the currency's main unit: 50.00, or 5000 for yen"),
                    _field("Currency", "st-currency", "currency",
                           rx.el.select(*[rx.el.option(code.upper(), value=code) for code in SUPPORTED_CURRENCIES],
                                        id="st-currency", name="currency",
                                        default_value=S.form_values["currency"])),
                    spacing="4",
                    width="100%",
                    align="start",
                ),
                _field("Other currencies", "st-other-prices", "other_prices",
                       rx.input(id="st-other-prices", name="other_prices", default_value=S.form_values["other_prices"],
                                placeholder="EUR 45.00, USD 50.00", width="100%"),
                       hint="Optional: the same session priced in other currencies. Clients see the price in "
                            "their own currency and pay in it."),
                _field("Location", "st-location", "location",
                       rx.input(id="st-location", name="location", default_value=S.form_values["location"],
                                max_length=LOCATION_MAX, width="100%"),
                       hint="A video link (https://…) or an address. Clients see it once they have paid."),
                rx.hstack(
                    rx.button("Save", type="submit", loading=S.saving, disabled=S.saving,
                              data_testid="save-session-type"),
                    rx.button("Cancel", type="button", variant="soft", color_scheme="gray",
                              on_click=S.cancel_edit, disabled=S.saving),
                    rx.cond(S.saving, rx.hstack(rx.spinner(size="1"), rx.text("Saving to Stripe…", size="2"),
                                                role="status", align="center", spacing="2")),
                    spacing="3",
                    align="center",
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=S.save,
            reset_on_submit=False,
            key=S.form_key,
            data_testid="session-type-form",
            width="100%",
        ),
        width="100%",
    )


def _status_badge(row: SessionTypeRow) -> rx.Component:
    return rx.cond(row.active, rx.badge("Active", color_scheme="green", data_testid="session-type-status"),
                   rx.badge("Inactive", color_scheme="gray", data_testid="session-type-status"))


def _row(row: SessionTypeRow) -> rx.Component:
    busy = S.busy_session_type_id == row.id
    return rx.table.row(
        rx.table.cell(rx.text(row.name, weight="medium", data_testid="session-type-name")),
        rx.cond(S.is_platform_admin, rx.table.cell(row.builder_name)),
        rx.table.cell(f"{row.duration_minutes} min"),
        rx.table.cell(rx.vstack(rx.text(row.price_display, data_testid="session-type-price"),
                                rx.cond(row.other_prices_display != "",
                                        rx.text(row.other_prices_display, size="1",
                                                data_testid="session-type-other-prices")),
                                rx.text(S.fee_notes[row.id], size="1", color_scheme="gray",
                                        data_testid="session-type-fee"), spacing="0")),
        rx.table.cell(rx.cond(row.location_is_link,
                              rx.link(row.location, href=row.location, is_external=True, word_break="break-all"),
                              rx.text(row.location))),
        rx.table.cell(_status_badge(row)),
        rx.table.cell(
            rx.hstack(
                rx.button("Edit", size="1", variant="soft", on_click=S.edit(row.id), disabled=S.saving,
                          data_testid="edit-session-type"),
                rx.button("Seats & questions", size="1", variant="soft",
                          on_click=SeatsQuestionsState.open_panel(row.id), data_testid="seats-and-questions"),
                type_settings_button(row.id),
                rx.cond(
                    row.active,
                    rx.button("Deactivate", size="1", variant="soft", color_scheme="red",
                              on_click=S.deactivate(row.id), loading=busy, disabled=S.busy_session_type_id != "",
                              data_testid="deactivate-session-type"),
                    rx.button("Reactivate", size="1", variant="soft", color_scheme="green",
                              on_click=S.reactivate(row.id), loading=busy, disabled=S.busy_session_type_id != "",
                              data_testid="reactivate-session-type"),
                ),
                spacing="2",
            )
        ),
        data_testid="session-type-row",
    )


def _table() -> rx.Component:
    return rx.cond(
        S.rows.length() > 0,
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell("Name"),
                    rx.cond(S.is_platform_admin, rx.table.column_header_cell("Builder")),
                    rx.table.column_header_cell("Duration"),
                    rx.table.column_header_cell("Price"),
                    rx.table.column_header_cell("Location"),
                    rx.table.column_header_cell("Status"),
                    rx.table.column_header_cell("Actions"),
                )
            ),
            rx.table.body(rx.foreach(S.rows, _row)),
            width="100%",
            data_testid="session-type-list",
        ),
        rx.text("No session types yet. Create one to start taking bookings.", color_scheme="gray"),
    )


def _pager() -> rx.Component:
    return rx.cond(
        (S.page_number > 0) | S.has_more,
        rx.hstack(
            rx.button("Previous", size="1", variant="soft", on_click=S.go_to_page(S.page_number - 1),
                      disabled=S.page_number == 0),
            rx.text(f"Page {S.page_number + 1}", size="2"),
            rx.button("Next", size="1", variant="soft", on_click=S.go_to_page(S.page_number + 1),
                      disabled=~S.has_more),
            align="center",
            spacing="3",
        ),
    )


def page() -> rx.Component:
    return admin_layout(
        rx.hstack(
            rx.text("Each session type is a Stripe Product with one active Price; checkout charges that Price.",
                    color_scheme="gray", size="2"),
            rx.spacer(),
            rx.button("New session type", on_click=S.start_new, disabled=S.form_open,
                      data_testid="new-session-type"),
            width="100%",
            align="center",
        ),
        rx.cond(S.notice != "", tone_callout(S.notice, S.notice_tone, data_testid="session-type-notice")),
        rx.cond(S.action_error != "", error_callout(S.action_error, data_testid="session-type-error")),
        rx.cond(S.form_open, _form()),
        rx.cond(SeatsQuestionsState.panel_open, seats_questions_panel()),
        type_settings_panel(),
        _table(),
        _pager(),
        title=TITLE,
    )


def register(app: rx.App) -> None:
    app.add_page(page, route=routes.ADMIN_SESSION_TYPES, title=TITLE + " · Workspace",
                 on_load=[AdminState.guard, SessionTypesState.load, SeatsQuestionsState.close_panel])
