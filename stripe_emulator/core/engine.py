"""The emulator's state and the services every resource uses, independent of HTTP.

One `Engine` owns a SQLite store, a clock, a webhook dispatcher and an expiry thread.
Every operation runs under `self.lock` inside a store transaction (`self.tx()`); events
emitted during an operation are handed to the dispatcher only once it has committed.

The engine knows no resource. What must happen when time passes (sessions expiring, funds
becoming available, payouts) and fields computed on expansion (a session's `line_items`) are
registered by whoever wires the resources together (`stripe_emulator.emulator.Emulator`):
`on_tick(job, name)` and `compute(object_type, field, fn)`.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Self

from stripe_emulator.core import errors
from stripe_emulator.core.clock import Clock
from stripe_emulator.core.config import EmulatorConfig
from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.events import build_event
from stripe_emulator.core.expand import expand as expand_object
from stripe_emulator.core.objects import merge_metadata
from stripe_emulator.core.store import ANY, Store
from stripe_emulator.core.webhooks import WebhookDispatcher, WebhookRouter

logger = logging.getLogger("stripe_emulator")

# Human names Stripe uses in "No such ..." messages.
KINDS = {
    "checkout.session": "checkout.session",
    "payment_intent": "payment_intent",
    "charge": "charge",
    "refund": "refund",
    "product": "product",
    "price": "price",
    "event": "event",
    "payment_method": "PaymentMethod",
    "account": "account",
    "transfer": "transfer",
    "transfer_reversal": "transfer reversal",
    "application_fee": "application fee",
    "fee_refund": "application fee refund",
    "balance_transaction": "balance transaction",
    "payout": "payout",
    "dispute": "dispute",
    "invoice": "invoice",
    "coupon": "coupon",
    "promotion_code": "promotion code",
    "subscription": "subscription",
    "invoice_payment": "invoice payment",
    "billing_portal.session": "billing portal session",
    "customer": "customer",
    "setup_intent": "setup_intent",
}


# A job run on every clock tick, and a field computed when expanded (see `on_tick`, `compute`).
TickJob = Callable[["Engine"], Any]
ComputedField = Callable[["Engine", dict[str, Any]], Any]


class Engine:
    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.lock = threading.RLock()
        self.store = Store(self.config.state_file)
        self.clock = Clock(float(self.store.get_meta("clock_offset", "0") or 0))
        self.dispatcher: WebhookDispatcher | WebhookRouter | None = None
        if self.config.webhook_url:
            self.dispatcher = WebhookDispatcher(
                url=self.config.webhook_url,
                secret=self.config.webhook_secret,
                schedule=self.config.retry_schedule,
                timeout=self.config.webhook_timeout,
                load_payload=self._event_payload,
                record_attempt=self._record_attempt,
            )
        if self.config.webhook_url and self.config.connect_webhook_url:
            # Stripe's Connect endpoint: events of connected accounts go there, signed with its own secret.
            connect = WebhookDispatcher(
                url=self.config.connect_webhook_url,
                secret=self.config.connect_webhook_secret,
                schedule=self.config.retry_schedule,
                timeout=self.config.webhook_timeout,
                load_payload=self._event_payload,
                record_attempt=self._record_attempt,
            )
            self.dispatcher = WebhookRouter(self.dispatcher, connect, self._is_connect_event)
        self._depth = 0
        self._outbox: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._expiry_thread: threading.Thread | None = None
        self._started = False
        self._closed = False
        self._tick_jobs: list[tuple[str | None, TickJob]] = []
        self._computed: dict[tuple[str, str], ComputedField] = {}

    # --- wiring (done once, before start) ------------------------------------------------

    def on_tick(self, job: TickJob, name: str | None = None) -> None:
        """Run `job(engine)` on every clock tick, in registration order; a named job's result
        is in `tick()`'s answer under that name."""
        self._tick_jobs.append((name, job))

    def compute(self, object_type: str, field: str, fn: ComputedField) -> None:
        """`expand[]=<field>` on a `object_type` object returns `fn(engine, obj)`."""
        self._computed[(object_type, field)] = fn

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start webhook delivery (re-queueing undelivered events) and the expiry loop."""
        if self._started:
            return
        self._started = True
        if self.dispatcher is not None:
            for event_id, key in self.store.pending_events():
                self.dispatcher.enqueue(event_id, key)
            self.dispatcher.start()
        self._stop.clear()
        self._expiry_thread = threading.Thread(
            target=self._expiry_loop, name="stripe-emulator-expiry", daemon=True
        )
        self._expiry_thread.start()

    def stop(self) -> None:
        """Stop background work; the store stays usable."""
        self._stop.set()
        if self._expiry_thread is not None:
            self._expiry_thread.join(timeout=10)
            self._expiry_thread = None
        if self.dispatcher is not None:
            self.dispatcher.stop()
        self._started = False

    def close(self) -> None:
        if self._closed:
            return
        self.stop()
        with self.lock:
            self.store.close()
        self._closed = True

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _expiry_loop(self) -> None:
        interval = max(self.config.expiry_interval, 0.01)
        while not self._stop.wait(interval):
            try:
                self.tick()
            except Exception:
                logger.exception("clock tick failed")

    # --- transactions and events ---------------------------------------------------------

    @contextmanager
    def tx(self) -> Iterator[None]:
        with self.lock:
            outermost = self._depth == 0
            self._depth += 1
            try:
                with self.store.transaction():
                    yield
            except BaseException:
                if outermost:
                    self._outbox.clear()
                raise
            finally:
                self._depth -= 1
            if outermost and self._outbox:
                outbox, self._outbox = self._outbox, []
                if self.dispatcher is not None:
                    for event_id, key in outbox:
                        self.dispatcher.enqueue(event_id, key)

    def emit(
        self,
        event_type: str,
        obj: dict[str, Any],
        ctx: RequestContext,
        ordering_key: str,
        previous_attributes: dict[str, Any] | None = None,
        account: str | None = None,
    ) -> dict[str, Any]:
        """Record an event (delivered once the transaction commits). Events about a connected
        account's objects, and `account.*` events, carry that account in `account` (given, for
        objects without an id of their own: a balance, a capability)."""
        delivering = self.dispatcher is not None
        if account is None:
            account = obj["id"] if obj.get("object") == "account" else self.store.owner(obj.get("id") or "")
        event = build_event(
            type=event_type,
            obj=copy.deepcopy(obj),
            created=self.clock.now(),
            api_version=self.config.api_version,
            request_id=ctx.request_id,
            idempotency_key=ctx.idempotency_key,
            previous_attributes=previous_attributes,
            pending_webhooks=1 if delivering else 0,
            account=account,
        )
        self.store.add_event(event, ordering_key, "pending" if delivering else "none")
        if delivering:
            self._outbox.append((event["id"], ordering_key))
        logger.debug("event %s %s", event["id"], event_type)
        return event

    def _is_connect_event(self, event_id: str) -> bool:
        with self.lock:
            if self._closed:
                return False
            event = self.store.get("event", event_id)
        return bool(event and event.get("account"))

    def _event_payload(self, event_id: str) -> tuple[bytes, str] | None:
        with self.lock:
            if self._closed:
                return None
            event = self.store.get("event", event_id)
        if event is None:
            return None
        return json.dumps(event, indent=2).encode("utf-8"), event["type"]

    def _record_attempt(self, record: dict[str, Any]) -> None:
        with self.lock:
            if self._closed:
                return
            with self.store.transaction():
                self.store.add_delivery(record)
                if record["final"]:
                    event_id = record["event_id"]
                    self.store.set_event_status(
                        event_id, "succeeded" if record["succeeded"] else "failed"
                    )
                    if record["succeeded"]:
                        event = self.store.get("event", event_id)
                        if event is not None:
                            event["pending_webhooks"] = 0
                            self.store.put(event)

    # --- lookups -------------------------------------------------------------------------

    def get(
        self,
        object_type: str,
        object_id: str | None,
        param: str = "id",
        status: int = 404,
        account: Any = ANY,
    ) -> dict[str, Any]:
        """An object by id, seen from `account` (None = platform, ANY = no scoping)."""
        obj = self.store.get(object_type, object_id, account) if object_id else None
        if obj is None:
            raise errors.no_such(KINDS.get(object_type, object_type), object_id or "", param, status)
        return obj

    def owner(self, object_id: str) -> str | None:
        return self.store.owner(object_id)

    def expand(self, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
        if not paths:
            return obj
        with self.lock:
            return expand_object(obj, paths, self.store.find, self._computed_field)

    def _computed_field(self, obj: dict[str, Any], field: str) -> Any:
        fn = self._computed.get((obj.get("object") or "", field))
        if fn is not None:
            return fn(self, obj)
        return obj.get(field)

    # --- generic retrieve / update (lists: `listing.list_objects`) ------------------------

    def retrieve(self, object_type: str, object_id: str, account: Any = None) -> dict[str, Any]:
        with self.tx():
            self.tick_quietly()
            return self.get(object_type, object_id, account=account)

    def update_fields(
        self,
        object_type: str,
        object_id: str,
        args: dict[str, Any],
        ctx: RequestContext,
        event_type: str | None = None,
    ) -> dict[str, Any]:
        """POST /v1/<resource>/<id> where only metadata and a few plain fields change."""
        with self.tx():
            obj = self.get(object_type, object_id, account=ctx.account)
            before = copy.deepcopy(obj)
            for key, value in args.items():
                if key == "expand":
                    continue
                if key == "metadata":
                    obj["metadata"] = merge_metadata(obj.get("metadata") or {}, value)
                else:
                    obj[key] = value
            self.store.put(obj)
            if event_type:
                previous = {k: before.get(k) for k in obj if obj[k] != before.get(k)}
                if previous:
                    self.emit(event_type, obj, ctx, object_id, previous_attributes=previous)
            return obj

    # --- the clock: everything that happens when time passes ------------------------------

    def tick(self) -> dict[str, Any]:
        """Run every registered clock job (e.g. expire sessions, release pending funds, run
        payout schedules, settle payouts); returns the named jobs' results."""
        with self.tx():
            results = {}
            for name, job in self._tick_jobs:
                result = job(self)
                if name is not None:
                    results[name] = result
            return results

    def tick_quietly(self) -> None:
        """Reads see the state the clock implies (like Stripe, nothing waits for a poller)."""
        self.tick()

    # --- control operations --------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            if self.dispatcher is not None:
                self.dispatcher.reset()
            self._outbox.clear()
            self.store.reset()
            self.clock.set_offset(0)
        logger.info("state reset")

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move the clock forward and run what became due (expiry, funds, payouts)."""
        with self.tx():
            self.clock.advance(seconds)
            self.store.set_meta("clock_offset", repr(self.clock.offset))
            return self.tick()

    def advance_clock(self, seconds: float) -> list[str]:
        return self.advance(seconds)["expired_sessions"]

    def resend_event(self, event_id: str) -> dict[str, Any]:
        with self.tx():
            event = self.get("event", event_id)
            if self.dispatcher is None:
                raise errors.StripeError(
                    "No webhook URL is configured, so events cannot be delivered.",
                    status=409,
                )
            key = (self.store.event_delivery(event_id) or (event_id, ""))[0]
            self.store.set_event_status(event_id, "pending")
            event["pending_webhooks"] = 1
            self.store.put(event)
            self._outbox.append((event_id, key))
            return event

    def deliveries(self, event_id: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return self.store.deliveries(event_id)

    def pending_deliveries(self) -> int:
        return self.dispatcher.pending() if self.dispatcher is not None else 0

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """Block until every queued event has been delivered or given up on."""
        deadline = time.monotonic() + timeout
        while self.pending_deliveries():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            statuses = self.store.delivery_statuses()
            events = self.store.all("event")
            return {
                "now": self.clock.now(),
                "clock_offset": self.clock.offset,
                "webhook_url": self.config.webhook_url,
                "pending_deliveries": self.pending_deliveries(),
                "checkout_sessions": self.store.all("checkout.session"),
                "payment_intents": self.store.all("payment_intent"),
                "charges": self.store.all("charge"),
                "refunds": self.store.all("refund"),
                "products": self.store.all("product"),
                "prices": self.store.all("price"),
                "accounts": self.store.all("account"),
                "transfers": self.store.all("transfer"),
                "application_fees": self.store.all("application_fee"),
                "payouts": self.store.all("payout"),
                "disputes": self.store.all("dispute"),
                "balance_transactions": self.store.all("balance_transaction"),
                "events": [
                    {**event, "delivery_status": statuses.get(event["id"], "none")}
                    for event in events
                ],
                "deliveries": self.store.deliveries(),
            }

