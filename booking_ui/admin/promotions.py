"""Promotion codes (routes.ADMIN_PROMOTIONS): the viewer's codes (a builder's own; a platform admin's all)
with their uses, a form to make one (percent or amount off, for one session type or all, an expiry, a
maximum number of uses, first booking only, a minimum price; or for one package) and a switch to turn one off or on.

Thin: the rules live in booking.workspace.promotions; authorisation is checked there on every call, and
the Stripe calls (Coupon + Promotion Code) run in a background handler with no transaction open.
"""

from __future__ import annotations

import asyncio
import logging

import reflex as rx

from booking.core import session_scope
from booking.payments import PaymentProviderError
from booking.workspace import (
    InvalidPromotionCode,
    PromotionCodeRow,
    builder_choices,
    create_promotion_code,
    list_packages,
    list_promotion_codes,
    parse_promotion_code_form,
    session_types_list_session_types,
    set_promotion_code_active,
)
from booking_ui import deps, routes
from booking_ui.admin.base import AdminState, admin_background, admin_event, current_actor
from booking_ui.admin.layout import admin_layout
from booking_ui.offloop import off_loop

TITLE = "Promotion codes"
log = logging.getLogger(__name__)
CURRENCIES = ("gbp", "eur", "usd", "jpy", "aud", "cad", "nzd", "chf", "sek", "inr", "brl", "krw", "cny")


class PromotionsState(AdminState):
    rows: list[PromotionCodeRow] = []
    type_options: list[list[str]] = []  # [id, "Name (builder)"]
    package_options: list[list[str]] = []  # [id, "Name"]
    builder_options: list[list[str]] = []  # a platform admin's: [id, name]
    errors: dict[str, str] = {}
    kind: str = "percent"
    saving: bool = False
    saved: str = ""
    form_version: int = 0

    def _refresh(self) -> None:
        actor = current_actor()
        with session_scope(deps.engine()) as session:
            self.rows = list_promotion_codes(session=session, actor=actor)
            types, _more = session_types_list_session_types(session=session, actor=actor)
            self.type_options = [[row.id, f"{row.name} ({row.builder_name})"] for row in types]
            self.package_options = [[row.id, row.name] for row in list_packages(session=session, actor=actor)]
            self.builder_options = ([[key, name] for key, name in builder_choices(session=session, actor=actor)]
                                    if actor.is_admin else [])

    @admin_event
    def load(self):
        self.errors, self.saved, self.saving, self.kind = {}, "", False, "percent"
        self._refresh()
        return None

    @admin_event
    def set_kind(self, value: str):
        self.kind = "amount" if value == "amount" else "percent"
        return None

    @admin_background
    async def create(self, form: dict):
        """Save a new code and create its Coupon and Promotion Code at Stripe."""
        actor = current_actor()
        async with self:
            if self.saving:
                return
            self.saving, self.errors, self.saved = True, {}, ""
        errors: dict[str, str] = {}
        saved = ""
        try:
            values = {str(key): str(value or "") for key, value in (form or {}).items()}
            data = parse_promotion_code_form(values)
            row = await asyncio.to_thread(create_promotion_code, engine=deps.engine(), gateway=deps.gateway(),
                                          actor=actor, data=data)
            saved = f"{row.code} saved: {row.discount}, {row.applies_to}."
        except InvalidPromotionCode as exc:
            errors = exc.errors
        except PaymentProviderError as exc:
            errors = {"form": f"Stripe is not available ({exc}); nothing was saved."}
        finally:
            async with self:
                self.saving = False
        async with self:
            self.errors, self.saved = errors, saved
            if saved:
                self.form_version += 1
            await off_loop(self._refresh)

    @admin_background
    async def toggle(self, value: str, checked: bool):
        """Turn the code `value` (its id) on or off, here and at Stripe."""
        actor = current_actor()
        message = ""
        try:
            await asyncio.to_thread(set_promotion_code_active, engine=deps.engine(), gateway=deps.gateway(),
                                    actor=actor, promotion_code_id=value, active=bool(checked))
        except PaymentProviderError as exc:
            message = f"Stripe is not available ({exc}); the code was not changed."
        async with self:
            self.errors = {"form": message} if message else {}
            await off_loop(self._refresh)


# --- the page -------------------------------------------------------------------------------------

S = PromotionsState


def _error(name: str) -> rx.Component:
    return rx.text(S.errors.get(name, ""), id=f"promo-{name}-error", color_scheme="red", size="2",
                   data_testid=f"promo-{name}-error")


def _input(label: str, name: str, **props) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=f"promo-{name}", font_weight="500"),
        rx.input(id=f"promo-{name}", name=name, aria_describedby=f"promo-{name}-error",
                 aria_invalid=rx.cond(S.errors.contains(name), "true", "false"), **props),
        _error(name),
        spacing="1",
    )


def _select(label: str, name: str, options, *, first: str) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=f"promo-{name}", font_weight="500"),
        rx.el.select(rx.el.option(first, value=""),
                     rx.foreach(options, lambda option: rx.el.option(option[1], value=option[0])),
                     id=f"promo-{name}", name=name, data_testid=f"promo-{name}"),
        _error(name),
        spacing="1",
    )


