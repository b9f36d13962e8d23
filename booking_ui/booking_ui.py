"""The Reflex app: registers pages, mounts the HTTP API, starts the background workers."""

import reflex as rx

from booking_ui import routes
from booking_ui.admin.pages import register_admin_pages
from booking_ui.api import build_api
from booking_ui.background import register_background_tasks
from booking_ui.pages.book import book_page
from booking_ui.pages.builder import builder_page
from booking_ui.pages.home import home_page
from booking_ui.pages.payment import cancel_page, success_page
from booking_ui.state.book import BookState
from booking_ui.state.catalog import BuilderState, HomeState
from booking_ui.state.payment import CancelState, SuccessState

app = rx.App(api_transformer=build_api())
app.add_page(home_page, route=routes.HOME, title="Book a builder", on_load=HomeState.load)
app.add_page(builder_page, route=routes.BUILDER, title="Builder", on_load=BuilderState.load)
app.add_page(book_page, route=routes.BOOK, title="Pick a time", on_load=BookState.load)
app.add_page(success_page, route=routes.PAYMENT_SUCCESS, title="Booking confirmed", on_load=SuccessState.load)
app.add_page(cancel_page, route=routes.PAYMENT_CANCEL, title="Payment cancelled", on_load=CancelState.load)
register_admin_pages(app)
register_background_tasks(app)
