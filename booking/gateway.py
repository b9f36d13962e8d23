"""The only module that talks to Stripe. Real Stripe and the emulator differ only in address and keys."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import stripe

WEBHOOK_TOLERANCE_SECONDS = 300


class PaymentProviderError(RuntimeError):
    """Stripe could not be reached or refused the request. The message is safe to log."""


class InvalidWebhook(ValueError):
    """The payload or its signature did not verify: nothing may be stored."""


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


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str | None
    status: str  # open | complete | expired
    payment_status: str  # unpaid | paid | no_payment_required
    payment_intent_id: str | None
    amount_total: int | None
    currency: str | None
    metadata: dict[str, str]
    client_reference_id: str | None

    @classmethod
    def from_stripe(cls, data: dict[str, Any]) -> CheckoutSession:
        payment_intent = data.get("payment_intent")
        if isinstance(payment_intent, dict):
            payment_intent = payment_intent.get("id")
        return cls(
            id=data["id"],
            url=data.get("url"),
            status=data.get("status") or "open",
            payment_status=data.get("payment_status") or "unpaid",
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
    status: str  # pending | requires_action | succeeded | failed | canceled
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
            status=data.get("status") or "pending",
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
    status: str  # succeeded | processing | requires_payment_method | canceled | ...
    amount: int
    amount_received: int
    currency: str
    metadata: dict[str, str]

    @classmethod
    def from_stripe(cls, data: dict[str, Any]) -> PaymentIntentRecord:
        return cls(id=data["id"], status=data.get("status") or "", amount=int(data.get("amount") or 0),
                   amount_received=int(data.get("amount_received") or 0), currency=data.get("currency") or "",
                   metadata=dict(data.get("metadata") or {}))


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

    @classmethod
    def from_stripe(cls, data: dict[str, Any]) -> StripePrice:
        product = data.get("product")
        if isinstance(product, dict):
            product = product.get("id")
        return cls(id=data["id"], product_id=product or "", unit_amount=data.get("unit_amount"),
                   currency=(data.get("currency") or "").lower(), active=bool(data.get("active")))


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
                     idempotency_key: str) -> StripePrice: ...
    def set_price_active(self, price_id: str, *, active: bool, idempotency_key: str) -> StripePrice: ...
    def retrieve_price(self, price_id: str) -> StripePrice | None: ...
    def list_active_prices(self, product_id: str) -> list[StripePrice]: ...
    # Listings for reconcile: every object created since a time, all pages.
    def list_checkout_sessions_since(self, created_since: datetime) -> list[CheckoutSession]: ...
    def list_payment_intents_since(self, created_since: datetime) -> list[PaymentIntentRecord]: ...
    def list_refunds_since(self, created_since: datetime) -> list[Refund]: ...
    def list_events_since(self, created_since: datetime, types: tuple[str, ...] = ()) -> list[dict[str, Any]]: ...


def checkout_params(request: CheckoutRequest) -> dict[str, Any]:
    """Stripe's Checkout Session parameters. No payment_method_types: Stripe picks them (dynamic)."""
    if request.price_id:
        line_item: dict[str, Any] = {"price": request.price_id, "quantity": 1}
    else:
        product_data: dict[str, Any] = {"name": request.line_item_name}
        if request.line_item_description:
            product_data["description"] = request.line_item_description
        line_item = {
            "price_data": {
                "currency": request.currency,
                "unit_amount": request.amount,
                "product_data": product_data,
            },
            "quantity": 1,
        }
    return {
        "mode": "payment",
        "line_items": [line_item],
        "customer_email": request.customer_email,
        "client_reference_id": request.client_reference_id,
        "success_url": request.success_url,
        "cancel_url": request.cancel_url,
        "expires_at": int(request.expires_at.timestamp()),
        "metadata": request.metadata,
        "payment_intent_data": {"metadata": request.metadata},
    }


class StripeGateway:
    def __init__(self, *, secret_key: str, webhook_secret: str | None, api_base: str | None = None) -> None:
        base_addresses = {"api": api_base} if api_base else None
        self._client = stripe.StripeClient(secret_key, base_addresses=base_addresses, max_network_retries=2)
        self._webhook_secret = webhook_secret

    def create_checkout_session(self, request: CheckoutRequest, *, idempotency_key: str) -> CheckoutSession:
        with _provider_errors("create a Checkout Session"):
            session = self._client.v1.checkout.sessions.create(
                params=checkout_params(request), options={"idempotency_key": idempotency_key}
            )
        return CheckoutSession.from_stripe(_plain(session))

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
               metadata: dict[str, str]) -> Refund:
        params: dict[str, Any] = {"payment_intent": payment_intent_id, "reason": reason, "metadata": metadata}
        if amount is not None:
            params["amount"] = amount
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
        return verify_webhook(payload, signature, self._webhook_secret)

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
                     idempotency_key: str) -> StripePrice:
        params = {"product": product_id, "unit_amount": unit_amount, "currency": currency, "metadata": metadata}
        with _provider_errors("create a Price"):
            price = self._client.v1.prices.create(params=params, options={"idempotency_key": idempotency_key})
        return StripePrice.from_stripe(_plain(price))

    def set_price_active(self, price_id: str, *, active: bool, idempotency_key: str) -> StripePrice:
        with _provider_errors("update a Price"):
            price = self._client.v1.prices.update(
                price_id, params={"active": active}, options={"idempotency_key": idempotency_key}
            )
        return StripePrice.from_stripe(_plain(price))

    def retrieve_price(self, price_id: str) -> StripePrice | None:
        try:
            with _provider_errors("retrieve a Price"):
                return StripePrice.from_stripe(_plain(self._client.v1.prices.retrieve(price_id)))
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
        """Events as plain dicts, the same shape a webhook delivers (Stripe takes at most 20 types)."""
        extra = {"types": list(types)} if types else {}
        return self._list_since(self._client.v1.events, "list events", created_since, **extra)

    def _list_since(self, service: Any, action: str, created_since: datetime, **params: Any) -> list[dict[str, Any]]:
        with _provider_errors(action):
            page = service.list(params={"created": {"gte": int(created_since.timestamp())}, "limit": 100, **params})
            return [_plain(item) for item in page.auto_paging_iter()]


def verify_webhook(payload: bytes, signature: str | None, secret: str | None) -> dict[str, Any]:
    """Check Stripe's signature on the raw bytes (5-minute tolerance), then parse the event."""
    if not secret:
        raise InvalidWebhook("STRIPE_WEBHOOK_SECRET is not set")
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature or "", secret, WEBHOOK_TOLERANCE_SECONDS
        )
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidWebhook(str(exc).split("\n")[0] or "invalid signature") from None
    if not isinstance(event, dict) or not str(event.get("id", "")).startswith("evt_") or "type" not in event:
        raise InvalidWebhook("payload is not a Stripe event")
    return event


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
    if not settings.stripe_secret_key:
        raise PaymentProviderError("STRIPE_SECRET_KEY is not set")
    return StripeGateway(
        secret_key=settings.stripe_secret_key,
        webhook_secret=settings.stripe_webhook_secret,
        api_base=settings.stripe_api_base,
    )

