"""Getting in without a password, and inviting builders: thin adapters over booking.workspace.access.

Signed out (no sign-in needed, handlers public on purpose):
- routes.ADMIN_FORGOT: the email address; one answer whether or not it has an account;
- routes.ADMIN_RESET?token=…: the emailed reset link: the new password twice;
- routes.ADMIN_INVITE?token=…: a builder's invite link: their first password twice.
The link's token is read from the page's URL when a handler runs; it is never copied into a state var.

Platform admins only (checked on the server in every handler, by the guard and again by the domain):
- routes.ADMIN_INVITE_BUILDER: name, email and time zone; the builders still to set a password, each with
  "Send a new link".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import reflex as rx

from booking.accounts import (
    MAX_PASSWORD_LENGTH,
    PASSWORD_SET,
    InviteError,
    accept_invite,
    pending_invites,
    reset_password,
    reset_throttle_from_settings,
)
from booking.core import format_datetime, get_settings, session_scope
from booking.workspace import (
    COMMON_ZONES,
    ask_for_password_reset,
    check_invite_link,
    check_reset_link,
    resend_builder_invite,
    send_builder_invite,
)
from booking_ui import deps, routes
from booking_ui.admin.base import AdminState, admin_event, current_actor, public_admin_event
from booking_ui.admin.layout import admin_layout
from booking_ui.components.layout import layout

INVITE_TITLE = "Invite a builder"
DEFAULT_ZONE = "UTC"
INVITE_ACCEPTED = "Your password is set. Sign in with your email and the new password."
SIGNED_OUT_AFTER_RESET = f"{routes.ADMIN_LOGIN}?reason=password-changed"


def _token(state) -> str:
    token = state.router.url.query_parameters.get("token", "")
    return token if isinstance(token, str) else ""


class RecoveryState(AdminState):
    """The signed-out pages: forgot, reset, accept an invite."""

    recovery_message: str = ""  # the forgot form's answer
    recovery_error: str = ""
    link_checked: bool = False
    link_ok: bool = False
    link_email: str = ""

    @public_admin_event
    def load_forgot(self):
        self.recovery_message = self.recovery_error = ""
        return None

    @public_admin_event
    def ask(self, form: dict):
        """Queue a reset email if the address has a live account; the answer is the same either way."""
        email = form.get("email")
        email = email[:254] if isinstance(email, str) else ""
        settings = get_settings()
        with session_scope(deps.engine()) as session:
            self.recovery_message = ask_for_password_reset(
                session=session, email=email, client_ip=self.router.session.client_ip or "unknown",
                throttle=reset_throttle_from_settings(settings))
        self.recovery_error = ""
        return None

    def _check(self, check) -> None:
        self.recovery_error = ""
        with session_scope(deps.engine()) as session:
            found = check(session=session, token=_token(self))
        self.link_checked, self.link_ok, self.link_email = True, found.ok, found.email
        self.recovery_error = found.message

    @public_admin_event
    def load_reset(self):
        self._check(check_reset_link)
        return None

    @public_admin_event
    def load_invite(self):
        self._check(check_invite_link)
        return None

    def _set(self, action, form: dict, done: str, target: str):
        new = form.get("new_password")
        confirm = form.get("confirm_password")
        with session_scope(deps.engine()) as session:
            outcome = action(session=session, token=_token(self),
                             new_password=new if isinstance(new, str) else "",
                             confirm_password=confirm if isinstance(confirm, str) else "")
        if outcome.error:
            self.recovery_error = outcome.error
            self.link_ok = not outcome.link_problem
            return None
        self.recovery_error, self.link_ok, self.link_email = "", False, ""
        return [rx.redirect(target), rx.toast.success(done)]

    @public_admin_event
    def set_new_password(self, form: dict):
        """Set the new password through the reset link: every session of the account ends."""
        return self._set(reset_password, form, PASSWORD_SET, SIGNED_OUT_AFTER_RESET)

    @public_admin_event
    def accept(self, form: dict):
        """Set the invited builder's first password through the invite link."""
        return self._set(accept_invite, form, INVITE_ACCEPTED, routes.ADMIN_LOGIN)


@dataclass(frozen=True)
class PendingRow:
    user_id: str
    name: str
    email: str
    expires: str  # when the latest link stops working (UTC), or "expired"


