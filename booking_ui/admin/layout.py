"""The workspace frame: navigation, who is signed in, sign out, and the guard's messages."""

from __future__ import annotations

import reflex as rx

from booking_ui import routes
from booking_ui.admin.base import AdminState
from booking_ui.admin.components import error_callout
from booking_ui.admin.login import sign_out_form

# (label, route, platform admins only)
NAV = [
    ("Dashboard", routes.ADMIN, False),
    ("Bookings", routes.ADMIN_BOOKINGS, False),
    ("Session types", routes.ADMIN_SESSION_TYPES, False),
    ("Memberships", routes.ADMIN_MEMBERSHIPS, False),
    ("Packages", routes.ADMIN_PACKAGES, False),
    ("Availability", routes.ADMIN_AVAILABILITY, False),
    ("Policy", routes.ADMIN_POLICY, False),
    ("Calendars", routes.ADMIN_CALENDARS, False),
    ("Payments", routes.ADMIN_PAYMENTS, False),
    ("Payouts", routes.ADMIN_PAYOUTS, False),
    ("Disputes", routes.ADMIN_DISPUTES, False),
    ("Promo codes", routes.ADMIN_PROMOTIONS, False),
    ("Webhooks", routes.ADMIN_WEBHOOKS, False),
    ("Outbox", routes.ADMIN_OUTBOX, False),
    ("Profile", routes.ADMIN_PROFILE, False),
    ("Account", routes.ADMIN_ACCOUNT, False),
    ("Audit log", routes.ADMIN_AUDIT, True),
    ("Invite a builder", routes.ADMIN_INVITE_BUILDER, True),
]


def _nav_link(label: str, href: str, admin_only: bool) -> rx.Component:
    link = rx.link(label, href=href, size="2", weight="medium", underline="hover", white_space="nowrap",
                   data_testid="nav-link")
    return rx.cond(AdminState.is_platform_admin, link, rx.fragment()) if admin_only else link


def admin_layout(*children: rx.Component, title: str) -> rx.Component:
    """`title` becomes the page's one h1. The header is two rows: the name, who is signed in and "Sign out";
    then the navigation, one line from a laptop's 1366 px up, wrapping into a few lines on a phone."""
    return rx.box(
        rx.box(
            rx.flex(
                rx.link(rx.text("Workspace", weight="bold", size="4"), href=routes.ADMIN, underline="none"),
                rx.spacer(),
                rx.text(AdminState.signed_in_email, size="2", color_scheme="gray", data_testid="signed-in-as",
                        overflow_wrap="anywhere", min_width="0"),
                sign_out_form(),
                align="center",
                wrap="wrap",
                gap="0.5em 1em",
                width="100%",
            ),
            rx.flex(*[_nav_link(*item) for item in NAV], as_="nav", aria_label="Workspace", wrap="wrap",
                    gap="0.35em 0.8em", margin_top="0.5em", width="100%", data_testid="admin-nav"),
            padding=rx.breakpoints(initial="0.75em 1em", sm="0.75em 2em"),
            border_bottom="1px solid var(--gray-a5)",
        ),
        rx.container(
            rx.vstack(
                rx.heading(title, size="7", as_="h1"),
                rx.cond(AdminState.admin_error != "", error_callout(AdminState.admin_error, data_testid="admin-error")),
                rx.cond(AdminState.signed_in_email != "", rx.vstack(*children, spacing="4", width="100%"),
                        rx.spinner()),
                spacing="4",
                width="100%",
            ),
            size="4",
            padding_y="1.5em",
            padding_x=rx.breakpoints(initial="1em", sm="2em"),
        ),
    )
