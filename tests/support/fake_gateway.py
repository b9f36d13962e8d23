"""An in-memory PaymentGateway for tests about our side of the contract (webhooks, transitions)."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from booking.payments.gateway import (
    ChargeFee,
    CheckoutMode,
    CheckoutPaymentStatus,
    CheckoutRequest,
    CheckoutSession,
    CheckoutStatus,
    ConnectedAccount,
    ConnectedBalance,
    DestinationCharge,
    PaymentDocuments,
    PaymentIntentRecord,
    PaymentProviderError,
    Refund,
    RefundState,
    StripePayout,
    StripePrice,
    StripeProduct,
    StripeTransfer,
    StripeTransferReversal,
    verify_webhook,
)
from tests.support.stripe_events import WEBHOOK_SECRET

_ids = itertools.count(1)


class FakeGateway:
    def __init__(self, webhook_secret: str = WEBHOOK_SECRET, connect_webhook_secret: str | None = None) -> None:
        self.webhook_secret = webhook_secret
        self.connect_webhook_secret = connect_webhook_secret
        self.sessions: dict[str, CheckoutSession] = {}
        self.created: list[tuple[CheckoutRequest, str]] = []
        self.expired: list[str] = []
        self.refunds: list[dict[str, Any]] = []
        self.refunds_by_key: dict[str, Refund] = {}
        self.down = False
        self.catalog = FakeCatalog()  # Products and Prices
        # What the *_since listings (reconcile) return besides self.sessions; tests fill them.
        self.listed_payment_intents: list[PaymentIntentRecord] = []
        self.listed_refunds: list[Refund] = []
        self.listed_events: list[dict[str, Any]] = []  # newest first, as Stripe lists them
        self.connect = FakeConnect()  # connected accounts, links, balances, payouts, transfers

    def _check(self) -> None:
        if self.down:
            raise PaymentProviderError("Stripe could not be reached (APIConnectionError)")

    def create_checkout_session(self, request: CheckoutRequest, *, idempotency_key: str) -> CheckoutSession:
        self._check()
        setup = request.mode is CheckoutMode.SETUP  # as Stripe: nothing to pay, no amount, the client's Customer
        session = CheckoutSession(
            id=f"cs_test_fake{next(_ids)}", url="https://checkout.example/pay", status=CheckoutStatus.OPEN,
            payment_status=CheckoutPaymentStatus.NO_PAYMENT_REQUIRED if setup else CheckoutPaymentStatus.UNPAID,
            payment_intent_id=None, amount_total=None if setup else request.amount,
            currency=request.currency, metadata=dict(request.metadata), client_reference_id=request.booking_id,
            mode=request.mode, customer_id=request.customer_id,
        )
        self.sessions[session.id] = session
        self.created.append((request, idempotency_key))
        return session

    def pay(self, session_id: str, payment_intent_id: str = "pi_test_1") -> CheckoutSession:
        """The client completes the session: paid, or (setup mode) their card saved by a SetupIntent."""
        current = self.sessions[session_id]
        if current.mode is CheckoutMode.SETUP:
            completed = {"setup_intent_id": f"seti_fake{next(_ids)}"}
        else:
            completed = {"payment_status": CheckoutPaymentStatus.PAID, "payment_intent_id": payment_intent_id}
        paid = CheckoutSession(**{**current.__dict__, "status": CheckoutStatus.COMPLETE, **completed})
        self.sessions[session_id] = paid
        return paid

    def retrieve_checkout_session(self, session_id: str) -> CheckoutSession:
        self._check()
        if session_id not in self.sessions:
            raise PaymentProviderError("Stripe could not retrieve a Checkout Session (resource_missing)")
        return self.sessions[session_id]

    def expire_checkout_session(self, session_id: str, *, idempotency_key: str) -> CheckoutSession:
        self._check()
        current = self.sessions[session_id]
        self.sessions[session_id] = CheckoutSession(**{**current.__dict__, "status": CheckoutStatus.EXPIRED})
        self.expired.append(session_id)
        return self.sessions[session_id]

    def refund(self, *, payment_intent_id: str, amount: int | None, reason: str, idempotency_key: str,
               metadata: dict[str, str], reverse_transfer: bool = False,
               refund_application_fee: bool = False) -> Refund:
        self._check()
        if idempotency_key in self.refunds_by_key:  # Stripe answers a repeated key with the first result
            return self.refunds_by_key[idempotency_key]
        asked: dict[str, Any] = {"payment_intent": payment_intent_id, "amount": amount, "key": idempotency_key}
        if reverse_transfer or refund_application_fee:  # a destination charge's refund (Connect)
            asked.update(reverse_transfer=reverse_transfer, refund_application_fee=refund_application_fee)
        self.refunds.append(asked)
        made = Refund(id=f"re_{next(_ids)}", amount=amount or 0, status=RefundState.SUCCEEDED, reason=reason,
                      payment_intent_id=payment_intent_id, metadata=dict(metadata))
        self.refunds_by_key[idempotency_key] = made
        return made

    def list_refunds(self, payment_intent_id: str) -> list[Refund]:
        self._check()
        return [r for r in self.refunds_by_key.values() if r.payment_intent_id == payment_intent_id]

    def booking_id_for_payment_intent(self, payment_intent_id: str) -> str | None:
        self._check()
        for checkout in self.sessions.values():
            if checkout.payment_intent_id == payment_intent_id:
                return checkout.metadata.get("booking_id")
        return None

    def payment_documents(self, payment_intent_id: str) -> PaymentDocuments:
        """Receipts and invoices: a receipt link per paid intent, an invoice when the client asked for one."""
        self._check()
        for checkout in self.sessions.values():
            if checkout.payment_intent_id == payment_intent_id:
                asked = any(request.invoice_requested and request.booking_id == checkout.client_reference_id
                            for request, _ in self.created)
                invoice = f"in_fake_{checkout.id[-6:]}" if asked else None
                return PaymentDocuments(
                    checkout_session_id=checkout.id,
                    receipt_url=f"https://pay.stripe.com/receipts/fake/{payment_intent_id}",
                    invoice_id=invoice,
                    invoice_url=f"https://invoice.stripe.com/i/{invoice}" if invoice else None,
                    invoice_pdf_url=f"https://pay.stripe.com/invoice/{invoice}/pdf" if invoice else None)
        return PaymentDocuments(checkout_session_id=None, receipt_url=None)

    def verify_webhook(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        return verify_webhook(payload, signature, self.webhook_secret, connect_secret=self.connect_webhook_secret)

    # --- the catalog: Products and Prices; a repeated idempotency key answers with the first result ---
    def _replay(self, key: str, make):
        self._check()
        if key not in self.catalog.answers:
            self.catalog.answers[key] = make()
        self.catalog.keys.append(key)
        return self.catalog.answers[key]

    def create_product(self, *, name: str, description: str, active: bool, metadata: dict[str, str],
                       idempotency_key: str) -> StripeProduct:
        def make() -> StripeProduct:
            product = StripeProduct(id=f"prod_fake{next(_ids)}", name=name, description=description,
                                    active=active, metadata=dict(metadata))
            self.catalog.products[product.id] = product
            return product
        return self._replay(idempotency_key, make)

    def update_product(self, product_id: str, *, name: str, description: str, active: bool,
                       metadata: dict[str, str], idempotency_key: str) -> StripeProduct:
        def make() -> StripeProduct:
            if product_id not in self.catalog.products:
                raise PaymentProviderError("Stripe could not update a Product (resource_missing)")
            product = StripeProduct(id=product_id, name=name, description=description, active=active,
                                    metadata={**self.catalog.products[product_id].metadata, **metadata})
            self.catalog.products[product_id] = product
            return product
        return self._replay(idempotency_key, make)

    def retrieve_product(self, product_id: str) -> StripeProduct | None:
        self._check()
        return self.catalog.products.get(product_id)

    def create_price(self, *, product_id: str, unit_amount: int, currency: str, metadata: dict[str, str],
                     idempotency_key: str, currency_options: dict[str, int] | None = None) -> StripePrice:
        def make() -> StripePrice:
            price = StripePrice(id=f"price_fake{next(_ids)}", product_id=product_id, unit_amount=unit_amount,
                                currency=currency, active=True, currency_options=dict(currency_options or {}))
            self.catalog.prices[price.id] = price
            return price
        return self._replay(idempotency_key, make)

    def create_coupon(self, *, percent_off: int | None, amount_off: int | None, currency: str | None, name: str,
                      metadata: dict[str, str], idempotency_key: str) -> str:
        self._check()
        return self._replay(idempotency_key, lambda: f"coupon_fake{next(_ids)}")

    def create_promotion_code(self, *, coupon_id: str, code: str, metadata: dict[str, str],
                              idempotency_key: str) -> str:
        self._check()
        return self._replay(idempotency_key, lambda: f"promo_fake{next(_ids)}")

    def set_promotion_code_active(self, promotion_code_id: str, *, active: bool, idempotency_key: str) -> None:
        self._check()

    def pay_free(self, session_id: str) -> CheckoutSession:
        """A session a 100 % code left at zero: complete, nothing to pay, no PaymentIntent."""
        done = CheckoutSession(**{**self.sessions[session_id].__dict__, "status": CheckoutStatus.COMPLETE,
                                  "payment_status": CheckoutPaymentStatus.NO_PAYMENT_REQUIRED,
                                  "payment_intent_id": None})
        self.sessions[session_id] = done
        return done
    def create_recurring_price(self, *, product_id: str, unit_amount: int, currency: str, interval: str,
                               metadata: dict[str, str], idempotency_key: str) -> StripePrice:
        return self.create_price(product_id=product_id, unit_amount=unit_amount, currency=currency,
                                 metadata=metadata, idempotency_key=idempotency_key)

    def create_subscription_checkout(self, request: Any, *, idempotency_key: str) -> CheckoutSession:
        self._check()
        session = CheckoutSession(
            id=f"cs_test_fake{next(_ids)}", url="https://checkout.example/subscribe",
            status=CheckoutStatus.OPEN, payment_status=CheckoutPaymentStatus.UNPAID, payment_intent_id=None,
            amount_total=None, currency=None,
            metadata=dict(request.metadata), client_reference_id=f"membership-{request.membership_id}")
        self.sessions[session.id] = session
        self.subscription_checkouts = [*getattr(self, "subscription_checkouts", []), (request, idempotency_key)]
        return session

    def create_portal_session(self, *, customer_id: str, return_url: str, idempotency_key: str) -> str:
        self._check()
        return f"https://billing.example/p/session/{customer_id}"

    def set_price_active(self, price_id: str, *, active: bool, idempotency_key: str) -> StripePrice:
        def make() -> StripePrice:
            price = StripePrice(**{**self.catalog.prices[price_id].__dict__, "active": active})
            self.catalog.prices[price_id] = price
            return price
        return self._replay(idempotency_key, make)

    def retrieve_price(self, price_id: str) -> StripePrice | None:
        self._check()
        return self.catalog.prices.get(price_id)

    def list_active_prices(self, product_id: str) -> list[StripePrice]:
        self._check()
        return [p for p in self.catalog.prices.values() if p.product_id == product_id and p.active]

    # --- listings since a time (reconcile): whatever the test put there; the window is not modelled ---
    def list_checkout_sessions_since(self, created_since: datetime) -> list[CheckoutSession]:
        self._check()
        return list(self.sessions.values())

    def list_payment_intents_since(self, created_since: datetime) -> list[PaymentIntentRecord]:
        self._check()
        return list(self.listed_payment_intents)

    def list_refunds_since(self, created_since: datetime) -> list[Refund]:
        self._check()
        return list(self.listed_refunds)

    def list_events_since(self, created_since: datetime, types: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        self._check()
        return [event for event in self.listed_events if not types or event["type"] in types]


    # --- Stripe Connect: Express accounts that tests onboard with complete_onboarding ---------------
    def create_connected_account(self, *, email: str, metadata: dict[str, str], idempotency_key: str,
                                 country: str | None = None) -> ConnectedAccount:
        self._check()
        self.connect.countries.append(country)
        if idempotency_key not in self.connect.answers:
            account = ConnectedAccount(id=f"acct_fake{next(_ids)}", email=email, charges_enabled=False,
                                       payouts_enabled=False, details_submitted=False,
                                       requirements_due=["external_account", "tos_acceptance.date"],
                                       metadata=dict(metadata))
            self.connect.accounts[account.id] = account
            self.connect.answers[idempotency_key] = account
        self.connect.keys.append(idempotency_key)
        return self.connect.answers[idempotency_key]

    def complete_onboarding(self, account_id: str, *, payouts_enabled: bool = True,
                            requirements_due: list[str] | None = None) -> ConnectedAccount:
        """What the hosted onboarding leaves behind (a test's stand-in for the builder's browser)."""
        account = ConnectedAccount(**{**self.connect.accounts[account_id].__dict__, "details_submitted": True,
                                      "charges_enabled": payouts_enabled, "payouts_enabled": payouts_enabled,
                                      "requirements_due": list(requirements_due or [])})
        self.connect.accounts[account_id] = account
        return account

    def retrieve_connected_account(self, account_id: str) -> ConnectedAccount:
        self._check()
        if account_id not in self.connect.accounts:
            raise PaymentProviderError("Stripe could not retrieve a connected account (resource_missing)")
        return self.connect.accounts[account_id]

    def create_account_link(self, *, account_id: str, refresh_url: str, return_url: str,
                            idempotency_key: str) -> str:
        self._check()
        self.connect.links.append({"account": account_id, "refresh_url": refresh_url, "return_url": return_url,
                                   "key": idempotency_key})
        return f"https://connect.example/setup/{account_id}/{len(self.connect.links)}"

    def create_login_link(self, account_id: str, *, idempotency_key: str) -> str:
        self._check()
        self.connect.keys.append(idempotency_key)
        return f"https://connect.example/express/{account_id}"

    def retrieve_balance(self, account_id: str) -> ConnectedBalance:
        self._check()
        return self.connect.balances.get(account_id, ConnectedBalance(available=[], pending=[]))

    def list_payouts(self, account_id: str, *, limit: int = 20) -> list[StripePayout]:
        self._check()
        return list(self.connect.payouts.get(account_id, []))[:limit]

    def retrieve_destination_charge(self, payment_intent_id: str) -> DestinationCharge:
        self._check()
        return self.connect.charges.get(payment_intent_id) or DestinationCharge(
            charge_id=None, destination_account_id=None, transfer_id=None, application_fee_id=None,
            application_fee_amount=None)


    def retrieve_charge_fee(self, payment_intent_id: str) -> ChargeFee:
        self._check()
        return self.connect.fees.get(payment_intent_id) or ChargeFee(charge_id=None, balance_transaction_id=None,
                                                                     fee=0, currency=None)

    def create_transfer(self, *, amount: int, currency: str, destination: str, source_transaction: str | None,
                        transfer_group: str, metadata: dict[str, str], idempotency_key: str) -> StripeTransfer:
        self._check()
        if idempotency_key not in self.connect.transfers:
            self.connect.transfers[idempotency_key] = StripeTransfer(id=f"tr_fake{next(_ids)}", amount=amount,
                                                                     currency=currency, destination=destination)
        return self.connect.transfers[idempotency_key]

    def reverse_transfer(self, transfer_id: str, *, amount: int, metadata: dict[str, str],
                         idempotency_key: str) -> StripeTransferReversal:
        self._check()
        return StripeTransferReversal(id=f"trr_fake{next(_ids)}", transfer_id=transfer_id, amount=amount)


class FakeConnect:
    def __init__(self) -> None:
        self.accounts: dict[str, ConnectedAccount] = {}
        self.answers: dict[str, ConnectedAccount] = {}  # idempotency key -> the first answer
        self.keys: list[str] = []
        self.links: list[dict[str, str]] = []
        self.balances: dict[str, ConnectedBalance] = {}
        self.payouts: dict[str, list[StripePayout]] = {}
        self.charges: dict[str, DestinationCharge] = {}  # payment intent -> its transfer and fee
        self.countries: list[str | None] = []  # the country each account was created for
        self.fees: dict[str, ChargeFee] = {}  # payment intent -> its charge and Stripe's fee
        self.transfers: dict[str, StripeTransfer] = {}  # idempotency key -> the transfer made


class FakeCatalog:
    def __init__(self) -> None:
        self.products: dict[str, StripeProduct] = {}
        self.prices: dict[str, StripePrice] = {}
        self.answers: dict[str, Any] = {}  # idempotency key -> the first answer
        self.keys: list[str] = []  # every key sent, in order
