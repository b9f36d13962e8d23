"""Payouts (routes.ADMIN_PAYOUTS): how a builder gets paid through Stripe Connect.

A builder sets up payouts here (an Express account and Stripe's hosted onboarding), sees what Stripe
still needs, opens their Express dashboard, and reads their balance, payouts and the transfer, fee and
net of each sale (booking, package, membership payment). A platform admin picks a builder to look at, and sees the fees collected per
month and currency and every connected account (flagged ones first).

Thin: the rules live in booking.connect (and the fee in booking.pricing). Anything that calls Stripe
runs as a background handler; the onboarding return and refresh pages are their own routes.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import reflex as rx

from booking.accounts import Forbidden, NotFound, builder_scope
from booking.core import get_settings, session_scope
from booking.payments import (
    STATE_LABELS,
    AccountState,
    ConnectedBuilderRow,
    FeeMonthRow,
    MovementLine,
    PartyTotal,
    PaymentProviderError,
    PayoutRow,
    PayoutsNotReady,
    TotalRow,
    TransferRow,
    balance_lines,
    balance_note,
    connected_builders,
    describe,
    fee_report,
    login_link,
    money_breakdown,
    payouts_view,
    refresh_money,
    renew_onboarding_link,
    start_onboarding,
    sync_account,
)
from booking.workspace import builder_options
from booking_ui import deps, routes
from booking_ui.admin.base import AdminState, admin_background, admin_event, current_actor
from booking_ui.admin.components import pager, tone_callout, warning_callout
from booking_ui.admin.layout import admin_layout
from booking_ui.offloop import off_loop

TITLE = "Payouts"
log = logging.getLogger(__name__)
UNEXPECTED = "Something went wrong talking to Stripe; nothing was changed. Please try again."
RETURNED = "returned"  # ?onboarding=returned: back from Stripe's onboarding


@dataclass(frozen=True)
class BuilderChoice:
    id: str
    name: str


def _urls() -> tuple[str, str]:
    base = get_settings().public_url
    return base + routes.ADMIN_PAYOUTS_RETURN, base + routes.ADMIN_PAYOUTS_REFRESH


def _state_tone(state: AccountState) -> str:
    """How the account's state is shown: set up is good news; anything else still needs the builder."""
    return "success" if state == AccountState.ENABLED else "warning"


def _state_message(state: AccountState) -> str:
    return {
        AccountState.ENABLED: "Payouts are set up: new bookings are paid to your Stripe account, "
                                      "less the platform fee.",
        AccountState.INCOMPLETE: "Stripe still needs a few details before it can pay you.",
        AccountState.RESTRICTED: "Stripe has paused your payouts until it gets the details below.",
        AccountState.NOT_STARTED: "Payouts are not set up yet.",
    }[state]


