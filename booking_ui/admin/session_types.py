"""Session types (routes.ADMIN_SESSION_TYPES). Placeholder: to be built."""

from __future__ import annotations

import reflex as rx

from booking_ui import routes
from booking_ui.admin.base import AdminState, admin_event
from booking_ui.admin.layout import admin_layout

TITLE = "Session types"


class SessionTypesState(AdminState):
    @admin_event
    def load(self):
        return None


def page() -> rx.Component:
    return admin_layout(rx.text("Coming soon."), title=TITLE)


def register(app: rx.App) -> None:
    app.add_page(page, route=routes.ADMIN_SESSION_TYPES, title=TITLE + " · Workspace", on_load=[AdminState.guard, SessionTypesState.load])
