"""The emulator's state and behaviour, independent of HTTP.

One `Emulator` owns a SQLite store, a clock, a webhook dispatcher and an expiry thread.
Every operation runs under `self.lock` inside a store transaction (`self.tx()`); events
emitted during an operation are handed to the dispatcher only once it has committed.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Self

from stripe_emulator import catalog, charging, checkout, errors, refunds
from stripe_emulator.clock import Clock
from stripe_emulator.config import EmulatorConfig
from stripe_emulator.context import AUTOMATIC, RequestContext
from stripe_emulator.expand import expand as expand_object
from stripe_emulator.listing import PAGINATION_PARAMS, created_filter, paginate
from stripe_emulator.params import Params, merge_metadata
from stripe_emulator.resources import event as build_event
from stripe_emulator.store import Store
from stripe_emulator.webhooks import WebhookDispatcher

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
}


class Emulator:
    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.lock = threading.RLock()
        self.store = Store(self.config.state_file)
        self.clock = Clock(float(self.store.get_meta("clock_offset", "0") or 0))
        self.dispatcher: WebhookDispatcher | None = None
        if self.config.webhook_url:
            self.dispatcher = WebhookDispatcher(
                url=self.config.webhook_url,
                secret=self.config.webhook_secret,
                schedule=self.config.retry_schedule,
                timeout=self.config.webhook_timeout,
                load_payload=self._event_payload,
                record_attempt=self._record_attempt,
            )
        self._depth = 0
        self._outbox: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._expiry_thread: threading.Thread | None = None
        self._started = False
        self._closed = False

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
                self.expire_due_sessions()
            except Exception:
                logger.exception("expiry check failed")

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
    ) -> dict[str, Any]:
        delivering = self.dispatcher is not None
        event = build_event(
            type=event_type,
            obj=copy.deepcopy(obj),
            created=self.clock.now(),
            api_version=self.config.api_version,
            request_id=ctx.request_id,
            idempotency_key=ctx.idempotency_key,
            previous_attributes=previous_attributes,
            pending_webhooks=1 if delivering else 0,
        )
        self.store.add_event(event, ordering_key, "pending" if delivering else "none")
        if delivering:
            self._outbox.append((event["id"], ordering_key))
        logger.debug("event %s %s", event["id"], event_type)
        return event

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

    def get(self, object_type: str, object_id: str, param: str = "id", status: int = 404) -> dict[str, Any]:
        obj = self.store.get(object_type, object_id) if object_id else None
        if obj is None:
            raise errors.no_such(KINDS.get(object_type, object_type), object_id, param, status)
        return obj

    def expand(self, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
        if not paths:
            return obj
        with self.lock:
            return expand_object(obj, paths, self.store.find, self._computed_field)

    def _computed_field(self, obj: dict[str, Any], field: str) -> Any:
        if obj.get("object") == "checkout.session" and field == "line_items":
            return checkout.line_items_list(self, obj["id"], Params({"limit": "100"}))
        return obj.get(field)

    # --- generic retrieve / list / update ------------------------------------------------

    def retrieve(self, object_type: str, object_id: str) -> dict[str, Any]:
        with self.tx():
            if object_type == "checkout.session":
                self.expire_due_sessions()
            return self.get(object_type, object_id)

    def list_objects(
        self,
        object_type: str,
        params: dict[str, Any],
        url: str,
        filters: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """List with equality filters: {param name: dotted field path}."""
        filters = filters or {}
        p = Params(params)
        p.reject_unknown(PAGINATION_PARAMS | {"created"} | set(filters))
        wanted = {}
        for name, path in filters.items():
            value = p.raw(name)
            if isinstance(value, dict):
                for sub_name, sub_value in Params(value, name).data.items():
                    wanted[f"{path}.{sub_name}"] = sub_value
            elif value is not None and value != "":
                wanted[path] = value
        created_ok = created_filter(p)
        with self.tx():
            if object_type == "checkout.session":
                self.expire_due_sessions()
            items = [
                obj
                for obj in self.store.all(object_type)
                if created_ok(obj["created"])
                and all(_matches(_dig(obj, path), value) for path, value in wanted.items())
            ]
            return paginate(items, p, url, KINDS.get(object_type, object_type))

    def update_metadata(
        self, object_type: str, object_id: str, params: dict[str, Any], allowed: set[str] | None = None
    ) -> dict[str, Any]:
        """POST /v1/<resource>/<id> for resources where only metadata (and a few strings) change."""
        p = Params(params)
        allowed = allowed or set()
        p.reject_unknown({"metadata", "expand"} | allowed)
        with self.tx():
            obj = self.get(object_type, object_id)
            obj["metadata"] = merge_metadata(obj.get("metadata") or {}, p.metadata())
            for key in allowed:
                if p.has(key):
                    obj[key] = p.string(key)
            self.store.put(obj)
            return obj

    # --- resources (delegated) -----------------------------------------------------------

    def create_checkout_session(self, params: dict[str, Any], ctx: RequestContext = AUTOMATIC) -> dict[str, Any]:
        return checkout.create_session(self, params, ctx)

    def expire_checkout_session(self, session_id: str, ctx: RequestContext = AUTOMATIC) -> dict[str, Any]:
        return checkout.expire_session(self, session_id, ctx)

    def checkout_line_items(self, session_id: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.tx():
            self.get("checkout.session", session_id)
            return checkout.line_items_list(self, session_id, Params(params))

    def expire_due_sessions(self) -> list[str]:
        return checkout.expire_due(self)

    def create_refund(self, params: dict[str, Any], ctx: RequestContext = AUTOMATIC) -> dict[str, Any]:
        return refunds.create_refund(self, params, ctx)

    def create_product(self, params: dict[str, Any], ctx: RequestContext = AUTOMATIC) -> dict[str, Any]:
        return catalog.create_product(self, params, ctx)

    def update_product(self, product_id: str, params: dict[str, Any], ctx: RequestContext = AUTOMATIC) -> dict[str, Any]:
        return catalog.update_product(self, product_id, params, ctx)

    def create_price(self, params: dict[str, Any], ctx: RequestContext = AUTOMATIC) -> dict[str, Any]:
        return catalog.create_price(self, params, ctx)

    def update_price(self, price_id: str, params: dict[str, Any], ctx: RequestContext = AUTOMATIC) -> dict[str, Any]:
        return catalog.update_price(self, price_id, params, ctx)

    def list_events(self, params: dict[str, Any]) -> dict[str, Any]:
        p = Params(params)
        p.reject_unknown(PAGINATION_PARAMS | {"created", "type", "types", "delivery_success"})
        event_type = p.string("type")
        types = p.string_array("types")
        if event_type and types:
            raise errors.StripeError(
                "You may only specify one of these parameters: type, types.", param="types"
            )
        if len(types) > 20:
            raise errors.invalid("types", "You may pass at most 20 types.")
        delivery_success = p.boolean("delivery_success")
        created_ok = created_filter(p)
        with self.lock:
            statuses = self.store.delivery_statuses()
            items = []
            for event in self.store.all("event"):
                if not created_ok(event["created"]):
                    continue
                if event_type and not _type_matches(event["type"], event_type):
                    continue
                if types and not any(_type_matches(event["type"], t) for t in types):
                    continue
                if delivery_success is not None:
                    delivered = statuses.get(event["id"], "none") in ("succeeded", "none")
                    if delivered != delivery_success:
                        continue
                items.append(event)
            return paginate(items, p, "/v1/events", "event")

    # --- payments (hosted page and control API share these) ------------------------------

    def pay(self, session_id: str, **form: str) -> charging.PaymentResult:
        return charging.pay(self, session_id, **form)

    def authenticate(self, session_id: str, challenge_id: str, action: str) -> charging.PaymentResult:
        return charging.authenticate(self, session_id, challenge_id, action)

    def challenge(self, challenge_id: str) -> dict[str, Any] | None:
        with self.lock:
            return self.store.get_private(f"3ds:{challenge_id}")

    # --- control operations --------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            if self.dispatcher is not None:
                self.dispatcher.reset()
            self._outbox.clear()
            self.store.reset()
            self.clock.set_offset(0)
        logger.info("state reset")

    def advance_clock(self, seconds: float) -> list[str]:
        with self.tx():
            self.clock.advance(seconds)
            self.store.set_meta("clock_offset", repr(self.clock.offset))
            return self.expire_due_sessions()

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
                "events": [
                    {**event, "delivery_status": statuses.get(event["id"], "none")}
                    for event in events
                ],
                "deliveries": self.store.deliveries(),
            }


def _dig(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _matches(actual: Any, wanted: Any) -> bool:
    if isinstance(wanted, list):
        return any(_matches(actual, item) for item in wanted)
    if isinstance(actual, bool):
        return str(actual).lower() == str(wanted).lower()
    if isinstance(actual, dict) and "id" in actual:
        actual = actual["id"]
    return actual is not None and str(actual) == str(wanted)


def _type_matches(event_type: str, pattern: str) -> bool:
    if pattern.endswith("*"):
        return event_type.startswith(pattern[:-1])
    return event_type == pattern