class PayoutsState(AdminState):
    # Whose payouts are shown: a builder's own; a platform admin's choice ("" = none chosen yet).
    viewed_builder_id: str = ""
    viewed_builder_name: str = ""
    builder_choices: list[BuilderChoice] = []
    account_state: str = ""
    account_label: str = ""
    details_submitted: bool = False
    payouts_enabled: bool = False
    requirements: list[str] = []
    checked_at: str = ""
    fee_rule: str = ""
    bookable: bool = True
    transfers: list[TransferRow] = []
    transfers_page: int = 1
    transfers_pages: int = 1
    transfers_total: int = 0
    payouts: list[PayoutRow] = []
    totals: list[TotalRow] = []
    available: list[str] = []
    pending: list[str] = []
    balance_note: str = ""  # why a balance is below zero
    held_amounts: list[str] = []  # the builder's share of what the platform holds for them, per currency
    held_bookings: int = 0
    held_reason: str = ""
    held_when: str = ""
    breakdown_booking: str = ""  # the payment whose movements are shown ("" = none)
    breakdown_title: str = ""
    breakdown_lines: list[MovementLine] = []
    breakdown_parties: list[PartyTotal] = []
    breakdown_balanced: bool = True
    money_loading: bool = False
    stripe_problem: str = ""
    fee_months: list[FeeMonthRow] = []
    connected: list[ConnectedBuilderRow] = []
    connected_page: int = 1
    connected_pages: int = 1
    notice: str = ""
    notice_tone: str = "info"  # success | warning | info (components.tone_callout)
    action_error: str = ""
    working: bool = False  # a Stripe call for a button is under way

    def _viewed(self) -> int | None:
        """The builder on screen: a builder's own, whatever the browser sent; an admin's choice."""
        return builder_scope(current_actor(), self.viewed_builder_id or None)

    def _show_view(self) -> None:
        actor = current_actor()
        viewed = self._viewed()
        self.viewed_builder_id = str(viewed) if viewed is not None else ""
        with session_scope(deps.engine()) as session:
            if actor.is_admin:
                self.builder_choices = [BuilderChoice(id=str(b.id), name=b.name)
                                        for b in builder_options(session=session)]
                self.fee_months = fee_report(session=session, actor=actor)
                self.connected, self.connected_page, self.connected_pages = connected_builders(
                    session=session, actor=actor, page=self.connected_page)
            if viewed is None:
                self._clear_view()
                return
            view = payouts_view(session=session, actor=actor, settings=get_settings(), builder_id=viewed,
                                        page=self.transfers_page)
        account = view.account
        self.viewed_builder_name = view.builder_name
        self.account_state, self.account_label = account.state, account.label
        self.details_submitted, self.payouts_enabled = account.details_submitted, account.payouts_enabled
        self.requirements, self.checked_at = account.requirements, account.checked_at
        self.fee_rule, self.bookable = account.fee_rule, account.bookable
        self.transfers, self.transfers_page, self.transfers_pages, self.transfers_total = (
            view.transfers, view.page, view.pages, view.total)
        self.payouts, self.totals = view.payouts, view.totals
        held = view.held
        self.held_amounts = held.amounts if held else []
        self.held_bookings = held.bookings if held else 0
        self.held_reason, self.held_when = (held.reason, held.when) if held else ("", "")

    def _clear_view(self) -> None:
        self.viewed_builder_name = self.account_state = self.account_label = self.checked_at = ""
        self.requirements, self.transfers, self.payouts, self.totals = [], [], [], []
        self.available, self.pending, self.balance_note = [], [], ""
        self.held_amounts, self.held_bookings, self.held_reason, self.held_when = [], 0, "", ""
        self.transfers_page = self.transfers_pages = 1
        self.transfers_total = 0
        self.fee_rule = describe(get_settings())

    @admin_event
    def load(self):
        self.notice = self.action_error = self.stripe_problem = ""
        self.working = False
        self.transfers_page = self.connected_page = 1
        self.available, self.pending = [], []
        if not current_actor().is_admin:
            self.viewed_builder_id = ""
        self._show_view()
        if self.router.url.query_parameters.get("onboarding", "") == RETURNED and self.account_state:
            self.notice = _state_message(AccountState(self.account_state))
            self.notice_tone = _state_tone(AccountState(self.account_state))
        return PayoutsState.refresh_from_stripe if self.viewed_builder_id else None

    @admin_event
    def choose_builder(self, value: str):
        """A platform admin looks at one builder's payouts (a builder always sees their own)."""
        self.viewed_builder_id = value if value.isdigit() else ""
        self.transfers_page = 1
        self.available, self.pending, self.stripe_problem, self.notice = [], [], "", ""
        self._show_view()
        return PayoutsState.refresh_from_stripe if self.viewed_builder_id else None

    @admin_event
    def show_transfers_page(self, page: int):
        self.transfers_page = _page_number(page)
        self._show_view()

    @admin_event
    def show_breakdown(self, booking_id: str):
        """Platform admins: where every penny of one booking's payment went (the money journal)."""
        with session_scope(deps.engine()) as session:
            breakdown = money_breakdown(session=session, actor=current_actor(), booking_id=booking_id)
        self.breakdown_booking, self.breakdown_title = breakdown.booking_id, breakdown.title
        self.breakdown_lines, self.breakdown_parties = breakdown.lines, breakdown.parties
        self.breakdown_balanced = breakdown.balanced

    @admin_event
    def hide_breakdown(self):
        self.breakdown_booking, self.breakdown_lines, self.breakdown_parties = "", [], []

    @admin_event
    def show_connected_page(self, page: int):
        current_actor().require_admin()
        self.connected_page = _page_number(page)
        self._show_view()

    @admin_background
    async def refresh_from_stripe(self):
        """The balance and payouts at Stripe, and transfers we have not recorded yet."""
        actor = current_actor()
        async with self:
            if self.money_loading:
                return
            self.money_loading, self.stripe_problem = True, ""
            viewed = builder_scope(actor, self.viewed_builder_id or None)
        if viewed is None:
            async with self:
                self.money_loading = False
            return
        problem = ""
        money = None
        try:
            money = await asyncio.to_thread(refresh_money, engine=deps.engine(), gateway=deps.gateway(),
                                            actor=actor, builder_id=viewed,
                                            payouts_url=get_settings().public_url + routes.ADMIN_PAYOUTS)
            problem = money.problem
        except (NotFound, Forbidden):
            async with self:
                self.money_loading = False
            raise
        except PaymentProviderError as exc:
            problem = str(exc)
        except Exception:
            log.exception("refreshing the payouts view from Stripe failed")
            problem = UNEXPECTED
        async with self:
            self.money_loading = False
            self.stripe_problem = f"Stripe's figures are not available right now: {problem}" if problem else ""
            if money is not None and money.balance is not None:
                self.available, self.pending = balance_lines(money.balance)
                self.balance_note = balance_note(money.balance)
            await off_loop(self._show_view)

    @admin_background
    async def set_up_payouts(self):
        """Create the builder's Express account (once) and send the browser to Stripe's onboarding."""
        actor = current_actor()
        async with self:
            if self.working:
                return None
            self.working, self.action_error, self.notice = True, "", ""
        return_url, refresh_url = _urls()
        try:
            url = await asyncio.to_thread(start_onboarding, engine=deps.engine(), gateway=deps.gateway(),
                                          actor=actor, return_url=return_url, refresh_url=refresh_url)
        except Forbidden as exc:
            return await self._fail(str(exc))
        except PaymentProviderError as exc:
            return await self._fail(f"Stripe could not start onboarding: {exc}")
        except Exception:
            log.exception("starting payouts onboarding failed")
            return await self._fail(UNEXPECTED)
        async with self:
            # A second click meanwhile is harmless: the same account (idempotency key), a new link.
            self.working, self.notice, self.notice_tone = False, "Taking you to Stripe…", "info"
        return rx.redirect(url)

    @admin_background
    async def open_express_dashboard(self):
        """A one-time Login Link into the builder's Stripe Express dashboard."""
        actor = current_actor()
        async with self:
            if self.working:
                return None
            self.working, self.action_error = True, ""
        try:
            url = await asyncio.to_thread(login_link, engine=deps.engine(), gateway=deps.gateway(),
                                          actor=actor)
        except (Forbidden, PayoutsNotReady) as exc:
            return await self._fail(str(exc))
        except PaymentProviderError as exc:
            return await self._fail(f"Stripe could not open the dashboard: {exc}")
        except Exception:
            log.exception("opening the Express dashboard failed")
            return await self._fail(UNEXPECTED)
        async with self:
            self.working = False
        return rx.redirect(url)

    @admin_background
    async def check_status(self):
        """Re-read the connected account from Stripe now (also what the return page does)."""
        actor = current_actor()
        async with self:
            if self.working:
                return None
            self.working, self.action_error, self.notice = True, "", ""
            viewed = builder_scope(actor, self.viewed_builder_id or None)
        try:
            state = await asyncio.to_thread(sync_account, engine=deps.engine(), gateway=deps.gateway(),
                                            actor=actor, builder_id=viewed)
        except (NotFound, Forbidden):
            async with self:
                self.working = False
            raise
        except PaymentProviderError as exc:
            return await self._fail(f"Stripe could not be asked: {exc}")
        except Exception:
            log.exception("checking the payouts status failed")
            return await self._fail(UNEXPECTED)
        async with self:
            self.working = False
            self.notice = _state_message(state) if not actor.is_admin else f"Stripe says: {STATE_LABELS[state]}."
            self.notice_tone = _state_tone(state)
            await off_loop(self._show_view)
        return None

    @admin_background
    async def finish_onboarding(self):
        """on_load of the return page: Stripe sent the builder back; re-read the account, then show it."""
        actor = current_actor()
        if actor.is_admin:
            return rx.redirect(routes.ADMIN_PAYOUTS)
        try:
            await asyncio.to_thread(sync_account, engine=deps.engine(), gateway=deps.gateway(), actor=actor)
        except PaymentProviderError as exc:  # the account.updated webhook brings the news later
            log.warning("onboarding return: could not re-read the account: %s", exc)
        return rx.redirect(f"{routes.ADMIN_PAYOUTS}?onboarding={RETURNED}")

    @admin_background
    async def renew_onboarding(self):
        """on_load of the refresh page: the link expired or was used; make a new one and go back to Stripe."""
        actor = current_actor()
        if actor.is_admin:
            return rx.redirect(routes.ADMIN_PAYOUTS)
        return_url, refresh_url = _urls()
        try:
            url = await asyncio.to_thread(renew_onboarding_link, engine=deps.engine(),
                                          gateway=deps.gateway(), actor=actor, return_url=return_url,
                                          refresh_url=refresh_url)
        except PaymentProviderError as exc:
            async with self:
                self.action_error = f"Stripe could not make a new onboarding link: {exc}"
            return None
        return rx.redirect(url)

    async def _fail(self, message: str):
        async with self:
            self.working = False
            self.action_error = message
        return None


