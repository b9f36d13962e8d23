"""The booking page: a summary panel that stays in view, a month calendar, one column of times, then
the details form. Works from 390 px wide (stacked) up (side by side)."""

import reflex as rx

from booking_ui import routes
from booking_ui.components.layout import VISUALLY_HIDDEN, layout
from booking_ui.components.month_calendar import month_calendar
from booking_ui.components.policy import policy_summary
from booking_ui.state.book import BookState

S = BookState
NAME_ERROR_ID = "client-name-error"
EMAIL_ERROR_ID = "client-email-error"


# --- the summary panel ------------------------------------------------------------------------------


def _fact(label: str, value, **props) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(value, **props))


def summary_panel() -> rx.Component:
    summary = S.summary
    return rx.el.aside(
        rx.card(
            rx.vstack(
                rx.link(summary.builder_name, href=routes.builder_page(summary.builder_slug), size="2",
                        data_testid="builder-link"),
                rx.heading(summary.session_type_name, size="6", as_="h1"),
                rx.data_list.root(
                    _fact("Duration", summary.duration_minutes.to_string() + " min", data_testid="duration"),
                    _fact("Price", summary.price, data_testid="price"),
                    rx.cond(summary.how != "", _fact("How", summary.how, data_testid="how"), rx.fragment()),
                    rx.cond(S.selected_start != "", _fact("When", S.selected_when, data_testid="summary-when"),
                            rx.fragment()),
                    _fact("Time zone", S.zone_now, data_testid="zone-now"),
                    orientation="vertical",
                    size="2",
                ),
                rx.cond(summary.description != "", rx.text(summary.description, size="2", color_scheme="gray"),
                        rx.fragment()),
                policy_summary(),
                spacing="3",
                align="start",
                width="100%",
            ),
            width="100%",
        ),
        aria_label="Booking summary",
        data_testid="summary-panel",
        style={"position": rx.breakpoints(initial="static", md="sticky"), "top": "1em"},
        width=rx.breakpoints(initial="100%", md="300px"),
        flex_shrink="0",
    )


# --- the browser's own hold ----------------------------------------------------------------------------


def hold_banner() -> rx.Component:
    return rx.cond(
        S.held,
        rx.card(
            rx.vstack(
                rx.heading("Your held time", as_="h2", size="3"),
                rx.text(
                    "You're holding ", rx.text.strong(S.held_when),
                    rx.cond(S.held_elsewhere != "", rx.text.span(" (", S.held_elsewhere, ")"), rx.fragment()),
                    " until ", rx.text.strong(S.held_until), ". Nothing has been charged yet.",
                    data_testid="hold-text",
                ),
                rx.flex(
                    rx.button("Continue to payment", on_click=S.continue_hold, loading=S.hold_working, size="3"),
                    rx.button("Pick another time", on_click=S.release_hold, disabled=S.hold_working,
                              variant="outline", size="3"),
                    style={"gap": "0.75em"},
                    wrap="wrap",
                ),
                spacing="2",
                align="start",
            ),
            width="100%",
            data_testid="hold-banner",
        ),
        rx.fragment(),
    )


# --- the calendar ----------------------------------------------------------------------------------------


def calendar() -> rx.Component:
    return month_calendar(S)


# --- the times of the chosen day ------------------------------------------------------------------------------


def slot_button(slot) -> rx.Component:
    return rx.el.li(
        rx.button(
            rx.cond(S.hour12, slot.label_12, slot.label_24),
            rx.cond(slot.held, rx.badge("your hold", variant="solid", color_scheme="amber", high_contrast=True),
                    rx.fragment()),
            on_click=S.choose(slot.start),
            aria_label=rx.cond(S.hour12, slot.aria_12, slot.aria_24),
            aria_pressed=rx.cond(S.selected_start == slot.start, "true", "false"),
            variant=rx.cond(slot.held, "soft", "outline"),
            type="button",
            size="3",
            width="100%",
            data_testid="slot",
            data_start=slot.start,
        ),
        style={"list_style": "none"},
    )


def times_column() -> rx.Component:
    return rx.vstack(
        rx.heading(rx.cond(S.selected_day_label != "", S.selected_day_label, "No day chosen"), as_="h3", size="3",
                   id="times-heading", data_testid="times-heading"),
        rx.cond(
            S.times.length() > 0,
            rx.el.ul(
                rx.foreach(S.times, slot_button),
                aria_labelledby="times-heading",
                # A long day scrolls within its column on wider screens (the buttons inside keep it
                # keyboard-reachable); on a phone the page itself scrolls.
                style={"display": "flex", "flex_direction": "column", "gap": "0.5em", "padding": "0 0.25em 0 0",
                       "margin": "0", "width": "100%",
                       "max_height": rx.breakpoints(initial="none", sm="28em"),
                       "overflow_y": rx.breakpoints(initial="visible", sm="auto")},
                data_testid="times",
            ),
            rx.text("Pick a highlighted day to see its times.", size="2", color_scheme="gray"),
        ),
        width="100%",
        min_width="0",
        flex="1",
        spacing="2",
        data_testid="day",
    )


