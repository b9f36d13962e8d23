"""The frame every page shares."""

import reflex as rx

from booking_ui import routes


def layout(*children: rx.Component, title: str = "") -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.link(rx.heading("Book a builder", size="5", as_="div"), href=routes.HOME, underline="none"),
            rx.spacer(),
            padding="1em 2em",
            border_bottom="1px solid var(--gray-a5)",
            align="center",
        ),
        rx.container(
            rx.vstack(
                rx.cond(title != "", rx.heading(title, size="7", as_="h1"), rx.fragment()),
                *children,
                spacing="4",
                width="100%",
            ),
            size="3",
            padding_y="2em",
        ),
    )