def _page_number(page: int) -> int:
    try:
        return max(1, int(page))
    except (TypeError, ValueError):
        return 1


# --- the page ---------------------------------------------------------------------------------------------

S = PayoutsState


def _status_badge() -> rx.Component:
    return rx.badge(S.account_label, size="2", data_testid="payouts-status", color_scheme=rx.match(
        S.account_state, ("enabled", "green"), ("restricted", "red"), ("incomplete", "amber"), "gray"))


def _table(headers: tuple[str, ...], rows, row_view, empty: str, testid: str) -> rx.Component:
    return rx.cond(
        rows.length() > 0,
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(name) for name in headers])),
            rx.table.body(rx.foreach(rows, row_view)),
            width="100%",
            variant="surface",
            data_testid=testid,
        ),
        rx.text(empty, color_scheme="gray"),
    )


def _section(title: str, *children: rx.Component) -> rx.Component:
    return rx.vstack(rx.heading(title, size="4", as_="h2"), *children, spacing="3", width="100%")


def _account_card() -> rx.Component:
    builder_only = ~S.is_platform_admin
    return rx.card(
        rx.vstack(
            rx.hstack(rx.heading("Stripe account", size="4", as_="h2"), _status_badge(), align="center",
                      spacing="3"),
            rx.cond(
                S.requirements.length() > 0,
                rx.vstack(
                    rx.text("Stripe still needs:", weight="medium"),
                    rx.el.ul(rx.foreach(S.requirements, lambda item: rx.el.li(item)),
                             data_testid="payouts-requirements", style={"margin": "0", "padding_left": "1.2em"}),
                    spacing="1",
                ),
            ),
            rx.cond(S.checked_at != "", rx.text("Last heard from Stripe: ", S.checked_at, size="1",
                                                color_scheme="gray")),
            rx.hstack(
                rx.cond(builder_only & ((S.account_state == "not_started") | (S.account_state == "incomplete")
                                        | (S.account_state == "restricted")),
                        rx.button(rx.cond(S.account_state == "not_started", "Set up payouts", "Continue onboarding"),
                                  on_click=S.set_up_payouts, loading=S.working, disabled=S.working,
                                  data_testid="set-up-payouts")),
                rx.cond(builder_only & S.details_submitted,
                        rx.button("Open Stripe Express dashboard", variant="soft", on_click=S.open_express_dashboard,
                                  disabled=S.working, data_testid="express-dashboard")),
                rx.cond(S.account_state != "not_started",
                        rx.button("Check status", variant="soft", color_scheme="gray", on_click=S.check_status,
                                  disabled=S.working, data_testid="check-payouts-status")),
                spacing="3",
                wrap="wrap",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _fee_note() -> rx.Component:
    return rx.vstack(
        rx.text("Platform fee: ", rx.text.strong(S.fee_rule, data_testid="payouts-fee-rule"),
                ". It is taken from each payment; refunds give back its share.", size="2"),
        rx.cond(
            S.payouts_enabled,
            rx.fragment(),
            rx.cond(S.bookable,
                    rx.text("Until payouts are enabled, clients' payments are held by the platform.", size="2",
                            color_scheme="amber"),
                    rx.text("Clients can't book until payouts are enabled.", size="2", color_scheme="red",
                            data_testid="payouts-not-bookable")),
        ),
        spacing="1",
    )


def _held_funds() -> rx.Component:
    return rx.cond(
        S.held_bookings > 0,
        rx.callout.root(
            rx.callout.icon(rx.icon("hourglass")),
            rx.vstack(
                rx.text(rx.text.strong("Held by the platform for you: "),
                        rx.foreach(S.held_amounts, lambda amount: rx.text.span(amount, " ")),
                        "(", S.held_bookings, rx.cond(S.held_bookings == 1, " sale)", " sales)"),
                        data_testid="held-amount"),
                rx.text(rx.text.strong("Why: "), S.held_reason, data_testid="held-reason"),
                rx.text(rx.text.strong("When it is released: "), S.held_when, data_testid="held-when"),
                spacing="1",
            ),
            color_scheme="amber", width="100%", data_testid="held-funds",
        ),
    )


def _money_list(values, testid: str) -> rx.Component:
    return rx.cond(values.length() > 0,
                   rx.hstack(rx.foreach(values, lambda value: rx.text(value, weight="bold", size="5")), spacing="3",
                             data_testid=testid),
                   rx.text("—", color_scheme="gray", data_testid=testid))


def _balance() -> rx.Component:
    return _section(
        "Balance at Stripe",
        rx.cond(S.stripe_problem != "", warning_callout(S.stripe_problem, role="alert")),
        rx.cond(S.account_state == "not_started",
                rx.text("Set up payouts to see your Stripe balance.", color_scheme="gray"),
                rx.hstack(
                    rx.vstack(rx.text("Available", size="2", color_scheme="gray"),
                              _money_list(S.available, "balance-available"), spacing="1"),
                    rx.vstack(rx.text("Pending", size="2", color_scheme="gray"),
                              _money_list(S.pending, "balance-pending"), spacing="1"),
                    rx.cond(S.money_loading, rx.hstack(rx.spinner(size="1"), rx.text("Asking Stripe…", size="2"),
                                                       role="status", align="center")),
                    spacing="6",
                    align="start",
                )),
        rx.cond(S.balance_note != "", rx.text(S.balance_note, size="2", color_scheme="amber",
                                             data_testid="balance-note")),
    )


def _total_row(row: TotalRow) -> rx.Component:
    return rx.table.row(rx.table.cell(row.currency), rx.table.cell(row.sales, data_testid="total-sales"),
                        rx.table.cell(row.gross),
                        rx.table.cell(row.fees), rx.table.cell(row.net, data_testid="total-net"),
                        rx.table.cell(row.held), data_testid="total-row")


def _payout_row(row: PayoutRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(row.payout_id)),
        rx.table.cell(row.amount),
        rx.table.cell(rx.badge(row.status, variant="soft", data_testid="payout-status", color_scheme=rx.match(
            row.status, ("paid", "green"), ("failed", "red"), ("canceled", "red"), "amber"))),
        rx.table.cell(row.arrival),
        rx.table.cell(rx.text(row.failure, size="1", color_scheme="red")),
        data_testid="payout-row",
    )


def _transfer_row(row: TransferRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.when, white_space="nowrap")),
        rx.table.cell(rx.badge(row.kind, variant="soft", color_scheme="gray"), data_testid="transfer-kind"),
        rx.table.cell(rx.vstack(rx.text(row.client), rx.text(row.sold, size="1", color_scheme="gray"),
                                spacing="0")),
        rx.table.cell(row.amount, data_testid="transfer-amount"),
        rx.table.cell(rx.cond(row.held_by_platform, rx.text("—", color_scheme="gray"), rx.text(row.fee)),
                      data_testid="transfer-fee"),
        rx.table.cell(rx.cond(row.held_by_platform, rx.badge("Held by the platform", color_scheme="amber",
                                                              variant="soft"),
                              rx.vstack(rx.text(row.net, weight="medium"),
                                        rx.cond(row.released, rx.badge("Released ", row.released_at, color_scheme="green",
                                                                       variant="soft", data_testid="transfer-released")),
                                        spacing="1")),
                      data_testid="transfer-net"),
        rx.table.cell(rx.cond(row.refunded != "", rx.vstack(rx.text(row.refunded),
                                                              rx.cond(row.fee_refunded != "",
                                                                      rx.text("fee back ", row.fee_refunded, size="1",
                                                                              color_scheme="gray")),
                                                              spacing="0"), rx.text("")),
                      data_testid="transfer-refunded"),
        rx.table.cell(rx.cond(row.transfer_id != "", rx.code(row.transfer_id),
                              rx.text(row.transfer_note, color_scheme="gray")),
                      data_testid="transfer-id"),
        rx.table.cell(rx.badge(row.status, variant="soft", color_scheme=rx.match(
            row.status, ("paid", "green"), ("refunded", "gray"), "amber"))),
        rx.table.cell(rx.cond(S.is_platform_admin & (row.booking_id != ""),
                              rx.button("Where the money went", size="1", variant="ghost",
                                        on_click=S.show_breakdown(row.booking_id), data_testid="show-breakdown"))),
        data_testid="transfer-row",
    )


