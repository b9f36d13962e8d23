"""Stripe webhooks: verify, store once by event id, dispatch through one explicit table.

Order is not guaranteed, and the same event can arrive many times, even concurrently: every
handler works from whatever state it finds and changes it with compare-and-swap updates.

No Stripe call while the dispatch transaction is open. Before it opens, the event type's prefetch step
(`PREFETCH`) asks Stripe for what its handler will need (the booking a payment intent we never saw
belongs to, a charge's refunds when the event lists only some, an account whose event may be stale),
reading our rows in a short transaction of its own first so that Stripe is asked only when our rows do
not already tell. The handler then runs once, inside the transaction, on a gateway that only answers
from those answers (`StripeAnswers`); asking it for anything else fails the event (kept and retried as
any handler error), never reaches Stripe. Stripe writes a handler decides on (the refund of a payment
that lost its slot) are written as intents (a `Refund` row, `requested`) and sent after the commit.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

from booking.core.db import session_scope
from booking.core.models import EndCause, EventStatus, Payment, StripeEvent, utcnow
from booking.events import dispute_events, membership_events, package_events
from booking.lifecycle import checkout as payments
from booking.lifecycle import transitions as bookings
from booking.lifecycle.checkout import FulfilmentState, fulfill_checkout, request_late_payment_refund
from booking.payments import connect, disputes
from booking.payments import ledger as payment_records
from booking.payments.gateway import (
    CheckoutPaymentStatus,
    CheckoutSession,
    InvalidWebhook,
    PaymentGateway,
    PaymentProviderError,
)
from booking.payments.gateway import Refund as StripeRefund
from booking.payments.ledger import StripeRef, UnknownBooking, locate

log = logging.getLogger(__name__)

Handler = Callable[[Session, PaymentGateway, dict[str, Any]], str]


@dataclass(frozen=True)
class WebhookResult:
    status_code: int
    body: dict[str, Any]


def _refunds_of(gateway: PaymentGateway, charge: dict[str, Any]) -> list[StripeRefund]:
    """The charge's refunds: from the event when it carries the whole list, else from Stripe."""
    listed = charge.get("refunds")
    if isinstance(listed, dict) and not listed.get("has_more"):
        return [StripeRefund.from_stripe(refund) for refund in listed.get("data") or []]
    payment_intent = StripeRef.of(charge).payment_intent_id
    return gateway.list_refunds(payment_intent) if payment_intent else []


def _record_documents(session: Session, gateway: PaymentGateway, payment_intent_id: str | None) -> None:
    """Receipts and invoices: the links its prefetch found, on the payment, before the confirmation is
    queued (its email carries them). Not prefetched (already known, or Stripe did not answer): nothing."""
    if not payment_intent_id:
        return
    try:
        documents = gateway.payment_documents(payment_intent_id)
    except (StripeNotPrefetched, AttributeError):
        return
    payment_records.record_documents(session=session, documents=documents)


