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


# Callouts by meaning, so a warning always looks like one: amber warns (something to do, nothing broke),
# red is an error (it failed, or it can't be done), green is success (done), blue informs.
def _callout(text: Any, *, icon: str, color_scheme: str, role: str, **props: Any) -> rx.Component:
    return rx.callout(text, icon=icon, color_scheme=color_scheme, role=role, width=props.pop("width", "100%"),
                      **props)


def warning_callout(text: Any, **props: Any) -> rx.Component:
    """Amber: needs attention (e.g. "Onboarding not finished")."""
    return _callout(text, icon=props.pop("icon", "triangle_alert"), color_scheme="amber",
                    role=props.pop("role", "status"), **props)


def error_callout(text: Any, **props: Any) -> rx.Component:
    """Red: something failed or was refused."""
    return _callout(text, icon=props.pop("icon", "circle_alert"), color_scheme="red",
                    role=props.pop("role", "alert"), **props)


def success_callout(text: Any, **props: Any) -> rx.Component:
    """Green: done."""
    return _callout(text, icon=props.pop("icon", "check"), color_scheme="green",
                    role=props.pop("role", "status"), **props)


def info_callout(text: Any, **props: Any) -> rx.Component:
    """Blue: for information only."""
    return _callout(text, icon=props.pop("icon", "info"), color_scheme="blue",
                    role=props.pop("role", "status"), **props)


def tone_callout(text: Any, tone: Any, **props: Any) -> rx.Component:
    """A callout whose meaning is known only in the browser: `tone` is a state var holding
    "success", "warning", "error" or "info"."""
    return rx.callout(
        text,
        icon=rx.match(tone, ("success", "check"), ("warning", "triangle_alert"), ("error", "circle_alert"), "info"),
        color_scheme=rx.match(tone, ("success", "green"), ("warning", "amber"), ("error", "red"), "blue"),
        role=rx.match(tone, ("error", "alert"), "status"),
        width=props.pop("width", "100%"),
        **props,
    )
