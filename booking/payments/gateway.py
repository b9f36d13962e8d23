"""The only module that talks to Stripe. Real Stripe and the emulator differ only in address and keys."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any, Protocol, Self

import stripe

log = logging.getLogger(__name__)

WEBHOOK_TOLERANCE_SECONDS = 300


class PaymentProviderError(RuntimeError):
    """Stripe could not be reached or refused the request. The message is safe to log."""


class InvalidWebhook(ValueError):
    """The payload or its signature did not verify: nothing may be stored."""


class CheckoutMode(StrEnum):
    """What a Checkout Session does; the values are Stripe's `mode` strings."""

    PAYMENT = "payment"
    SETUP = "setup"  # nothing is charged: the card is kept on the client's Customer (a no-show-fee session type)
    SUBSCRIPTION = "subscription"  # a membership's recurring Price


class StripeStatus(StrEnum):
    """A status Stripe sends as a string; each kind's values are Stripe's. A value Stripe added after this
    code was written is UNKNOWN (logged) rather than an error: no check counts UNKNOWN as open, paid or
    settled, so nothing is confirmed or reused on it, and the next look at Stripe may know better."""

    @classmethod
    def from_stripe(cls, value: Any, *, missing: Self) -> Self:
        if not value:
            return missing
        try:
            return cls(value)
        except ValueError:
            log.warning("Stripe sent an unknown %s: %r", cls.__name__, value)
            return cls("unknown")


class CheckoutStatus(StripeStatus):
    OPEN = "open"
    COMPLETE = "complete"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


class CheckoutPaymentStatus(StripeStatus):
    PAID = "paid"
    UNPAID = "unpaid"
    NO_PAYMENT_REQUIRED = "no_payment_required"
    UNKNOWN = "unknown"


# A Checkout Session's payment_status whose money is settled (nothing to pay counts as paid).
PAID_CHECKOUT = (CheckoutPaymentStatus.PAID, CheckoutPaymentStatus.NO_PAYMENT_REQUIRED)


class RefundState(StripeStatus):
    """A Stripe Refund's `status` (the ledger's RefundStatus is ours, mapped from it)."""

    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    UNKNOWN = "unknown"


class PaymentIntentStatus(StripeStatus):
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    CANCELED = "canceled"
    SUCCEEDED = "succeeded"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CheckoutRequest:
    booking_id: str
    line_item_name: str
    line_item_description: str
    amount: int  # minor units
    currency: str
    price_id: str | None  # a Stripe Price, when the session type has one
    customer_email: str
    client_reference_id: str
    success_url: str
    cancel_url: str
    expires_at: datetime
    metadata: dict[str, str] = field(default_factory=dict)
    # A destination charge (Connect): the builder's account gets the payment, less the platform's fee.
    destination_account_id: str | None = None
    application_fee_amount: int | None = None
    # Payment method types Stripe must not offer (dynamic payment methods stay on for the rest).
    excluded_payment_method_types: tuple[str, ...] = ()
    # The client asked for an invoice: Checkout makes one after payment, with their business name and tax id.
    invoice_requested: bool = False
    # `currency` is one of the Price's currency_options rather than its own: Checkout's `currency` picks it.
    currency_option: bool = False
    # A promotion code (booking.payments.promotions): the line item keeps the price (`list_amount`), Stripe
    # takes the discount off, and `amount` is what is left to pay (0: nothing, no PaymentIntent).
    list_amount: int | None = None
    promotion_code_id: str | None = None
    # SETUP: nothing is charged; Checkout keeps the card on `customer_id` (a no-show-fee session type).
    mode: CheckoutMode = CheckoutMode.PAYMENT
    customer_id: str | None = None


# Methods that settle days after Checkout completes (payment_status=unpaid until then).
DELAYED_PAYMENT_METHOD_TYPES = ("acss_debit", "au_becs_debit", "bacs_debit", "sepa_debit", "us_bank_account")


@dataclass(frozen=True)
class PaymentDocuments:
    """What a paid payment's client keeps: Stripe's receipt of the charge, and the invoice Checkout made."""

    checkout_session_id: str | None
    receipt_url: str | None
    invoice_id: str | None = None
    invoice_url: str | None = None
    invoice_pdf_url: str | None = None


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str | None
    status: CheckoutStatus
    payment_status: CheckoutPaymentStatus
    payment_intent_id: str | None
    amount_total: int | None
    currency: str | None
    metadata: dict[str, str]
    client_reference_id: str | None
    mode: CheckoutMode = CheckoutMode.PAYMENT
    setup_intent_id: str | None = None
    customer_id: str | None = None

    @classmethod
    def from_stripe(cls, data: dict[str, Any]) -> CheckoutSession:
        payment_intent = data.get("payment_intent")
        if isinstance(payment_intent, dict):
            payment_intent = payment_intent.get("id")
        return cls(
            mode=CheckoutMode(data.get("mode") or CheckoutMode.PAYMENT),
            setup_intent_id=_object_id(data.get("setup_intent")),
            customer_id=_object_id(data.get("customer")),
            id=data["id"],
            url=data.get("url"),
            status=CheckoutStatus.from_stripe(data.get("status"), missing=CheckoutStatus.OPEN),
            payment_status=CheckoutPaymentStatus.from_stripe(data.get("payment_status"),
                                                             missing=CheckoutPaymentStatus.UNPAID),
            payment_intent_id=payment_intent,
            amount_total=data.get("amount_total"),
            currency=data.get("currency"),
            metadata=dict(data.get("metadata") or {}),
            client_reference_id=data.get("client_reference_id"),
        )


@dataclass(frozen=True)
class Refund:
    id: str
    amount: int
    status: RefundState
    currency: str | None = None
    reason: str | None = None
    payment_intent_id: str | None = None
    failure_reason: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)  # ours: booking_id, refund_id

    @classmethod
    def from_stripe(cls, data: dict[str, Any]) -> Refund:
        payment_intent = data.get("payment_intent")
        if isinstance(payment_intent, dict):
            payment_intent = payment_intent.get("id")
        return cls(
            id=data["id"],
            amount=int(data.get("amount") or 0),
            status=RefundState.from_stripe(data.get("status"), missing=RefundState.PENDING),
            currency=data.get("currency"),
            reason=data.get("reason"),
            payment_intent_id=payment_intent,
            failure_reason=data.get("failure_reason"),
            metadata=dict(data.get("metadata") or {}),
        )


