"""The page for any address we don't serve: styled like the rest, with a way home."""

import reflex as rx

from booking_ui import routes
from booking_ui.components.layout import layout

TITLE = "Page not found · Book a builder"


def not_found_page() -> rx.Component:
    return layout(
        rx.text("We couldn't find that page. The link may be mistyped, or the page may have moved."),
        rx.button(rx.link("Go to the home page", href=routes.HOME, underline="none"), as_child=True, size="3",
                  data_testid="home-link"),
        title="Page not found",
    )
