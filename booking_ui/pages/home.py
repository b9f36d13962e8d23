import reflex as rx

from booking_ui import routes
from booking_ui.components.layout import layout
from booking_ui.components.session_type_card import session_type_card
from booking_ui.state.catalog import HomeState


def builder_section(builder) -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.flex(
                rx.link(rx.heading(builder.name, size="5", as_="h2"), href=routes.builder_page(builder.slug)),
                rx.badge(builder.time_zone, variant="soft", high_contrast=True),
                align="center",
                style={"gap": "0.5em"},
                wrap="wrap",
            ),
            rx.text(builder.bio, color_scheme="gray"),
            rx.foreach(builder.session_types, session_type_card),
            width="100%",
            spacing="3",
        ),
        data_testid="builder",
        style={"width": "100%"},
    )


def home_page() -> rx.Component:
    return layout(
        rx.text("Book a paid session — calls, reviews, workshops — with a builder."),
        rx.cond(
            HomeState.builders.length() > 0,
            rx.vstack(rx.foreach(HomeState.builders, builder_section), spacing="6", width="100%"),
            rx.text("No builders yet."),
        ),
        title="Builders",
    )
