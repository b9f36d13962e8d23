"""Packages (routes.ADMIN_PACKAGES): the builder's packages of prepaid sessions (each a Stripe Product and
Price), a form to add or edit one, what was sold, and "Refund unused" (pro rata). Thin over booking.workspace."""

from __future__ import annotations

import reflex as rx

from booking.core import get_settings, session_scope
from booking.payments import PaymentProviderError
from booking.workspace import (
    InvalidPackage,
    PackageConflict,
    PackageRow,
    RefundRefused,
    SaleRow,
    SessionTypeRow,
    create_package,
    list_packages,
    list_sales,
    load_package_form,
    parse_package_form,
    refund_unused_credits,
    set_package_active,
    update_package,
)
from booking.workspace import session_types_list_session_types as list_session_types
from booking_ui import deps, routes
from booking_ui.admin.base import AdminState, admin_event, current_actor
from booking_ui.admin.components import error_callout, success_callout
from booking_ui.admin.layout import admin_layout

TITLE = "Packages"


def _blank_form() -> dict[str, str]:
    return {"name": "", "description": "", "session_count": "", "price": "", "currency": "gbp",
            "validity_days": "", "other_prices": ""}


class PackagesState(AdminState):
    packages: list[PackageRow] = []
    sales: list[SaleRow] = []
    session_types: list[SessionTypeRow] = []
    chosen_types: list[str] = []
    form_errors: dict[str, str] = {}
    notice: str = ""
    form_values: dict[str, str] = _blank_form()
    form_key: str = "new-0"  # a new key remounts the form, so its inputs show the new defaults
    editing_package_id: str = ""
    _editing_revision: int = -1
    _form_serial: int = 0

    def _refresh(self) -> None:
        actor = current_actor()
        with session_scope(deps.engine()) as session:
            self.packages = list_packages(session=session, actor=actor)
            self.sales = list_sales(session=session, actor=actor)
            self.session_types = [row for row in list_session_types(session=session, actor=actor)[0] if row.active]

    def _open_form(self, values: dict[str, str], types: list[str], editing: str, revision: int) -> None:
        self._form_serial += 1
        self.form_key = f"{editing or 'new'}-{self._form_serial}"
        self.form_values, self.chosen_types, self.form_errors = values, types, {}
        self.editing_package_id, self._editing_revision = editing, revision

    @admin_event
    def load(self):
        self.notice = ""
        self._open_form(_blank_form(), [], "", -1)
        self._refresh()

    @admin_event
    def toggle_type(self, session_type_id: str, checked: bool):
        types = [value for value in self.chosen_types if value != session_type_id]
        self.chosen_types = types + [session_type_id] if checked else types

    @admin_event
    def edit(self, package_id: str):
        with session_scope(deps.engine()) as session:
            found = load_package_form(session=session, actor=current_actor(), package_id=package_id)
        self.notice = ""
        self._open_form(found.values, list(found.session_type_ids), found.id, found.revision)

    @admin_event
    def cancel_edit(self):
        self._open_form(_blank_form(), [], "", -1)

    @admin_event
    def save(self, form: dict):
        self.notice, self.form_errors = "", {}
        editing, revision = self.editing_package_id, self._editing_revision
        try:
            data = parse_package_form({**form, "session_type_ids": list(self.chosen_types)})
            if editing:
                saved = update_package(engine=deps.engine(), gateway=deps.gateway(), actor=current_actor(),
                                       package_id=editing, data=data, settings=get_settings(),
                                       expected_revision=revision)
            else:
                builder_id = next((row.builder_id for row in self.session_types if row.id in self.chosen_types),
                                  None)
                create_package(engine=deps.engine(), gateway=deps.gateway(), actor=current_actor(), data=data,
                               builder_id=builder_id, settings=get_settings())
        except InvalidPackage as exc:
            self.form_errors = exc.errors
            return
        except PackageConflict as exc:
            self.admin_error = str(exc)
            return
        except PaymentProviderError:
            self.admin_error = ("Stripe could not be reached: nothing was changed. Please try again." if editing
                                else "Stripe could not be reached: the package was not put on sale. "
                                     "Please try again.")
            return
        if not editing:
            self.notice = f"{data.name} is on sale."
        elif saved.warning:
            self.admin_error = saved.warning
        else:
            self.notice = (f"{data.name} is saved: new buyers get these terms; earlier buyers keep theirs."
                           if saved.changed else "Nothing to save: the package is unchanged.")
        self._open_form(_blank_form(), [], "", -1)
        self._refresh()

    @admin_event
    def set_active(self, package_id: str, checked: bool):
        """`checked`: on sale (True) or not."""
        active = checked
        try:
            set_package_active(engine=deps.engine(), gateway=deps.gateway(), actor=current_actor(),
                               package_id=package_id, active=active)
        except PaymentProviderError:
            self.admin_error = "Stripe could not be reached. Please try again."
            return
        self.notice = "The package is on sale again." if active else "The package is no longer on sale."
        self._refresh()

    @admin_event
    def refund_unused(self, grant_id: str):
        try:
            self.notice = refund_unused_credits(engine=deps.engine(), gateway=deps.gateway(), actor=current_actor(),
                                                grant_id=grant_id)
        except RefundRefused as exc:
            self.admin_error = str(exc)
        self._refresh()


# --- the page -------------------------------------------------------------------------------------