# --- what reconcile reads back from Stripe (listings; never changed through these) ---------------


@dataclass(frozen=True)
class PaymentIntentRecord:
    id: str
    status: PaymentIntentStatus
    amount: int
    amount_received: int
    currency: str
    metadata: dict[str, str]

    @classmethod
    def from_stripe(cls, data: dict[str, Any]) -> PaymentIntentRecord:
        status = PaymentIntentStatus.from_stripe(data.get("status"), missing=PaymentIntentStatus.UNKNOWN)
        return cls(id=data["id"], status=status, amount=int(data.get("amount") or 0),
                   amount_received=int(data.get("amount_received") or 0), currency=data.get("currency") or "",
                   metadata=dict(data.get("metadata") or {}))


# --- memberships: Checkout in subscription mode, and the customer portal ------------------------------------


@dataclass(frozen=True)
class SubscriptionCheckoutRequest:
    """A client subscribing to a membership plan: its recurring Price, the builder's account (the destination
    of every invoice) and the platform's share as a percentage."""

    membership_id: int
    price_id: str
    client_email: str
    success_url: str
    cancel_url: str
    expires_at: datetime
    destination_account_id: str | None
    application_fee_percent: Decimal | None
    metadata: dict[str, str]


def subscription_checkout_params(request: SubscriptionCheckoutRequest) -> dict[str, Any]:
    subscription_data: dict[str, Any] = {"metadata": dict(request.metadata)}
    if request.destination_account_id:
        subscription_data["transfer_data"] = {"destination": request.destination_account_id}
        if request.application_fee_percent is not None:
            subscription_data["application_fee_percent"] = str(request.application_fee_percent)
    return {
        "mode": CheckoutMode.SUBSCRIPTION.value,
        "line_items": [{"price": request.price_id, "quantity": 1}],
        "customer_email": request.client_email,
        "client_reference_id": f"membership-{request.membership_id}",
        "success_url": request.success_url,
        "cancel_url": request.cancel_url,
        "expires_at": int(request.expires_at.timestamp()),
        "metadata": dict(request.metadata),
        "subscription_data": subscription_data,
    }


# --- the catalog: each session type is a Product with one active Price (booking.session_type_admin) ----


@dataclass(frozen=True)
class StripeProduct:
    id: str
    name: str
    description: str
    active: bool
    metadata: dict[str, str]

    @classmethod
    def from_stripe(cls, data: dict[str, Any]) -> StripeProduct:
        return cls(id=data["id"], name=data.get("name") or "", description=data.get("description") or "",
                   active=bool(data.get("active")), metadata=dict(data.get("metadata") or {}))


@dataclass(frozen=True)
class StripePrice:
    id: str
    product_id: str
    unit_amount: int | None
    currency: str
    active: bool
    # The Price in other currencies ({currency: unit amount}): Stripe's `currency_options` less its own.
    currency_options: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_stripe(cls, data: dict[str, Any]) -> StripePrice:
        product = data.get("product")
        if isinstance(product, dict):
            product = product.get("id")
        currency = (data.get("currency") or "").lower()
        options = {code.lower(): int(option.get("unit_amount") or 0)
                   for code, option in (data.get("currency_options") or {}).items() if code.lower() != currency}
        return cls(id=data["id"], product_id=product or "", unit_amount=data.get("unit_amount"),
                   currency=currency, active=bool(data.get("active")), currency_options=options)


# --- Stripe Connect: the builders' connected (Express) accounts ------------------------------------------


@dataclass(frozen=True)
class ConnectedAccount:
    id: str
    email: str | None
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    requirements_due: list[str]  # requirements.currently_due (past_due ones are in it too)
    disabled_reason: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_stripe(cls, data: dict[str, Any]) -> ConnectedAccount:
        requirements = data.get("requirements") or {}
        due = list(requirements.get("currently_due") or []) + list(requirements.get("past_due") or [])
        return cls(id=data["id"], email=data.get("email"), charges_enabled=bool(data.get("charges_enabled")),
                   payouts_enabled=bool(data.get("payouts_enabled")),
                   details_submitted=bool(data.get("details_submitted")),
                   requirements_due=list(dict.fromkeys(due)), disabled_reason=requirements.get("disabled_reason"),
                   metadata=dict(data.get("metadata") or {}))


@dataclass(frozen=True)
class BalanceAmount:
    amount: int
    currency: str


@dataclass(frozen=True)
class ConnectedBalance:
    available: list[BalanceAmount]
    pending: list[BalanceAmount]

    @classmethod
    def from_stripe(cls, data: dict[str, Any]) -> ConnectedBalance:
        def amounts(key: str) -> list[BalanceAmount]:
            return [BalanceAmount(amount=int(item.get("amount") or 0), currency=(item.get("currency") or "").lower())
                    for item in data.get(key) or []]
        return cls(available=amounts("available"), pending=amounts("pending"))


@dataclass(frozen=True)
class StripePayout:
    id: str
    amount: int
    currency: str
    status: str  # paid | pending | in_transit | canceled | failed
    arrival_date: int | None  # unix seconds
    created: int | None
    failure_code: str | None = None
    failure_message: str | None = None

    @classmethod
    def from_stripe(cls, data: dict[str, Any]) -> StripePayout:
        return cls(id=data["id"], amount=int(data.get("amount") or 0), currency=(data.get("currency") or "").lower(),
                   status=data.get("status") or "pending", arrival_date=data.get("arrival_date"),
                   created=data.get("created"), failure_code=data.get("failure_code"),
                   failure_message=data.get("failure_message"))


@dataclass(frozen=True)
class DestinationCharge:
    """The Connect side of a paid PaymentIntent: its charge's transfer and application fee."""

    charge_id: str | None
    destination_account_id: str | None
    transfer_id: str | None
    application_fee_id: str | None
    application_fee_amount: int | None
    transfer_amount: int | None = None
    transfer_reversed: int = 0  # transfer.amount_reversed
    fee_refunded: int = 0  # application_fee.amount_refunded


