"""The workspace frame: navigation, who is signed in, sign out, and the guard's messages."""

from __future__ import annotations

import reflex as rx

from booking_ui import routes
from booking_ui.admin.base import AdminState

# (label, route, platform admins only)
NAV = [
    ("Dashboard", routes.ADMIN, False),
    ("Session types", routes.ADMIN_SESSION_TYPES, False),
    ("Availability", routes.ADMIN_AVAILABILITY, False),
    ("Cancellation policy", routes.ADMIN_POLICY, False),
    ("Bookings", routes.ADMIN_BOOKINGS, False),
    ("Payments", routes.ADMIN_PAYMENTS, False),
    ("Payouts", routes.ADMIN_PAYOUTS, False),
    ("Disputes", routes.ADMIN_DISPUTES, False),
    ("Webhooks", routes.ADMIN_WEBHOOKS, False),
    ("Outbox", routes.ADMIN_OUTBOX, False),
    ("Account", routes.ADMIN_ACCOUNT, False),
    ("Audit log", routes.ADMIN_AUDIT, True),
]


def _nav_link(label: str, href: str, admin_only: bool) -> rx.Component:
    link = rx.link(label, href=href, size="2", weight="medium", underline="hover")
    return rx.cond(AdminState.is_platform_admin, link, rx.fragment()) if admin_only else link


def admin_layout(*children: rx.Component, title: str) -> rx.Component:
    """`title` becomes the page's one h1."""
    return rx.box(
        rx.hstack(
            rx.link(rx.text("Workspace", weight="bold", size="4"), href=routes.ADMIN, underline="none"),
            rx.flex(*[_nav_link(*item) for item in NAV], spacing="4", wrap="wrap", as_="nav",
                    aria_label="Workspace"),
            rx.spacer(),
            rx.text(AdminState.signed_in_email, size="2", color_scheme="gray", data_testid="signed-in-as"),
            rx.button("Sign out", variant="soft", size="1", on_click=AdminState.sign_out),
            padding="0.75em 2em",
            border_bottom="1px solid var(--gray-a5)",
            align="center",
            wrap="wrap",
            spacing="4",
        ),
        rx.container(
            rx.vstack(
                rx.heading(title, size="7", as_="h1"),
                rx.cond(AdminState.admin_error != "",
                        rx.callout(AdminState.admin_error, icon="triangle_alert", color_scheme="red",
                                   role="alert", width="100%", data_testid="admin-error")),
                rx.cond(AdminState.signed_in_email != "", rx.vstack(*children, spacing="4", width="100%"),
                        rx.spinner()),
                spacing="4",
                width="100%",
            ),
            size="4",
            padding_y="1.5em",
        ),
    )
