"""Disputes (routes.ADMIN_DISPUTES): open and closed disputes of the viewer's payments (a builder's own, a
platform admin's all) with the amount, the reason, the evidence deadline in the viewer's zone and the status.
Each open one has an evidence form pre-filled from our records; submitting it sends the evidence to Stripe
with `submit=true` (a background handler, off the event loop, no transaction open during the call).

Thin: the rules live in booking.payments.disputes; authorisation is checked there on every call.
"""

from __future__ import annotations

import asyncio
import logging

import reflex as rx

from booking.core import session_scope
from booking.payments import (
    DisputeRow,
    EvidenceField,
    PaymentProviderError,
    evidence_form,
    list_disputes,
    submit_evidence,
)
from booking.workspace import viewer_zone
from booking_ui import deps, routes
from booking_ui.admin.base import AdminState, admin_background, admin_event, current_actor
from booking_ui.admin.layout import admin_layout
from booking_ui.offloop import off_loop

TITLE = "Disputes"
log = logging.getLogger(__name__)


class DisputesState(AdminState):
    rows: list[DisputeRow] = []
    selected_id: str = ""
    selected: DisputeRow = DisputeRow()
    fields: list[EvidenceField] = []
    form_version: int = 0
    busy: bool = False
    result: str = ""
    result_ok: bool = False

    def _refresh(self) -> None:
        actor = current_actor()
        with session_scope(deps.engine()) as session:
            self.rows = list_disputes(session=session, actor=actor, zone=viewer_zone(session=session, actor=actor))
            self.selected = next((row for row in self.rows if row.id == self.selected_id), DisputeRow())
            if self.selected.id and self.selected.open:
                self.fields = evidence_form(session=session, actor=actor, dispute_id=self.selected_id)
            else:
                self.fields = []

    @admin_event
    def load(self):
        self.selected_id, self.result, self.busy = "", "", False
        self._refresh()
        return None

    @admin_event
    def open_dispute(self, dispute_id: str):
        """Show one dispute and its evidence form (only the viewer's own: checked on the server)."""
        self.selected_id, self.result = str(dispute_id), ""
        self.form_version += 1
        self._refresh()
        if not self.selected.id:
            self.selected_id = ""
            self.admin_error = "That dispute doesn't exist, or isn't yours."
        return None

    @admin_event
    def close_dispute(self):
        self.selected_id, self.selected, self.fields, self.result = "", DisputeRow(), [], ""
        return None

    @admin_background
    async def submit(self, form: dict):
        """Send the evidence to Stripe and submit it to the bank."""
        actor = current_actor()
        async with self:
            if self.busy or not self.selected_id:
                return
            dispute_id, self.busy, self.result = self.selected_id, True, ""
        ok, message = False, ""
        try:
            evidence = {str(key): str(value or "") for key, value in (form or {}).items()}
            outcome = await asyncio.to_thread(submit_evidence, engine=deps.engine(), gateway=deps.gateway(),
                                              actor=actor, dispute_id=dispute_id, evidence=evidence)
            ok, message = outcome.ok, outcome.message
        except PaymentProviderError as exc:
            message = f"Stripe is not available: {exc}"
        except Exception:
            log.exception("submitting dispute evidence failed")
            message = "Something went wrong; nothing was submitted. Please try again."
        finally:
            async with self:
                self.busy = False
        async with self:
            self.result_ok, self.result = ok, message
        async with self:
            await off_loop(self._refresh)


# --- the page -------------------------------------------------------------------------------------

STATUS_COLOURS = (("won", "green"), ("lost", "red"), ("needs_response", "amber"),
                  ("warning_needs_response", "amber"), ("under_review", "blue"), ("warning_under_review", "blue"))


def _status(row) -> rx.Component:
    return rx.badge(row.status_label, variant="soft", data_testid="dispute-status",
                    color_scheme=rx.match(row.status, *STATUS_COLOURS, "gray"))


