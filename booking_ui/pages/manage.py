"""/manage/<token>: the client's booking, with Cancel and Reschedule as its policy allows.

Cancel and Reschedule are native HTML forms posting to /api/manage/<token>/<action> (CSRF token in a
hidden field): Reflex's own form component always prevents the browser's submit, so `NativeForm` is
the bare <form> element.
"""

from __future__ import annotations

import reflex as rx
from reflex_base.components.component import field
from reflex_base.vars.base import Var
from reflex_components_core.el.elements.base import BaseHTML

from booking_ui import routes
from booking_ui.components.booking_summary import calendar_links
from booking_ui.components.layout import layout
from booking_ui.components.month_calendar import month_calendar
from booking_ui.components.policy import policy_lines_list
from booking_ui.state.manage import ManageState as S


class NativeForm(BaseHTML):
    """A plain <form>: the browser submits it (no Reflex submit handler, no preventDefault)."""

    tag = "form"

    action: Var[str] = field(doc="Where the form posts")
    method: Var[str] = field(doc="HTTP method")


native_form = NativeForm.create


def _hidden(name: str, value) -> rx.Component:
    return rx.el.input(type="hidden", name=name, value=value)


def _status_badge() -> rx.Component:
    return rx.match(
        S.view.status,
        ("confirmed", rx.badge("Confirmed", color_scheme="green", size="2", data_testid="booking-status")),
        ("cancelled", rx.badge("Cancelled", color_scheme="gray", size="2", data_testid="booking-status")),
        rx.badge(S.view.status_label, size="2", data_testid="booking-status"),
    )


def _location() -> rx.Component:
    return rx.cond(
        S.view.location != "",
        rx.data_list.item(
            rx.data_list.label("Where"),
            rx.data_list.value(
                rx.cond(S.view.location_is_link,
                        rx.link(S.view.location, href=S.view.location, is_external=True, rel="noopener noreferrer"),
                        rx.text(S.view.location)),
                data_testid="location",
            ),
        ),
    )


def _zone_picker() -> rx.Component:
    return rx.hstack(
        rx.el.label("Times shown in", html_for="manage-zone"),
        rx.el.select(rx.foreach(S.zone_options, lambda zone: rx.el.option(zone.label, value=zone.value)),
                     id="manage-zone", value=S.zone, on_change=S.set_zone, data_testid="manage-zone",
                     style={"max_width": "100%"}),
        align="center",
        spacing="2",
    )


def _details() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(rx.heading(S.view.session_type_name, size="5", as_="h2"), _status_badge(), align="center"),
            rx.data_list.root(
                rx.data_list.item(rx.data_list.label("With"), rx.data_list.value(S.view.builder_name)),
                rx.data_list.item(rx.data_list.label("When"),
                                  rx.data_list.value(S.view.when, data_testid="booking-when")),
                rx.data_list.item(rx.data_list.label("Time zone"),
                                  rx.data_list.value(S.view.zone_label, data_testid="booking-zone")),
                _location(),
                rx.data_list.item(rx.data_list.label("Paid"),
                                  rx.data_list.value(S.view.amount, data_testid="booking-amount")),
                rx.cond(S.view.refunded != "",
                        rx.data_list.item(rx.data_list.label("Refunded"),
                                          rx.data_list.value(S.view.refunded, data_testid="booking-refunded"))),
                rx.data_list.item(rx.data_list.label("Reference"), rx.data_list.value(S.view.reference)),
            ),
            _zone_picker(),
            rx.cond(S.view.status == "confirmed",
                    calendar_links(S.invite_url, S.view.google_calendar_url, S.view.outlook_calendar_url)),
            _documents(),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _documents() -> rx.Component:
    """Receipts and invoices: Stripe's receipt (refunds show on it) and the invoice, when asked for."""
    return rx.hstack(
        rx.cond(S.view.invoice_url != "",
                rx.link("View your invoice", href=S.view.invoice_url, is_external=True, rel="noopener noreferrer",
                        data_testid="invoice-link")),
        rx.cond(S.view.invoice_pdf_url != "",
                rx.link("Download invoice (PDF)", href=S.view.invoice_pdf_url, is_external=True,
                        rel="noopener noreferrer", data_testid="invoice-pdf-link")),
        rx.cond(S.view.receipt_url != "",
                rx.link("View your receipt", href=S.view.receipt_url, is_external=True, rel="noopener noreferrer",
                        data_testid="receipt-link")),
        spacing="4",
        wrap="wrap",
    )