@dataclass(frozen=True)
class ChargeFee:
    """A paid PaymentIntent's charge and Stripe's processing fee of it (its balance transaction)."""

    charge_id: str | None
    balance_transaction_id: str | None
    fee: int  # minor units, in `currency`
    currency: str | None


@dataclass(frozen=True)
class StripeTransfer:
    id: str
    amount: int
    currency: str
    destination: str | None
    amount_reversed: int = 0


@dataclass(frozen=True)
class StripeTransferReversal:
    id: str
    transfer_id: str
    amount: int


@dataclass(frozen=True)
class OffSessionCharge:
    """A saved card charged without the client (a no-show fee): a destination charge when the builder has an
    account, with the platform's fee."""

    amount: int
    currency: str
    customer_id: str
    payment_method_id: str
    metadata: dict[str, str]
    description: str
    destination_account_id: str | None = None
    application_fee_amount: int | None = None


class OffSessionOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    AUTHENTICATION_REQUIRED = "authentication_required"  # the bank wants the client: nothing charged
    DECLINED = "declined"  # `message` says why, in Stripe's words


@dataclass(frozen=True)
class OffSessionResult:
    """Stripe's answer to a saved card charged off-session."""

    status: OffSessionOutcome
    payment_intent_id: str | None
    code: str | None = None
    message: str | None = None


def _missing_at_stripe(exc: PaymentProviderError) -> bool:
    return getattr(exc.__cause__, "code", None) == "resource_missing"


class PaymentGateway(Protocol):
    def create_checkout_session(self, request: CheckoutRequest, *, idempotency_key: str) -> CheckoutSession: ...
    def retrieve_checkout_session(self, session_id: str) -> CheckoutSession: ...
    def expire_checkout_session(self, session_id: str, *, idempotency_key: str) -> CheckoutSession: ...
    def refund(self, *, payment_intent_id: str, amount: int | None, reason: str, idempotency_key: str,
               metadata: dict[str, str]) -> Refund: ...
    def list_refunds(self, payment_intent_id: str) -> list[Refund]: ...
    def booking_id_for_payment_intent(self, payment_intent_id: str) -> str | None: ...
    def verify_webhook(self, payload: bytes, signature: str | None) -> dict[str, Any]: ...
    # The catalog (session types as Products and Prices); retrieve_* answer None when Stripe has no such object.
    def create_product(self, *, name: str, description: str, active: bool, metadata: dict[str, str],
                       idempotency_key: str) -> StripeProduct: ...
    def update_product(self, product_id: str, *, name: str, description: str, active: bool,
                       metadata: dict[str, str], idempotency_key: str) -> StripeProduct: ...
    def retrieve_product(self, product_id: str) -> StripeProduct | None: ...
    def create_price(self, *, product_id: str, unit_amount: int, currency: str, metadata: dict[str, str],
                     idempotency_key: str, currency_options: dict[str, int] | None = None) -> StripePrice: ...
    def set_price_active(self, price_id: str, *, active: bool, idempotency_key: str) -> StripePrice: ...
    def create_recurring_price(self, *, product_id: str, unit_amount: int, currency: str, interval: str,
                               metadata: dict[str, str], idempotency_key: str) -> StripePrice: ...
    def create_subscription_checkout(self, request: SubscriptionCheckoutRequest, *,
                                     idempotency_key: str) -> CheckoutSession: ...
    def create_portal_session(self, *, customer_id: str, return_url: str, idempotency_key: str) -> str: ...
    def retrieve_price(self, price_id: str) -> StripePrice | None: ...
    def list_active_prices(self, product_id: str) -> list[StripePrice]: ...
    # Listings for reconcile: every object created since a time, all pages.
    def list_checkout_sessions_since(self, created_since: datetime) -> list[CheckoutSession]: ...
    def list_payment_intents_since(self, created_since: datetime) -> list[PaymentIntentRecord]: ...
    def list_refunds_since(self, created_since: datetime) -> list[Refund]: ...
    def list_events_since(self, created_since: datetime, types: tuple[str, ...] = ()) -> list[dict[str, Any]]: ...
    # Stripe Connect: builders' Express accounts, onboarding links, and what their accounts hold.
    def create_connected_account(self, *, email: str, metadata: dict[str, str], idempotency_key: str,
                                 country: str | None = None) -> ConnectedAccount: ...
    def retrieve_connected_account(self, account_id: str) -> ConnectedAccount: ...
    def create_account_link(self, *, account_id: str, refresh_url: str, return_url: str,
                            idempotency_key: str) -> str: ...
    def create_login_link(self, account_id: str, *, idempotency_key: str) -> str: ...
    def retrieve_balance(self, account_id: str) -> ConnectedBalance: ...
    def list_payouts(self, account_id: str, *, limit: int = 20) -> list[StripePayout]: ...
    def retrieve_destination_charge(self, payment_intent_id: str) -> DestinationCharge: ...
    def retrieve_charge_fee(self, payment_intent_id: str) -> ChargeFee: ...
    def create_transfer(self, *, amount: int, currency: str, destination: str, source_transaction: str | None,
                        transfer_group: str, metadata: dict[str, str], idempotency_key: str) -> StripeTransfer: ...
    def reverse_transfer(self, transfer_id: str, *, amount: int, metadata: dict[str, str],
                         idempotency_key: str) -> StripeTransferReversal: ...
    # Promotion codes (booking/payments/promotions.py): a Coupon, its Promotion Code, turned on or off.
    def create_coupon(self, *, percent_off: int | None, amount_off: int | None, currency: str | None, name: str,
                      metadata: dict[str, str], idempotency_key: str) -> str: ...
    def create_promotion_code(self, *, coupon_id: str, code: str, metadata: dict[str, str],
                              idempotency_key: str) -> str: ...
    def set_promotion_code_active(self, promotion_code_id: str, *, active: bool, idempotency_key: str) -> None: ...
    # Disputes (booking/payments/disputes.py)
    def update_dispute(self, dispute_id: str, *, evidence: dict[str, str], submit: bool, metadata: dict[str, str],
                       idempotency_key: str) -> dict[str, Any]: ...
    # Receipts and invoices: the charge's receipt and the session's invoice of a paid payment intent.
    def payment_documents(self, payment_intent_id: str) -> PaymentDocuments: ...
    def create_customer(self, *, email: str, name: str, metadata: dict[str, str], idempotency_key: str) -> str: ...
    def saved_payment_method(self, setup_intent_id: str) -> str | None: ...
    def charge_saved_card(self, charge: OffSessionCharge, *, idempotency_key: str) -> OffSessionResult: ...