def preferences() -> rx.Component:
    return rx.flex(
        rx.vstack(
            rx.el.label("Time zone", html_for="time-zone", style={"font_size": "0.875em", "font_weight": "500"}),
            rx.el.select(
                rx.foreach(S.zone_options, lambda zone: rx.el.option(zone.label, value=zone.value)),
                id="time-zone",
                value=S.time_zone,
                on_change=S.set_time_zone,
                data_testid="time-zone",
                style={"max_width": "100%", "min_height": "36px", "padding": "0 0.5em", "border_radius": "6px",
                       "border": "1px solid var(--gray-a7)", "background": "var(--color-surface)",
                       "color": "var(--gray-12)"},
            ),
            spacing="1",
            max_width="100%",
        ),
        rx.vstack(
            rx.text("Clock", size="2", weight="medium", id="clock-label", as_="div"),
            rx.segmented_control.root(
                rx.segmented_control.item("12h", value="12", data_testid="clock-12"),
                rx.segmented_control.item("24h", value="24", data_testid="clock-24"),
                value=rx.cond(S.hour12, "12", "24"),
                on_change=S.set_clock,
                aria_labelledby="clock-label",
            ),
            spacing="1",
        ),
        style={"gap": "1em"},
        wrap="wrap",
        align="end",
        width="100%",
    )


def picker() -> rx.Component:
    return rx.vstack(
        rx.heading("Pick a date and time", as_="h2", size="4"),
        preferences(),
        rx.cond(
            S.loading,
            rx.hstack(rx.spinner(), rx.text("Finding open times…")),
            rx.flex(calendar(), times_column(), direction=rx.breakpoints(initial="column", sm="row"),
                    width="100%", style={"gap": "1.5em"}),
        ),
        spacing="4",
        width="100%",
        align="start",
    )


# --- the details form --------------------------------------------------------------------------------------


def _field(label: str, *, input_id: str, name: str, error, error_id: str, **input_props) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=input_id, style={"font_weight": "500"}),
        rx.input(
            id=input_id,
            name=name,
            aria_invalid=rx.cond(error != "", "true", "false"),
            aria_describedby=error_id,
            width="100%",
            size="3",
            **input_props,
        ),
        rx.text(error, id=error_id, color_scheme="red", size="2", data_testid=f"{input_id}-error"),
        spacing="1",
        width="100%",
    )


def details_form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Your details", size="4", as_="h2", id="details-heading"),
                rx.text("Selected: ", rx.text.strong(S.selected_when), " (", S.zone_now, ")",
                        data_testid="selected-slot"),
                rx.cond(S.refund_tier != "", rx.text(S.refund_tier, size="2", data_testid="refund-tier"),
                        rx.fragment()),
                rx.button("Change time", type="button", variant="ghost", on_click=S.change_time,
                          data_testid="change-time"),
                # Uncontrolled inputs: the values arrive with the submit (Enter submits too).
                _field("Name", input_id="client-name", name="client_name", error=S.name_error,
                       error_id=NAME_ERROR_ID, auto_complete="name", default_value=S.client_name,
                       placeholder="Your full name"),
                _field("Email", input_id="client-email", name="client_email", error=S.email_error,
                       error_id=EMAIL_ERROR_ID, auto_complete="email", default_value=S.client_email,
                       input_mode="email", spell_check=False, auto_capitalize="none",
                       placeholder="you@example.com"),
                rx.el.div(S.error_summary, role="alert", data_testid="form-errors", style=VISUALLY_HIDDEN),
                # Receipts and invoices: an invoice (business name and tax id on the payment page).
                rx.el.label(
                    rx.el.input(type="checkbox", name="wants_invoice", value="yes", id="wants-invoice",
                                default_checked=S.wants_invoice, data_testid="wants-invoice"),
                    " I need an invoice (add your company and tax ID when paying)",
                    html_for="wants-invoice",
                ),
                rx.button(
                    rx.cond(S.paying, "Redirecting to payment…",
                            rx.cond(S.summary.no_show_fee != "", "Book and save card", "Pay " + S.summary.price)),
                    type="submit",
                    loading=S.paying,
                    disabled=S.paying,
                    size="3",
                    data_testid="pay",
                ),
                rx.text("You'll pay securely on Stripe. The time is held for you while you pay.", size="2",
                        color_scheme="gray"),
                spacing="3",
                width="100%",
                align="start",
            ),
            on_submit=S.pay,
            reset_on_submit=False,
            no_validate=True,
            aria_labelledby="details-heading",
            id="details-form",
        ),
        width="100%",
    )


# --- the page --------------------------------------------------------------------------------------------------


def main_column() -> rx.Component:
    return rx.vstack(
        rx.cond(S.notice != "",
                rx.callout(S.notice, icon="info", color_scheme="amber", width="100%", role="status",
                           data_testid="notice"),
                rx.fragment()),
        hold_banner(),
        rx.cond(
            S.not_bookable_reason != "",
            rx.callout(S.not_bookable_reason, icon="info", color_scheme="amber", width="100%", role="status",
                       data_testid="not-bookable"),
            rx.cond(S.selected_start != "", details_form(), picker()),
        ),
        spacing="4",
        width="100%",
        min_width="0",
        flex="1",
    )


def book_page() -> rx.Component:
    return layout(
        rx.cond(
            S.not_found,
            rx.vstack(
                rx.heading("Session not available", size="7", as_="h1"),
                rx.text("That session type does not exist or is no longer offered."),
                rx.link("See all builders", href=routes.HOME),
                spacing="3",
            ),
            rx.cond(
                S.summary,
                rx.flex(summary_panel(), main_column(), direction=rx.breakpoints(initial="column", md="row"),
                        width="100%", align="start", style={"gap": "1.5em"}),
                rx.hstack(rx.spinner(), rx.text("Loading…")),
            ),
        ),
    )