def _policy() -> rx.Component:
    return rx.card(
        rx.vstack(rx.heading("Cancellation policy", size="4", as_="h2"), policy_lines_list(S.policy_lines),
                  spacing="2", width="100%"),
        width="100%",
        data_testid="manage-policy",
    )


def _cancel() -> rx.Component:
    retrying = S.view.refund_failure != ""
    return rx.card(
        rx.vstack(
            rx.heading("Cancel", size="4", as_="h2"),
            rx.cond(retrying,
                    rx.callout("The refund didn't go through (" + S.view.refund_failure + "), so your booking "
                               "is still confirmed. Retry below.", icon="triangle_alert", color_scheme="red",
                               role="alert", width="100%", data_testid="refund-failed")),
            rx.text(S.view.refund_text, data_testid="refund-quote"),
            native_form(
                _hidden("csrf_token", S.cancel_csrf),
                _hidden("expected_refund", S.view.expected_refund),
                rx.hstack(
                    rx.el.input(type="checkbox", id="confirm-cancel", name="confirm", value="yes", required=True),
                    rx.el.label("Yes, cancel this booking", html_for="confirm-cancel"),
                    align="center",
                    spacing="2",
                ),
                rx.button(rx.cond(retrying, "Retry cancellation", "Cancel booking"), type="submit",
                          color_scheme="red", margin_top="0.75em", data_testid="cancel-booking"),
                action=S.cancel_action,
                method="post",
                data_testid="cancel-form",
            ),
            spacing="2",
            width="100%",
            align="start",
        ),
        width="100%",
    )


def _slot(slot, index) -> rx.Component:
    slot_id = "slot-" + index.to_string()
    return rx.hstack(
        rx.el.input(type="radio", id=slot_id, name="start", value=slot.start, required=True,
                    aria_label=rx.cond(S.hour12, slot.aria_12, slot.aria_24)),
        rx.el.label(rx.cond(S.hour12, slot.label_12, slot.label_24), html_for=slot_id),
        align="center",
        spacing="1",
        data_testid="reschedule-slot",
    )


def _day_times() -> rx.Component:
    return rx.el.fieldset(
        rx.el.legend(rx.text(rx.cond(S.selected_day_label != "", S.selected_day_label, "No day chosen"),
                             weight="bold", size="2"), data_testid="reschedule-day-label"),
        rx.cond(S.times.length() > 0,
                rx.flex(rx.foreach(S.times, _slot), direction="column", spacing="2"),
                rx.text("Pick a highlighted day to see its times.", size="2", color_scheme="gray")),
        border="none",
        padding="0",
        margin="0",
        min_width="0",
        data_testid="reschedule-day",
    )


def _reschedule() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Reschedule", size="4", as_="h2"),
            rx.text(S.view.reschedule_text, data_testid="reschedule-rule"),
            rx.cond(
                S.view.can_reschedule,
                native_form(
                    _hidden("csrf_token", S.reschedule_csrf),
                    rx.flex(month_calendar(S), _day_times(), direction=rx.breakpoints(initial="column", sm="row"),
                            width="100%", style={"gap": "1.5em"}),
                    rx.button("Move my booking to this time", type="submit", margin_top="0.75em",
                              disabled=S.times.length() == 0, data_testid="reschedule-submit"),
                    action=S.reschedule_action,
                    method="post",
                    data_testid="reschedule-form",
                    width="100%",
                ),
            ),
            spacing="2",
            width="100%",
            align="start",
        ),
        width="100%",
    )


def _notice() -> rx.Component:
    return rx.cond(
        S.notice != "",
        rx.callout(S.notice, color_scheme=S.notice_tone, role="status", width="100%", data_testid="manage-notice"),
    )


def _found() -> rx.Component:
    return rx.vstack(
        _notice(),
        _details(),
        rx.cond(S.view.can_cancel, _cancel()),
        rx.cond(S.view.status == "confirmed", _reschedule()),
        _policy(),
        spacing="4",
        width="100%",
    )


def manage_page() -> rx.Component:
    return layout(
        rx.cond(
            ~S.loaded,
            rx.spinner(),
            rx.cond(
                S.view,
                _found(),
                rx.vstack(
                    rx.callout("This link doesn't match a booking. Use the latest link from your emails.",
                               icon="triangle_alert", color_scheme="amber", data_testid="manage-not-found"),
                    rx.link("Back to all builders", href=routes.HOME),
                    spacing="3",
                ),
            ),
        ),
        title="Your booking",
    )
