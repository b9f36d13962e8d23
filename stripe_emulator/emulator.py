"""The emulator without HTTP: the core engine (`core/engine.py`) with the resources wired in.

`Emulator` is what the app serves and what tests drive directly. It registers what the engine
runs when time passes (in this order: sessions past `expires_at` expire, pending funds become
available, payout schedules run and payouts settle) and the fields computed on expansion, and
offers shortcuts for in-process use (create objects from raw parameters, pay a session).
"""

from __future__ import annotations

from typing import Any

from stripe_emulator.core import bank_debits, billing, disputes, invoicing, ledger, money, payment_engine
from stripe_emulator.core.config import EmulatorConfig
from stripe_emulator.core.context import AUTOMATIC, RequestContext
from stripe_emulator.core.engine import Engine
from stripe_emulator.core.payment_engine import PaymentResult
from stripe_emulator.resources import accounts, catalog, checkout, payouts, refunds


class Emulator(Engine):
    def __init__(self, config: EmulatorConfig | None = None) -> None:
        super().__init__(config)
        self.on_tick(checkout.expire_due, "expired_sessions")
        self.on_tick(bank_debits.settle_due, "settled_debits")
        self.on_tick(ledger.release_due)
        self.on_tick(payouts.run_schedules, "payouts")
        self.on_tick(disputes.decide_due, "disputes")
        self.on_tick(refunds.settle_due, "refunds")
        self.on_tick(billing.renew_due, "renewed_invoices")
        self.compute("invoice", "payments", invoicing.payments_of)
        self.compute(
            "checkout.session",
            "line_items",
            lambda engine, session: checkout.line_items_list(engine, session["id"], {"limit": 100}),
        )
        self.compute("price", "currency_options", lambda engine, price: money.currency_options(engine.store, price))

    # --- resources (raw params are parsed with each endpoint's spec) -----------------------

    def create_checkout_session(self, params: dict[str, Any], ctx: RequestContext = AUTOMATIC) -> dict[str, Any]:
        return checkout.create_session(self, ctx, checkout.CREATE.parse(params, ""))

    def expire_checkout_session(self, session_id: str, ctx: RequestContext = AUTOMATIC) -> dict[str, Any]:
        return checkout.expire_session(self, session_id, ctx)

    def expire_due_sessions(self) -> list[str]:
        return checkout.expire_due(self)

    def create_refund(self, params: dict[str, Any], ctx: RequestContext = AUTOMATIC) -> dict[str, Any]:
        return refunds.create_refund(self, ctx, refunds.CREATE.parse(params, ""))

    def create_product(self, params: dict[str, Any], ctx: RequestContext = AUTOMATIC) -> dict[str, Any]:
        return catalog.create_product(self, ctx, catalog.PRODUCT_CREATE.parse(params, ""))

    def update_product(self, product_id: str, params: dict[str, Any], ctx: RequestContext = AUTOMATIC) -> dict[str, Any]:
        return catalog.update_product(self, ctx, catalog.PRODUCT_UPDATE.parse(params, ""), product_id)

    def create_price(self, params: dict[str, Any], ctx: RequestContext = AUTOMATIC) -> dict[str, Any]:
        return catalog.create_price(self, ctx, catalog.PRICE_CREATE.parse(params, ""))

    def update_price(self, price_id: str, params: dict[str, Any], ctx: RequestContext = AUTOMATIC) -> dict[str, Any]:
        return catalog.update_price(self, ctx, catalog.PRICE_UPDATE.parse(params, ""), price_id)

    def create_account(self, params: dict[str, Any], ctx: RequestContext = AUTOMATIC) -> dict[str, Any]:
        return accounts.create_account(self, ctx, accounts.CREATE.parse(params, ""))

    # --- payments (hosted page and control API share these) ------------------------------

    def pay(self, session_id: str, **form: str) -> PaymentResult:
        return checkout.pay(self, session_id, **form)

    def pay_with(self, session_id: str, method: str, **form: str) -> PaymentResult:
        """Pay with a bank debit, PayPal (starts the redirect) or a wallet (core/methods.py)."""
        return checkout.pay_with(self, session_id, method, **form)

    def resolve_paypal(self, session_id: str, attempt_id: str, action: str) -> PaymentResult:
        return checkout.resolve_paypal(self, session_id, attempt_id, action)

    def authenticate(self, session_id: str, challenge_id: str, action: str) -> PaymentResult:
        return checkout.authenticate(self, session_id, challenge_id, action)

    def challenge(self, challenge_id: str) -> dict[str, Any] | None:
        with self.lock:
            return payment_engine.challenge(self, challenge_id)

    # --- control operations --------------------------------------------------------------

    def advance_months(self, months: int) -> dict[str, Any]:
        """Control API: move the clock to the same day and time `months` later (a billing period)."""
        now = self.clock.now()
        return self.advance(billing.add_months(now, months) - now)

    def pay_out_now(self, account: str | None = None) -> list[dict[str, Any]]:
        """Control API: pay every connected account's available balance out now and settle it."""
        return payouts.pay_out_now(self, account)
