"""Account (routes.ADMIN_ACCOUNT): who is signed in, change the password, and the private calendar link.

A password change ends every session of the account (this one included), so the browser goes back
to the sign-in page. The calendar link's token is shown once, right after it is issued; only its
hash is kept, so it cannot be shown again, only replaced.
"""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx
from sqlmodel import select

from booking.accounts import (
    MAX_PASSWORD_LENGTH,
    NotFound,
    change_own_password,
    load_owned,
    record,
    throttle_from_settings,
)
from booking.core import Builder, get_settings, session_scope
from booking.notifications import issue_token
from booking_ui import deps, routes
from booking_ui.admin.base import AdminState, admin_event, current_actor
from booking_ui.admin.layout import admin_layout

TITLE = "Account"
MAX_BUILDER_CHOICES = 500  # a platform admin's picker; more builders than this want a search box
# The sign-in page after a password change; `reason` lets it explain why the user is signed out.
SIGNED_OUT_AFTER_PASSWORD_CHANGE = f"{routes.ADMIN_LOGIN}?reason=password-changed"
PASSWORD_CHANGED = "Password changed. Every session was signed out: please sign in with the new password."


@dataclass(frozen=True)
class BuilderChoice:
    id: str
    name: str


class AccountState(AdminState):
    password_error: str = ""
    calendar_builder_id: str = ""  # whose feed the buttons act on (a builder: always their own)
    calendar_builder_name: str = ""
    calendar_has_link: bool = False
    calendar_url: str = ""  # the full private URL, shown once after it is issued
    calendar_replaced: bool = False  # the new link replaced an older one, which no longer works
    calendar_error: str = ""
    builder_choices: list[BuilderChoice] = []

    def _show_builder(self, builder: Builder | None) -> None:
        self.calendar_builder_id = str(builder.id) if builder else ""
        self.calendar_builder_name = builder.name if builder else ""
        self.calendar_has_link = bool(builder and builder.calendar_token_hash)

    @admin_event
    def load(self):
        actor = current_actor()
        self.password_error = self.calendar_error = self.calendar_url = ""
        self.calendar_replaced = False
        with session_scope(deps.engine()) as session:
            if not actor.is_admin:
                self.builder_choices = []
                builder = session.get(Builder, actor.builder_id) if actor.builder_id else None
                self._show_builder(builder)
                return None
            self.builder_choices = [
                BuilderChoice(id=str(builder_id), name=name)
                for builder_id, name in session.exec(
                    select(Builder.id, Builder.name).order_by(Builder.name).limit(MAX_BUILDER_CHOICES)
                ).all()
            ]
            try:
                chosen = load_owned(session=session, actor=actor, model=Builder,
                                          object_id=self.calendar_builder_id)
            except NotFound:
                chosen = None
            self._show_builder(chosen)
        return None

    @admin_event
    def set_builder(self, value: str):
        """A platform admin picks whose calendar link to manage (a builder can only pick themselves)."""
        actor = current_actor()
        self.calendar_url, self.calendar_error, self.calendar_replaced = "", "", False
        if not value:
            self._show_builder(None)
            return None
        with session_scope(deps.engine()) as session:
            builder = load_owned(session=session, actor=actor, model=Builder, object_id=value)
            self._show_builder(builder)
        return None

    @admin_event
    def regenerate_calendar_link(self):
        """Issue a new feed token (the old URL stops working) and show the URL once."""
        actor = current_actor()
        self.calendar_url, self.calendar_error, self.calendar_replaced = "", "", False
        target = self.calendar_builder_id if actor.is_admin else actor.builder_id
        if target in (None, ""):
            self.calendar_error = "Choose a builder first." if actor.is_admin else "This account has no builder."
            return None
        with session_scope(deps.engine()) as session:
            builder = load_owned(session=session, actor=actor, model=Builder, object_id=target,
                                       for_update=True)
            replaced = builder.calendar_token_hash is not None
            token = issue_token(session=session, builder_id=builder.id)
            # Never the token or its hash: the log says only that a link was created or replaced.
            record(session=session, actor=actor,
                         action="calendar_link.regenerated" if replaced else "calendar_link.created",
                         entity_type="builder", entity_id=builder.id, builder_id=builder.id,
                         before={"calendar_link": "active" if replaced else "none"},
                         after={"calendar_link": "replaced" if replaced else "active"})
            self._show_builder(builder)
        self.calendar_replaced = replaced
        self.calendar_url = get_settings().public_url + routes.calendar_feed(token)
        return None

    @admin_event
    def change_password(self, form: dict):
        """Current, new and confirm. Success ends every session of the account, this one included."""
        with session_scope(deps.engine()) as session:
            self.password_error = change_own_password(
                session=session, actor=current_actor(),
                current_password=str(form.get("current_password") or ""),
                new_password=str(form.get("new_password") or ""),
                confirm_password=str(form.get("confirm_password") or ""),
                client_ip=self.router.session.client_ip or "unknown",
                throttle=throttle_from_settings(get_settings()))
        if self.password_error:
            return None
        # Every session of the account, this browser's too, is revoked on the server: its cookie no longer
        # resolves, so this browser is signed out (the next sign-in replaces the dead cookie).
        self._signed_out()  # clears the frame; the redirect below carries the reason
        return [rx.redirect(SIGNED_OUT_AFTER_PASSWORD_CHANGE), rx.toast.success(PASSWORD_CHANGED)]


