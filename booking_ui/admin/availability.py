"""Availability (routes.ADMIN_AVAILABILITY): time zone, weekly hours with several windows a day,
date overrides, booking rules, a preview of the next 7 days' slots, and a warning about bookings
outside new hours. The form lives in state as typed; `booking.availability_admin` validates and saves.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, timedelta

import reflex as rx

from booking.accounts import NotFound, load_owned
from booking.client import DaySlots, slots_by_day
from booking.core import Builder, SessionType, format_time_range, session_scope, utcnow
from booking.scheduling import SessionTypeNotFound, load_zone
from booking.workspace import (
    COMMON_ZONES,
    MAX_OVERRIDE_ROWS,
    MAX_WINDOWS_PER_DAY,
    POLICY_FIELD_NAMES,
    POLICY_FIELDS,
    WEEKDAY_NAMES,
    DayDraft,
    OverrideDraft,
    ScheduleDraft,
    WindowDraft,
    builder_options,
    builder_today,
    draft_from_schedule,
    error_summary,
    load_availability,
    preview_session_types,
    save_availability,
    validate,
)
from booking_ui import deps, routes
from booking_ui.admin.base import AdminState, admin_event, current_actor
from booking_ui.admin.layout import admin_layout

TITLE = "Availability"
PREVIEW_DAYS = 7
_FIELDS = ("time_zone", *POLICY_FIELD_NAMES, "overrides")


@dataclass
class Choice:
    value: str
    label: str


@dataclass
class OutsideRow:
    when: str
    client: str
    session_type: str
    status: str


def _index(weekday: str) -> int | None:
    text = str(weekday).strip()
    return int(text) if text.isdigit() and int(text) < 7 else None


class AvailabilityState(AdminState):
    builder_choice: str = ""  # a platform admin's chosen builder (re-checked with load_owned every time)
    builder_choices: list[Choice] = []
    editing_builder: str = ""
    time_zone: str = ""
    days: list[DayDraft] = []
    overrides: list[OverrideDraft] = []
    policy: dict[str, str] = {}
    field_errors: dict[str, str] = {}
    errors: list[str] = []
    saved_message: str = ""
    outside_hours: list[OutsideRow] = []
    outside_hours_more: int = 0
    preview_choices: list[Choice] = []
    preview_type_id: str = ""
    preview_days: list[DaySlots] = []
    preview_zone: str = ""
    no_builder: bool = False

    @rx.var
    def zone_choices(self) -> list[str]:
        zones = list(COMMON_ZONES)
        if self.time_zone and self.time_zone not in zones:
            try:
                load_zone(self.time_zone)
                zones.insert(0, self.time_zone)
            except ValueError:
                pass
        return zones

    # --- loading -------------------------------------------------------------------------------

    def _builder(self, session) -> Builder:
        """The builder being edited: a builder's own, always; an admin's choice, through load_owned."""
        actor = current_actor()
        chosen = self.builder_choice if actor.is_admin else actor.builder_id
        return load_owned(session=session, actor=actor, model=Builder, object_id=chosen)

    def _show_draft(self, draft: ScheduleDraft) -> None:
        self.time_zone = draft.time_zone
        self.days = draft.days
        self.overrides = draft.overrides
        self.policy = {name: draft.policy.get(name, "") for name in POLICY_FIELD_NAMES}
        self.field_errors = {name: draft.field_errors.get(name, "") for name in _FIELDS}

    def _draft(self) -> ScheduleDraft:
        return ScheduleDraft(time_zone=self.time_zone, days=copy.deepcopy(list(self.days)),
                                   overrides=copy.deepcopy(list(self.overrides)), policy=dict(self.policy))

    def _reload(self, session, builder: Builder) -> None:
        """The saved schedule into the form, and the preview."""
        self.editing_builder = builder.name
        schedule = load_availability(session=session, builder_id=builder.id)
        self._show_draft(draft_from_schedule(schedule, today=builder_today(builder, utcnow())))
        self.errors = []
        types = preview_session_types(session=session, builder_id=builder.id)
        self.preview_choices = [Choice(value=str(t.id), label=t.name) for t in types]
        if self.preview_type_id not in {c.value for c in self.preview_choices}:
            self.preview_type_id = self.preview_choices[0].value if self.preview_choices else ""
        self._refresh_preview(session, builder)

    def _refresh_preview(self, session, builder: Builder) -> None:
        """The next days' slots exactly as a client in the builder's zone sees them (saved hours)."""
        self.preview_days = []
        self.preview_zone = builder.time_zone
        if not self.preview_type_id:
            return
        try:
            self.preview_days = slots_by_day(session=session, session_type_id=int(self.preview_type_id),
                                             viewer_time_zone=builder.time_zone, now=utcnow(), days=PREVIEW_DAYS,
                                             locale=deps.browser_language(self))
        except SessionTypeNotFound:
            self.preview_type_id = ""

    @admin_event
    def load(self):
        self.saved_message = ""
        self.outside_hours, self.outside_hours_more = [], 0
        actor = current_actor()
        with session_scope(deps.engine()) as session:
            if actor.is_admin:
                options = builder_options(session=session)
                self.builder_choices = [Choice(value=str(o.id), label=o.name) for o in options]
                if self.builder_choice not in {c.value for c in self.builder_choices}:
                    self.builder_choice = self.builder_choices[0].value if self.builder_choices else ""
                self.no_builder = not self.builder_choices
                if self.no_builder:
                    return None
            self._reload(session, self._builder(session))
        return None

    @admin_event
    def set_builder(self, value: str):
        """A platform admin edits another builder's hours."""
        actor = current_actor()
        actor.require_admin()
        with session_scope(deps.engine()) as session:
            builder = load_owned(session=session, actor=actor, model=Builder, object_id=value)
            self.builder_choice = str(builder.id)
            self.saved_message = ""
            self.outside_hours, self.outside_hours_more = [], 0
            self._reload(session, builder)

    # --- editing the form (no database) ---------------------------------------------------------

    @admin_event
    def set_field(self, field: str, value: str):
        """The time zone or one of the booking rules."""
        value = str(value)[:64]
        self.saved_message = ""
        if field == "time_zone":
            self.time_zone = value.strip()
        elif field in POLICY_FIELD_NAMES:
            self.policy = {**self.policy, field: value.strip()}

    def _edit_day(self, weekday: str, change) -> None:
        n = _index(weekday)
        if n is None or n >= len(self.days):
            return
        days = copy.deepcopy(list(self.days))
        change(days[n])
        self.days = days
        self.saved_message = ""

    @admin_event
    def add_window(self, weekday: str):
        def change(day: DayDraft) -> None:
            if len(day.windows) >= MAX_WINDOWS_PER_DAY:
                day.error = f"At most {MAX_WINDOWS_PER_DAY} windows a day."
                return
            last = day.windows[-1].end if day.windows else ""
            start = last if last and last != "24:00" else "09:00"
            day.windows.append(WindowDraft(start=start, end="17:00" if start == "09:00" else ""))
        self._edit_day(weekday, change)

    @admin_event
    def remove_window(self, weekday: str, index: int):
        def change(day: DayDraft) -> None:
            if isinstance(index, int) and 0 <= index < len(day.windows):
                del day.windows[index]
                day.error = ""
        self._edit_day(weekday, change)

    @admin_event
    def set_window_start(self, weekday: str, index: int, value: str):
        def change(day: DayDraft) -> None:
            if isinstance(index, int) and 0 <= index < len(day.windows):
                day.windows[index].start = str(value)[:8]
        self._edit_day(weekday, change)

    @admin_event
    def set_window_end(self, weekday: str, index: int, value: str):
        def change(day: DayDraft) -> None:
            if isinstance(index, int) and 0 <= index < len(day.windows):
                day.windows[index].end = str(value)[:8]
        self._edit_day(weekday, change)

    def _edit_override(self, index: int, change) -> None:
        if not isinstance(index, int) or not 0 <= index < len(self.overrides):
            return
        rows = copy.deepcopy(list(self.overrides))
        change(rows, index)
        self.overrides = rows
        self.saved_message = ""

    @admin_event
    def add_override(self):
        if len(self.overrides) >= MAX_OVERRIDE_ROWS:
            self.field_errors = {**self.field_errors, "overrides": f"At most {MAX_OVERRIDE_ROWS} rows."}
            return
        try:
            today = utcnow().astimezone(load_zone(self.time_zone)).date()
        except ValueError:
            today = utcnow().date()
        tomorrow = today + timedelta(days=1)
        self.overrides = [*copy.deepcopy(list(self.overrides)), OverrideDraft(day=tomorrow.isoformat())]
        self.saved_message = ""

    @admin_event
    def add_override_hours(self, index: int):
        """Another window of hours on the same date, right below that row."""
        def change(rows: list[OverrideDraft], i: int) -> None:
            if len(rows) < MAX_OVERRIDE_ROWS:
                rows.insert(i + 1, OverrideDraft(day=rows[i].day, closed=False, start=rows[i].end, end=""))
        self._edit_override(index, change)

    @admin_event
    def remove_override(self, index: int):
        self._edit_override(index, lambda rows, i: rows.pop(i))

    @admin_event
    def set_override_day(self, index: int, value: str):
        def change(rows, i):
            rows[i].day = str(value)[:10]
        self._edit_override(index, change)

    @admin_event
    def set_override_closed(self, index: int, checked: bool):
        def change(rows, i):
            rows[i].closed = bool(checked)
        self._edit_override(index, change)

    @admin_event
    def set_override_start(self, index: int, value: str):
        def change(rows, i):
            rows[i].start = str(value)[:8]
        self._edit_override(index, change)

    @admin_event
    def set_override_end(self, index: int, value: str):
        def change(rows, i):
            rows[i].end = str(value)[:8]
        self._edit_override(index, change)

    @admin_event
    def drop_past_overrides(self):
        """Forget override rows whose date has passed (they no longer change anything)."""
        with session_scope(deps.engine()) as session:
            today = builder_today(self._builder(session), utcnow())
        kept = []
        for row in copy.deepcopy(list(self.overrides)):
            try:
                if date.fromisoformat(row.day.strip()) < today:
                    continue
            except ValueError:
                pass
            kept.append(row)
        self.overrides = kept

    # --- saving and the preview -----------------------------------------------------------------

    @admin_event
    def save(self):
        """Validate everything; on any error show it inline and write nothing."""
        actor = current_actor()
        self.saved_message = ""
        self.outside_hours, self.outside_hours_more = [], 0
        now = utcnow()
        with session_scope(deps.engine()) as session:
            builder = self._builder(session)
            if len(self.days) != len(WEEKDAY_NAMES):  # the form was never loaded: nothing to save
                self._reload(session, builder)
                return None
            try:
                zone = load_zone(self.time_zone.strip())
            except ValueError:
                zone = load_zone(builder.time_zone)
            checked = validate(self._draft(), today=now.astimezone(zone).date())
            if not checked.ok:
                self._show_draft(checked.draft)
                self.errors = error_summary(checked.draft)
                return None
            outcome = save_availability(session=session, actor=actor, builder_id=builder.id,
                                              schedule=checked.schedule, now=now)
            session.flush()
            self._reload(session, builder)
        self.saved_message = "Saved. Clients see the new hours now."
        zone = load_zone(outcome.schedule.time_zone)
        self.outside_hours = [
            OutsideRow(when=_when(b.start.astimezone(zone), b.end.astimezone(zone), deps.browser_language(self)),
                       client=b.client_name,
                       session_type=b.session_type_name, status=b.status)
            for b in outcome.outside_hours
        ]
        self.outside_hours_more = outcome.outside_hours_total - len(outcome.outside_hours)
        return None

    @admin_event
    def set_preview_type(self, session_type_id: str):
        actor = current_actor()
        with session_scope(deps.engine()) as session:
            builder = self._builder(session)
            session_type = load_owned(session=session, actor=actor, model=SessionType,
                                            object_id=session_type_id)
            if session_type.builder_id != builder.id or not session_type.active:
                raise NotFound("SessionType")
            self.preview_type_id = str(session_type.id)
            self._refresh_preview(session, builder)