def _row(row: DisputeRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(_status(row)),
        rx.table.cell(rx.text(row.amount, white_space="nowrap"), data_testid="dispute-amount"),
        rx.table.cell(rx.text(row.reason, size="2")),
        rx.table.cell(rx.text(row.due_by, white_space="nowrap"), data_testid="dispute-due"),
        rx.table.cell(rx.vstack(rx.text(row.session_type), rx.text(row.client_name, size="1", color_scheme="gray"),
                                spacing="0")),
        rx.table.cell(rx.cond(AdminState.is_platform_admin, rx.text(row.builder_name), rx.fragment())),
        rx.table.cell(rx.text(row.recovery, size="1")),
        rx.table.cell(rx.button(rx.cond(row.open, "Send evidence", "View"), size="1",
                                on_click=DisputesState.open_dispute(row.id), data_testid="dispute-open")),
        data_testid="dispute-row",
    )


def _field(item: EvidenceField) -> rx.Component:
    field_id = "evidence-" + item.name
    return rx.vstack(
        rx.el.label(item.label, html_for=field_id, font_weight="500"),
        rx.text_area(id=field_id, name=item.name, default_value=item.value, rows="4", width="100%",
                     max_length=20000, data_testid=field_id),
        spacing="1",
        width="100%",
    )


def _detail() -> rx.Component:
    selected = DisputesState.selected
    return rx.cond(
        DisputesState.selected_id != "",
        rx.card(
            rx.vstack(
                rx.hstack(rx.heading("Dispute of ", selected.amount, size="4", as_="h2"), _status(selected),
                          rx.spacer(), rx.button("Close", variant="soft", size="1",
                                                 on_click=DisputesState.close_dispute),
                          align="center", width="100%"),
                rx.text("Reason: ", selected.reason, size="2"),
                rx.text("Evidence due by ", rx.text.strong(selected.due_by), size="2", data_testid="dispute-deadline"),
                rx.cond(
                    selected.open,
                    rx.form(
                        rx.vstack(
                            rx.text("Filled in from the booking's records: check it, add anything that helps, "
                                    "then submit. Stripe sends it to the card issuer, who decides.",
                                    size="2", color_scheme="gray"),
                            rx.foreach(DisputesState.fields, _field),
                            rx.button("Submit evidence", type="submit", loading=DisputesState.busy,
                                      disabled=DisputesState.busy, data_testid="evidence-submit"),
                            spacing="3",
                            width="100%",
                        ),
                        on_submit=DisputesState.submit,
                        key=DisputesState.form_version,
                        width="100%",
                        data_testid="evidence-form",
                    ),
                    rx.text("Evidence can no longer be sent for this dispute.", size="2", color_scheme="gray"),
                ),
                rx.cond(DisputesState.result != "",
                        rx.callout(DisputesState.result, role="status", data_testid="evidence-result",
                                   color_scheme=rx.cond(DisputesState.result_ok, "green", "red"))),
                spacing="3",
                width="100%",
            ),
            width="100%",
            data_testid="dispute-detail",
        ),
    )


def _content() -> rx.Component:
    return rx.vstack(
        rx.text("A client can dispute a payment with their card issuer. Stripe takes the amount and its dispute "
                "fee from the platform until the dispute is decided; send evidence before the deadline.",
                size="2", color_scheme="gray"),
        _detail(),
        rx.cond(
            DisputesState.rows.length() > 0,
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(name) for name in (
                    "Status", "Amount", "Reason", "Evidence due by", "Booking", "Builder", "Money", "")])),
                rx.table.body(rx.foreach(DisputesState.rows, _row)),
                width="100%",
                variant="surface",
            ),
            rx.text("No disputes.", color_scheme="gray", data_testid="no-disputes"),
        ),
        spacing="4",
        width="100%",
    )


def page() -> rx.Component:
    return admin_layout(_content(), title=TITLE)


def register(app: rx.App) -> None:
    app.add_page(page, route=routes.ADMIN_DISPUTES, title=TITLE + " · Workspace",
                 on_load=[AdminState.guard, DisputesState.load])
