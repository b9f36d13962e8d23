import reflex as rx


def session_type_card(session_type) -> rx.Component:
    """One bookable session: name, description, duration, price, and a Book link named after it."""
    return rx.card(
        rx.flex(
            rx.vstack(
                rx.heading(session_type.name, size="4", as_="h3"),
                rx.text(session_type.description, color_scheme="gray", size="2"),
                rx.text(f"{session_type.duration_minutes} min", size="2"),
                spacing="1",
                align="start",
                flex="1",
                min_width="0",
            ),
            rx.vstack(
                rx.text(session_type.price.display, weight="bold", size="4", data_testid="price"),
                # A link styled as a button (not a button inside a link); its name says what it books.
                rx.button(
                    rx.link("Book", href=session_type.url,
                            aria_label="Book " + session_type.name, underline="none"),
                    as_child=True,
                ),
                align="end",
            ),
            style={"gap": "0.75em"},
            width="100%",
            wrap="wrap",
        ),
        width="100%",
        data_testid="session-type",
    )