def _when(start, end, locale: str = "") -> str:
    """'Tue 5 Jan 2027, 14:00–15:00' (start and end already in the builder's zone)."""
    return format_time_range(start, end, zone=start.tzinfo, locale=locale, date_style="short_year", abbreviation=False)


# --------------------------------------------------------------------------------------------------
# Page
# --------------------------------------------------------------------------------------------------

S = AvailabilityState


def _error_text(message) -> rx.Component:
    return rx.cond(message != "", rx.text(message, color_scheme="red", size="2", role="alert"))


def _clock_input(input_id, aria_label, value, on_change) -> rx.Component:
    return rx.input(id=input_id, value=value, on_change=on_change, placeholder="HH:MM", max_length=5,
                    aria_label=aria_label, width="6em")


def _window_row(day, window, i) -> rx.Component:
    weekday = day.weekday.to_string()
    base = "window-" + weekday + "-" + i.to_string()
    return rx.vstack(
        rx.hstack(
            rx.el.label("From", html_for=base + "-start", class_name="rt-Text rt-r-size-2"),
            _clock_input(base + "-start", day.name + " window " + (i + 1).to_string() + " start", window.start,
                         lambda v: S.set_window_start(weekday, i, v)),
            rx.el.label("to", html_for=base + "-end", class_name="rt-Text rt-r-size-2"),
            _clock_input(base + "-end", day.name + " window " + (i + 1).to_string() + " end", window.end,
                         lambda v: S.set_window_end(weekday, i, v)),
            rx.icon_button(rx.icon("x", size=14), variant="ghost", color_scheme="gray", size="1",
                           aria_label="Remove " + day.name + " window " + (i + 1).to_string(),
                           on_click=S.remove_window(weekday, i)),
            align="center",
            spacing="2",
        ),
        _error_text(window.error),
        spacing="1",
    )


