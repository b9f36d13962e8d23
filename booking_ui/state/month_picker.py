"""The month picker's state, shared by every page that shows booking_ui/components/month_calendar.py
(the booking page, the wallet, the manage page's reschedule, the builder's reschedule).

A Reflex state mixin: each state keeps its own handlers (their guards differ) and fetches its own
MonthView; this holds the vars the component reads and turns a MonthView into them.
"""

from __future__ import annotations

import reflex as rx

from booking.client import CalendarDay, MonthView, SlotOption, day_times


class MonthPickerState(rx.State, mixin=True):
    view_year: int = 0
    view_month: int = 0
    month_title: str = ""
    weeks: list[list[CalendarDay]] = []
    has_previous: bool = False
    has_next: bool = False
    month_empty: bool = False
    next_available_day: str = ""
    next_available_label: str = ""
    selected_day: str = ""
    selected_day_label: str = ""
    times: list[SlotOption] = []
    _month: MonthView | None = None
    _day_locale: str = ""  # the chosen day's label is written in the language its month was

    def _show_month(self, view: MonthView | None, *, locale: str) -> None:
        """Show `view` (None: nothing to pick), keeping the chosen day if the month has it. `locale`: the one
        `view` was made in, so its days are labelled in the same language."""
        self._month, self._day_locale = view, locale
        if view is None:
            self.weeks, self.times = [], []
            return
        self.view_year, self.view_month, self.month_title = view.year, view.month, view.title
        self.weeks = view.weeks
        self.has_previous, self.has_next = view.has_previous, view.has_next
        self.next_available_day, self.next_available_label = view.next_available_day, view.next_available_label
        self.month_empty = not view.times
        self._show_day(self.selected_day)

    def _show_day(self, day: str) -> None:
        """The times of `day`, or of the month's first day with times when it has none."""
        chosen = day_times(self._month, day, locale=self._day_locale) if self._month else None
        self.selected_day = chosen.day if chosen else ""
        self.selected_day_label = chosen.label if chosen else ""
        self.times = chosen.times if chosen else []

    def _month_before(self) -> tuple[int, int]:
        return (self.view_year, self.view_month - 1) if self.view_month > 1 else (self.view_year - 1, 12)

    def _month_after(self) -> tuple[int, int]:
        return (self.view_year, self.view_month + 1) if self.view_month < 12 else (self.view_year + 1, 1)