class BuilderInvitesState(AdminState):
    """The platform admin's invite page."""

    invite_notice: str = ""
    invite_error: str = ""
    pending: list[PendingRow] = []

    def _refresh(self) -> None:
        with session_scope(deps.engine()) as session:
            rows = pending_invites(session=session, actor=current_actor())
        self.pending = [PendingRow(user_id=row.user_id, name=row.name, email=row.email,
                                   expires=format_datetime(row.expires_at, zone="UTC", hour12=False)
                                   if row.expires_at else "expired")
                        for row in rows]

    @admin_event
    def load(self):
        self.invite_notice = self.invite_error = ""
        self.pending = []
        self._refresh()
        return None

    @admin_event
    def invite(self, form: dict):
        """Create the builder and their account (no password yet) and email the invite link."""
        self.invite_notice = self.invite_error = ""
        settings = get_settings()
        try:
            with session_scope(deps.engine()) as session:
                email = send_builder_invite(session=session, actor=current_actor(), name=form.get("name"),
                                            email=form.get("email"),
                                            time_zone=form.get("time_zone") or DEFAULT_ZONE,
                                            lifetime=timedelta(days=settings.builder_invite_days))
        except InviteError as exc:
            self.invite_error = str(exc)
            return None
        self.invite_notice = f"Invite sent to {email}. The link works for {settings.builder_invite_days} days."
        self._refresh()
        return rx.set_value("invite-name", "")

    @admin_event
    def resend(self, value: str):
        """A fresh link for the builder (their account id: `value`) who hasn't set a password; the previous
        link stops working."""
        self.invite_notice = self.invite_error = ""
        settings = get_settings()
        try:
            with session_scope(deps.engine()) as session:
                email = resend_builder_invite(session=session, actor=current_actor(), user_id=value,
                                              lifetime=timedelta(days=settings.builder_invite_days))
        except InviteError as exc:
            self.invite_error = str(exc)
            return None
        self.invite_notice = f"A new link was sent to {email}; the previous one no longer works."
        self._refresh()
        return None


# --- the signed-out pages --------------------------------------------------------------------------------


def _card(*children: rx.Component) -> rx.Component:
    return layout(
        rx.center(
            rx.card(rx.vstack(*children, spacing="3", width="100%", align="start"), width="100%", max_width="26em"),
            width="100%",
            padding_top="2em",
        ),
    )


def _error() -> rx.Component:
    return rx.cond(RecoveryState.recovery_error != "",
                   rx.callout(RecoveryState.recovery_error, icon="triangle_alert", color_scheme="red", role="alert",
                              width="100%", data_testid="recovery-error"),
                   rx.fragment())


def _password(label: str, field_id: str, name: str) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=field_id),
        rx.input(id=field_id, name=name, type="password", auto_complete="new-password", required=True,
                 max_length=MAX_PASSWORD_LENGTH, width="100%"),
        spacing="1",
        width="100%",
    )


def forgot_page() -> rx.Component:
    return _card(
        rx.heading("Reset your password", size="6", as_="h1"),
        rx.text("Enter the email address you sign in with. We'll email you a link to choose a new password.",
                size="2", color_scheme="gray"),
        rx.form(
            rx.vstack(
                rx.el.label("Email", html_for="forgot-email"),
                rx.input(id="forgot-email", name="email", type="email", auto_complete="username", required=True,
                         max_length=254, width="100%"),
                rx.button("Email me a link", type="submit", size="3", width="100%"),
                spacing="3",
                width="100%",
                align="start",
            ),
            on_submit=RecoveryState.ask,
            reset_on_submit=False,
            width="100%",
        ),
        rx.cond(RecoveryState.recovery_message != "",
                rx.callout(RecoveryState.recovery_message, icon="mail", color_scheme="blue", role="status",
                           width="100%", data_testid="forgot-answer"),
                rx.fragment()),
        rx.link("Back to sign in", href=routes.ADMIN_LOGIN, size="2"),
    )


