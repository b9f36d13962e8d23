"""Stripe webhooks: verify, store once by event id, dispatch through one explicit table.

Order is not guaranteed, and the same event can arrive many times, even concurrently: every
handler works from whatever state it finds and changes it with compare-and-swap updates.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking import bookings
from booking.db import session_scope
from booking.gateway import CheckoutSession, InvalidWebhook, PaymentGateway
from booking.models import Booking, EventStatus, StripeEvent, utcnow
from booking.payments import fulfill_checkout, refund_late_payment

log = logging.getLogger(__name__)

Handler = Callable[[Session, PaymentGateway, dict[str, Any]], str]


@dataclass(frozen=True)
class WebhookResult:
    status_code: int
    body: dict[str, Any]


class UnknownBooking(LookupError):
    """The event names no booking of ours: stored and acknowledged, nothing changed."""


def _booking_for(session: Session, obj: dict[str, Any]) -> Booking:
    metadata = obj.get("metadata") or {}
    booking_id = metadata.get("booking_id") or obj.get("client_reference_id")
    booking = session.get(Booking, booking_id) if booking_id else None
    if booking is None and obj.get("payment_intent"):
        payment_intent = obj["payment_intent"]
        payment_intent = payment_intent.get("id") if isinstance(payment_intent, dict) else payment_intent
        booking = session.exec(select(Booking).where(Booking.payment_intent_id == payment_intent)).first()
    if booking is None:
        raise UnknownBooking(booking_id or obj.get("id"))
    return booking


def on_checkout_completed(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    checkout = CheckoutSession.from_stripe(event["data"]["object"])
    fulfilment = fulfill_checkout(session=session, gateway=gateway, checkout_session=checkout)
    if fulfilment.booking is None:
        raise UnknownBooking(checkout.id)
    return "fulfilment:" + fulfilment.state


def on_async_payment_failed(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    obj = event["data"]["object"]
    booking = _booking_for(session, obj)
    released = bookings.cancel_unpaid(session=session, booking_id=booking.id, reason="payment failed", notify=True)
    return "released" if released else "no change"


def on_checkout_expired(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    obj = event["data"]["object"]
    booking = _booking_for(session, obj)
    # Only the booking's current session releases it: "Try again" expires the previous one.
    released = bookings.expire_hold(session=session, booking_id=booking.id, checkout_session_id=obj["id"],
                                    only_if_lapsed=False)
    return "released" if released else "no change"


def on_payment_intent_succeeded(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    obj = event["data"]["object"]
    booking = _booking_for(session, obj)
    outcome = bookings.confirm_paid(session=session, booking_id=booking.id, payment_intent_id=obj["id"])
    if outcome.refund_required:
        refund_late_payment(session=session, gateway=gateway, booking=outcome.booking)
        return "late payment refunded"
    return "confirmed" if outcome.newly_confirmed else "no change"


def on_payment_intent_failed(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    obj = event["data"]["object"]
    booking = _booking_for(session, obj)
    recorded = bookings.record_payment_failure(session=session, booking_id=booking.id,
                                               payment_intent_id=obj["id"], cause=obj["id"])
    return "failure recorded" if recorded else "no change"


def on_charge_refunded(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    charge = event["data"]["object"]
    payment_intent = charge.get("payment_intent")
    metadata = dict(charge.get("metadata") or {})
    known = payment_intent and session.exec(select(Booking.id).where(Booking.payment_intent_id == payment_intent)).first()
    if payment_intent and not known and "booking_id" not in metadata:
        # The refund overtook the payment events: Stripe's session record says whose payment it was.
        booking_id = gateway.booking_id_for_payment_intent(payment_intent)
        if booking_id:
            metadata["booking_id"] = booking_id
    booking = _booking_for(session, {"payment_intent": payment_intent, "metadata": metadata, "id": charge.get("id")})
    if not booking.payment_intent_id:
        booking.payment_intent_id = payment_intent
    bookings.record_refund(session=session, booking_id=booking.id,
                           amount_refunded=int(charge.get("amount_refunded") or 0),
                           fully_refunded=bool(charge.get("refunded")))
    return "refund recorded"


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": on_checkout_completed,
    "checkout.session.async_payment_succeeded": on_checkout_completed,
    "checkout.session.async_payment_failed": on_async_payment_failed,
    "checkout.session.expired": on_checkout_expired,
    "payment_intent.succeeded": on_payment_intent_succeeded,
    "payment_intent.payment_failed": on_payment_intent_failed,
    "charge.refunded": on_charge_refunded,
}


def _store_event(engine: Engine, event: dict[str, Any], payload: bytes) -> bool:
    """Insert the event row. False when it was already processed (a duplicate delivery)."""
    with session_scope(engine) as session:
        existing = session.get(StripeEvent, event["id"])
        if existing is None:
            try:
                with session.begin_nested():
                    session.add(StripeEvent(id=event["id"], type=event["type"], payload=payload.decode("utf-8")))
                    session.flush()
                return True
            except sa.exc.IntegrityError:  # a concurrent delivery of the same event won the insert
                existing = session.get(StripeEvent, event["id"])
        return existing is None or existing.status in (EventStatus.RECEIVED, EventStatus.FAILED)


def handle_webhook(*, engine: Engine, gateway: PaymentGateway, payload: bytes,
                   signature: str | None) -> WebhookResult:
    try:
        event = gateway.verify_webhook(payload, signature)
    except InvalidWebhook as exc:
        return WebhookResult(400, {"error": {"code": "invalid_signature", "message": str(exc)}})

    if not _store_event(engine, event, payload):
        return WebhookResult(200, {"received": True, "duplicate": True})

    try:
        with session_scope(engine) as session:
            outcome = _dispatch(session, gateway, event, count_attempt=True)
    except Exception as exc:
        _record_failure(engine, event["id"], exc)
        log.exception("webhook %s (%s) failed", event["id"], event["type"])
        return WebhookResult(500, {"error": {"code": "handler_failed", "message": "will be retried"}})
    log.info("webhook %s %s: %s", event["id"], event["type"], outcome)
    return WebhookResult(200, {"received": True, "outcome": outcome})


def _dispatch(session: Session, gateway: PaymentGateway, event: dict[str, Any], *, count_attempt: bool) -> str:
    """Run the event's handler in the caller's transaction and record the outcome on its row."""
    row = session.get(StripeEvent, event["id"])
    if count_attempt:
        row.attempts += 1
    handler = HANDLERS.get(event["type"])
    if handler is None:
        outcome, status = "unhandled type", EventStatus.IGNORED
    else:
        try:
            with session.begin_nested():
                outcome, status = handler(session, gateway, event), EventStatus.PROCESSED
        except UnknownBooking as exc:
            outcome, status = f"no booking {exc}", EventStatus.IGNORED
    row.status, row.processed_at, row.error = status, utcnow(), None
    session.add(row)
    return outcome


def _record_failure(engine: Engine, event_id: str, exc: Exception) -> None:
    with session_scope(engine) as session:
        row = session.get(StripeEvent, event_id)
        if row is not None:
            row.attempts += 1
            row.status = EventStatus.FAILED
            row.error = "".join(traceback.format_exception(exc))[-4000:]
            session.add(row)


def replay_event(*, engine: Engine, gateway: PaymentGateway, event_id: str) -> str:
    """Run a stored event's handler again (operator tool for a fixed bug)."""
    with session_scope(engine) as session:
        row = session.get(StripeEvent, event_id)
        if row is None:
            raise LookupError(event_id)
        return _dispatch(session, gateway, json.loads(row.payload), count_attempt=False)


def ingest_event(*, engine: Engine, gateway: PaymentGateway, event: dict[str, Any], source: str) -> str:
    """Apply an event fetched from Stripe rather than delivered (reconcile), on the webhook's own path:
    stored once by its id (marked with `source`), dispatched only if never processed, a handler error
    kept on the row. Returns "duplicate", "failed" or the handler's outcome."""
    payload = json.dumps(event, separators=(",", ":")).encode("utf-8")
    with session_scope(engine) as session:
        if session.get(StripeEvent, event["id"]) is None:
            try:
                with session.begin_nested():
                    session.add(StripeEvent(id=event["id"], type=event["type"], payload=payload.decode("utf-8"),
                                            source=source))
                    session.flush()
            except sa.exc.IntegrityError:  # a delivery of the same event stored it meanwhile
                pass
    if not _store_event(engine, event, payload):
        return "duplicate"
    try:
        with session_scope(engine) as session:
            return _dispatch(session, gateway, event, count_attempt=True)
    except Exception as exc:
        _record_failure(engine, event["id"], exc)
        log.exception("%s event %s (%s) failed", source, event["id"], event["type"])
        return "failed"