def _form() -> rx.Component:
    return rx.card(rx.form(
        rx.vstack(
            rx.heading("New code", size="4", as_="h2"),
            rx.flex(
                _input("Code", "code", placeholder="WELCOME10", auto_capitalize="characters"),
                rx.vstack(
                    rx.el.label("Discount", html_for="promo-kind", font_weight="500"),
                    rx.el.select(rx.el.option("Percent off", value="percent"),
                                 rx.el.option("Amount off", value="amount"),
                                 id="promo-kind", name="kind", value=S.kind, on_change=S.set_kind),
                    spacing="1",
                ),
                rx.cond(S.kind == "percent",
                        _input("Percent off", "percent_off", input_mode="numeric", placeholder="10"),
                        rx.hstack(_input("Amount off", "amount_off", input_mode="decimal", placeholder="5.00"),
                                  rx.vstack(rx.el.label("Currency", html_for="promo-currency", font_weight="500"),
                                            rx.el.select(*[rx.el.option(code.upper(), value=code)
                                                           for code in CURRENCIES], id="promo-currency",
                                                         name="currency"),
                                            _error("currency"), spacing="1"))),
                wrap="wrap", style={"gap": "1em"},
            ),
            rx.flex(
                _select("Session type", "session_type_id", S.type_options, first="All session types"),
                rx.cond(S.package_options.length() > 0,
                        _select("Or one package", "package_id", S.package_options, first="No single package"),
                        rx.fragment()),
                rx.cond(S.builder_options.length() > 0,
                        _select("Builder", "builder_id", S.builder_options, first="Every builder"),
                        rx.fragment()),
                wrap="wrap", style={"gap": "1em"},
            ),
            rx.flex(
                _input("Last day (optional)", "expires_on", type="date"),
                _input("Maximum uses (optional)", "max_uses", input_mode="numeric"),
                _input("Minimum price (optional)", "minimum_amount", input_mode="decimal"),
                rx.cond(S.kind == "percent",  # an amount off's minimum is in the amount's currency
                        rx.vstack(rx.el.label("Minimum in", html_for="promo-minimum_currency", font_weight="500"),
                                  rx.el.select(*[rx.el.option(code.upper(), value=code) for code in CURRENCIES],
                                               id="promo-minimum_currency", name="minimum_currency"),
                                  _error("minimum_currency"), spacing="1"),
                        rx.fragment()),
                wrap="wrap", style={"gap": "1em"},
            ),
            rx.el.label(rx.el.input(type="checkbox", name="first_booking_only", value="on",
                                    id="promo-first-booking"),
                        " First booking only (a client's email with no earlier confirmed booking)",
                        html_for="promo-first-booking"),
            rx.cond(S.errors.contains("form"), rx.callout(S.errors["form"], color_scheme="red", role="alert",
                                                          data_testid="promo-form-error")),
            rx.cond(S.saved != "", rx.callout(S.saved, color_scheme="green", role="status",
                                              data_testid="promo-saved")),
            rx.button("Save code", type="submit", loading=S.saving, disabled=S.saving, data_testid="promo-save"),
            spacing="3",
            width="100%",
            align="start",
        ),
        on_submit=S.create,
        key=S.form_version,
        no_validate=True,
        width="100%",
    ), width="100%")


def _row(row: PromotionCodeRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(row.code), data_testid="promo-code"),
        rx.table.cell(row.discount),
        rx.table.cell(row.applies_to),
        rx.table.cell(rx.text(row.limits, size="2"), data_testid="promo-limits"),
        rx.table.cell(rx.cond(row.synced, rx.text("Synced", size="2"),
                              rx.text("Not at Stripe: ", row.sync_error, size="2", color_scheme="red"))),
        rx.table.cell(rx.switch(checked=row.active, on_change=lambda checked: S.toggle(row.id.to(str), checked),
                                aria_label="Active", data_testid="promo-active")),
        data_testid="promo-row",
    )


def _content() -> rx.Component:
    return rx.vstack(
        rx.text("A client types the code on the booking page; we check it, show the lower price, and Checkout "
                "charges it. The platform fee is on what the client pays. A use counts while the slot is held "
                "and is given back if the hold ends unpaid. A 100 % code confirms the booking with no payment.",
                size="2", color_scheme="gray"),
        _form(),
        rx.cond(
            S.rows.length() > 0,
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(name) for name in (
                    "Code", "Discount", "For", "Limits and uses", "Stripe", "Active")])),
                rx.table.body(rx.foreach(S.rows, _row)),
                width="100%",
                variant="surface",
            ),
            rx.text("No promotion codes yet.", color_scheme="gray", data_testid="no-promo-codes"),
        ),
        spacing="4",
        width="100%",
    )


def page() -> rx.Component:
    return admin_layout(_content(), title=TITLE)


def register(app: rx.App) -> None:
    app.add_page(page, route=routes.ADMIN_PROMOTIONS, title=TITLE + " · Workspace",
                 on_load=[AdminState.guard, PromotionsState.load])