def _link_form(heading: str, intro: str, handler, button: str, test_id: str) -> rx.Component:
    return _card(
        rx.heading(heading, size="6", as_="h1"),
        rx.cond(
            ~RecoveryState.link_checked,
            rx.spinner(),
            rx.cond(
                RecoveryState.link_ok,
                rx.form(
                    rx.vstack(
                        rx.text(intro, size="2", color_scheme="gray"),
                        # The account's address, for password managers (not editable).
                        rx.el.input(name="username", type="email", value=RecoveryState.link_email, read_only=True,
                                    auto_complete="username", aria_label="Account", data_testid="link-account",
                                    style={"width": "100%", "border": "none", "background": "transparent"}),
                        _password("New password", "new-password", "new_password"),
                        _password("Confirm new password", "confirm-password", "confirm_password"),
                        _error(),
                        rx.button(button, type="submit", size="3", width="100%"),
                        spacing="3",
                        width="100%",
                        align="start",
                    ),
                    on_submit=handler,
                    reset_on_submit=True,  # passwords never linger in the page
                    width="100%",
                    data_testid=test_id,
                ),
                rx.vstack(
                    _error(),
                    rx.link("Ask for a new link", href=routes.ADMIN_FORGOT, size="2", data_testid="ask-again"),
                    spacing="3",
                    width="100%",
                ),
            ),
        ),
        rx.link("Back to sign in", href=routes.ADMIN_LOGIN, size="2"),
    )


def reset_page() -> rx.Component:
    return _link_form("Choose a new password",
                      "Choose a new password for your account. Every session of the account will be signed out.",
                      RecoveryState.set_new_password, "Set new password", "reset-form")


def invite_page() -> rx.Component:
    return _link_form("Welcome: choose your password",
                      "You've been invited as a builder. Choose the password you'll sign in with.",
                      RecoveryState.accept, "Set password", "invite-form")


# --- the platform admin's page ---------------------------------------------------------------------------


def _invite_form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("New builder", size="4", as_="h2"),
                rx.text("They get an email with a one-time link to choose their own password, then sign in. "
                        "Their public page's address is made from the name.", size="2", color_scheme="gray"),
                rx.el.label("Name", html_for="invite-name"),
                rx.input(id="invite-name", name="name", required=True, max_length=120, width="100%"),
                rx.el.label("Email", html_for="invite-email"),
                rx.input(id="invite-email", name="email", type="email", required=True, max_length=254,
                         width="100%"),
                rx.el.label("Time zone", html_for="invite-zone"),
                rx.el.select(*[rx.el.option(name, value=name) for name in COMMON_ZONES],
                             id="invite-zone", name="time_zone", default_value=DEFAULT_ZONE),
                rx.cond(BuilderInvitesState.invite_error != "",
                        rx.callout(BuilderInvitesState.invite_error, icon="triangle_alert", color_scheme="red",
                                   role="alert", width="100%", data_testid="invite-error"),
                        rx.fragment()),
                rx.cond(BuilderInvitesState.invite_notice != "",
                        rx.callout(BuilderInvitesState.invite_notice, icon="mail", color_scheme="green",
                                   role="status", width="100%", data_testid="invite-notice"),
                        rx.fragment()),
                rx.button("Send invite", type="submit"),
                spacing="2",
                align="start",
                width="100%",
                max_width="28em",
            ),
            on_submit=BuilderInvitesState.invite,
            reset_on_submit=False,
        ),
        width="100%",
    )


def _pending() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Waiting for a password", size="4", as_="h2"),
            rx.cond(
                BuilderInvitesState.pending.length() > 0,
                rx.table.root(
                    rx.table.header(rx.table.row(
                        rx.table.column_header_cell("Builder"), rx.table.column_header_cell("Email"),
                        rx.table.column_header_cell("Link works until"), rx.table.column_header_cell(""))),
                    rx.table.body(rx.foreach(BuilderInvitesState.pending, lambda row: rx.table.row(
                        rx.table.cell(row.name), rx.table.cell(row.email), rx.table.cell(row.expires),
                        rx.table.cell(rx.button("Send a new link", size="1", variant="soft",
                                                on_click=BuilderInvitesState.resend(row.user_id))),
                    ))),
                    width="100%",
                ),
                rx.text("Every invited builder has set a password.", size="2", color_scheme="gray"),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def invite_builder_page() -> rx.Component:
    return admin_layout(_invite_form(), _pending(), title=INVITE_TITLE)


def register(app: rx.App) -> None:
    app.add_page(forgot_page, route=routes.ADMIN_FORGOT, title="Reset your password · Workspace",
                 on_load=RecoveryState.load_forgot)
    app.add_page(reset_page, route=routes.ADMIN_RESET, title="Choose a new password · Workspace",
                 on_load=RecoveryState.load_reset)
    app.add_page(invite_page, route=routes.ADMIN_INVITE, title="Choose your password · Workspace",
                 on_load=RecoveryState.load_invite)
    app.add_page(invite_builder_page, route=routes.ADMIN_INVITE_BUILDER, title=INVITE_TITLE + " · Workspace",
                 on_load=[AdminState.guard, BuilderInvitesState.load])
