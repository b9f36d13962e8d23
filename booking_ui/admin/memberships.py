"""Memberships (routes.ADMIN_MEMBERSHIPS): the builder's plans ("N sessions a month" at a monthly price, each a
Stripe Product and recurring Price), a form for a new one, and the subscribers with their status. A platform
admin sees every builder's and chooses whose plan the form makes.

Thin: the rules live in booking.workspace.memberships / booking.payments.memberships; authorisation is checked
there. Creating a plan calls Stripe: a background handler, off the event loop, no transaction open.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import reflex as rx

from booking.core import session_scope
from booking.payments import PaymentProviderError
from booking.workspace import (
    SUPPORTED_CURRENCIES,
    UNUSED_CREDIT_CHOICES,
    InvalidPlan,
    PlanView,
    SubscriberView,
    builder_choices,
    create_plan,
    parse_plan,
    subscribers,
    workspace_plans,
)
from booking_ui import deps, routes
from booking_ui.admin.base import AdminState, admin_background, admin_event, current_actor
from booking_ui.admin.components import error_callout
from booking_ui.admin.layout import admin_layout

TITLE = "Memberships"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuilderChoice:
    id: str
    name: str


def _fetch(actor) -> tuple[list[PlanView], list[SubscriberView], list[BuilderChoice]]:
    with session_scope(deps.engine()) as session:
        builders = ([BuilderChoice(id=b_id, name=name) for b_id, name in builder_choices(session=session, actor=actor)]
                    if actor.is_admin else [])
        return workspace_plans(session=session, actor=actor), subscribers(session=session, actor=actor), builders


class MembershipsState(AdminState):
    plans: list[PlanView] = []
    members: list[SubscriberView] = []
    builders: list[BuilderChoice] = []
    field_errors: dict[str, str] = {}
    form_error: str = ""
    saved: str = ""
    saving: bool = False
    form_version: int = 0

    @admin_event
    def load(self):
        self.field_errors, self.form_error, self.saved, self.saving = {}, "", "", False
        self.plans, self.members, self.builders = _fetch(current_actor())
        return None

    @admin_background
    async def save(self, form: dict):
        actor = current_actor()
        async with self:
            if self.saving:
                return
            self.saving, self.field_errors, self.form_error, self.saved = True, {}, "", ""
        try:
            data = parse_plan(name=form.get("name"), sessions_per_period=form.get("sessions_per_period"),
                              price=form.get("price"), currency=form.get("currency"),
                              unused_credits=form.get("unused_credits"))
            await asyncio.to_thread(create_plan, engine=deps.engine(), gateway=deps.gateway(), actor=actor,
                                    data=data, builder_id=str(form.get("builder_id") or ""))
            listing = await asyncio.to_thread(_fetch, actor)
        except InvalidPlan as exc:
            async with self:
                self.field_errors, self.saving = exc.errors, False
            return
        except PaymentProviderError as exc:
            async with self:
                self.form_error, self.saving = f"Stripe is not available, nothing was saved: {exc}", False
            return
        except Exception:
            log.exception("saving a membership plan failed")
            async with self:
                self.form_error, self.saving = "Something went wrong; nothing was saved. Please try again.", False
            return
        async with self:
            self.plans, self.members, self.builders = listing
            self.saved, self.saving = f"Saved “{data.name}”.", False
            self.form_version += 1


S = MembershipsState


def _error(key: str) -> rx.Component:
    return rx.cond(S.field_errors.contains(key),
                   rx.text(S.field_errors[key], color_scheme="red", size="2", data_testid=f"error-{key}"))


def _field(label: str, input_id: str, key: str, control: rx.Component) -> rx.Component:
    return rx.vstack(rx.el.label(label, html_for=input_id, font_weight="500"), control, _error(key),
                     spacing="1", width="100%")


def _form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("New membership", size="4", as_="h2"),
                rx.cond(S.form_error != "", error_callout(S.form_error, data_testid="membership-form-error")),
                rx.cond(S.saved != "", rx.callout(S.saved, role="status", color_scheme="green",
                                                  data_testid="membership-saved")),
                rx.cond(S.is_platform_admin,
                        _field("Builder", "mp-builder", "builder_id", rx.el.select(
                            rx.el.option("Choose a builder…", value=""),
                            rx.foreach(S.builders, lambda b: rx.el.option(b.name, value=b.id)),
                            id="mp-builder", name="builder_id"))),
                _field("Name", "mp-name", "name", rx.input(id="mp-name", name="name", max_length=120, width="100%")),
                rx.hstack(
                    _field("Sessions a month", "mp-sessions", "sessions_per_period",
                           rx.input(id="mp-sessions", name="sessions_per_period", input_mode="numeric",
                                    default_value="4", width="100%")),
                    _field("Price a month", "mp-price", "price",
                           rx.input(id="mp-price", name="price", input_mode="decimal", width="100%")),
                    _field("Currency", "mp-currency", "currency",
                           rx.el.select(*[rx.el.option(code.upper(), value=code) for code in SUPPORTED_CURRENCIES],
                                        id="mp-currency", name="currency", default_value="gbp")),
                    spacing="4", width="100%", align="start",
                ),
                _field("Unused credits", "mp-unused", "unused_credits",
                       rx.el.select(*[rx.el.option(label, value=value) for value, label in UNUSED_CREDIT_CHOICES],
                                    id="mp-unused", name="unused_credits")),
                rx.button("Save", type="submit", loading=S.saving, disabled=S.saving, data_testid="save-membership"),
                spacing="3", width="100%",
            ),
            on_submit=S.save,
            reset_on_submit=False,
            key=S.form_version,
            width="100%",
        ),
        width="100%",
    )


def _plan_row(plan: PlanView) -> rx.Component:
    return rx.table.row(rx.table.cell(plan.name), rx.table.cell(plan.sessions_per_period),
                        rx.table.cell(plan.price), rx.table.cell(plan.unused_credits),
                        rx.table.cell(plan.subscribers), data_testid="membership-plan-row")


def _member_row(member: SubscriberView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.vstack(rx.text(member.client_name), rx.text(member.client_email, size="1",
                                                                     color_scheme="gray"), spacing="0")),
        rx.table.cell(member.plan_name),
        rx.table.cell(rx.badge(member.status, variant="soft", data_testid="subscriber-status",
                               color_scheme=rx.match(member.status_code, ("active", "green"), ("past_due", "red"),
                                                     ("canceled", "gray"), "amber"))),
        rx.table.cell(member.renews),
        rx.table.cell(member.since),
        data_testid="subscriber-row",
    )


def _table(headers: tuple[str, ...], rows, render, empty: str, testid: str) -> rx.Component:
    return rx.cond(
        rows.length() > 0,
        rx.table.root(rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
                      rx.table.body(rx.foreach(rows, render)), width="100%", variant="surface",
                      data_testid=testid),
        rx.text(empty, color_scheme="gray"),
    )


def _content() -> rx.Component:
    return rx.vstack(
        rx.text("Sell a number of sessions every month at a monthly price. Clients subscribe from your public "
                "page; each paid month adds the sessions to their wallet as credits. They cancel or change their "
                "card in Stripe's customer portal; a cancellation takes effect at the end of the month.",
                size="2", color_scheme="gray"),
        _form(),
        rx.heading("Plans", size="4", as_="h2"),
        _table(("Name", "Sessions a month", "Price", "Unused credits", "Subscribers"), S.plans, _plan_row,
               "No membership plans yet.", "membership-plans"),
        rx.heading("Subscribers", size="4", as_="h2"),
        _table(("Client", "Plan", "Status", "Next", "Since"), S.members, _member_row, "No subscribers yet.",
               "subscribers"),
        spacing="4",
        width="100%",
    )


def page() -> rx.Component:
    return admin_layout(_content(), title=TITLE)


def register(app: rx.App) -> None:
    app.add_page(page, route=routes.ADMIN_MEMBERSHIPS, title=TITLE + " · Workspace",
                 on_load=[AdminState.guard, MembershipsState.load])
