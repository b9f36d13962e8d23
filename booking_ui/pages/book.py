import reflex as rx

from booking_ui import routes
from booking_ui.components.layout import layout
from booking_ui.state.book import BookState


def slot_button(slot, day) -> rx.Component:
    return rx.button(
        slot.label,
        variant=rx.cond(BookState.selected_start == slot.start, "solid", "outline"),
        on_click=BookState.choose(slot.start, day.label + ", " + slot.label),
        data_testid="slot",
        size="2",
    )


def day_column(day) -> rx.Component:
    return rx.vstack(
        rx.text(day.label, weight="bold", size="2"),
        rx.flex(rx.foreach(day.slots, lambda slot: slot_button(slot, day)), wrap="wrap", spacing="2"),
        spacing="2",
        width="100%",
        data_testid="day",
    )


def details_step() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Your details", size="4", as_="h2"),
            rx.text("Selected: ", rx.text.strong(BookState.selected_label), " (", BookState.time_zone, ")",
                    data_testid="selected-slot"),
            rx.el.label("Name", html_for="client-name"),
            rx.input(id="client-name", value=BookState.client_name, on_change=BookState.set_client_name,
                     placeholder="Your full name", width="100%"),
            rx.cond(BookState.name_error != "", rx.text(BookState.name_error, color_scheme="red", size="2")),
            rx.el.label("Email", html_for="client-email"),
            rx.input(id="client-email", type="email", value=BookState.client_email,
                     on_change=BookState.set_client_email, placeholder="you@example.com", width="100%"),
            rx.cond(BookState.email_error != "", rx.text(BookState.email_error, color_scheme="red", size="2")),
            rx.hstack(
                rx.button(
                    rx.cond(BookState.paying, "Redirecting to payment…",
                            "Pay " + BookState.session_type.price.display),
                    loading=BookState.paying,
                    disabled=BookState.paying,
                    on_click=BookState.pay,
                    size="3",
                ),
                rx.button("Change time", variant="ghost", on_click=BookState.change_time),
                align="center",
            ),
            rx.text("You'll pay securely on Stripe. The time is held for you while you pay.",
                    size="1", color_scheme="gray"),
            spacing="2",
            width="100%",
            align="start",
        ),
        width="100%",
    )


def picker() -> rx.Component:
    return rx.vstack(
        rx.heading(BookState.session_type.name, size="7", as_="h1"),
        rx.text("with ", rx.link(BookState.session_type.builder.name,
                                 href=routes.builder_page(BookState.session_type.builder.slug))),
        rx.hstack(
            rx.badge(BookState.session_type.duration_minutes.to_string() + " min", size="2"),
            rx.badge(BookState.session_type.price.display, size="2", color_scheme="green",
                     data_testid="price"),
        ),
        rx.text(BookState.session_type.description, color_scheme="gray"),
        rx.cond(BookState.notice != "",
                rx.callout(BookState.notice, icon="info", color_scheme="amber", width="100%",
                           data_testid="notice")),
        rx.hstack(
            rx.el.label("Times shown in", html_for="time-zone"),
            rx.el.select(
                rx.foreach(BookState.zone_choices, lambda zone: rx.el.option(zone, value=zone)),
                id="time-zone",
                value=BookState.time_zone,
                on_change=BookState.set_time_zone,
            ),
            align="center",
        ),
        rx.cond(
            BookState.selected_start != "",
            details_step(),
            rx.cond(
                BookState.loading_slots,
                rx.spinner(),
                rx.cond(
                    BookState.days.length() > 0,
                    rx.vstack(rx.foreach(BookState.days, day_column), spacing="4", width="100%"),
                    rx.text("No free times in the next two weeks."),
                ),
            ),
        ),
        spacing="3",
        width="100%",
        align="start",
    )


def book_page() -> rx.Component:
    return layout(
        rx.cond(
            BookState.not_found,
            rx.callout("That session type is not available.", icon="triangle_alert", color_scheme="red"),
            rx.cond(BookState.session_type, picker(), rx.spinner()),
        ),
    )