# --- the page -------------------------------------------------------------------------------------------


def _field(label: str, field_id: str, name: str, autocomplete: str) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=field_id),
        rx.input(id=field_id, name=name, type="password", auto_complete=autocomplete, required=True,
                 max_length=MAX_PASSWORD_LENGTH, width="100%"),
        spacing="1",
        width="100%",
    )


def _who() -> rx.Component:
    return rx.card(
        rx.heading("Signed in", size="4", as_="h2"),
        rx.data_list.root(
            rx.data_list.item(rx.data_list.label("Email"),
                              rx.data_list.value(AccountState.signed_in_email, data_testid="account-email")),
            rx.data_list.item(rx.data_list.label("Role"),
                              rx.data_list.value(rx.badge(AccountState.signed_in_role))),
            rx.cond(AccountState.builder_name != "",
                    rx.data_list.item(rx.data_list.label("Builder"),
                                      rx.data_list.value(AccountState.builder_name)),
                    rx.fragment()),
        ),
        width="100%",
    )


def _password_form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Change password", size="4", as_="h2"),
                rx.text("Changing it signs out every session of this account, this one included.",
                        size="2", color_scheme="gray"),
                _field("Current password", "current-password", "current_password", "current-password"),
                _field("New password", "new-password", "new_password", "new-password"),
                _field("Confirm new password", "confirm-password", "confirm_password", "new-password"),
                rx.cond(AccountState.password_error != "",
                        rx.callout(AccountState.password_error, icon="triangle_alert", color_scheme="red",
                                   role="alert", width="100%", data_testid="password-error"),
                        rx.fragment()),
                rx.button("Change password", type="submit"),
                spacing="3",
                align="start",
                width="100%",
                max_width="28em",
            ),
            on_submit=AccountState.change_password,
            reset_on_submit=True,  # passwords never linger in the page or the state
            data_testid="password-form",
        ),
        width="100%",
    )


def _builder_picker() -> rx.Component:
    return rx.vstack(
        rx.el.label("Builder", html_for="calendar-builder"),
        rx.el.select(
            rx.el.option("Choose a builder", value=""),
            rx.foreach(AccountState.builder_choices,
                       lambda choice: rx.el.option(choice.name, value=choice.id)),
            id="calendar-builder",
            value=AccountState.calendar_builder_id,
            on_change=AccountState.set_builder,
        ),
        spacing="1",
    )


def _new_link() -> rx.Component:
    return rx.callout.root(
        rx.callout.icon(rx.icon("calendar")),
        rx.vstack(
            rx.text("Copy this link into your calendar app now: it is shown only once.", weight="medium"),
            rx.hstack(
                rx.code(AccountState.calendar_url, data_testid="calendar-link", word_break="break-all"),
                rx.button("Copy", size="1", variant="soft",
                          on_click=rx.set_clipboard(AccountState.calendar_url)),
                align="center",
                wrap="wrap",
            ),
            rx.cond(AccountState.calendar_replaced,
                    rx.text("The previous calendar link no longer works; subscribe again with this one.",
                            size="2"),
                    rx.fragment()),
            rx.text("Anyone with this link can see your bookings: keep it private.", size="2",
                    color_scheme="gray"),
            spacing="2",
        ),
        color_scheme="green",
        width="100%",
    )


def _calendar() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Calendar feed", size="4", as_="h2"),
            rx.text("A private address your calendar app can subscribe to. It lists confirmed bookings, from "
                    "30 days ago onwards, with the client and the location.", size="2", color_scheme="gray"),
            rx.cond(AccountState.is_platform_admin, _builder_picker(), rx.fragment()),
            rx.cond(
                AccountState.calendar_builder_id != "",
                rx.text(rx.cond(AccountState.calendar_has_link,
                                "A calendar link is active. Regenerating it stops the old link working.",
                                "No calendar link yet."),
                        size="2", data_testid="calendar-status"),
                rx.fragment(),
            ),
            rx.button(
                rx.cond(AccountState.calendar_has_link, "Regenerate calendar link", "Create calendar link"),
                on_click=AccountState.regenerate_calendar_link,
                disabled=AccountState.calendar_builder_id == "",
                data_testid="regenerate-calendar",
            ),
            rx.cond(AccountState.calendar_error != "",
                    rx.callout(AccountState.calendar_error, icon="triangle_alert", color_scheme="red",
                               role="alert", width="100%"),
                    rx.fragment()),
            rx.cond(AccountState.calendar_url != "", _new_link(), rx.fragment()),
            spacing="3",
            align="start",
            width="100%",
        ),
        width="100%",
    )


def page() -> rx.Component:
    return admin_layout(_who(), _password_form(), _calendar(), title=TITLE)


def register(app: rx.App) -> None:
    app.add_page(page, route=routes.ADMIN_ACCOUNT, title=TITLE + " · Workspace", on_load=[AdminState.guard, AccountState.load])
