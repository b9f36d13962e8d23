"""Signed Stripe webhook payloads, built the way Stripe builds them (HMAC-SHA256 over "t.body")."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any

WEBHOOK_SECRET = "whsec_test_" + "s" * 24
_ids = itertools.count(1)


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event(event_type: str, obj: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_test_{next(_ids):06d}",
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def encode(evt: dict[str, Any]) -> bytes:
    return json.dumps(evt, separators=(",", ":")).encode()


def checkout_session(booking_id: str, session_id: str, *, status: str = "complete", payment_status: str = "paid",
                     payment_intent: str | None = "pi_test_1", amount: int = 5000, currency: str = "gbp") -> dict[str, Any]:
    return {
        "id": session_id, "object": "checkout.session", "status": status, "payment_status": payment_status,
        "payment_intent": payment_intent, "amount_total": amount, "currency": currency,
        "client_reference_id": booking_id, "metadata": {"booking_id": booking_id}, "url": None,
    }


def payment_intent(booking_id: str, pi_id: str = "pi_test_1", *, status: str = "succeeded") -> dict[str, Any]:
    return {"id": pi_id, "object": "payment_intent", "status": status, "metadata": {"booking_id": booking_id},
            "last_payment_error": None if status == "succeeded" else {"code": "card_declined"}}


def charge(pi_id: str, *, amount: int, amount_refunded: int) -> dict[str, Any]:
    return {"id": "ch_" + pi_id, "object": "charge", "payment_intent": pi_id, "amount": amount,
            "amount_refunded": amount_refunded, "refunded": amount_refunded >= amount, "metadata": {}}
