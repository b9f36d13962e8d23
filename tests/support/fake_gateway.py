"""An in-memory PaymentGateway for tests about our side of the contract (webhooks, transitions)."""

from __future__ import annotations

import itertools
from typing import Any

from booking.gateway import CheckoutRequest, CheckoutSession, PaymentProviderError, Refund, verify_webhook
from tests.support.stripe_events import WEBHOOK_SECRET

_ids = itertools.count(1)


class FakeGateway:
    def __init__(self, webhook_secret: str = WEBHOOK_SECRET) -> None:
        self.webhook_secret = webhook_secret
        self.sessions: dict[str, CheckoutSession] = {}
        self.created: list[tuple[CheckoutRequest, str]] = []
        self.expired: list[str] = []
        self.refunds: list[dict[str, Any]] = []
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise PaymentProviderError("Stripe could not be reached (APIConnectionError)")

    def create_checkout_session(self, request: CheckoutRequest, *, idempotency_key: str) -> CheckoutSession:
        self._check()
        session = CheckoutSession(
            id=f"cs_test_fake{next(_ids)}", url="https://checkout.example/pay", status="open",
            payment_status="unpaid", payment_intent_id=None, amount_total=request.amount,
            currency=request.currency, metadata=dict(request.metadata), client_reference_id=request.booking_id,
        )
        self.sessions[session.id] = session
        self.created.append((request, idempotency_key))
        return session

    def pay(self, session_id: str, payment_intent_id: str = "pi_test_1") -> CheckoutSession:
        paid = CheckoutSession(**{**self.sessions[session_id].__dict__, "status": "complete",
                                  "payment_status": "paid", "payment_intent_id": payment_intent_id})
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
        self.sessions[session_id] = CheckoutSession(**{**current.__dict__, "status": "expired"})
        self.expired.append(session_id)
        return self.sessions[session_id]

    def refund(self, *, payment_intent_id: str, amount: int | None, reason: str, idempotency_key: str,
               metadata: dict[str, str]) -> Refund:
        self._check()
        self.refunds.append({"payment_intent": payment_intent_id, "amount": amount, "key": idempotency_key})
        return Refund(id=f"re_{next(_ids)}", amount=amount or 0, status="succeeded")

    def booking_id_for_payment_intent(self, payment_intent_id: str) -> str | None:
        self._check()
        for checkout in self.sessions.values():
            if checkout.payment_intent_id == payment_intent_id:
                return checkout.metadata.get("booking_id")
        return None

    def verify_webhook(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        return verify_webhook(payload, signature, self.webhook_secret)