def _weekday_row(day) -> rx.Component:
    weekday = day.weekday.to_string()
    return rx.hstack(
        rx.text(day.name, weight="bold", width="7em", padding_top="0.3em"),
        rx.vstack(
            rx.cond(day.windows.length() == 0, rx.text("Closed", color_scheme="gray", size="2")),
            rx.foreach(day.windows, lambda window, i: _window_row(day, window, i)),
            _error_text(day.error),
            rx.button(rx.icon("plus", size=14), "Add window", variant="soft", size="1",
                      on_click=S.add_window(weekday), aria_label="Add a window on " + day.name),
            spacing="2",
            align="start",
        ),
        align="start",
        spacing="4",
        padding_y="0.5em",
        border_bottom="1px solid var(--gray-a4)",
        width="100%",
        data_testid="weekday-" + weekday,
    )


def _override_row(row, i) -> rx.Component:
    base = "override-" + i.to_string()
    number = (i + 1).to_string()
    return rx.vstack(
        rx.hstack(
            rx.el.label("Date", html_for=base + "-day", class_name="rt-Text rt-r-size-2"),
            rx.input(id=base + "-day", type="date", value=row.day, on_change=lambda v: S.set_override_day(i, v),
                     aria_label="Date override " + number + " date", width="11em"),
            rx.checkbox("Closed", checked=row.closed, on_change=lambda c: S.set_override_closed(i, c),
                        aria_label="Date override " + number + " closed all day"),
            rx.cond(
                row.closed,
                rx.fragment(),
                rx.hstack(
                    rx.el.label("From", html_for=base + "-start", class_name="rt-Text rt-r-size-2"),
                    _clock_input(base + "-start", "Date override " + number + " start", row.start,
                                 lambda v: S.set_override_start(i, v)),
                    rx.el.label("to", html_for=base + "-end", class_name="rt-Text rt-r-size-2"),
                    _clock_input(base + "-end", "Date override " + number + " end", row.end,
                                 lambda v: S.set_override_end(i, v)),
                    rx.button("More hours this date", variant="ghost", size="1", on_click=S.add_override_hours(i)),
                    align="center",
                    spacing="2",
                ),
            ),
            rx.icon_button(rx.icon("x", size=14), variant="ghost", color_scheme="gray", size="1",
                           aria_label="Remove date override " + number, on_click=S.remove_override(i)),
            align="center",
            spacing="3",
            wrap="wrap",
        ),
        _error_text(row.error),
        spacing="1",
        data_testid="override-row",
    )


