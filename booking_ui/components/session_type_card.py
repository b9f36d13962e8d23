import reflex as rx

from booking_ui import routes


def session_type_card(session_type) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.vstack(
                rx.heading(session_type.name, size="4", as_="h3"),
                rx.text(session_type.description, color_scheme="gray", size="2"),
                rx.text(f"{session_type.duration_minutes} min", size="2"),
                spacing="1",
                align="start",
            ),
            rx.spacer(),
            rx.vstack(
                rx.text(session_type.price.display, weight="bold", size="4",
                        data_testid="price"),
                rx.link(
                    rx.button("Book"),
                    href=routes.book_page(session_type.id),
                ),
                align="end",
            ),
            width="100%",
        ),
        width="100%",
        data_testid="session-type",
    )