def _line_row(line: MovementLine) -> rx.Component:
    return rx.table.row(rx.table.cell(line.when), rx.table.cell(line.label), rx.table.cell(line.source),
                        rx.table.cell(line.destination), rx.table.cell(line.amount),
                        rx.table.cell(rx.code(line.stripe_object_id)), data_testid="movement-row")


def _breakdown() -> rx.Component:
    return rx.cond(
        S.breakdown_booking != "",
        rx.card(rx.vstack(
            rx.hstack(rx.heading("Where the money went: ", S.breakdown_title, size="4", as_="h2"),
                      rx.button("Close", size="1", variant="soft", color_scheme="gray", on_click=S.hide_breakdown),
                      justify="between", width="100%"),
            _table(("When (UTC)", "Movement", "From", "To", "Amount", "Stripe object"), S.breakdown_lines,
                   _line_row, "No movements recorded yet.", "breakdown-movements"),
            rx.hstack(rx.foreach(S.breakdown_parties, lambda p: rx.vstack(
                rx.text(p.party, size="2", color_scheme="gray"),
                rx.text(p.amount, weight="bold", color_scheme=rx.cond(p.negative, "red", "gray")),
                spacing="0", data_testid="breakdown-party")), spacing="6"),
            rx.text("The client's total is what it paid net (a minus: money out of its pocket); the others' add up "
                    "to it.", size="1", color_scheme="gray"),
            rx.cond(~S.breakdown_balanced, rx.text("These movements do not add up yet: an event is still on its way.",
                                                   size="2", color_scheme="red")),
            spacing="3", width="100%"), width="100%", data_testid="money-breakdown"),
    )


