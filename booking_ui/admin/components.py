"""Small pieces every workspace list shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx


def pager(page: Any, has_next: Any, on_page: Callable[[Any], Any], *summary: Any, label: str = "") -> rx.Component:
    """Previous / "Page n" + `summary` / Next. `on_page` is the state's `set_page`-style handler."""
    suffix = f" of {label}" if label else ""
    return rx.hstack(
        rx.button("Previous", variant="soft", size="1", disabled=page <= 1, on_click=on_page(page - 1),
                  aria_label="Previous page" + suffix),
        rx.text("Page ", page, *summary, size="2"),
        rx.button("Next", variant="soft", size="1", disabled=~has_next, on_click=on_page(page + 1),
                  aria_label="Next page" + suffix),
        align="center",
        spacing="3",
    )
