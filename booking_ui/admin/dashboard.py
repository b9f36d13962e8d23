"""Dashboard (routes.ADMIN): today's and upcoming sessions, sales (bookings, packages, membership payments)
and revenue per week per currency (charts), failed payments of the last 7 days, and the builder's public page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import reflex as rx

from booking.accounts import builder_scope, load_owned
from booking.core import (
    Builder,
    format_date,
    format_datetime,
    format_money,
    format_time_range,
    session_scope,
    to_major_units,
    utcnow,
)
from booking.scheduling import load_zone
from booking.workspace import (
    UPCOMING_LIMIT,
    CurrencySeries,
    UpcomingSession,
    builder_options,
    dashboard_failed_payments,
    weekly_figures,
)
from booking.workspace import upcoming_sessions as dashboard_upcoming_sessions
from booking_ui import deps, routes
from booking_ui.admin.base import AdminState, admin_event, current_actor
from booking_ui.admin.layout import admin_layout

TITLE = "Dashboard"
ALL_BUILDERS = "all"
_COLOURS = ("var(--indigo-9)", "var(--teal-9)", "var(--amber-9)", "var(--plum-9)")


@dataclass
class Choice:
    value: str
    label: str


@dataclass
class SessionRow:
    when: str
    session_type: str
    client: str
    builder: str


@dataclass
class ChartSeries:
    currency: str  # "GBP"
    totals: str  # "12 weeks: 34 bookings, 2 packages, 5 membership payments, £1,700.00"
    # {"week": "6 Oct", "bookings": 3, "packages": 1, "memberships": 0, "revenue": 150.0 (major units)}
    points: list[dict[str, Any]]


@dataclass
class FailedRow:
    when: str
    kind: str  # "Booking" / "Membership"
    subject: str  # the session type, or the membership plan
    client: str
    amount: str
    reason: str


def _session_row(s: UpcomingSession, with_zone: bool, locale: str = "") -> SessionRow:
    start, end = s.local_start, s.local_end
    zone = f" ({s.time_zone})" if with_zone else ""
    when = format_time_range(start, end, zone=start.tzinfo, locale=locale, date_style="short", abbreviation=False)
    return SessionRow(when=f"{when}{zone}",
                      session_type=s.session_type_name, client=s.client_name, builder=s.builder_name)


def _chart(series: CurrencySeries, locale: str = "") -> ChartSeries:
    code = series.currency
    return ChartSeries(
        currency=code.upper(),
        totals=(f"{len(series.weeks)} weeks: {series.total_sales.in_words()}, "
                f"{format_money(series.total_revenue, code, locale=locale)}"),
        points=[{"week": format_date(w.week_start, locale=locale, style="day_month"), "bookings": w.sales.sessions,
                 "packages": w.sales.packages, "memberships": w.sales.memberships,
                 "revenue": float(to_major_units(w.revenue, code))} for w in series.weeks],
    )


class DashboardState(AdminState):
    builder_choice: str = ALL_BUILDERS  # a platform admin's; builders always see their own
    builder_choices: list[Choice] = []
    scope_note: str = ""
    public_page: str = ""
    today_sessions: list[SessionRow] = []
    upcoming_sessions: list[SessionRow] = []
    sessions_truncated: bool = False
    charts: list[ChartSeries] = []
    failed_count: int = 0
    failed: list[FailedRow] = []

    def _scope(self, session) -> tuple[Builder | None, str]:
        """Whose figures, and the zone their days and weeks are counted in."""
        actor = current_actor()
        if not actor.is_admin:
            builder = load_owned(session=session, actor=actor, model=Builder, object_id=actor.builder_id)
            return builder, builder.time_zone
        if builder_scope(actor, self.builder_choice) is None:
            return None, "UTC"
        builder = load_owned(session=session, actor=actor, model=Builder, object_id=self.builder_choice)
        return builder, builder.time_zone

    def _refresh(self) -> None:
        now = utcnow()
        actor = current_actor()
        with session_scope(deps.engine()) as session:
            if actor.is_admin:
                self.builder_choices = [Choice(value=ALL_BUILDERS, label="All builders")] + [
                    Choice(value=str(o.id), label=o.name) for o in builder_options(session=session)]
            builder, zone = self._scope(session)
            builder_id = builder.id if builder else None
            sessions = dashboard_upcoming_sessions(session=session, builder_id=builder_id, zone_name=zone, now=now)
            series = weekly_figures(session=session, builder_id=builder_id, zone_name=zone, now=now)
            failed = dashboard_failed_payments(session=session, builder_id=builder_id, now=now)
        today = now.astimezone(load_zone(zone)).date()
        with_zone = builder is None
        locale = deps.browser_language(self)
        self.today_sessions = [_session_row(s, with_zone, locale) for s in sessions
                               if s.start.astimezone(load_zone(zone)).date() == today]
        self.upcoming_sessions = [_session_row(s, with_zone, locale) for s in sessions
                                  if s.start.astimezone(load_zone(zone)).date() != today]
        self.sessions_truncated = len(sessions) >= UPCOMING_LIMIT
        self.charts = [_chart(s, locale) for s in series]
        self.failed_count = failed.count
        self.failed = [
            FailedRow(when=format_datetime(f.failed_at, zone=load_zone(f.time_zone), locale=locale,
                                           date_style="short", abbreviation=False),
                      kind=f.kind.label, subject=f.subject, client=f.client_name,
                      amount=format_money(f.amount, f.currency, locale=locale),
                      reason=f.reason)
            for f in failed.recent
        ]
        self.public_page = routes.builder_page(builder.slug) if builder else ""
        self.scope_note = (f"Times and weeks in {zone}." if builder
                           else "All builders: each session in its builder's zone; days and weeks in UTC.")

    @admin_event
    def load(self):
        self._refresh()

    @admin_event
    def set_builder(self, value: str):
        """A platform admin narrows the dashboard to one builder, or "all"."""
        actor = current_actor()
        actor.require_admin()
        if value != ALL_BUILDERS:
            with session_scope(deps.engine()) as session:
                value = str(load_owned(session=session, actor=actor, model=Builder, object_id=value).id)
        self.builder_choice = value
        self._refresh()


# --------------------------------------------------------------------------------------------------
# Page
# --------------------------------------------------------------------------------------------------

S = DashboardState


def _session_list(rows, empty: str, show_builder) -> rx.Component:
    return rx.cond(
        rows.length() == 0,
        rx.text(empty, size="2", color_scheme="gray"),
        rx.el.ul(
            rx.foreach(rows, lambda r: rx.el.li(
                rx.text(rx.text.strong(r.when), " · ", r.session_type, " · ", r.client,
                        rx.cond(show_builder, rx.text.span(" · ", r.builder, color="var(--gray-11)")), size="2"),
                data_testid="dashboard-session",
            )),
            style={"paddingLeft": "1.2em", "margin": 0},
        ),
    )


def _sessions_card() -> rx.Component:
    show_builder = AdminState.is_platform_admin & (S.builder_choice == ALL_BUILDERS)
    return rx.card(
        rx.vstack(
            rx.heading("Today", size="4", as_="h2"),
            _session_list(S.today_sessions, "No sessions today.", show_builder),
            rx.heading("Next 7 days", size="4", as_="h2"),
            _session_list(S.upcoming_sessions, "No sessions in the next 7 days.", show_builder),
            rx.cond(S.sessions_truncated,
                    rx.link(f"Showing the first {UPCOMING_LIMIT}; all bookings", href=routes.ADMIN_BOOKINGS,
                            size="2")),
            rx.text(S.scope_note, size="1", color_scheme="gray"),
            spacing="2",
            width="100%",
            data_testid="dashboard-upcoming",
        ),
        width="100%",
    )


def _chart_card(series) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(series.currency, size="3", as_="h3"),
            rx.recharts.bar_chart(
                rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
                rx.recharts.x_axis(data_key="week"),
                rx.recharts.y_axis(y_axis_id="revenue", orientation="left"),
                rx.recharts.y_axis(y_axis_id="bookings", orientation="right", allow_decimals=False),
                rx.recharts.graphing_tooltip(),
                rx.recharts.legend(),
                rx.recharts.bar(data_key="revenue", name="Revenue (" + series.currency + ")",
                                y_axis_id="revenue", fill=_COLOURS[0]),
                rx.recharts.bar(data_key="bookings", name="Bookings", y_axis_id="bookings", stack_id="sales",
                                fill=_COLOURS[1]),
                rx.recharts.bar(data_key="packages", name="Packages", y_axis_id="bookings", stack_id="sales",
                                fill=_COLOURS[2]),
                rx.recharts.bar(data_key="memberships", name="Membership payments", y_axis_id="bookings",
                                stack_id="sales", fill=_COLOURS[3]),
                data=series.points,
                width="100%",
                height=260,
            ),
            rx.text(series.totals, size="2", data_testid="dashboard-chart-totals"),
            spacing="2",
            width="100%",
        ),
        width="100%",
        data_testid="dashboard-chart",
    )


def _charts_section() -> rx.Component:
    return rx.vstack(
        rx.heading("Sales and revenue per week", size="4", as_="h2"),
        rx.text("The last 12 weeks, by the week each booking, package or membership payment was paid; revenue "
                "net of refunds.", size="2", color_scheme="gray"),
        rx.cond(S.charts.length() == 0, rx.text("No sales in the last 12 weeks.", size="2")),
        rx.foreach(S.charts, _chart_card),
        spacing="3",
        width="100%",
    )


def _failed_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Failed payments, last 7 days", size="4", as_="h2"),
                rx.badge(S.failed_count.to_string(), color_scheme=rx.cond(S.failed_count > 0, "red", "gray"),
                         size="2", data_testid="failed-payments-count"),
                align="center",
                spacing="3",
            ),
            rx.cond(
                S.failed_count == 0,
                rx.text("None.", size="2", color_scheme="gray"),
                rx.el.ul(
                    rx.foreach(S.failed, lambda f: rx.el.li(
                        rx.text(rx.text.strong(f.when), " · ", rx.badge(f.kind, variant="soft", size="1"), " ",
                                f.subject, " · ", f.client, " · ", f.amount,
                                " · ", rx.text.span(f.reason, color="var(--red-11)"), size="2"),
                        data_testid="failed-payment",
                    )),
                    style={"paddingLeft": "1.2em", "margin": 0},
                ),
            ),
            rx.link("All payments", href=routes.ADMIN_PAYMENTS, size="2"),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def _header() -> rx.Component:
    return rx.hstack(
        rx.cond(
            AdminState.is_platform_admin,
            rx.hstack(
                rx.el.label("Builder", html_for="dashboard-builder", class_name="rt-Text rt-r-weight-medium"),
                rx.el.select(
                    rx.foreach(S.builder_choices, lambda c: rx.el.option(c.label, value=c.value)),
                    id="dashboard-builder", value=S.builder_choice, on_change=S.set_builder,
                ),
                align="center",
                spacing="3",
            ),
        ),
        rx.spacer(),
        rx.cond(S.public_page != "",
                rx.link(rx.icon("external_link", size=14), " Public booking page", href=S.public_page,
                        is_external=True, data_testid="public-page-link")),
        align="center",
        width="100%",
    )


def page() -> rx.Component:
    return admin_layout(
        _header(),
        _sessions_card(),
        _charts_section(),
        _failed_card(),
        title=TITLE,
    )


def register(app: rx.App) -> None:
    app.add_page(page, route=routes.ADMIN, title=TITLE + " · Workspace", on_load=[AdminState.guard, DashboardState.load])