def _builder_view() -> rx.Component:
    return rx.vstack(
        rx.cond(S.is_platform_admin, rx.heading(S.viewed_builder_name, size="5", as_="h2")),
        _account_card(),
        _fee_note(),
        _held_funds(),
        _balance(),
        _breakdown(),
        _section("Totals", _table(("Currency", "Sales", "Paid (less refunds)", "Platform fees", "Your net",
                                   "Held by the platform"), S.totals, _total_row, "No sales yet.",
                                  "payout-totals")),
        _section("Recent payouts", _table(("Payout", "Amount", "Status", "Arrives", "Problem"), S.payouts,
                                          _payout_row, "No payouts yet.", "payouts-list")),
        _section(
            "Sales and their transfers",
            rx.text("Bookings (at their session's time), package sales and membership payments (when paid).",
                    size="2", color_scheme="gray"),
            _table(("When", "Sold", "Client", "Paid", "Platform fee", "Net to you", "Refunded", "Transfer", "Status",
                    ""), S.transfers, _transfer_row, "No sales yet.", "transfers-list"),
            pager(S.transfers_page, S.transfers_page < S.transfers_pages, S.show_transfers_page, " of ",
                  S.transfers_pages, label="sales"),
        ),
        spacing="5",
        width="100%",
    )


