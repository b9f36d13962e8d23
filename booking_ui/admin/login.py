"""/admin/login: email and password; one message for an unknown email and a wrong password."""

from __future__ import annotations

import reflex as rx

from booking.accounts import sign_in, throttle_from_settings
from booking.core import get_settings, session_scope
from booking_ui import deps, routes
from booking_ui.admin.base import AdminState, public_admin_event, resolve_actor
from booking_ui.components.layout import layout


class LoginState(AdminState):
    error: str = ""
    info: str = ""

    @public_admin_event
    def load(self):
        self.error = ""
        reason = self.router.url.query_parameters.get("reason", "")
        self.info = ("Your password was changed and every session ended. Please sign in again."
                     if reason == "password-changed" else "")
        if resolve_actor(self.auth_token) is not None:
            return rx.redirect(routes.ADMIN)
        return None

    @public_admin_event
    def submit(self, form: dict):
        """Sign in. Throttled per account and per IP; a new random session token on success."""
        email = str(form.get("email") or "")[:254]
        password = str(form.get("password") or "")[:256]
        settings = get_settings()
        with session_scope(deps.engine()) as session:
            result = sign_in(session=session, email=email, password=password,
                             client_ip=self.router.session.client_ip or "unknown",
                             throttle=throttle_from_settings(settings),
                             idle_minutes=settings.admin_session_idle_minutes,
                             max_hours=settings.admin_session_max_hours)
        if result.token is None:
            self.error = result.error
            return rx.set_value("login-password", "")
        self.error = ""
        self.auth_token = result.token
        return rx.redirect(routes.ADMIN)


def login_page() -> rx.Component:
    return layout(
        rx.center(
            rx.card(
                rx.form(
                    rx.vstack(
                        rx.heading("Sign in", size="6", as_="h1"),
                        rx.text("The workspace for builders and the platform's admins.", color_scheme="gray",
                                size="2"),
                        rx.cond(LoginState.info != "",
                                rx.callout(LoginState.info, icon="info", color_scheme="blue", width="100%",
                                           data_testid="login-info")),
                        rx.cond(LoginState.error != "",
                                rx.callout(LoginState.error, icon="triangle_alert", color_scheme="red",
                                           role="alert", width="100%", data_testid="login-error")),
                        rx.el.label("Email", html_for="login-email"),
                        # Uncontrolled inputs: the form's values arrive with the submit event.
                        rx.input(id="login-email", name="email", type="email", auto_complete="username",
                                 width="100%", required=True),
                        rx.el.label("Password", html_for="login-password"),
                        rx.input(id="login-password", name="password", type="password",
                                 auto_complete="current-password", width="100%", required=True),
                        rx.button("Sign in", type="submit", size="3", width="100%"),
                        rx.link("Forgot password?", href=routes.ADMIN_FORGOT, size="2"),
                        spacing="3",
                        width="100%",
                        align="start",
                    ),
                    on_submit=LoginState.submit,
                    reset_on_submit=False,
                ),
                width="100%",
                max_width="24em",
            ),
            width="100%",
            padding_top="2em",
        ),
    )
