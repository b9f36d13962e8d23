"""The Reflex app: registers pages and mounts the HTTP API. No logic lives here."""

import reflex as rx

from booking_ui import routes
from booking_ui.api import build_api
from booking_ui.pages.builder import builder_page
from booking_ui.pages.home import home_page
from booking_ui.state.catalog import BuilderState, HomeState

app = rx.App(api_transformer=build_api())
app.add_page(home_page, route=routes.HOME, title="Book a builder", on_load=HomeState.load)
app.add_page(builder_page, route=routes.BUILDER, title="Builder", on_load=BuilderState.load)