def checkout_params(request: CheckoutRequest) -> dict[str, Any]:
    """Stripe's Checkout Session parameters. No payment_method_types: Stripe picks them (dynamic)."""
    if request.mode is CheckoutMode.SETUP:  # keep the card on the client's Customer; nothing is charged now
        return {
            "mode": CheckoutMode.SETUP.value,
            "currency": request.currency,
            "customer": request.customer_id,
            "client_reference_id": request.client_reference_id,
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "expires_at": int(request.expires_at.timestamp()),
            "metadata": request.metadata,
            "setup_intent_data": {"metadata": request.metadata},
        }
    if request.price_id:
        line_item: dict[str, Any] = {"price": request.price_id, "quantity": 1}
    else:
        product_data: dict[str, Any] = {"name": request.line_item_name}
        if request.line_item_description:
            product_data["description"] = request.line_item_description
        line_item = {
            "price_data": {
                "currency": request.currency,
                "unit_amount": request.amount if request.list_amount is None else request.list_amount,
                "product_data": product_data,
            },
            "quantity": 1,
        }
    params: dict[str, Any] = {
        "mode": CheckoutMode.PAYMENT.value,
        "line_items": [line_item],
        **({"customer": request.customer_id} if request.customer_id else {"customer_email": request.customer_email}),
        "client_reference_id": request.client_reference_id,
        "success_url": request.success_url,
        "cancel_url": request.cancel_url,
        "expires_at": int(request.expires_at.timestamp()),
        "metadata": request.metadata,
        "payment_intent_data": _payment_intent_data(request),
        **_invoice_params(request),
    }
    if request.price_id and request.currency_option:
        params["currency"] = request.currency
    if request.excluded_payment_method_types:
        params["excluded_payment_method_types"] = list(request.excluded_payment_method_types)
    if request.promotion_code_id:
        params["discounts"] = [{"promotion_code": request.promotion_code_id}]
    return params


def _invoice_params(request: CheckoutRequest) -> dict[str, Any]:
    """An invoice after payment, with the business name and tax id the client gives on Stripe's page."""
    if not request.invoice_requested:
        return {}
    return {
        "invoice_creation": {
            "enabled": True,
            "invoice_data": {
                "description": request.line_item_name[:1500],
                "metadata": {"booking_id": request.booking_id},
            },
        },
        "tax_id_collection": {"enabled": True},
    }


def _payment_intent_data(request: CheckoutRequest) -> dict[str, Any]:
    data: dict[str, Any] = {"metadata": request.metadata}
    # A destination charge: the builder's account is paid, less our fee (nothing to pay: no charge, no transfer).
    if request.destination_account_id and request.amount > 0:
        data["transfer_data"] = {"destination": request.destination_account_id}
        if request.application_fee_amount:
            data["application_fee_amount"] = request.application_fee_amount
    return data


