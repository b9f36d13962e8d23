import reflex as rx

from booking_ui import routes
from booking_ui.components.layout import layout
from booking_ui.components.session_type_card import session_type_card
from booking_ui.pages.packages import packages_section
from booking_ui.state.catalog import BuilderState


def _photo_src():
    """routes.builder_photo(slug, version), built in the browser from the page's state."""
    return ("/api/builders/" + BuilderState.builder.slug + "/photo?v=" + BuilderState.builder.photo_version)


def builder_page() -> rx.Component:
    return layout(
        rx.cond(
            BuilderState.not_found,
            rx.vstack(
                rx.heading("Builder not found", size="7", as_="h1"),
                rx.callout("We could not find that builder.", icon="triangle_alert", color_scheme="red"),
                rx.link("See all builders", href=routes.HOME),
                spacing="3",
            ),
            rx.cond(
                BuilderState.builder,
                rx.vstack(
                    rx.hstack(
                        rx.cond(BuilderState.builder.photo_version != "",
                                rx.image(src=_photo_src(), alt="Photo of " + BuilderState.builder.name,
                                         width="96px", height="96px", border_radius="50%", object_fit="cover",
                                         data_testid="builder-photo")),
                        rx.heading(BuilderState.builder.name, size="7", as_="h1"),
                        align="center",
                        spacing="4",
                    ),
                    rx.text(BuilderState.builder.bio, white_space="pre-line", data_testid="builder-bio"),
                    rx.text("Times are set in ", BuilderState.builder.time_zone,
                            "; you will see them in your own zone.", size="2", color_scheme="gray"),
                    rx.cond(BuilderState.builder.not_bookable_reason != "",
                            rx.callout(BuilderState.builder.not_bookable_reason, icon="info", color_scheme="amber",
                                       role="status", data_testid="not-bookable")),
                    rx.heading("Sessions", size="5", as_="h2"),
                    rx.foreach(BuilderState.builder.session_types, session_type_card),
                    packages_section(),
                    width="100%",
                    spacing="3",
                ),
                rx.hstack(rx.spinner(), rx.text("Loading…")),
            ),
        ),
    )
