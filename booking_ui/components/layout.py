"""The frame every public page shares: a skip link, the site header, and one main landmark."""

import reflex as rx

from booking_ui import routes

MAIN_ID = "main-content"

# Visible only while focused: keyboard users jump straight past the header (WCAG 2.4.1).
_SKIP_LINK_STYLE = {
    "position": "absolute",
    "left": "-10000px",
    "top": "0",
    "padding": "0.5em 1em",
    "background": "var(--color-panel-solid)",
    "z_index": "10",
    "&:focus": {"left": "1em", "top": "0.5em"},
}

# Read by screen readers, not shown (for live regions that repeat what is visible elsewhere).
VISUALLY_HIDDEN = {
    "position": "absolute",
    "width": "1px",
    "height": "1px",
    "padding": "0",
    "margin": "-1px",
    "overflow": "hidden",
    "clip": "rect(0, 0, 0, 0)",
    "white_space": "nowrap",
    "border": "0",
}


def layout(*children: rx.Component, title: str = "") -> rx.Component:
    """`title`, when given, is the page's single h1; otherwise the page renders its own."""
    return rx.box(
        rx.el.a("Skip to content", href=f"#{MAIN_ID}", style=_SKIP_LINK_STYLE),
        rx.el.header(
            rx.hstack(
                rx.link(rx.text("Book a builder", size="5", weight="bold"), href=routes.HOME, underline="none",
                        high_contrast=True),
                rx.spacer(),
                padding_x=rx.breakpoints(initial="1em", sm="2em"),
                padding_y="1em",
                border_bottom="1px solid var(--gray-a5)",
                align="center",
            ),
        ),
        rx.el.main(
            rx.container(
                rx.vstack(
                    rx.heading(title, size="7", as_="h1") if title else rx.fragment(),
                    *children,
                    spacing="4",
                    width="100%",
                ),
                size="4",
                padding_x=rx.breakpoints(initial="1em", sm="2em"),
                padding_y="2em",
            ),
            id=MAIN_ID,
            tab_index=-1,
            style={"outline": "none"},
        ),
    )
