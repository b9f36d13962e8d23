"""/wallet/<token>: the client's package credits with one builder, and booking a time with one.

With a credit for the chosen session: pick a day and a time, "Book with 1 credit" confirms it at once (no
payment). With none left: the session's booking page, where it is paid for as usual.
"""

from __future__ import annotations

import reflex as rx

from booking_ui import routes
from booking_ui.components.layout import layout
from booking_ui.components.month_calendar import month_calendar
from booking_ui.state.wallet import WalletState as S


def _credit_row(row) -> rx.Component:
    return rx.table.row(rx.table.cell(row.session_type_names), rx.table.cell(row.available, data_testid="credit-left"),
                        rx.table.cell(row.expires), data_testid="credit-row")


def _credits() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Your credits", size="5", as_="h2"),
            rx.text(rx.text.strong(S.view.available, data_testid="credits-available"), " session(s) left with ",
                    S.view.builder_name, rx.cond(S.view.next_expiry != "",
                                                 rx.text.span(" — the first expire on ", S.view.next_expiry), ""),
                    "."),
            rx.cond(S.view.credits.length() > 0,
                    rx.table.root(
                        rx.table.header(rx.table.row(rx.table.column_header_cell("For"),
                                                     rx.table.column_header_cell("Left"),
                                                     rx.table.column_header_cell("Expire on"))),
                        rx.table.body(rx.foreach(S.view.credits, _credit_row)),
                        width="100%"),
                    rx.text("You have no credits left.", color_scheme="gray")),
            rx.cond(S.has_membership,
                    rx.button("Manage membership", on_click=S.manage_membership, loading=S.opening_portal,
                              disabled=S.opening_portal, variant="soft", data_testid="manage-membership")),
            spacing="2", width="100%", align="start"),
        width="100%")


def _slot(slot) -> rx.Component:
    chosen = S.selected_start == slot.start
    return rx.button(rx.cond(S.hour12, slot.label_12, slot.label_24), on_click=S.choose_time(slot.start),
                     variant=rx.cond(chosen, "solid", "outline"), aria_pressed=rx.cond(chosen, "true", "false"),
                     aria_label=rx.cond(S.hour12, slot.aria_12, slot.aria_24), type="button",
                     data_testid="wallet-slot", data_start=slot.start)


def _clock() -> rx.Component:
    """12h / 24h, as on the booking page (the browser's own to start with)."""
    return rx.hstack(
        rx.text("Clock", size="2", weight="medium", id="wallet-clock-label", as_="div"),
        rx.segmented_control.root(
            rx.segmented_control.item("12h", value="12", data_testid="clock-12"),
            rx.segmented_control.item("24h", value="24", data_testid="clock-24"),
            value=rx.cond(S.hour12, "12", "24"), on_change=S.set_clock, aria_labelledby="wallet-clock-label"),
        align="center", spacing="2")


def _day_times() -> rx.Component:
    return rx.el.fieldset(
        rx.el.legend(rx.text(rx.cond(S.selected_day_label != "", S.selected_day_label, "No day chosen"),
                             weight="bold", size="2")),
        rx.cond(S.times.length() > 0,
                rx.flex(rx.foreach(S.times, _slot), direction="column", spacing="2"),
                rx.text("Pick a highlighted day to see its times.", size="2", color_scheme="gray")),
        border="none", padding="0", margin="0", min_width="0")


def _book() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Book a session", size="5", as_="h2"),
            rx.hstack(
                rx.el.label("Session", html_for="wallet-session-type"),
                rx.el.select(rx.foreach(S.view.session_types,
                                        lambda row: rx.el.option(row.name, value=row.id)),
                             id="wallet-session-type", value=S.session_type_id, on_change=S.choose_session_type,
                             data_testid="wallet-session-type"),
                _clock(),
                align="center", spacing="4", wrap="wrap"),
            rx.cond(
                S.chosen_credits > 0,
                rx.vstack(
                    rx.flex(month_calendar(S), _day_times(), direction=rx.breakpoints(initial="column", sm="row"),
                            width="100%", style={"gap": "1.5em"}),
                    rx.button("Book with 1 credit", on_click=S.book, disabled=S.selected_start == "",
                              data_testid="book-with-credit"),
                    spacing="3", width="100%"),
                rx.callout(
                    rx.hstack(rx.text("You have no credit left for this session."),
                              rx.link("Book and pay", href=S.pay_instead_url, data_testid="pay-instead"),
                              spacing="2"),
                    icon="info", color_scheme="amber", data_testid="no-credit"),
            ),
            spacing="3", width="100%", align="start"),
        width="100%")


def wallet_page() -> rx.Component:
    return layout(
        rx.cond(
            S.loaded,
            rx.cond(
                S.view,
                rx.vstack(
                    rx.heading("Your wallet with ", S.view.builder_name, size="7", as_="h1"),
                    rx.cond(S.notice != "",
                            rx.callout(rx.hstack(rx.text(S.notice),
                                                 rx.cond(S.manage_path != "",
                                                         rx.link("Manage this booking", href=S.manage_path,
                                                                 data_testid="manage-booked"), ""), spacing="2"),
                                       color_scheme=S.notice_tone, role="status", data_testid="wallet-notice")),
                    _credits(),
                    _book(),
                    rx.link("All of " + S.view.builder_name + "'s sessions", href="/b/" + S.view.builder_slug),
                    spacing="4", width="100%"),
                rx.vstack(rx.heading("Wallet not found", size="7", as_="h1"),
                          rx.callout("This wallet link is not valid. Use the link in your package email.",
                                     icon="triangle_alert", color_scheme="red"),
                          rx.link("See all builders", href=routes.HOME)),
            ),
            rx.hstack(rx.spinner(), rx.text("Loading…")),
        ),
    )
