"""/admin/login: email and password; one message for an unknown email and a wrong password.

The form is a plain HTML form POST to the sign-in endpoint (booking_ui.api `sign_in`), which checks the
password on the server and answers with a 303: to the page asked for (`next`) with the session cookie
set (`HttpOnly`), or back here with `?error=<code>`. No script ever holds the token. Signing out is the
same: a form POST to the sign-out endpoint (`sign_out_form`, in the workspace's frame).
"""

from __future__ import annotations

import reflex as rx

from booking.accounts import SIGN_IN_FAILED, SIGN_IN_THROTTLED
from booking_ui import routes
from booking_ui.admin.base import AdminState, connection_digest, public_admin_event, resolve_connection, safe_next
from booking_ui.components.layout import layout
from booking_ui.pages.manage import native_form

# What the sign-in endpoint's `?error=` codes say (the same words as before: one message for an unknown
# email and a wrong password).
ERRORS = {
    "failed": SIGN_IN_FAILED,
    "throttled": SIGN_IN_THROTTLED,
    "expired": "The sign-in form had expired or didn't come from this page. Please try again.",
}
INFO = {
    "password-changed": "Your password was changed and every session ended. Please sign in again.",
    "signed-out": "You are signed out.",
}


class LoginState(AdminState):
    error: str = ""
    info: str = ""
    next_path: str = routes.ADMIN  # where a successful sign-in returns to (checked again by the endpoint)

    @public_admin_event
    def load(self):
        query = self.router.url.query_parameters
        self.error = ERRORS.get(str(query.get("error", "") or ""), "")
        self.info = INFO.get(str(query.get("reason", "") or ""), "")
        self.next_path = safe_next(query.get("next"))
        if resolve_connection(connection_digest(self)) is not None:
            return rx.redirect(self.next_path)
        return None


def sign_out_form() -> rx.Component:
    """The frame's "Sign out": a form POST, so the answer can clear the HttpOnly cookie."""
    return native_form(
        rx.button("Sign out", type="submit", variant="soft", size="1"),
        action=routes.API_AUTH_SIGN_OUT,
        method="post",
        data_testid="sign-out-form",
    )


def login_page() -> rx.Component:
    return layout(
        rx.center(
            rx.card(
                native_form(
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
                        rx.input(id="login-email", name="email", type="email", auto_complete="username",
                                 width="100%", required=True, max_length=254),
                        rx.el.label("Password", html_for="login-password"),
                        rx.input(id="login-password", name="password", type="password",
                                 auto_complete="current-password", width="100%", required=True),
                        rx.el.input(type="hidden", name="next", value=LoginState.next_path),
                        rx.button("Sign in", type="submit", size="3", width="100%"),
                        rx.link("Forgot password?", href=routes.ADMIN_FORGOT, size="2"),
                        spacing="3",
                        width="100%",
                        align="start",
                    ),
                    action=routes.API_AUTH_SIGN_IN,
                    method="post",
                    data_testid="login-form",
                ),
                width="100%",
                max_width="24em",
            ),
            width="100%",
            padding_top="2em",
        ),
    )
