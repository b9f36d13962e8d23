"""Registers every workspace page (each module's `register`) and the sign-in page."""

from __future__ import annotations

import reflex as rx

from booking_ui import routes
from booking_ui.admin import (
    account,
    audit,
    availability,
    bookings,
    calendars,
    dashboard,
    disputes,
    memberships,
    outbox,
    packages,
    payments,
    payouts,
    policy,
    profile,
    promotions,
    recovery,
    session_types,
    webhooks,
)
from booking_ui.admin.login import LoginState, login_page

ADMIN_PAGE_MODULES = (dashboard, session_types, availability, bookings, payments, webhooks, outbox, account, audit,
                      policy, payouts, profile, recovery, disputes, calendars, packages, promotions,
                      memberships)


def register_admin_pages(app: rx.App) -> None:
    app.add_page(login_page, route=routes.ADMIN_LOGIN, title="Sign in · Workspace", on_load=LoginState.load)
    for module in ADMIN_PAGE_MODULES:
        module.register(app)