class StripeGateway:
    def __init__(self, *, secret_key: str, webhook_secret: str | Sequence[str] | None,
                 api_base: str | None = None, timeout_seconds: float = 10.0, max_network_retries: int = 2,
                 connect_webhook_secret: str | Sequence[str] | None = None) -> None:
        base_addresses = {"api": api_base} if api_base else None
        # The SDK retries a timeout, a dropped connection, a 409 or a 5xx with the same Idempotency-Key
        # (exponential backoff from 0.5 s); each attempt waits at most `timeout_seconds`.
        self._client = stripe.StripeClient(secret_key, base_addresses=base_addresses,
                                           max_network_retries=max_network_retries,
                                           http_client=stripe.RequestsClient(timeout=timeout_seconds))
        self._rate_limit_retries = max_network_retries
        self._webhook_secret = webhook_secret  # one, several (comma-separated or a list): any may verify
        # The Connect endpoint's secret(s), when set apart: then only they verify connected accounts' events.
        self._connect_webhook_secret = connect_webhook_secret

    def create_checkout_session(self, request: CheckoutRequest, *, idempotency_key: str) -> CheckoutSession:
        def create() -> Any:
            return self._client.v1.checkout.sessions.create(
                params=checkout_params(request), options={"idempotency_key": idempotency_key})

        with _provider_errors("create a Checkout Session"):
            session = _waiting_out_rate_limits(create, retries=self._rate_limit_retries)
        return CheckoutSession.from_stripe(_plain(session))

    def payment_documents(self, payment_intent_id: str) -> PaymentDocuments:
        with _provider_errors("read a payment's receipt and invoice"):
            intent = _plain(self._client.v1.payment_intents.retrieve(
                payment_intent_id, params={"expand": ["latest_charge"]}))
            found = self._client.v1.checkout.sessions.list(
                params={"payment_intent": payment_intent_id, "limit": 1, "expand": ["data.invoice"]})
        charge = intent.get("latest_charge")
        receipt_url = charge.get("receipt_url") if isinstance(charge, dict) else None
        session = _plain(found.data[0]) if found.data else {}
        invoice = session.get("invoice")
        invoice = invoice if isinstance(invoice, dict) else {}
        return PaymentDocuments(checkout_session_id=session.get("id"), receipt_url=receipt_url,
                                invoice_id=invoice.get("id"), invoice_url=invoice.get("hosted_invoice_url"),
                                invoice_pdf_url=invoice.get("invoice_pdf"))

    # --- saved cards (no-show fees) --------------------------------------------------------------------

    def create_customer(self, *, email: str, name: str, metadata: dict[str, str], idempotency_key: str) -> str:
        with _provider_errors("create a Customer"):
            customer = self._client.v1.customers.create(
                params={"email": email, "name": name, "metadata": metadata},
                options={"idempotency_key": idempotency_key})
        return str(_plain(customer)["id"])

    def saved_payment_method(self, setup_intent_id: str) -> str | None:
        with _provider_errors("retrieve a SetupIntent"):
            setup_intent = _plain(self._client.v1.setup_intents.retrieve(setup_intent_id))
        return _object_id(setup_intent.get("payment_method"))

    def charge_saved_card(self, charge: OffSessionCharge, *, idempotency_key: str) -> OffSessionResult:
        params: dict[str, Any] = {
            "amount": charge.amount, "currency": charge.currency, "customer": charge.customer_id,
            "payment_method": charge.payment_method_id, "off_session": True, "confirm": True,
            "metadata": charge.metadata, "description": charge.description,
        }
        if charge.destination_account_id:  # a destination charge: the builder's account, less our fee
            params["transfer_data"] = {"destination": charge.destination_account_id}
            if charge.application_fee_amount:
                params["application_fee_amount"] = charge.application_fee_amount
        with _provider_errors("charge a saved card"):
            try:
                intent = self._client.v1.payment_intents.create(
                    params=params, options={"idempotency_key": idempotency_key})
            except stripe.CardError as exc:  # the bank's answer, not a failure to reach Stripe
                error = exc.error
                intent_data = getattr(error, "payment_intent", None) if error is not None else None
                code = getattr(exc, "code", None)
                return OffSessionResult(
                    status=(OffSessionOutcome.AUTHENTICATION_REQUIRED if code == "authentication_required"
                            else OffSessionOutcome.DECLINED),
                    payment_intent_id=_object_id(_plain(intent_data)) if intent_data else None,
                    code=code, message=getattr(exc, "user_message", None) or str(code))
        succeeded = PaymentIntentStatus.from_stripe(
            _plain(intent).get("status"), missing=PaymentIntentStatus.UNKNOWN) == PaymentIntentStatus.SUCCEEDED
        return OffSessionResult(status=OffSessionOutcome.SUCCEEDED if succeeded else OffSessionOutcome.DECLINED,
                                payment_intent_id=_plain(intent)["id"])

    def retrieve_checkout_session(self, session_id: str) -> CheckoutSession:
        with _provider_errors("retrieve a Checkout Session"):
            session = self._client.v1.checkout.sessions.retrieve(session_id)
        return CheckoutSession.from_stripe(_plain(session))

    def expire_checkout_session(self, session_id: str, *, idempotency_key: str) -> CheckoutSession:
        with _provider_errors("expire a Checkout Session"):
            session = self._client.v1.checkout.sessions.expire(
                session_id, options={"idempotency_key": idempotency_key}
            )
        return CheckoutSession.from_stripe(_plain(session))

    def refund(self, *, payment_intent_id: str, amount: int | None, reason: str, idempotency_key: str,
               metadata: dict[str, str], reverse_transfer: bool = False,
               refund_application_fee: bool = False) -> Refund:
        params: dict[str, Any] = {"payment_intent": payment_intent_id, "reason": reason, "metadata": metadata}
        if amount is not None:
            params["amount"] = amount
        if reverse_transfer:  # a destination charge: take the refund back from the builder's account
            params["reverse_transfer"] = True
        if refund_application_fee:  # and give back the platform fee's share (Stripe: in proportion)
            params["refund_application_fee"] = True
        try:
            with _provider_errors("create a refund"):
                refund = self._client.v1.refunds.create(params=params, options={"idempotency_key": idempotency_key})
        except PaymentProviderError as exc:
            # A refused refund is shown to the admin who asked: Stripe's own sentence says why.
            detail = getattr(exc.__cause__, "user_message", None)
            raise PaymentProviderError(f"{exc}: {detail}" if detail else str(exc)) from exc.__cause__
        return Refund.from_stripe(_plain(refund))

    def list_refunds(self, payment_intent_id: str) -> list[Refund]:
        """Every refund of a payment (a charge.refunded event need not carry the list)."""
        with _provider_errors("list refunds"):
            found = self._client.v1.refunds.list(params={"payment_intent": payment_intent_id, "limit": 100})
        return [Refund.from_stripe(_plain(refund)) for refund in found.data]

    def booking_id_for_payment_intent(self, payment_intent_id: str) -> str | None:
        """Which booking a payment belongs to, from the Checkout Session that created it."""
        with _provider_errors("list Checkout Sessions"):
            found = self._client.v1.checkout.sessions.list(params={"payment_intent": payment_intent_id, "limit": 1})
        for checkout in found.data:
            data = _plain(checkout)
            return (data.get("metadata") or {}).get("booking_id") or data.get("client_reference_id")
        return None

    def verify_webhook(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        return verify_webhook(payload, signature, self._webhook_secret, connect_secret=self._connect_webhook_secret)

    # --- the catalog: Products and Prices ------------------------------------------------------------
    def create_product(self, *, name: str, description: str, active: bool, metadata: dict[str, str],
                       idempotency_key: str) -> StripeProduct:
        params: dict[str, Any] = {"name": name, "active": active, "metadata": metadata}
        if description:  # Stripe refuses an empty string here
            params["description"] = description
        with _provider_errors("create a Product"):
            product = self._client.v1.products.create(params=params, options={"idempotency_key": idempotency_key})
        return StripeProduct.from_stripe(_plain(product))

    def update_product(self, product_id: str, *, name: str, description: str, active: bool,
                       metadata: dict[str, str], idempotency_key: str) -> StripeProduct:
        # An empty description unsets it (Stripe's convention for optional fields).
        params: dict[str, Any] = {"name": name, "description": description, "active": active, "metadata": metadata}
        with _provider_errors("update a Product"):
            product = self._client.v1.products.update(
                product_id, params=params, options={"idempotency_key": idempotency_key}
            )
        return StripeProduct.from_stripe(_plain(product))

    def retrieve_product(self, product_id: str) -> StripeProduct | None:
        try:
            with _provider_errors("retrieve a Product"):
                return StripeProduct.from_stripe(_plain(self._client.v1.products.retrieve(product_id)))
        except PaymentProviderError as exc:
            if _missing_at_stripe(exc):
                return None
            raise

    def create_price(self, *, product_id: str, unit_amount: int, currency: str, metadata: dict[str, str],
                     idempotency_key: str, currency_options: dict[str, int] | None = None) -> StripePrice:
        params: dict[str, Any] = {"product": product_id, "unit_amount": unit_amount, "currency": currency,
                                  "metadata": metadata}
        if currency_options:  # the same Price in other currencies: Checkout's `currency` picks one
            params["currency_options"] = {code: {"unit_amount": amount} for code, amount in currency_options.items()}
            params["expand"] = ["currency_options"]
        with _provider_errors("create a Price"):
            price = self._client.v1.prices.create(params=params, options={"idempotency_key": idempotency_key})
        return StripePrice.from_stripe(_plain(price))

    def create_recurring_price(self, *, product_id: str, unit_amount: int, currency: str, interval: str,
                               metadata: dict[str, str], idempotency_key: str) -> StripePrice:
        params = {"product": product_id, "unit_amount": unit_amount, "currency": currency, "metadata": metadata,
                  "recurring": {"interval": interval}}
        with _provider_errors("create a recurring Price"):
            price = self._client.v1.prices.create(params=params, options={"idempotency_key": idempotency_key})
        return StripePrice.from_stripe(_plain(price))

    def create_subscription_checkout(self, request: SubscriptionCheckoutRequest, *,
                                     idempotency_key: str) -> CheckoutSession:
        def create() -> Any:
            return self._client.v1.checkout.sessions.create(
                params=subscription_checkout_params(request), options={"idempotency_key": idempotency_key})

        with _provider_errors("create a subscription Checkout Session"):
            session = _waiting_out_rate_limits(create, retries=self._rate_limit_retries)
        return CheckoutSession.from_stripe(_plain(session))

    def create_portal_session(self, *, customer_id: str, return_url: str, idempotency_key: str) -> str:
        with _provider_errors("open the customer portal"):
            portal = self._client.v1.billing_portal.sessions.create(
                params={"customer": customer_id, "return_url": return_url},
                options={"idempotency_key": idempotency_key})
        return str(portal.url)

    def set_price_active(self, price_id: str, *, active: bool, idempotency_key: str) -> StripePrice:
        with _provider_errors("update a Price"):
            price = self._client.v1.prices.update(
                price_id, params={"active": active}, options={"idempotency_key": idempotency_key}
            )
        return StripePrice.from_stripe(_plain(price))

    def create_coupon(self, *, percent_off: int | None, amount_off: int | None, currency: str | None, name: str,
                      metadata: dict[str, str], idempotency_key: str) -> str:
        params: dict[str, Any] = {"duration": "once", "name": name, "metadata": metadata}
        if percent_off is not None:
            params["percent_off"] = percent_off
        else:
            params.update(amount_off=amount_off, currency=currency)
        with _provider_errors("create a Coupon"):
            coupon = self._client.v1.coupons.create(params=params, options={"idempotency_key": idempotency_key})
        return str(coupon.id)

    def create_promotion_code(self, *, coupon_id: str, code: str, metadata: dict[str, str],
                              idempotency_key: str) -> str:
        params = {"promotion": {"type": "coupon", "coupon": coupon_id}, "code": code, "metadata": metadata}
        with _provider_errors("create a Promotion Code"):
            promo = self._client.v1.promotion_codes.create(params=params,  # type: ignore[arg-type]
                                                           options={"idempotency_key": idempotency_key})
        return str(promo.id)

    def set_promotion_code_active(self, promotion_code_id: str, *, active: bool, idempotency_key: str) -> None:
        with _provider_errors("update a Promotion Code"):
            self._client.v1.promotion_codes.update(promotion_code_id, params={"active": active},
                                                   options={"idempotency_key": idempotency_key})

    def retrieve_price(self, price_id: str) -> StripePrice | None:
        try:
            with _provider_errors("retrieve a Price"):
                return StripePrice.from_stripe(_plain(self._client.v1.prices.retrieve(
                    price_id, params={"expand": ["currency_options"]})))
        except PaymentProviderError as exc:
            if _missing_at_stripe(exc):
                return None
            raise

    def list_active_prices(self, product_id: str) -> list[StripePrice]:
        with _provider_errors("list Prices"):
            page = self._client.v1.prices.list(params={"product": product_id, "active": True, "limit": 100})
            return [StripePrice.from_stripe(_plain(price)) for price in page.auto_paging_iter()]

    # --- listings for reconcile: the SDK's auto-paging walks every page ---------------------------
    def list_checkout_sessions_since(self, created_since: datetime) -> list[CheckoutSession]:
        found = self._list_since(self._client.v1.checkout.sessions, "list Checkout Sessions", created_since)
        return [CheckoutSession.from_stripe(data) for data in found]

    def list_payment_intents_since(self, created_since: datetime) -> list[PaymentIntentRecord]:
        found = self._list_since(self._client.v1.payment_intents, "list PaymentIntents", created_since)
        return [PaymentIntentRecord.from_stripe(data) for data in found]

    def list_refunds_since(self, created_since: datetime) -> list[Refund]:
        return [Refund.from_stripe(data)
                for data in self._list_since(self._client.v1.refunds, "list refunds", created_since)]

    def list_events_since(self, created_since: datetime, types: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Events as plain dicts, the same shape a webhook delivers, newest first as Stripe lists them. Stripe
        takes at most 20 types a request, so longer lists are asked in chunks."""
        if not types:
            return self._list_since(self._client.v1.events, "list events", created_since)
        chunks = [list(types[i:i + EVENT_TYPES_PER_LIST]) for i in range(0, len(types), EVENT_TYPES_PER_LIST)]
        found = {event["id"]: event for chunk in chunks
                 for event in self._list_since(self._client.v1.events, "list events", created_since, types=chunk)}
        return sorted(found.values(), key=lambda event: event.get("created") or 0, reverse=True)  # stable

    def _list_since(self, service: Any, action: str, created_since: datetime, **params: Any) -> list[dict[str, Any]]:
        with _provider_errors(action):
            page = service.list(params={"created": {"gte": int(created_since.timestamp())}, "limit": 100, **params})
            return [_plain(item) for item in page.auto_paging_iter()]

    # --- Stripe Connect -------------------------------------------------------------------------------
    def create_connected_account(self, *, email: str, metadata: dict[str, str], idempotency_key: str,
                                 country: str | None = None) -> ConnectedAccount:
        params: dict[str, Any] = {
            "type": "express",
            "email": email,
            **({"country": country} if country else {}),  # else the platform's country
            # Destination charges need the transfers capability; card_payments lets the account be
            # the settlement merchant later (on_behalf_of) without a second onboarding.
            "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
            "metadata": metadata,
        }
        with _provider_errors("create a connected account"):
            account = self._client.v1.accounts.create(params=params, options={"idempotency_key": idempotency_key})
        return ConnectedAccount.from_stripe(_plain(account))

    def retrieve_connected_account(self, account_id: str) -> ConnectedAccount:
        with _provider_errors("retrieve a connected account"):
            return ConnectedAccount.from_stripe(_plain(self._client.v1.accounts.retrieve(account_id)))

    def create_account_link(self, *, account_id: str, refresh_url: str, return_url: str,
                            idempotency_key: str) -> str:
        params = {"account": account_id, "type": "account_onboarding", "refresh_url": refresh_url,
                  "return_url": return_url}
        with _provider_errors("create an onboarding link"):
            link = self._client.v1.account_links.create(params=params, options={"idempotency_key": idempotency_key})
        return _plain(link)["url"]

    def create_login_link(self, account_id: str, *, idempotency_key: str) -> str:
        with _provider_errors("create a dashboard login link"):
            link = self._client.v1.accounts.login_links.create(account_id,
                                                                options={"idempotency_key": idempotency_key})
        return _plain(link)["url"]

    def retrieve_balance(self, account_id: str) -> ConnectedBalance:
        with _provider_errors("retrieve a connected account's balance"):
            balance = self._client.v1.balance.retrieve(options={"stripe_account": account_id})
        return ConnectedBalance.from_stripe(_plain(balance))

    def list_payouts(self, account_id: str, *, limit: int = 20) -> list[StripePayout]:
        with _provider_errors("list payouts"):
            page = self._client.v1.payouts.list(params={"limit": limit}, options={"stripe_account": account_id})
        return [StripePayout.from_stripe(_plain(payout)) for payout in page.data]

    def retrieve_destination_charge(self, payment_intent_id: str) -> DestinationCharge:
        with _provider_errors("retrieve a payment's transfer"):
            intent = _plain(self._client.v1.payment_intents.retrieve(
                payment_intent_id, params={"expand": ["latest_charge"]}))
            charge = intent.get("latest_charge")
            if not isinstance(charge, dict):
                charge = _plain(self._client.v1.charges.retrieve(charge)) if charge else {}
            transfer_id = _object_id(charge.get("transfer"))
            fee_id = _object_id(charge.get("application_fee"))
            transfer = _plain(self._client.v1.transfers.retrieve(transfer_id)) if transfer_id else {}
            fee = _plain(self._client.v1.application_fees.retrieve(fee_id)) if fee_id else {}
        destination = (charge.get("transfer_data") or intent.get("transfer_data") or {}).get("destination")
        return DestinationCharge(
            charge_id=charge.get("id"), destination_account_id=_object_id(destination), transfer_id=transfer_id,
            application_fee_id=fee_id,
            application_fee_amount=charge.get("application_fee_amount", intent.get("application_fee_amount")),
            transfer_amount=transfer.get("amount"), transfer_reversed=int(transfer.get("amount_reversed") or 0),
            fee_refunded=int(fee.get("amount_refunded") or 0),
        )

    def retrieve_charge_fee(self, payment_intent_id: str) -> ChargeFee:
        """The payment's charge and Stripe's fee of it, from the charge's balance transaction."""
        with _provider_errors("read a charge's balance transaction"):
            intent = _plain(self._client.v1.payment_intents.retrieve(
                payment_intent_id, params={"expand": ["latest_charge.balance_transaction"]}))
        charge = intent.get("latest_charge") or {}
        if not isinstance(charge, dict):
            charge = {"id": charge}
        txn = charge.get("balance_transaction")
        if txn is not None and not isinstance(txn, dict):
            with _provider_errors("read a balance transaction"):
                txn = _plain(self._client.v1.balance_transactions.retrieve(txn))
        txn = txn or {}
        stripe_fees = [item for item in txn.get("fee_details") or [] if item.get("type") == "stripe_fee"]
        fee = sum(int(item.get("amount") or 0) for item in stripe_fees) if stripe_fees or "fee_details" in txn \
            else int(txn.get("fee") or 0)
        return ChargeFee(charge_id=charge.get("id"), balance_transaction_id=txn.get("id"), fee=fee,
                         currency=txn.get("currency") or charge.get("currency"))

    def create_transfer(self, *, amount: int, currency: str, destination: str, source_transaction: str | None,
                        transfer_group: str, metadata: dict[str, str], idempotency_key: str) -> StripeTransfer:
        params: dict[str, Any] = {"amount": amount, "currency": currency, "destination": destination,
                                  "transfer_group": transfer_group, "metadata": metadata}
        if source_transaction:  # funds come from that charge: no wait for the platform's balance
            params["source_transaction"] = source_transaction
        with _provider_errors("create a transfer"):
            transfer = _plain(self._client.v1.transfers.create(params=params,
                                                               options={"idempotency_key": idempotency_key}))
        return StripeTransfer(id=transfer["id"], amount=int(transfer["amount"]), currency=transfer["currency"],
                              destination=_object_id(transfer.get("destination")),
                              amount_reversed=int(transfer.get("amount_reversed") or 0))

    def reverse_transfer(self, transfer_id: str, *, amount: int, metadata: dict[str, str],
                         idempotency_key: str) -> StripeTransferReversal:
        with _provider_errors("reverse a transfer"):
            reversal = _plain(self._client.v1.transfers.reversals.create(
                transfer_id, params={"amount": amount, "metadata": metadata},
                options={"idempotency_key": idempotency_key}))
        return StripeTransferReversal(id=reversal["id"], transfer_id=transfer_id, amount=int(reversal["amount"]))
    # --- disputes -------------------------------------------------------------------------------------

    def update_dispute(self, dispute_id: str, *, evidence: dict[str, str], submit: bool, metadata: dict[str, str],
                       idempotency_key: str) -> dict[str, Any]:
        """Send evidence (only the text fields given) and, with `submit`, submit it to the bank."""
        params: dict[str, Any] = {"evidence": evidence, "submit": submit, "metadata": metadata}
        try:
            with _provider_errors("update the dispute"):
                dispute = self._client.v1.disputes.update(dispute_id, params=params,
                                                          options={"idempotency_key": idempotency_key})
        except PaymentProviderError as exc:
            detail = getattr(exc.__cause__, "user_message", None)  # Stripe's own sentence says why
            raise PaymentProviderError(f"{exc}: {detail}" if detail else str(exc)) from exc.__cause__
        return _plain(dispute)



EVENT_TYPES_PER_LIST = 20  # Stripe's limit on /v1/events `types`
RATE_LIMIT_WAIT_CAP_SECONDS = 5.0  # a client is waiting: longer than this, and we give up instead


def _waiting_out_rate_limits(call: Any, *, retries: int) -> Any:
    """The SDK does not retry a 429: wait out its Retry-After (at most a few seconds) and send the same
    request again, with the same idempotency key, up to `retries` times."""
    for attempt in range(retries + 1):
        try:
            return call()
        except stripe.RateLimitError as exc:
            wait = _retry_after_seconds(exc)
            if attempt >= retries or wait is None:
                raise
            time.sleep(wait)
    raise AssertionError("unreachable")


def _retry_after_seconds(exc: stripe.StripeError) -> float | None:
    """The 429's Retry-After in seconds (a short default when absent), or None when it is too long."""
    raw = (getattr(exc, "headers", None) or {}).get("Retry-After") or (getattr(exc, "headers", None) or {}).get(
        "retry-after")
    try:
        wait = float(raw) if raw is not None else 0.5
    except (TypeError, ValueError):
        wait = 0.5
    return max(wait, 0.0) if wait <= RATE_LIMIT_WAIT_CAP_SECONDS else None


def webhook_secrets(secret: str | Sequence[str] | None) -> tuple[str, ...]:
    """One secret, a comma-separated list, or a sequence of them (account and Connect endpoints)."""
    parts = secret.split(",") if isinstance(secret, str) else list(secret or ())
    return tuple(dict.fromkeys(part.strip() for part in parts if part and part.strip()))


def verify_webhook(payload: bytes, signature: str | None, secret: str | Sequence[str] | None,
                   connect_secret: str | Sequence[str] | None = None) -> dict[str, Any]:
    """Check Stripe's signature on the raw bytes (5-minute tolerance) against each of our endpoint
    secrets (any one may have signed it), then parse the event.

    With `connect_secret` (the Connect endpoint's, STRIPE_CONNECT_WEBHOOK_SECRET) the endpoints are told
    apart, as Stripe sends them: an event of a connected account (its `account` is set) must be signed with
    the Connect endpoint's secret, and any other event with the account endpoint's."""
    platform = webhook_secrets(secret)
    connect = webhook_secrets(connect_secret)
    secrets = tuple(dict.fromkeys(platform + connect))
    if not secrets:
        raise InvalidWebhook("STRIPE_WEBHOOK_SECRET is not set")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidWebhook(str(exc)) from None
    failure = "invalid signature"
    for candidate in secrets:
        try:
            stripe.WebhookSignature.verify_header(text, signature or "", candidate, WEBHOOK_TOLERANCE_SECONDS)
            matched = candidate
            break
        except stripe.SignatureVerificationError as exc:
            failure = str(exc).split("\n")[0] or failure
    else:
        raise InvalidWebhook(failure)
    try:
        event = json.loads(payload)
    except ValueError as exc:
        raise InvalidWebhook(str(exc).split("\n")[0] or "invalid payload") from None
    if not isinstance(event, dict) or not str(event.get("id", "")).startswith("evt_") or "type" not in event:
        raise InvalidWebhook("payload is not a Stripe event")
    if not _storable_event_key(event["id"], EVENT_ID_MAX_LENGTH) or not _storable_event_key(event["type"], 100):
        # Signed, but it could not be stored (the columns' sizes; PostgreSQL refuses NUL in text).
        raise InvalidWebhook("the event's id or type is not a short string")
    if connect:
        of_connected_account = bool(event.get("account"))
        allowed = connect if of_connected_account else platform
        if matched not in allowed:
            raise InvalidWebhook("a connected account's event must be signed by the Connect endpoint's secret"
                                 if of_connected_account else
                                 "the platform's event must be signed by the account endpoint's secret")
    return event


EVENT_ID_MAX_LENGTH = 255  # StripeEvent.id's column


def _storable_event_key(value: Any, max_length: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= max_length and value.isprintable()


def _object_id(value: Any) -> str | None:
    return value.get("id") if isinstance(value, dict) else value


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


class _provider_errors:
    def __init__(self, action: str) -> None:
        self.action = action

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, _tb) -> bool:
        if exc is not None and isinstance(exc, stripe.StripeError):
            # user_message/code only: never the request, which could carry keys.
            code = getattr(exc, "code", None) or type(exc).__name__
            raise PaymentProviderError(f"Stripe could not {self.action} ({code})") from exc
        return False


def gateway_from_settings(settings) -> StripeGateway:
    """The one gateway factory (the web app, the worker, the CLI and the tests all build it here): Stripe,
    or the emulator at STRIPE_API_BASE, with every webhook secret, the timeout and the retries the settings
    give. One gateway per distinct configuration per process (its HTTP client is shared and thread-safe).
    Raises PaymentProviderError when STRIPE_SECRET_KEY is not set."""
    return _gateway_for(settings.stripe_secret_key, webhook_secrets(settings.stripe_webhook_secret),
                        settings.stripe_api_base, settings.stripe_timeout_seconds,
                        settings.stripe_max_network_retries, webhook_secrets(settings.stripe_connect_webhook_secret))


@lru_cache(maxsize=8)
def _gateway_for(secret_key: str | None, webhook_secrets: tuple[str, ...], api_base: str | None,
                 timeout_seconds: float, max_network_retries: int,
                 connect_webhook_secrets: tuple[str, ...] = ()) -> StripeGateway:
    if not secret_key:
        raise PaymentProviderError("STRIPE_SECRET_KEY is not set")
    return StripeGateway(secret_key=secret_key, webhook_secret=webhook_secrets, api_base=api_base,
                         timeout_seconds=timeout_seconds, max_network_retries=max_network_retries,
                         connect_webhook_secret=connect_webhook_secrets or None)