def _policy_input(name: str, label: str, lowest: int, highest: int) -> rx.Component:
    input_id = "policy-" + name.replace("_", "-")
    return rx.vstack(
        rx.el.label(label, html_for=input_id, class_name="rt-Text rt-r-size-2 rt-r-weight-medium"),
        rx.input(id=input_id, value=S.policy[name], on_change=lambda v: S.set_field(name, v),
                 input_mode="numeric", width="8em"),
        rx.text(f"{lowest}–{highest}", size="1", color_scheme="gray"),
        _error_text(S.field_errors[name]),
        spacing="1",
        align="start",
    )


def _builder_select() -> rx.Component:
    return rx.cond(
        AdminState.is_platform_admin,
        rx.hstack(
            rx.el.label("Builder", html_for="availability-builder", class_name="rt-Text rt-r-weight-medium"),
            rx.el.select(
                rx.foreach(S.builder_choices, lambda c: rx.el.option(c.label, value=c.value)),
                id="availability-builder", value=S.builder_choice, on_change=S.set_builder,
            ),
            align="center",
            spacing="3",
        ),
    )


def _zone_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Time zone", size="4", as_="h2"),
            rx.text("Your hours are read in this zone; clients see times in their own.", size="2",
                    color_scheme="gray"),
            rx.hstack(
                rx.el.label("Common zones", html_for="time-zone-select", class_name="rt-Text rt-r-size-2"),
                rx.el.select(
                    rx.el.option("Choose…", value="", disabled=True),
                    rx.foreach(S.zone_choices, lambda z: rx.el.option(z, value=z)),
                    id="time-zone-select", value=S.time_zone, on_change=lambda v: S.set_field("time_zone", v),
                ),
                rx.el.label("or any IANA zone", html_for="time-zone", class_name="rt-Text rt-r-size-2"),
                rx.input(id="time-zone", value=S.time_zone, on_change=lambda v: S.set_field("time_zone", v),
                         placeholder="Area/City", width="16em"),
                align="center",
                spacing="3",
                wrap="wrap",
            ),
            _error_text(S.field_errors["time_zone"]),
            spacing="2",
            align="start",
            width="100%",
        ),
        width="100%",
    )


