"""A session type's booking page settings (routes.ADMIN_SESSION_TYPES, "Booking page" on a row): its address
/<builder>/<slug>, secret (link only), daily and weekly limits, its own weekly hours, the builder's limits
over all their types, and the embed snippet with a copy button. Thin: guarded handlers over
booking.workspace.type_settings (ownership checked there, on the server).
"""

from __future__ import annotations

import reflex as rx

from booking.core import get_settings, session_scope
from booking.workspace import (
    HOURS_HELP,
    BuilderLimits,
    InvalidTypeSettings,
    TypeSettings,
    embed_snippet,
    load_builder_limits,
    load_type_settings,
    save_builder_limits,
    save_type_settings,
)
from booking_ui import deps
from booking_ui.admin.base import AdminState, admin_event, current_actor


class TypeSettingsState(AdminState):
    settings: TypeSettings = TypeSettings()
    limits: BuilderLimits = BuilderLimits()
    errors: dict[str, str] = {}
    saved: str = ""
    limits_error: str = ""
    limits_saved: str = ""
    public_url: str = ""
    snippet: str = ""
    version: int = 0  # remounts the forms with the saved values

    def _show(self, settings: TypeSettings) -> None:
        self.settings = settings
        self.public_url = get_settings().public_url.rstrip("/") + settings.path
        self.snippet = embed_snippet(public_url=get_settings().public_url, path=settings.path,
                                     title=f"Book {settings.name} with {settings.builder_name}")
        self.version += 1

    @admin_event
    def open_settings(self, session_type_id: str):
        self.errors, self.saved, self.limits_error, self.limits_saved = {}, "", "", ""
        with session_scope(deps.engine()) as session:
            settings = load_type_settings(session=session, actor=current_actor(), session_type_id=session_type_id)
            self.limits = load_builder_limits(session=session, actor=current_actor(), builder_id=settings.builder_id)
        self._show(settings)

    @admin_event
    def close_settings(self):
        self.settings, self.errors, self.saved = TypeSettings(), {}, ""

    @admin_event
    def save(self, form: dict):
        self.saved = ""
        if not self.settings.session_type_id:
            return
        try:
            with session_scope(deps.engine()) as session:
                settings = save_type_settings(session=session, actor=current_actor(),
                                              session_type_id=self.settings.session_type_id, form=form)
        except InvalidTypeSettings as exc:
            self.errors = exc.errors
            return
        self.errors = {}
        self._show(settings)
        self.saved = "Saved. The booking page's address is " + settings.path + "."

    @admin_event
    def save_limits(self, form: dict):
        self.limits_saved, self.limits_error = "", ""
        if not self.limits.builder_id:
            return
        try:
            with session_scope(deps.engine()) as session:
                self.limits = save_builder_limits(session=session, actor=current_actor(),
                                                  form={**form, "builder_id": self.limits.builder_id})
        except InvalidTypeSettings as exc:
            self.limits_error = "; ".join(exc.errors.values())
            return
        self.limits_saved = "Saved."

    @admin_event
    def copy_snippet(self):
        return rx.set_clipboard(self.snippet)


S = TypeSettingsState


def _error(key: str) -> rx.Component:
    return rx.cond(S.errors.contains(key), rx.text(S.errors[key], color_scheme="red", size="2", role="alert",
                                                   data_testid=f"type-settings-error-{key}"))


def _labelled(label: str, control_id: str, control: rx.Component, hint: str = "") -> rx.Component:
    return rx.vstack(rx.el.label(label, html_for=control_id, style={"font_size": "0.875rem", "font_weight": "500"}),
                     control, rx.cond(hint != "", rx.text(hint, size="1", color_scheme="gray")), spacing="1")


