"""Exports: the workspace's "Download CSV" form. A plain GET form to the export route
(booking_ui/admin/http.py: /api/admin/exports/<kind>.csv), which checks the session cookie on the server
and streams the file; the browser downloads it (no Reflex event, nothing on the event loop)."""

from __future__ import annotations

import reflex as rx

from booking_ui import routes


def export_form() -> rx.Component:
    """From / to dates (in the viewer's zone) and one button per kind."""
    date_input = {"type": "date", "style": {"padding": "4px 8px"}}
    return rx.card(
        rx.el.form(
            rx.hstack(
                rx.text("Download CSV", weight="bold", size="2"),
                rx.el.label("From ", rx.el.input(name="from", id="export-from", **date_input)),
                rx.el.label("To ", rx.el.input(name="to", id="export-to", **date_input)),
                *[
                    rx.el.button(label, type="submit", form_action=routes.admin_export(kind),
                                 data_testid=f"export-{kind}", style={"padding": "4px 10px"})
                    for kind, label in (("bookings", "Bookings"), ("payments", "Payments"),
                                        ("payouts", "Payouts"))
                ],
                spacing="3",
                align="center",
                wrap="wrap",
            ),
            method="get",
            action=routes.admin_export("bookings"),
            aria_label="Download bookings, payments or payouts as CSV",
        ),
        width="100%",
    )