def _weekly_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Weekly hours", size="4", as_="h2"),
            rx.text("Several windows a day are fine (e.g. 09:00–12:00 and 13:00–17:00); 24:00 means midnight.",
                    size="2", color_scheme="gray"),
            rx.foreach(S.days, _weekday_row),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def _overrides_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Date overrides", size="4", as_="h2"),
            rx.text("A date that is closed, or has other hours than usual (one row per window).", size="2",
                    color_scheme="gray"),
            rx.cond(S.overrides.length() == 0, rx.text("No date overrides.", size="2", color_scheme="gray")),
            rx.foreach(S.overrides, _override_row),
            _error_text(S.field_errors["overrides"]),
            rx.hstack(
                rx.button(rx.icon("plus", size=14), "Add date override", variant="soft", size="2",
                          on_click=S.add_override),
                rx.button("Remove past dates", variant="ghost", size="2", on_click=S.drop_past_overrides),
                spacing="3",
            ),
            spacing="3",
            width="100%",
            align="start",
        ),
        width="100%",
    )


def _policy_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Booking rules", size="4", as_="h2"),
            rx.flex(*[_policy_input(*spec) for spec in POLICY_FIELDS], spacing="5", wrap="wrap"),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _outside_hours_warning() -> rx.Component:
    return rx.cond(
        S.outside_hours.length() > 0,
        rx.callout.root(
            rx.callout.icon(rx.icon("triangle_alert")),
            rx.vstack(
                rx.text("These bookings are outside your new hours — they are kept; contact the client if needed.",
                        weight="bold"),
                rx.el.ul(
                    rx.foreach(S.outside_hours, lambda b: rx.el.li(
                        rx.text(b.when, " · ", b.session_type, " · ", b.client, " ",
                                rx.badge(b.status, color_scheme=rx.cond(b.status == "confirmed", "green", "amber"))),
                    )),
                    style={"paddingLeft": "1.2em"},
                ),
                rx.cond(S.outside_hours_more > 0, rx.text("…and ", S.outside_hours_more.to_string(), " more.")),
                spacing="2",
            ),
            color_scheme="amber",
            role="status",
            width="100%",
            data_testid="outside-hours-warning",
        ),
    )