def _fee_month_row(row: FeeMonthRow) -> rx.Component:
    return rx.table.row(rx.table.cell(row.month), rx.table.cell(row.kind, data_testid="fee-kind"),
                        rx.table.cell(row.currency), rx.table.cell(row.payments),
                        rx.table.cell(row.gross), rx.table.cell(row.fees), rx.table.cell(row.fees_refunded),
                        rx.table.cell(row.fees_kept), rx.table.cell(row.stripe_fees, data_testid="fee-stripe"),
                        rx.table.cell(row.dispute_fees),
                        rx.table.cell(rx.text(row.net, weight="medium", color_scheme=rx.cond(row.net_negative, "red",
                                                                                             "gray")),
                                      data_testid="fee-net"),
                        rx.table.cell(row.held), rx.table.cell(row.discounted_sales, data_testid="fee-discounted-sales"),
                        rx.table.cell(row.discounts, data_testid="fee-discounts"), data_testid="fee-month-row")


def _connected_row(row: ConnectedBuilderRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.button(row.name, variant="ghost", size="1", on_click=S.choose_builder(row.builder_id))),
        rx.table.cell(rx.badge(row.label, variant="soft", color_scheme=rx.match(
            row.state, ("enabled", "green"), ("restricted", "red"), "amber"))),
        rx.table.cell(row.requirements),
        rx.table.cell(row.checked_at),
        data_testid="connected-row",
    )