def _package_row(row: PackageRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.name), rx.table.cell(row.sessions), rx.table.cell(row.price),
        rx.table.cell(row.validity_days, " days"), rx.table.cell(row.session_types), rx.table.cell(row.sold),
        rx.table.cell(rx.hstack(
            rx.button("Edit", size="1", variant="soft", on_click=PackagesState.edit(row.id),
                      data_testid="edit-package"),
            rx.cond(row.active,
                    rx.button("Stop selling", size="1", variant="soft",
                              on_click=PackagesState.set_active(row.id, False)),
                    rx.button("Sell again", size="1", variant="soft",
                              on_click=PackagesState.set_active(row.id, True))),
            spacing="2")),
        data_testid="package-row")


def _sale_row(row: SaleRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.client_email), rx.table.cell(row.package_name), rx.table.cell(row.paid),
        rx.table.cell(row.bought), rx.table.cell(row.unused, data_testid="sale-unused"), rx.table.cell(row.expires),
        rx.table.cell(rx.cond(row.refundable != "",
                              rx.button("Refund unused (", row.refundable, ")", size="1", color_scheme="red",
                                        variant="soft", on_click=PackagesState.refund_unused(row.grant_id),
                                        data_testid="refund-unused"))),
        data_testid="sale-row")


def _field(label: str, name: str, **props) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=f"package-{name}"),
        rx.input(id=f"package-{name}", name=name, default_value=PackagesState.form_values[name], **props),
        rx.cond(PackagesState.form_errors.contains(name),
                rx.text(PackagesState.form_errors[name], color_scheme="red", size="2")),
        spacing="1")


def _type_choice(row: SessionTypeRow) -> rx.Component:
    return rx.el.label(
        rx.checkbox(checked=PackagesState.chosen_types.contains(row.id),
                    on_change=lambda chosen: PackagesState.toggle_type(row.id, chosen)),
        " ", row.name, " (", row.builder_name, ")",
        style={"display": "flex", "gap": "0.4em", "align_items": "center"})


def _form() -> rx.Component:
    editing = PackagesState.editing_package_id != ""
    return rx.card(rx.form(
        rx.vstack(
            rx.heading(rx.cond(editing, "Edit the package", "Add a package"), size="4", as_="h2"),
            rx.cond(editing, rx.text("New buyers get the new terms at once. Clients who already bought keep "
                                     "theirs: their credits, expiry, session types and what they paid.", size="2")),
            rx.flex(_field("Name", "name", required=True, max_length=120),
                    _field("Sessions", "session_count", type="number", min=1, max=100, required=True),
                    _field("Price", "price", placeholder="135.00", required=True),
                    rx.vstack(rx.el.label("Currency", html_for="package-currency"),
                              rx.el.select(*[rx.el.option(code.upper(), value=code)
                                             for code in ("gbp", "eur", "usd", "jpy")],
                                           id="package-currency", name="currency",
                                           default_value=PackagesState.form_values["currency"]), spacing="1"),
                    _field("Valid for (days)", "validity_days", type="number", min=1, max=730, required=True),
                    wrap="wrap", spacing="4"),
            _field("Other currencies (optional)", "other_prices", placeholder="EUR 155.00, USD 170.00"),
            _field("Description", "description", max_length=2000),
            rx.text("Sessions the credits can be spent on", weight="medium", size="2"),
            rx.foreach(PackagesState.session_types, _type_choice),
            rx.cond(PackagesState.form_errors.contains("session_type_ids"),
                    rx.text(PackagesState.form_errors["session_type_ids"], color_scheme="red", size="2")),
            rx.hstack(
                rx.button(rx.cond(editing, "Save", "Put it on sale"), type="submit", data_testid="create-package"),
                rx.cond(editing, rx.button("Cancel", type="button", variant="soft", color_scheme="gray",
                                           on_click=PackagesState.cancel_edit)),
                spacing="3"),
            spacing="3", align="start"),
        on_submit=PackagesState.save, reset_on_submit=False, key=PackagesState.form_key))


def _content() -> rx.Component:
    return rx.vstack(
        rx.text("A package sells several sessions at once. Clients get a wallet link by email and book each "
                "session with a credit, with no payment at booking time. Unused credits expire at the end of "
                "the validity; you can refund them pro rata.", size="2"),
        rx.cond(PackagesState.notice != "", success_callout(PackagesState.notice, data_testid="packages-notice")),
        rx.cond(PackagesState.admin_error != "", error_callout(PackagesState.admin_error)),
        rx.cond(PackagesState.packages.length() > 0,
                rx.table.root(
                    rx.table.header(rx.table.row(*[rx.table.column_header_cell(name) for name in (
                        "Package", "Sessions", "Price", "Valid for", "For", "Sold", "")])),
                    rx.table.body(rx.foreach(PackagesState.packages, _package_row)), width="100%"),
                rx.text("No packages yet.", color_scheme="gray")),
        _form(),
        rx.heading("Sold", size="4", as_="h2"),
        rx.cond(PackagesState.sales.length() > 0,
                rx.table.root(
                    rx.table.header(rx.table.row(*[rx.table.column_header_cell(name) for name in (
                        "Client", "Package", "Paid", "Sessions", "Unused", "Expire on", "")])),
                    rx.table.body(rx.foreach(PackagesState.sales, _sale_row)), width="100%"),
                rx.text("No packages sold yet.", color_scheme="gray")),
        spacing="4", width="100%")


def page() -> rx.Component:
    return admin_layout(_content(), title=TITLE)


def register(app: rx.App) -> None:
    app.add_page(page, route=routes.ADMIN_PACKAGES, title=TITLE + " · Workspace",
                 on_load=[AdminState.guard, PackagesState.load])