def _preview_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Preview: the next 7 days", size="4", as_="h2"),
            rx.text("Open slots as a client sees them with the saved hours (shown in ", S.preview_zone, ").",
                    size="2", color_scheme="gray"),
            rx.cond(
                S.preview_choices.length() == 0,
                rx.text("Create a session type to see a preview.", size="2"),
                rx.vstack(
                    rx.hstack(
                        rx.el.label("Session type", html_for="preview-type", class_name="rt-Text rt-r-size-2"),
                        rx.el.select(
                            rx.foreach(S.preview_choices, lambda c: rx.el.option(c.label, value=c.value)),
                            id="preview-type", value=S.preview_type_id, on_change=S.set_preview_type,
                        ),
                        align="center",
                        spacing="3",
                    ),
                    rx.cond(S.preview_days.length() == 0,
                            rx.text("No open slots in the next 7 days.", size="2", data_testid="preview-empty")),
                    rx.foreach(S.preview_days, lambda day: rx.vstack(
                        rx.text(day.label, weight="bold", size="2"),
                        rx.flex(rx.foreach(day.slots, lambda slot: rx.badge(slot.label, variant="outline", size="2",
                                                                              data_testid="preview-slot")),
                                wrap="wrap", spacing="2"),
                        spacing="1",
                        data_testid="preview-day",
                    )),
                    spacing="3",
                    width="100%",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _form() -> rx.Component:
    return rx.vstack(
        rx.cond(S.editing_builder != "", rx.text("Hours of ", rx.text.strong(S.editing_builder), size="2")),
        _zone_card(),
        _weekly_card(),
        _overrides_card(),
        _policy_card(),
        rx.cond(
            S.errors.length() > 0,
            rx.callout.root(
                rx.callout.icon(rx.icon("circle_alert")),
                rx.vstack(
                    rx.text("Nothing was saved. Please fix:", weight="bold"),
                    rx.el.ul(rx.foreach(S.errors, lambda e: rx.el.li(e)), style={"paddingLeft": "1.2em"}),
                    spacing="1",
                ),
                color_scheme="red",
                role="alert",
                width="100%",
                data_testid="availability-errors",
            ),
        ),
        rx.hstack(
            rx.button("Save availability", size="3", on_click=S.save, data_testid="save-availability"),
            rx.cond(S.saved_message != "", rx.text(S.saved_message, color_scheme="green", role="status",
                                                   data_testid="availability-saved")),
            align="center",
            spacing="4",
        ),
        _outside_hours_warning(),
        _preview_card(),
        spacing="4",
        width="100%",
    )


def page() -> rx.Component:
    return admin_layout(
        _builder_select(),
        rx.cond(S.no_builder, rx.text("There are no builders yet."), _form()),
        title=TITLE,
    )


def register(app: rx.App) -> None:
    app.add_page(page, route=routes.ADMIN_AVAILABILITY, title=TITLE + " · Workspace", on_load=[AdminState.guard, AvailabilityState.load])
