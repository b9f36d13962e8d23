"""Test helpers for the emulator suite: polling with a deadline and a webhook receiver."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import stripe

T = TypeVar("T")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "stripe" / "fixtures3.json"
WEBHOOK_SECRET = "whsec_test_emulator_secret"


def wait_until(
    predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.01, message: str = ""
) -> T:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message or predicate}")
        time.sleep(interval)


def fixture_resources() -> dict[str, dict[str, Any]]:
    return json.loads(FIXTURES.read_text())["resources"]


class WebhookReceiver:
    """A tiny HTTP endpoint on a free port in a thread.

    POST /webhook verifies the signature with stripe.Webhook.construct_event and records the
    event; `fail_with` queues status codes to answer (in order) before succeeding, and
    `delays` queues seconds to sleep before answering. GET /success and /cancel return 200.
    """

    def __init__(self, secret: str = WEBHOOK_SECRET) -> None:
        self.secret = secret
        self.events: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.fail_with: list[int] = []
        self.delays: list[float] = []
        self.started = 0  # requests whose handling has begun (before any delay)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver._handle_post(self, body)

            def do_GET(self) -> None:
                page = b"<!doctype html><title>Merchant</title><h1>Merchant page</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return self.base_url + "/webhook"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def _handle_post(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        with self.lock:
            self.started += 1
            delay = self.delays.pop(0) if self.delays else 0.0
        if delay:
            time.sleep(delay)
        signature = handler.headers.get("Stripe-Signature")
        with self.lock:
            record = {"body": body, "signature": signature, "headers": dict(handler.headers)}
            if self.fail_with:
                status = self.fail_with.pop(0)
            else:
                try:
                    event = stripe.Webhook.construct_event(body, signature, self.secret)
                except (stripe.SignatureVerificationError, ValueError) as exc:
                    status = 400
                    record["error"] = str(exc)
                else:
                    status = 200
                    self.events.append(event.to_dict())
            record["status"] = status
            self.requests.append(record)
        handler.send_response(status)
        handler.send_header("Content-Length", "2")
        handler.end_headers()
        handler.wfile.write(b"ok")

    def types(self) -> list[str]:
        with self.lock:
            return [event["type"] for event in self.events]

    def events_of(self, event_type: str) -> list[dict[str, Any]]:
        with self.lock:
            return [event for event in self.events if event["type"] == event_type]

    def wait_for(self, event_type: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        return wait_until(
            lambda: len(self.events_of(event_type)) >= count and self.events_of(event_type),
            timeout,
            message=f"{count} x {event_type} (got {self.types()})",
        )


def pay(http: httpx.Client, session_id: str, card: str = "4242424242424242", **extra: Any) -> dict[str, Any]:
    """Pay through the control API (same logic as the hosted page)."""
    response = http.post(f"/_emulator/checkout/sessions/{session_id}/complete", json={"card": card, **extra})
    assert response.status_code == 200, response.text
    return response.json()


# --- Connect ---------------------------------------------------------------------------------

AUTH = ("sk_test_connect", "")
PASSING_BANK = "000123456789"
FAILING_BANK = "000111111116"  # Stripe's test number: payouts fail with no_account


def create_express_account(client: stripe.StripeClient, email: str = "ada@example.com", **extra: Any) -> Any:
    """What the app sends: an Express account asking for card payments and transfers."""
    params: dict[str, Any] = {
        "type": "express",
        "country": "US",
        "email": email,
        "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
        "metadata": {"builder_id": "7"},
        **extra,
    }
    return client.v1.accounts.create(params=params)


def onboarding_link(client: stripe.StripeClient, account_id: str, base: str = "http://app.test") -> Any:
    return client.v1.account_links.create(
        params={
            "account": account_id,
            "type": "account_onboarding",
            "refresh_url": f"{base}/admin/payouts/refresh",
            "return_url": f"{base}/admin/payouts/return",
        }
    )


def submit_onboarding(url: str, choice: str, bank_account: str = PASSING_BANK) -> httpx.Response:
    """Press a button on the hosted onboarding page (a plain form post, like the browser's)."""
    return httpx.post(url, data={"choice": choice, "bank_account": bank_account}, timeout=10)


def onboarded_account(client: stripe.StripeClient, bank_account: str = PASSING_BANK, **extra: Any) -> Any:
    account = create_express_account(client, **extra)
    link = onboarding_link(client, account.id)
    response = submit_onboarding(link.url, "complete", bank_account)
    assert response.status_code == 303, response.text
    return client.v1.accounts.retrieve(account.id)


def destination_session(
    client: stripe.StripeClient,
    receiver: WebhookReceiver,
    destination: str,
    *,
    amount: int = 10000,
    fee: int | None = 1000,
    currency: str = "usd",
    **extra: Any,
) -> Any:
    intent_data: dict[str, Any] = {"transfer_data": {"destination": destination}, "metadata": {"booking_id": "b1"}}
    if fee is not None:
        intent_data["application_fee_amount"] = fee
    return client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "success_url": receiver.base_url + "/success?session_id={CHECKOUT_SESSION_ID}",
            "line_items": [
                {"quantity": 1, "price_data": {"currency": currency, "unit_amount": amount, "product_data": {"name": "Session"}}}
            ],
            "payment_intent_data": intent_data,
            **extra,
        }
    )


def balance_of(client: stripe.StripeClient, account: str | None, currency: str = "usd") -> dict[str, int]:
    options = {"stripe_account": account} if account else {}
    balance = client.v1.balance.retrieve(options=options)
    return {
        "available": sum(b.amount for b in balance.available if b.currency == currency),
        "pending": sum(b.amount for b in balance.pending if b.currency == currency),
    }