def _platform() -> rx.Component:
    return rx.vstack(
        _section("Platform fees collected", rx.text("Per month (when paid, UTC) and currency, last 12 months.",
                                                    size="2", color_scheme="gray"),
                 rx.text("Promotion codes: the fee is on what the client paid after the discount; the last "
                         "columns count those sales and what the codes took off.", size="2", color_scheme="gray"),
                 rx.text("Real net = fees kept − Stripe's processing fees − dispute fees. \"Where the money went\" "
                         "beside each booking of a builder (below) shows every movement of its payment.", size="2",
                         color_scheme="gray"),
                 _table(("Month", "Sold", "Currency", "Payments", "Paid (less refunds)", "Fees", "Fees refunded",
                         "Fees kept", "Stripe's fees", "Dispute fees", "Real net", "Held for builders without payouts",
                         "Sales with a code", "Discounts given"),
                        S.fee_months, _fee_month_row,
                        "No payments in the last 12 months.", "fee-report")),
        _section("Connected accounts",
                 _table(("Builder", "Status", "Requirements due", "Last update"), S.connected, _connected_row,
                        "No builder has set up payouts yet.", "connected-accounts"),
                 pager(S.connected_page, S.connected_page < S.connected_pages, S.show_connected_page, " of ",
                       S.connected_pages, label="connected accounts")),
        rx.vstack(
            rx.el.label("Builder", html_for="payouts-builder", font_weight="500"),
            rx.el.select(
                rx.el.option("Choose a builder…", value=""),
                rx.foreach(S.builder_choices, lambda b: rx.el.option(b.name, value=b.id)),
                id="payouts-builder", value=S.viewed_builder_id, on_change=S.choose_builder,
            ),
            spacing="1",
        ),
        spacing="5",
        width="100%",
    )


def _content() -> rx.Component:
    return rx.vstack(
        rx.cond(S.notice != "", tone_callout(S.notice, S.notice_tone, data_testid="payouts-notice")),
        rx.cond(S.action_error != "", rx.callout(S.action_error, icon="triangle_alert", color_scheme="red",
                                                 role="alert", width="100%", data_testid="payouts-error")),
        rx.cond(S.is_platform_admin, _platform()),
        rx.cond(S.viewed_builder_id != "", _builder_view()),
        spacing="6",
        width="100%",
    )


def page() -> rx.Component:
    return admin_layout(_content(), title=TITLE)


def _waiting(message: str) -> rx.Component:
    def view() -> rx.Component:
        return admin_layout(
            rx.hstack(rx.spinner(), rx.text(message), role="status", align="center", spacing="3"),
            rx.cond(S.action_error != "", rx.callout(S.action_error, icon="triangle_alert", color_scheme="red",
                                                     role="alert", width="100%", data_testid="payouts-error")),
            rx.link("Back to payouts", href=routes.ADMIN_PAYOUTS),
            title=TITLE,
        )
    return view


def register(app: rx.App) -> None:
    app.add_page(page, route=routes.ADMIN_PAYOUTS, title=TITLE + " · Workspace",
                 on_load=[AdminState.guard, PayoutsState.load])
    app.add_page(_waiting("Checking your Stripe account…"), route=routes.ADMIN_PAYOUTS_RETURN,
                 title=TITLE + " · Workspace", on_load=[AdminState.guard, PayoutsState.finish_onboarding])
    app.add_page(_waiting("Making a new onboarding link…"), route=routes.ADMIN_PAYOUTS_REFRESH,
                 title=TITLE + " · Workspace", on_load=[AdminState.guard, PayoutsState.renew_onboarding])