def on_checkout_completed(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    checkout = CheckoutSession.from_stripe(event["data"]["object"])
    _record_documents(session, gateway, checkout.payment_intent_id)
    fulfilment = fulfill_checkout(session=session, checkout_session=checkout,
                                  event_id=event.get("id"))
    if fulfilment.booking is None and fulfilment.state != FulfilmentState.MISMATCH:
        raise UnknownBooking(checkout.id)
    return "fulfilment:" + fulfilment.state


def on_async_payment_failed(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    located = locate(session=session, ref=StripeRef.of(event["data"]["object"]))
    payment_records.mark_failed(session=session, payment=located.payment, code=None,
                                message="The delayed payment method failed.", after_processing=True)
    # The event carries the session (complete, unpaid): nothing to settle with Stripe first.
    released = bookings.end_hold_now(session=session, booking_id=located.booking.id, cause=EndCause.PAYMENT_FAILED)
    return "released" if released else "no change"


def on_checkout_expired(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    obj = event["data"]["object"]
    located = locate(session=session, ref=StripeRef.of(obj))
    # The session expired at Stripe, unpaid: the hold ends. Only the booking's current session ends it:
    # "Try again" expires the previous one. (Its attempt is marked expired after: the ending's message
    # tells a declined card from a hold that ran out by the attempt's status.)
    released = bookings.end_hold_now(session=session, booking_id=located.booking.id, cause=EndCause.EXPIRED,
                                     checkout_session_id=obj["id"])
    payment_records.mark_expired(session=session, payment=located.payment)
    return "released" if released else "no change"


def on_payment_intent_succeeded(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    obj = event["data"]["object"]
    located = locate(session=session, ref=StripeRef.of(obj))
    if payment_records.cross_check_intent(session=session, located=located, intent=obj, event_id=event.get("id")):
        return "mismatch recorded; not confirmed"
    _record_documents(session, gateway, obj.get("id"))
    outcome = bookings.confirm_paid(session=session, booking_id=located.booking.id, payment_intent_id=obj["id"])
    payment_records.mark_paid(session=session, payment=located.payment, payment_intent_id=obj["id"])
    if outcome.refund_required:
        request_late_payment_refund(session=session, booking=outcome.booking)
        return "late payment: refund requested"
    return "confirmed" if outcome.newly_confirmed else "no change"


def on_payment_intent_failed(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    obj = event["data"]["object"]
    located = locate(session=session, ref=StripeRef.of(obj))
    error = obj.get("last_payment_error") or {}
    payment_records.mark_failed(session=session, payment=located.payment,
                                code=error.get("decline_code") or error.get("code"), message=error.get("message"))
    recorded = bookings.record_payment_failure(session=session, booking_id=located.booking.id,
                                               payment_intent_id=obj["id"], cause=obj["id"])
    return "failure recorded" if recorded else "no change"


def on_charge_refunded(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    charge = event["data"]["object"]
    # A refund can overtake the payment events: then Stripe's session record says whose payment it was.
    located = locate(session=session, ref=StripeRef.of(charge), gateway=gateway)
    payment_records.lock_money(session=session, located=located)
    for refund in _refunds_of(gateway, charge):
        payment_records.record_stripe_refund(session=session, located=located, refund=refund)
    payment = payment_records.settle_refunds(session=session, located=located,
                                             stripe_amount_refunded=int(charge.get("amount_refunded") or 0),
                                             fully_refunded=bool(charge.get("refunded")))
    bookings.refunds_settled(session=session, booking_id=located.booking.id, payment=payment)
    return "refund recorded"


def on_refund_changed(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    """refund.created / updated / failed: one refund's own record (pending -> succeeded or failed)."""
    refund = StripeRefund.from_stripe(event["data"]["object"])
    located = locate(session=session, ref=StripeRef.of(event["data"]["object"]), gateway=gateway)
    payment_records.lock_money(session=session, located=located)
    row = payment_records.record_stripe_refund(session=session, located=located, refund=refund)
    payment = payment_records.settle_refunds(session=session, located=located)
    bookings.refunds_settled(session=session, booking_id=located.booking.id, payment=payment)
    return f"refund {row.status}" if row is not None else "no change"


def on_charge_pending(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    """A bank debit was submitted: record how the attempt is being paid (the completion marks it processing)."""
    charge = event["data"]["object"]
    located = locate(session=session, ref=StripeRef.of(charge))
    recorded = payment_records.record_payment_method(session=session, payment=located.payment,
                                                     details=charge.get("payment_method_details"))
    return "payment method recorded" if recorded else "no change"


def _recording_the_payment_method(handler: Handler) -> Handler:
    """charge.succeeded: record how the attempt was paid (card, Apple Pay, PayPal, SEPA...), then `handler`."""
    def handle(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
        charge = event["data"]["object"]
        if payment_records.known_booking_id(session=session, ref=StripeRef.of(charge)) is not None:
            located = locate(session=session, ref=StripeRef.of(charge))
            payment_records.record_payment_method(session=session, payment=located.payment,
                                                  details=charge.get("payment_method_details"))
        return handler(session, gateway, event)

    return handle


_checkout_completed = membership_events.checkout_completed(on_checkout_completed)

HANDLERS: dict[str, Handler] = {
    # (A subscription-mode session is a membership's: booking/events/membership_events.py.)
    "checkout.session.completed": _checkout_completed,
    "checkout.session.async_payment_succeeded": _checkout_completed,
    "checkout.session.async_payment_failed": on_async_payment_failed,
    "checkout.session.expired": on_checkout_expired,
    "payment_intent.succeeded": on_payment_intent_succeeded,
    "payment_intent.payment_failed": on_payment_intent_failed,
    "charge.refunded": on_charge_refunded,
    "refund.created": on_refund_changed,
    "refund.updated": on_refund_changed,
    "refund.failed": on_refund_changed,
    "charge.refund.updated": on_refund_changed,
    # Stripe Connect: a destination charge's transfer, and events of the builders' connected accounts
    # (their payload carries `account`; signed by the Connect endpoint's secret, one of ours).
    "charge.succeeded": _recording_the_payment_method(connect.on_charge_succeeded),
    "charge.pending": on_charge_pending,
    "transfer.created": connect.on_transfer_created,
    "account.updated": connect.on_account_updated,
    "payout.created": connect.on_payout_changed,
    "payout.updated": connect.on_payout_changed,
    "payout.paid": connect.on_payout_changed,
    "payout.failed": connect.on_payout_changed,
    "payout.canceled": connect.on_payout_changed,
    # Disputes: one handler for the five charge.dispute.* events (booking/events/dispute_events.py).
    **dispute_events.HANDLERS,
    # Memberships: subscriptions and their invoices (booking/events/membership_events.py).
    **membership_events.HANDLERS,
}


def _store_event(engine: Engine, event: dict[str, Any], payload: bytes) -> bool:
    """Insert the event row. False when it was already processed (a duplicate delivery).

    The hot path of every delivery, so one statement and the commit: `INSERT ... ON CONFLICT DO NOTHING
    RETURNING` (SQLite and PostgreSQL alike), then a look at the existing row only when it was there."""
    table = StripeEvent.__table__
    insert = _INSERTS[engine.dialect.name](table).values(
        id=event["id"], type=event["type"], payload=payload.decode("utf-8"), received_at=utcnow(),
        status=EventStatus.RECEIVED, attempts=0, source="webhook",
    ).on_conflict_do_nothing(index_elements=[table.c.id]).returning(table.c.id)
    with engine.begin() as connection:
        if connection.execute(insert).first() is not None:
            return True
        status = connection.execute(sa.select(table.c.status).where(table.c.id == event["id"])).scalar()
    return status is None or status in (EventStatus.RECEIVED, EventStatus.FAILED)


_INSERTS = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}


def handle_webhook(*, engine: Engine, gateway: PaymentGateway, payload: bytes,
                   signature: str | None) -> WebhookResult:
    try:
        event = gateway.verify_webhook(payload, signature)
    except InvalidWebhook as exc:
        return WebhookResult(400, {"error": {"code": "invalid_signature", "message": str(exc)}})

    if not _store_event(engine, event, payload):
        return WebhookResult(200, {"received": True, "duplicate": True})

    try:
        outcome = apply_event(engine=engine, gateway=gateway, event=event)
    except Exception as exc:
        _record_failure(engine, event["id"], exc)
        log.exception("webhook %s (%s) failed", event["id"], event["type"])
        return WebhookResult(500, {"error": {"code": "handler_failed", "message": "will be retried"}})
    log.info("webhook %s %s: %s", event["id"], event["type"], outcome)
    return WebhookResult(200, {"received": True, "outcome": outcome})


# --- Stripe, before the dispatch transaction ----------------------------------------------------------------

# What a handler may read from Stripe (through its answers); every write is an intent sent after the commit.
_READS = frozenset({"booking_id_for_payment_intent", "list_refunds", "retrieve_checkout_session",
                    "retrieve_connected_account", "retrieve_destination_charge", "payment_documents"})
Call = tuple[str, tuple[Any, ...], tuple[tuple[str, Any], ...]]


class StripeNotPrefetched(RuntimeError):
    """A handler asked for a Stripe answer its event type's prefetch did not gather: the event fails and
    is retried like any handler error (a prefetch step to extend, or a race with another event)."""


class StripeCallInTransaction(RuntimeError):
    """A handler tried to change something at Stripe inside the transaction: a bug (write an intent)."""


class StripeAnswers:
    """The gateway a handler sees inside the dispatch transaction: only the answers Stripe gave before it
    began (`fetch`, with no transaction open). It never calls Stripe itself."""

    def __init__(self, gateway: PaymentGateway) -> None:
        self._gateway = gateway
        self._answers: dict[Call, Any] = {}

    def fetch(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Ask Stripe now (call this with no transaction open) and keep the answer for the handler."""
        if name not in _READS:
            raise StripeCallInTransaction(f"{name}: not a read a handler may use")
        call = (name, args, tuple(sorted(kwargs.items())))
        if call not in self._answers:
            self._answers[call] = getattr(self._gateway, name)(*args, **kwargs)
        return self._answers[call]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in _READS:
            raise StripeCallInTransaction(f"{name}: no Stripe write inside the webhook's transaction")

        def answer(*args: Any, **kwargs: Any) -> Any:
            call = (name, args, tuple(sorted(kwargs.items())))
            if call not in self._answers:
                raise StripeNotPrefetched(f"{name} was not fetched before the transaction")
            return self._answers[call]

        return answer


Prefetch = Callable[[Engine, StripeAnswers, dict[str, Any]], None]


def _known_locally(engine: Engine, ref: StripeRef) -> bool:
    """Our rows already tell whose payment this is (a read of its own, closed before Stripe is asked)."""
    with Session(engine) as session:
        return payment_records.known_booking_id(session=session, ref=ref) is not None


def _trace_payment_intent(engine: Engine, answers: StripeAnswers, event: dict[str, Any]) -> None:
    """For `locate(..., gateway=...)`: a payment intent our rows do not know is traced through Stripe."""
    ref = StripeRef.of(event["data"]["object"])
    if ref.payment_intent_id and not _known_locally(engine, ref):
        answers.fetch("booking_id_for_payment_intent", ref.payment_intent_id)


def _prefetch_charge_refunded(engine: Engine, answers: StripeAnswers, event: dict[str, Any]) -> None:
    _trace_payment_intent(engine, answers, event)
    charge = event["data"]["object"]
    listed = charge.get("refunds")
    payment_intent = StripeRef.of(charge).payment_intent_id
    if not (isinstance(listed, dict) and not listed.get("has_more")) and payment_intent:
        answers.fetch("list_refunds", payment_intent)  # the event lists only some: `_refunds_of` asks


def _prefetch_charge_succeeded(engine: Engine, answers: StripeAnswers, event: dict[str, Any]) -> None:
    charge = event["data"]["object"]
    if (charge.get("transfer_data") or {}).get("destination") or charge.get("destination") or charge.get("transfer"):
        _trace_payment_intent(engine, answers, event)  # a destination charge: `locate` may trace it


def _prefetch_account_updated(engine: Engine, answers: StripeAnswers, event: dict[str, Any]) -> None:
    account_id = (event["data"]["object"] or {}).get("id")
    seen_at = connect._from_unix(event.get("created")) or utcnow()
    with Session(engine) as session:
        builder = connect.builder_of_account(session=session, account_id=account_id) if account_id else None
        stale = builder is not None and connect.is_stale(builder, seen_at)
    if stale:  # the handler reads the account again rather than trust an out-of-date payload
        answers.fetch("retrieve_connected_account", account_id)


def _prefetch_documents(engine: Engine, answers: StripeAnswers, event: dict[str, Any]) -> None:
    """A paid payment's receipt and invoice links, unless its row has them already. Stripe not answering
    only leaves the links out (the receipt is also Stripe's email); it never fails the payment's event."""
    obj = event["data"]["object"] or {}
    if obj.get("object") == "checkout.session":
        payment_intent = obj.get("payment_intent")
        payment_intent = payment_intent.get("id") if isinstance(payment_intent, dict) else payment_intent
        paid = CheckoutPaymentStatus.from_stripe(obj.get("payment_status"), missing=CheckoutPaymentStatus.UNPAID)
        if paid != CheckoutPaymentStatus.PAID:
            return
    else:
        payment_intent = obj.get("id")
    if not payment_intent:
        return
    matches = [Payment.payment_intent_id == payment_intent]
    if obj.get("object") == "checkout.session" and obj.get("id"):
        matches.append(Payment.checkout_session_id == obj["id"])
    with Session(engine) as session:
        known = session.exec(sa.select(Payment.receipt_url).where(sa.or_(*matches))).first()
    if known is not None and known[0]:
        return
    try:
        answers.fetch("payment_documents", payment_intent)
    except PaymentProviderError:
        log.warning("no receipt links for %s: Stripe did not answer", payment_intent)


# Per event type, what its handler needs from Stripe, gathered before its transaction; a type not listed
# needs nothing (its handler works from the payload and our rows).
PREFETCH: dict[str, Prefetch] = {
    "charge.refunded": _prefetch_charge_refunded,
    "refund.created": _trace_payment_intent,
    "refund.updated": _trace_payment_intent,
    "refund.failed": _trace_payment_intent,
    "charge.refund.updated": _trace_payment_intent,
    "charge.succeeded": _prefetch_charge_succeeded,
    "account.updated": _prefetch_account_updated,
    **{event_type: _trace_payment_intent for event_type in dispute_events.DISPUTE_EVENTS},
    # Receipts and invoices: links for the confirmation email (whichever of the two confirms first).
    "payment_intent.succeeded": _prefetch_documents,
    "checkout.session.completed": _prefetch_documents,
    "checkout.session.async_payment_succeeded": _prefetch_documents,
}


def prefetch(*, engine: Engine, gateway: PaymentGateway, event: dict[str, Any]) -> StripeAnswers:
    """What the event's handler will need from Stripe, asked now, with no transaction open."""
    answers = StripeAnswers(gateway)
    step = PREFETCH.get(event.get("type", ""))
    if step is not None:
        step(engine, answers, event)
    return answers


def apply_event(*, engine: Engine, gateway: PaymentGateway, event: dict[str, Any],
                still_due: Callable[[Session], bool] | None = None, count_attempt: bool = True,
                turn: Callable[[], AbstractContextManager[object]] = nullcontext) -> str | None:
    """Apply an event: prefetch what its handler needs from Stripe, then run the handler once in a
    transaction of its own, with no Stripe call while it is open.

    `still_due` is asked inside the transaction (False: nothing to do, e.g. applied meanwhile; returns
    None); `turn` is held around the transaction (the worker's SQLite writer turn). After the commit, a
    late-payment refund the handler requested is sent. Exceptions propagate (the caller records them).
    """
    answers = prefetch(engine=engine, gateway=gateway, event=event)
    with turn(), session_scope(engine) as session:
        if still_due is not None and not still_due(session):
            return None
        outcome = _dispatch(session, answers, event, count_attempt=count_attempt)
        refund_bookings = payments.late_refunds_requested(session)
        recoveries = disputes.requested_recoveries(session)
    _send_requested_refunds(engine, gateway, refund_bookings)
    _send_dispute_recoveries(engine, gateway, recoveries)
    return outcome


def _send_dispute_recoveries(engine: Engine, gateway: PaymentGateway, dispute_ids: list[int]) -> None:
    """A dispute's transfer reversal or payback, right after its event commits; the worker's
    "dispute-recovery" job retries what fails here."""
    if not dispute_ids:
        return
    try:
        disputes.send_recoveries(engine=engine, gateway=gateway, dispute_ids=dispute_ids)
    except Exception:
        log.exception("dispute recovery of %s not made now; the worker retries", dispute_ids)


def _send_requested_refunds(engine: Engine, gateway: PaymentGateway, booking_ids: list[str]) -> None:
    """The event is applied and committed; a refund it asked for must not turn it into a failure."""
    if not booking_ids:
        return
    try:
        payments.send_late_payment_refunds(engine=engine, gateway=gateway, booking_ids=booking_ids)
    except Exception:  # the Refund rows stay `requested`: the sweeper sends them
        log.exception("late-payment refund of %s not sent now; the sweeper retries", booking_ids)


def _dispatch(session: Session, gateway: PaymentGateway, event: dict[str, Any], *, count_attempt: bool) -> str:
    """Run the event's handler in the caller's transaction and record the outcome on its row.

    Pass the event's prefetched `StripeAnswers` as the gateway (`apply_event` does): the handler may not
    reach Stripe here; given a plain gateway, the handler gets answers with nothing prefetched.
    """
    row = session.get(StripeEvent, event["id"])
    if count_attempt:
        row.attempts += 1
    handler = package_events.sale_handler(session, event) or HANDLERS.get(event["type"])
    session.info.pop(payment_records.LOCATED_BOOKING, None)
    session.info.pop(payments.LATE_REFUNDS_REQUESTED, None)
    session.info.pop(disputes.RECOVERIES_DUE, None)
    answers = gateway if isinstance(gateway, StripeAnswers) else StripeAnswers(gateway)
    refused: str | None = None  # why a signed event was not trusted, kept on its row
    if handler is None:
        outcome, status = "unhandled type", EventStatus.IGNORED
    else:
        try:
            with session.begin_nested():
                outcome, status = handler(session, answers, event), EventStatus.PROCESSED
        except UnknownBooking as exc:
            outcome, status = f"no booking {exc}", EventStatus.IGNORED
        except connect.ForeignAccount as exc:
            log.warning("event %s (%s) refused: %s", event["id"], event["type"], exc)
            outcome, status = str(exc), EventStatus.IGNORED
            refused = outcome
    # Filed under its booking, so the builder sees their own events in the webhook log.
    if status == EventStatus.PROCESSED and payment_records.last_located_booking(session):
        row.booking_id = payment_records.last_located_booking(session)
    elif handler is None and row.booking_id is None:  # e.g. charge.succeeded: still that booking's story
        obj = (event.get("data") or {}).get("object")
        if isinstance(obj, dict):
            row.booking_id = payment_records.known_booking_id(session=session, ref=StripeRef.of(obj))
    row.status, row.processed_at, row.error = status, utcnow(), refused
    session.add(row)
    return outcome


def _record_failure(engine: Engine, event_id: str, exc: Exception) -> None:
    with session_scope(engine) as session:
        row = session.get(StripeEvent, event_id)
        if row is not None:
            row.attempts += 1
            row.status = EventStatus.FAILED
            row.error = "".join(traceback.format_exception(exc))[-4000:]
            row.booking_id = row.booking_id or _known_booking_id(session, row.payload)
            session.add(row)


def _known_booking_id(session: Session, payload: str) -> str | None:
    """A failed event is filed under its booking too, when our rows already tell which (read-only)."""
    try:
        obj = json.loads(payload)["data"]["object"]
        return payment_records.known_booking_id(session=session, ref=StripeRef.of(obj))
    except Exception:  # a failure record must never fail on account of this lookup
        log.debug("no booking for a failed event", exc_info=True)
        return None


def replay_event(*, engine: Engine, gateway: PaymentGateway, event_id: str) -> str:
    """Run a stored event's handler again (operator tool for a fixed bug); also sends a late-payment
    refund of its booking left `requested`."""
    with session_scope(engine) as session:
        row = session.get(StripeEvent, event_id)
        if row is None:
            raise LookupError(event_id)
        event = json.loads(row.payload)

    outcome = apply_event(engine=engine, gateway=gateway, event=event, count_attempt=False)
    with session_scope(engine) as session:
        booking_id = session.exec(sa.select(StripeEvent.booking_id).where(StripeEvent.id == event_id)).scalar()
    if booking_id:
        try:
            payments.send_late_payment_refunds(engine=engine, gateway=gateway, booking_ids=[booking_id])
        except PaymentProviderError:
            log.warning("replay %s: a late-payment refund could not be sent; the sweeper retries", event_id)
    return outcome or ""


class Ingested(StrEnum):
    """What `ingest_event` did with an event fetched from Stripe."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"  # stored or processed already (a delivery got there first)
    FAILED = "failed"  # its handler raised; the error is kept on the event's row


def ingest_event(*, engine: Engine, gateway: PaymentGateway, event: dict[str, Any], source: str) -> Ingested:
    """Apply an event fetched from Stripe rather than delivered (reconcile), on the webhook's own path:
    stored once by its id (marked with `source`), dispatched only if never processed, a handler error
    kept on the row. The handler's own outcome is logged, as for a delivery."""
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
        return Ingested.DUPLICATE
    try:
        outcome = apply_event(engine=engine, gateway=gateway, event=event)
    except Exception as exc:
        _record_failure(engine, event["id"], exc)
        log.exception("%s event %s (%s) failed", source, event["id"], event["type"])
        return Ingested.FAILED
    log.info("%s event %s %s: %s", source, event["id"], event["type"], outcome)
    return Ingested.APPLIED
