"""The month picker the booking page and the manage page's reschedule share (one component, two states).

A WAI-ARIA grid (https://www.w3.org/WAI/ARIA/apg/patterns/grid/): role=grid/row/columnheader/gridcell,
one Tab stop (roving tabindex: the chosen day, else the 1st of the month), arrow keys move a day or a week,
Home/End go to the week's ends, PageUp/PageDown change the month, Enter/Space pick. Days without times
stay in the grid (they can be reached and read) with aria-disabled; the chosen day has aria-selected.
The keys are handled by one small static script (assets/month_grid.js: CSP 'self', no inline code).

The state passed in has MonthPickerState's vars (booking_ui/state/month_picker.py): `month_title`, `weeks`
(list[list[CalendarDay]]), `selected_day`, `has_previous`, `has_next`, `month_empty`, `next_available_day`,
`next_available_label`, and its own `previous_month`, `next_month`, `choose_day`, `show_next_available`.
"""

from __future__ import annotations

import reflex as rx

WEEKDAYS = (("Mon", "Monday"), ("Tue", "Tuesday"), ("Wed", "Wednesday"), ("Thu", "Thursday"), ("Fri", "Friday"),
            ("Sat", "Saturday"), ("Sun", "Sunday"))
SCRIPT = "/month_grid.js"
_DAY_STYLE = {"width": "40px", "height": "40px", "padding": "0", "font_weight": "600"}
_OFF_STYLE = {"width": "40px", "height": "40px", "padding": "0", "border": "none", "background": "transparent",
              "color": "var(--gray-9)", "font": "inherit", "cursor": "default", "border_radius": "var(--radius-2)"}


def _day_cell(S, prefix: str):
    def cell(day) -> rx.Component:
        chosen = S.selected_day == day.day
        # One Tab stop: the chosen day; with none chosen, the month's first day.
        tab_index = rx.cond(S.selected_day != "", rx.cond(chosen, 0, -1), rx.cond(day.first, 0, -1))
        return rx.el.td(
            rx.cond(
                day.day == "",
                rx.fragment(),
                rx.cond(
                    day.bookable,
                    rx.button(
                        day.number,
                        on_click=S.choose_day(day.day),
                        variant=rx.cond(chosen, "solid", "soft"),
                        aria_label=day.aria,
                        aria_pressed=rx.cond(chosen, "true", "false"),
                        aria_current=rx.cond(day.today, "date", "false"),
                        tab_index=tab_index,
                        data_testid="calendar-day",
                        data_day=day.day,
                        data_grid_day=day.day,
                        type="button",
                        size="2",
                        style=_DAY_STYLE,
                    ),
                    rx.el.button(
                        day.number,
                        aria_label=day.aria,
                        aria_disabled="true",
                        aria_current=rx.cond(day.today, "date", "false"),
                        tab_index=tab_index,
                        data_testid="calendar-day-off",
                        data_grid_day=day.day,
                        type="button",
                        style=_OFF_STYLE,
                    ),
                ),
            ),
            role="gridcell",
            aria_selected=rx.cond(chosen & (day.day != ""), "true", "false"),
            aria_disabled=rx.cond(day.bookable, "false", "true"),
            style={"text_align": "center", "padding": "2px"},
        )

    return cell


def month_calendar(S, *, prefix: str = "") -> rx.Component:
    """The month grid with its previous/next buttons; `prefix` keeps ids unique if a page had two."""
    title_id = f"{prefix}month-title"
    return rx.box(
        rx.script(src=SCRIPT),
        rx.hstack(
            rx.icon_button(rx.icon("chevron-left", aria_hidden="true"), on_click=S.previous_month,
                           disabled=~S.has_previous, aria_label="Previous month", variant="soft", type="button",
                           data_testid="previous-month", data_grid_previous=""),
            rx.heading(S.month_title, as_="h3", size="3", id=title_id, aria_live="polite",
                       data_testid="month-title"),
            rx.icon_button(rx.icon("chevron-right", aria_hidden="true"), on_click=S.next_month,
                           disabled=~S.has_next, aria_label="Next month", variant="soft", type="button",
                           data_testid="next-month", data_grid_next=""),
            justify="between",
            align="center",
            width="100%",
        ),
        rx.el.table(
            rx.el.thead(rx.el.tr(*[
                rx.el.th(rx.el.abbr(short, title=full), scope="col", role="columnheader",
                         style={"font_size": "0.8em", "font_weight": "500", "padding": "4px 0"})
                for short, full in WEEKDAYS
            ], role="row")),
            rx.el.tbody(rx.foreach(S.weeks, lambda week: rx.el.tr(rx.foreach(week, _day_cell(S, prefix)),
                                                                   role="row"))),
            role="grid",
            aria_labelledby=title_id,
            data_testid="month-grid",
            style={"border_collapse": "collapse", "margin_top": "0.5em"},
        ),
        rx.cond(
            S.month_empty,
            rx.callout.root(
                rx.callout.text(
                    "No times this month",
                    rx.cond(S.next_available_label != "",
                            rx.text.span(" — next available: ", rx.text.strong(S.next_available_label)),
                            rx.text.span(" — and none later within the booking window.")),
                ),
                rx.cond(S.next_available_day != "",
                        rx.button("Show the next available day", on_click=S.show_next_available, size="2",
                                  variant="soft", data_testid="next-available", type="button"),
                        rx.fragment()),
                color_scheme="gray",
                margin_top="0.75em",
                data_testid="month-empty",
            ),
            rx.fragment(),
        ),
        data_testid="calendar",
        flex_shrink="0",
    )