def _settings_form() -> rx.Component:
    settings = S.settings
    return rx.form(
        rx.vstack(
            _labelled("Address", "type-slug", rx.hstack(
                rx.text("/", rx.text.span(settings.path.split("/")[1]), "/", size="2", color_scheme="gray"),
                rx.input(id="type-slug", name="slug", default_value=settings.slug, max_length=60,
                         data_testid="type-slug"), align="center", spacing="1"),
                "Lower-case letters, digits and hyphens. The old address keeps redirecting here."),
            _error("slug"),
            rx.el.label(rx.checkbox(name="secret", default_checked=settings.secret, data_testid="type-secret"),
                        " Secret: bookable only by its link (not on your page or in the catalogue)",
                        style={"display": "flex", "gap": "0.5em", "align_items": "center"}),
            rx.hstack(
                _labelled("At most per day", "type-daily", rx.input(
                    id="type-daily", name="daily_limit", default_value=settings.daily_limit, inputmode="numeric",
                    data_testid="type-daily-limit")),
                _labelled("At most per week", "type-weekly", rx.input(
                    id="type-weekly", name="weekly_limit", default_value=settings.weekly_limit, inputmode="numeric",
                    data_testid="type-weekly-limit")),
                spacing="3", wrap="wrap",
            ),
            _error("limits"),
            rx.el.label(rx.checkbox(name="own_availability", default_checked=settings.own_availability,
                                    data_testid="type-own-hours"),
                        " Its own weekly hours (instead of your usual hours)",
                        style={"display": "flex", "gap": "0.5em", "align_items": "center"}),
            _labelled("Its hours", "type-hours", rx.text_area(
                id="type-hours", name="hours", default_value=settings.hours, rows="4", width="100%",
                data_testid="type-hours"), HOURS_HELP),
            _error("hours"),
            rx.button("Save booking page settings", type="submit", data_testid="type-settings-save"),
            rx.cond(S.saved != "", rx.text(S.saved, color_scheme="green", size="2", role="status",
                                           data_testid="type-settings-saved")),
            spacing="3",
            width="100%",
        ),
        on_submit=S.save,
        reset_on_submit=False,
        key=S.version,
        width="100%",
    )


def _limits_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.heading("Limits over all of ", S.settings.builder_name, "'s session types", size="3", as_="h3"),
            rx.hstack(
                _labelled("At most per day", "builder-daily", rx.input(
                    id="builder-daily", name="daily_limit", default_value=S.limits.daily_limit, inputmode="numeric",
                    data_testid="builder-daily-limit")),
                _labelled("At most per week", "builder-weekly", rx.input(
                    id="builder-weekly", name="weekly_limit", default_value=S.limits.weekly_limit,
                    inputmode="numeric", data_testid="builder-weekly-limit")),
                rx.button("Save limits", type="submit", data_testid="builder-limits-save"),
                spacing="3", align="end", wrap="wrap",
            ),
            rx.text("Days and weeks (Monday to Sunday) are in your time zone. Empty: no limit.", size="1",
                    color_scheme="gray"),
            rx.cond(S.limits_error != "", rx.text(S.limits_error, color_scheme="red", size="2", role="alert")),
            rx.cond(S.limits_saved != "", rx.text(S.limits_saved, color_scheme="green", size="2", role="status")),
            spacing="2",
        ),
        on_submit=S.save_limits,
        reset_on_submit=False,
        key=S.version,
    )


def _embed() -> rx.Component:
    return rx.vstack(
        rx.heading("Embed on your site", size="3", as_="h3"),
        rx.text("Booking page: ", rx.link(S.public_url, href=S.public_url, is_external=True,
                                          data_testid="type-public-url"), size="2"),
        rx.el.label("Embed code", html_for="embed-snippet", style={"font_size": "0.875rem"}),
        rx.text_area(id="embed-snippet", value=S.snippet, read_only=True, rows="3", width="100%",
                     data_testid="embed-snippet"),
        rx.button("Copy embed code", on_click=S.copy_snippet, size="1", variant="soft", type="button",
                  data_testid="embed-copy"),
        spacing="2",
        width="100%",
    )


def type_settings_panel() -> rx.Component:
    return rx.cond(S.settings.session_type_id != "", rx.card(
        rx.vstack(
            rx.hstack(rx.heading("Booking page: ", S.settings.name, size="4", as_="h2"), rx.spacer(),
                      rx.button("Close", size="1", variant="soft", on_click=S.close_settings, type="button"),
                      width="100%", align="center"),
            _settings_form(),
            _embed(),
            _limits_form(),
            spacing="4",
            width="100%",
        ),
        width="100%",
        data_testid="type-settings",
    ))


def open_button(session_type_id) -> rx.Component:
    return rx.button("Booking page", size="1", variant="soft", on_click=S.open_settings(session_type_id),
                     data_testid="type-settings-open", type="button")
