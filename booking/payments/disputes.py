"""Disputes: a client's card issuer takes a payment back until the builder (or an admin) shows evidence.

What Stripe says (charge.dispute.created / updated / closed / funds_withdrawn / funds_reinstated) is kept in
one `Dispute` row per Stripe dispute, and every movement of money is a journal entry (`movements`): the
withdrawal and Stripe's dispute fee (read from the dispute's balance transactions), the reinstatement of a won
dispute, and, under `DISPUTE_RECOVERY=reverse_transfer`, the reversal of the builder's transfer for the disputed
amount (and a new transfer paying it back when the dispute is won). Any event of a dispute carries the whole
dispute (its balance transactions included), so events applied twice or out of order change nothing twice:
statuses only move forward, movements are keyed by their balance transaction, emails by the dispute.

Stripe writes (the reversal, the payback, the evidence) never happen inside a transaction: `record_dispute`
marks a recovery as requested and `send_recoveries` makes it after the commit (the webhook right after its
transaction, the worker's "dispute-recovery" job for anything left), each with its own idempotency key.

A dispute is a payment matter: the booking keeps its lifecycle state and shows "Disputed" beside it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.accounts import audit, authz
from booking.accounts.authz import Actor
from booking.core.config import DisputeRecoveryPolicy
from booking.core.db import session_scope
from booking.core.models import (
    AuditEntry,
    Booking,
    Builder,
    Client,
    Dispute,
    DisputeRecovery,
    DisputeStatus,
    MovementKind,
    Notification,
    Payment,
    SessionType,
    utcnow,
)
from booking.core.time import format_datetime, format_money, zone_or_utc
from booking.notifications.dispute_emails import queue_dispute_opened
from booking.notifications.templates import NotificationKind
from booking.payments import movements
from booking.payments.gateway import PaymentGateway, PaymentProviderError
from booking.scheduling import policy

log = logging.getLogger(__name__)

RECOVERIES_DUE = "disputes.recoveries_due"  # session.info: dispute rows whose recovery is to be sent now


OPEN_STATUSES = (DisputeStatus.NEEDS_RESPONSE, DisputeStatus.WARNING_NEEDS_RESPONSE)
REVIEW_STATUSES = (DisputeStatus.UNDER_REVIEW, DisputeStatus.WARNING_UNDER_REVIEW)
CLOSED_STATUSES = (DisputeStatus.WON, DisputeStatus.LOST, DisputeStatus.WARNING_CLOSED)
_RANK = {**{s: 0 for s in OPEN_STATUSES}, **{s: 1 for s in REVIEW_STATUSES}, **{s: 2 for s in CLOSED_STATUSES}}

STATUS_TEXT: dict[DisputeStatus, str] = {
    DisputeStatus.NEEDS_RESPONSE: "Needs evidence",
    DisputeStatus.WARNING_NEEDS_RESPONSE: "Inquiry: needs evidence",
    DisputeStatus.UNDER_REVIEW: "Evidence submitted",
    DisputeStatus.WARNING_UNDER_REVIEW: "Inquiry: evidence submitted",
    DisputeStatus.WON: "Won",
    DisputeStatus.LOST: "Lost",
    DisputeStatus.WARNING_CLOSED: "Inquiry closed",
}

# Stripe's reason codes in words (https://docs.stripe.com/disputes/categories); others are shown as they come.
REASON_TEXT = {
    "fraudulent": "Fraudulent: the cardholder says they didn't authorise the payment",
    "product_not_received": "Not received: the client says the session didn't take place",
    "product_unacceptable": "Unacceptable: the client says the session wasn't as described",
    "duplicate": "Duplicate: the client says they paid twice",
    "credit_not_processed": "Refund not processed: the client says a refund is owed",
    "subscription_canceled": "Subscription cancelled",
    "unrecognized": "Unrecognised: the client doesn't recognise the payment",
    "general": "General",
    "customer_initiated": "Customer initiated",
    "noncompliant": "Noncompliant",
}

# The evidence form: Stripe's text evidence fields, in the order shown, with their labels.
EVIDENCE_FIELDS: tuple[tuple[str, str], ...] = (
    ("product_description", "What was booked"),
    ("service_date", "Service date"),
    ("customer_name", "Client's name"),
    ("customer_email_address", "Client's email"),
    ("cancellation_policy_disclosure", "Cancellation policy shown before payment"),
    ("access_activity_log", "The client's activity on their manage page"),
    ("uncategorized_text", "Emails sent to the client, and anything else"),
)
EVIDENCE_LIMIT = 20000  # Stripe's limit per text field (150,000 in all)


def reason_text(code: str | None) -> str:
    return REASON_TEXT.get(code or "", (code or "general").replace("_", " ").capitalize())


def _from_unix(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if isinstance(value, (int, float)) and value else None


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- what Stripe says: record it ------------------------------------------------------------------------


@dataclass
class Recorded:
    dispute: Dispute
    new: bool
    movements: int = 0
    recovery_due: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        parts = [("dispute recorded" if self.new else f"dispute {self.dispute.status.value}")]
        if self.movements:
            parts.append(f"{self.movements} movement(s)")
        return "; ".join(parts + self.notes)


def record_dispute(*, session: Session, booking: Booking, payment: Payment, dispute: dict[str, Any],
                   recovery_setting: DisputeRecoveryPolicy, observed_at: datetime | None = None, disputes_url: str = "",
                   public_url: str = "") -> Recorded:
    """Apply what a `charge.dispute.*` event's dispute object says. Idempotent; the caller commits."""
    now = observed_at or utcnow()
    row = session.exec(select(Dispute).where(Dispute.stripe_dispute_id == dispute["id"])).first()
    status = _status_of(dispute.get("status"), row)
    new = row is None
    if row is None:
        row = Dispute(stripe_dispute_id=dispute["id"], payment_id=payment.id, booking_id=booking.id,
                      charge_id=_id_of(dispute.get("charge")), amount=int(dispute["amount"]),
                      currency=str(dispute["currency"]).lower(), reason=str(dispute.get("reason") or "general"),
                      status=status, created_at=_from_unix(dispute.get("created")) or now)
    elif _RANK[status] >= _RANK[DisputeStatus(row.status)]:
        row.status = status  # never back: an older event arriving late says nothing new
    status = DisputeStatus(row.status)
    due_by = _from_unix((dispute.get("evidence_details") or {}).get("due_by"))
    if due_by is not None:
        row.evidence_due_by = due_by
    submissions = int((dispute.get("evidence_details") or {}).get("submission_count") or 0)
    if row.submitted_at is None and (status in REVIEW_STATUSES or submissions > 0):
        row.submitted_at = now
    if status in CLOSED_STATUSES and row.closed_at is None:
        row.closed_at = now
        row.outcome = {DisputeStatus.WON: "won", DisputeStatus.LOST: "lost"}.get(status, "closed")
    result = Recorded(dispute=row, new=new)
    session.add(row)
    session.flush()

    withdrawn = False
    for txn in dispute.get("balance_transactions") or []:
        if not isinstance(txn, dict):
            continue  # only an id: the other events of this dispute carry it whole
        amount, fee = int(txn.get("amount") or 0), int(txn.get("fee") or 0)
        when = _from_unix(txn.get("created")) or now
        withdrawn = withdrawn or amount < 0
        entries = [(MovementKind.DISPUTE_WITHDRAWAL, -amount) if amount < 0 else
                   (MovementKind.DISPUTE_REINSTATEMENT, amount),
                   (MovementKind.DISPUTE_FEE, fee) if fee > 0 else (MovementKind.DISPUTE_FEE_RETURN, -fee)]
        for kind, value in entries:
            if movements.record(session=session, payment=payment, kind=kind, amount=value,
                                stripe_object_id=txn["id"], currency=txn.get("currency"), occurred_at=when):
                result.movements += 1

    _decide_recovery(row=row, payment=payment, withdrawn=withdrawn, setting=recovery_setting)
    row.updated_at = utcnow()
    session.add(row)
    if row.recovery in (DisputeRecovery.REQUESTED, DisputeRecovery.RETURN_REQUESTED):
        result.recovery_due = True
        session.info.setdefault(RECOVERIES_DUE, set()).add(row.id)
    _notify(session=session, row=row, booking=booking, disputes_url=disputes_url, public_url=public_url)
    return result


def _status_of(value: Any, row: Dispute | None) -> DisputeStatus:
    """Stripe's status; one this code doesn't know (an appeal, `prevented`) keeps what we had."""
    try:
        return DisputeStatus(value)
    except ValueError:
        log.warning("dispute status %r not modelled; kept as it was", value)
        return DisputeStatus(row.status) if row is not None else DisputeStatus.NEEDS_RESPONSE


def _id_of(value: Any) -> str | None:
    return value.get("id") if isinstance(value, dict) else value


def _decide_recovery(*, row: Dispute, payment: Payment, withdrawn: bool, setting: DisputeRecoveryPolicy) -> None:
    """Forward only: none → requested | absorbed; requested → none (won before it was sent);
    recovered → return_requested (won)."""
    status = DisputeStatus(row.status)
    recovery = DisputeRecovery(row.recovery)
    if recovery == DisputeRecovery.NONE and withdrawn and status != DisputeStatus.WON \
            and payment.destination_account_id:
        if setting is DisputeRecoveryPolicy.PLATFORM_ABSORBS:
            row.recovery = DisputeRecovery.ABSORBED
        else:
            row.recovery = DisputeRecovery.REQUESTED
            row.recovery_amount = min(row.amount, max(payment.amount - payment.amount_refunded, 0))
    elif recovery == DisputeRecovery.REQUESTED and status == DisputeStatus.WON:
        row.recovery, row.recovery_amount = DisputeRecovery.NONE, 0  # won before anything was taken back
    elif recovery == DisputeRecovery.RECOVERED and status == DisputeStatus.WON:
        row.recovery = DisputeRecovery.RETURN_REQUESTED
    if row.recovery == DisputeRecovery.REQUESTED and row.recovery_amount <= 0:
        row.recovery = DisputeRecovery.NONE


def _notify(*, session: Session, row: Dispute, booking: Booking, disputes_url: str, public_url: str) -> None:
    builder = session.get(Builder, booking.builder_id)
    if builder is None:
        return
    session_type = session.get(SessionType, booking.session_type_id)
    queue_dispute_opened(
        session=session, dispute_id=row.stripe_dispute_id, booking_id=booking.id,
        booking_reference=booking.id[:8], session_type_name=session_type.name if session_type else "",
        service_start=_aware(booking.start_time), builder=builder, amount=row.amount, currency=row.currency,
        reason=reason_text(row.reason), due_by=_aware(row.evidence_due_by), disputes_url=disputes_url,
        public_url=public_url)


# --- recovering the money from the builder (after the commit) ---------------------------------------------


@dataclass(frozen=True)
class _Due:
    id: int
    stripe_dispute_id: str
    recovery: DisputeRecovery
    amount: int
    currency: str
    payment_id: int
    transfer_id: str | None
    destination: str | None
    charge_id: str | None


def requested_recoveries(session: Session) -> list[int]:
    return sorted(session.info.get(RECOVERIES_DUE) or ())


def send_recoveries(*, engine: Engine, gateway: PaymentGateway, dispute_ids: list[int] | None = None,
                    limit: int = 50) -> int:
    """Make the requested reversals and paybacks at Stripe (no transaction open during a call), then record
    each in the journal. A failure stays requested (the worker retries with the same idempotency key).
    Returns how many were made."""
    with Session(engine) as session:
        statement = (select(Dispute, Payment).join(Payment, Payment.id == Dispute.payment_id)
                     .where(Dispute.recovery.in_([DisputeRecovery.REQUESTED, DisputeRecovery.RETURN_REQUESTED]))
                     .order_by(Dispute.id).limit(limit))
        if dispute_ids is not None:
            if not dispute_ids:
                return 0
            statement = statement.where(Dispute.id.in_(dispute_ids))
        due = [_Due(id=d.id, stripe_dispute_id=d.stripe_dispute_id, recovery=DisputeRecovery(d.recovery),
                    amount=d.recovery_amount, currency=d.currency, payment_id=p.id, transfer_id=p.transfer_id,
                    destination=p.destination_account_id, charge_id=d.charge_id)
               for d, p in session.exec(statement).all()]
    made = 0
    for item in due:
        if not item.transfer_id or not item.destination:
            continue  # the transfer is not known yet (its event is still to come): the worker retries
        metadata = {"dispute": item.stripe_dispute_id}
        try:
            if item.recovery == DisputeRecovery.REQUESTED:
                object_id = gateway.reverse_transfer(
                    item.transfer_id, amount=item.amount, metadata=metadata,
                    idempotency_key=f"dispute-recovery:{item.stripe_dispute_id}").id
            else:
                object_id = gateway.create_transfer(
                    destination=item.destination, amount=item.amount, currency=item.currency, metadata=metadata,
                    source_transaction=item.charge_id, transfer_group=f"dispute_{item.stripe_dispute_id}",
                    idempotency_key=f"dispute-recovery-return:{item.stripe_dispute_id}").id
        except PaymentProviderError as exc:
            log.warning("dispute %s: %s not made (%s); retried later", item.stripe_dispute_id,
                        item.recovery.value, exc)
            with session_scope(engine) as session:
                row = session.get(Dispute, item.id)
                if row is not None:
                    row.recovery_error = str(exc)[:500]
            continue
        with session_scope(engine) as session:
            made += _recovery_made(session=session, item=item, object_id=object_id)
    return made


def _recovery_made(*, session: Session, item: _Due, object_id: str) -> int:
    """Compare-and-swap: only the first to record it moves the row on (and writes the journal)."""
    done, kind, column = (
        (DisputeRecovery.RECOVERED, MovementKind.DISPUTE_RECOVERY, Dispute.recovery_reversal_id)
        if item.recovery == DisputeRecovery.REQUESTED else
        (DisputeRecovery.RETURNED, MovementKind.DISPUTE_RECOVERY_RETURN, Dispute.recovery_return_transfer_id))
    changed = session.exec(sa.update(Dispute).where(Dispute.id == item.id, Dispute.recovery == item.recovery)
                           .values({Dispute.recovery: done, column: object_id, Dispute.recovery_error: None,
                                    Dispute.updated_at: utcnow()})).rowcount
    payment = session.get(Payment, item.payment_id)
    movements.record(session=session, payment=payment, kind=kind, amount=item.amount, stripe_object_id=object_id)
    row = session.get(Dispute, item.id)
    session.refresh(row)
    if done == DisputeRecovery.RECOVERED and DisputeStatus(row.status) == DisputeStatus.WON and \
            DisputeRecovery(row.recovery) in (DisputeRecovery.RECOVERED, DisputeRecovery.NONE):
        # Won while the reversal was in flight: it was taken back all the same, so pay it back too.
        row.recovery, row.recovery_reversal_id = DisputeRecovery.RETURN_REQUESTED, object_id
        row.recovery_amount = item.amount
        session.add(row)
    return int(bool(changed))


# --- the workspace: the Disputes page ------------------------------------------------------------------


@dataclass(frozen=True)
class DisputeRow:
    """Display-ready; every field has a default (the page's "nothing open" is `DisputeRow()`)."""

    id: str = ""
    stripe_dispute_id: str = ""
    booking_id: str = ""
    builder_name: str = ""
    client_name: str = ""
    session_type: str = ""
    amount: str = ""
    reason: str = ""
    status: str = ""
    status_label: str = ""
    due_by: str = ""  # in the viewer's zone
    open: bool = False  # evidence can still be sent
    recovery: str = ""


def _recovery_text(row: Dispute) -> str:
    return {
        DisputeRecovery.NONE: "",
        DisputeRecovery.ABSORBED: "Borne by the platform",
        DisputeRecovery.REQUESTED: "Being taken back from the builder",
        DisputeRecovery.RECOVERED: "Taken back from the builder",
        DisputeRecovery.RETURN_REQUESTED: "Being paid back to the builder",
        DisputeRecovery.RETURNED: "Paid back to the builder",
    }[DisputeRecovery(row.recovery)]


def is_open(row: Dispute) -> bool:
    return DisputeStatus(row.status) in OPEN_STATUSES


def list_disputes(*, session: Session, actor: Actor, zone: Any, locale: Any = None,
                  limit: int = 200) -> list[DisputeRow]:
    """The viewer's disputes (a builder's own, an admin's all): open ones first, then the latest."""
    statement = (select(Dispute, Booking, Builder, Client, SessionType)
                 .join(Booking, Booking.id == Dispute.booking_id)
                 .join(Builder, Builder.id == Booking.builder_id)
                 .join(Client, Client.id == Booking.client_id)
                 .join(SessionType, SessionType.id == Booking.session_type_id))
    if not actor.is_admin:
        statement = statement.where(Booking.builder_id == actor.builder_id)
    rank = sa.case((Dispute.status.in_([s.value for s in OPEN_STATUSES]), 0), else_=1)
    statement = statement.order_by(rank, Dispute.evidence_due_by.desc(), Dispute.id.desc()).limit(limit)
    return [_row(d, b, builder, client, st, zone, locale) for d, b, builder, client, st in session.exec(statement).all()]


def _row(d: Dispute, booking: Booking, builder: Builder, client: Client, session_type: SessionType, zone: Any,
         locale: Any) -> DisputeRow:
    due = _aware(d.evidence_due_by)
    status = DisputeStatus(d.status)
    return DisputeRow(
        id=str(d.id), stripe_dispute_id=d.stripe_dispute_id, booking_id=booking.id, builder_name=builder.name,
        client_name=booking.client_name or client.name, session_type=session_type.name,
        amount=format_money(d.amount, d.currency, locale=locale), reason=reason_text(d.reason),
        status=status.value, status_label=STATUS_TEXT[status],
        due_by=format_datetime(due, zone=zone, locale=locale, date_style="medium") + f" ({_zone_name(zone)})"
        if due else "", open=is_open(d), recovery=_recovery_text(d))


def _zone_name(zone: Any) -> str:
    return getattr(zone, "key", None) or str(zone)


def disputed_label(status: DisputeStatus | str | None) -> str:
    """What a booking shows beside its state: "Disputed", "Dispute won", "Dispute lost" ("" for none)."""
    if status is None:
        return ""
    status = DisputeStatus(status)
    if status == DisputeStatus.WON:
        return "Dispute won"
    if status == DisputeStatus.LOST:
        return "Dispute lost"
    if status == DisputeStatus.WARNING_CLOSED:
        return "Inquiry closed"
    return "Disputed"


def dispute_labels(*, session: Session, booking_ids: list[str]) -> dict[str, str]:
    """Each booking's latest dispute, as `disputed_label` words (bookings without one are left out)."""
    if not booking_ids:
        return {}
    found = session.exec(select(Dispute.booking_id, Dispute.status).where(Dispute.booking_id.in_(booking_ids))
                         .order_by(Dispute.id)).all()
    return {booking_id: disputed_label(status) for booking_id, status in found}


def latest_dispute_of(*, session: Session, booking_id: str) -> Dispute | None:
    return session.exec(select(Dispute).where(Dispute.booking_id == booking_id)
                        .order_by(Dispute.id.desc()).limit(1)).first()


# --- the evidence form -----------------------------------------------------------------------------------


def evidence_prefill(*, session: Session, actor: Actor, dispute_id: int | str) -> dict[str, str]:
    """The evidence form, filled from our own records (authorised: the actor's dispute only)."""
    row = authz.load_owned(session=session, actor=actor, model=Dispute, object_id=dispute_id)
    booking = session.get(Booking, row.booking_id)
    builder = session.get(Builder, booking.builder_id)
    client = session.get(Client, booking.client_id)
    session_type = session.get(SessionType, booking.session_type_id)
    zone = zone_or_utc(builder.time_zone if builder else "UTC")
    start = _aware(booking.start_time)
    end = _aware(booking.end_time)
    description = f"{session_type.name} ({session_type.duration_minutes} minutes) with {builder.name}"
    if session_type.description:
        description += f": {session_type.description}"
    if session_type.location:
        description += f"\nWhere: {session_type.location}"
    rules = policy.describe(policy.effective_policy(builder, session_type))
    return {
        "product_description": description,
        "service_date": f"{format_datetime(start, zone=zone, date_style='medium')} to "
                        f"{format_datetime(end, zone=zone, date_style='medium')} ({zone.key})",
        "customer_name": booking.client_name or (client.name if client else ""),
        "customer_email_address": client.email if client else "",
        "cancellation_policy_disclosure": "Shown on the booking page before payment, and in the confirmation "
                                          "email:\n" + "\n".join(f"- {line}" for line in rules),
        "access_activity_log": _manage_activity(session=session, booking=booking),
        "uncategorized_text": _emails_to_client(session=session, booking=booking,
                                                client_email=client.email if client else ""),
    }


def _manage_activity(*, session: Session, booking: Booking) -> str:
    entries = session.exec(select(AuditEntry).where(AuditEntry.entity_type == "booking",
                                                    AuditEntry.entity_id == booking.id,
                                                    AuditEntry.actor_user_id.is_(None))
                           .order_by(AuditEntry.at, AuditEntry.id)).all()
    lines = [f"- {_utc_text(entry.at)}: {entry.action.replace('booking.', '').replace('_', ' ')}"
             for entry in entries]
    if not lines:
        return "No changes by the client through their manage page (cancel, reschedule)."
    return "Actions the client took through their private manage link:\n" + "\n".join(lines)


def _emails_to_client(*, session: Session, booking: Booking, client_email: str) -> str:
    rows = session.exec(select(Notification).where(Notification.booking_id == booking.id)
                        .order_by(Notification.created_at, Notification.id)).all()
    lines = []
    for row in rows:
        if row.recipient.lower() != client_email.lower():
            continue
        try:
            kind = NotificationKind(row.kind).value.replace("_", " ")
        except ValueError:
            kind = row.kind
        sent = f"sent {_utc_text(row.sent_at)}" if row.sent_at else f"queued {_utc_text(row.created_at)}"
        lines.append(f"- {kind.capitalize()} email to {row.recipient}, {sent}")
    if not lines:
        return "No emails were sent to the client."
    return "Emails sent to the client about this booking:\n" + "\n".join(lines)


def _utc_text(moment: datetime | None) -> str:
    moment = _aware(moment)
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


class EvidenceRefused(ValueError):
    """Evidence that can't be sent: the dispute is no longer open, or a field is too long."""


@dataclass(frozen=True)
class EvidenceResult:
    ok: bool
    message: str


def _plan_evidence(*, session: Session, actor: Actor, dispute_id: int | str,
                   evidence: dict[str, str]) -> tuple[str, str, dict[str, str]]:
    row = authz.load_owned(session=session, actor=actor, model=Dispute, object_id=dispute_id)
    if not is_open(row):
        raise EvidenceRefused(f"This dispute is {STATUS_TEXT[DisputeStatus(row.status)].lower()}: "
                              "evidence can no longer be sent.")
    allowed = {name for name, _ in EVIDENCE_FIELDS}
    cleaned = {}
    for name, value in evidence.items():
        if name not in allowed:
            raise EvidenceRefused(f"Unknown evidence field: {name}")
        text = str(value or "").strip()
        if len(text) > EVIDENCE_LIMIT:
            raise EvidenceRefused(f"{dict(EVIDENCE_FIELDS)[name]}: at most {EVIDENCE_LIMIT} characters.")
        if text:
            cleaned[name] = text
    if not cleaned:
        raise EvidenceRefused("Add some evidence before submitting.")
    return row.stripe_dispute_id, row.booking_id, cleaned


def submit_evidence(*, engine: Engine, gateway: PaymentGateway, actor: Actor, dispute_id: int | str,
                    evidence: dict[str, str]) -> EvidenceResult:
    """Send the evidence to Stripe and submit it to the bank (`submit=true`). Authorised here; no transaction
    is open during the call; the same evidence sent twice is one request (its idempotency key)."""
    try:
        with Session(engine) as session:
            stripe_id, booking_id, cleaned = _plan_evidence(session=session, actor=actor, dispute_id=dispute_id,
                                                            evidence=evidence)
    except EvidenceRefused as exc:
        return EvidenceResult(False, str(exc))
    except authz.NotFound:
        return EvidenceResult(False, "No such dispute.")
    digest = hashlib.sha256(json.dumps(cleaned, sort_keys=True).encode()).hexdigest()[:32]
    try:
        answer = gateway.update_dispute(stripe_id, evidence=cleaned, submit=True, metadata={"booking_id": booking_id},
                                        idempotency_key=f"dispute-evidence:{stripe_id}:{digest}")
    except PaymentProviderError as exc:
        return EvidenceResult(False, f"Stripe didn't take the evidence: {exc}. Nothing was submitted.")
    with session_scope(engine) as session:
        row = session.exec(select(Dispute).where(Dispute.stripe_dispute_id == stripe_id)).one()
        status = DisputeStatus(answer.get("status") or row.status)
        if _RANK[status] >= _RANK[DisputeStatus(row.status)]:
            row.status = status
        row.submitted_at = row.submitted_at or utcnow()
        row.updated_at = utcnow()
        session.add(row)
        audit.record(session=session, actor=actor, action="dispute.submit_evidence", entity_type="dispute",
                     entity_id=row.id, builder_id=session.get(Booking, row.booking_id).builder_id,
                     after={"fields": sorted(cleaned)})
    return EvidenceResult(True, "Evidence submitted. The card issuer decides; you'll see the outcome here.")


@dataclass(frozen=True)
class EvidenceField:
    name: str  # Stripe's evidence field
    label: str
    value: str  # pre-filled from our records


def evidence_form(*, session: Session, actor: Actor, dispute_id: int | str) -> list[EvidenceField]:
    """The evidence form's fields, in order, pre-filled (authorised: the actor's dispute only)."""
    prefill = evidence_prefill(session=session, actor=actor, dispute_id=dispute_id)
    return [EvidenceField(name=name, label=label, value=prefill.get(name, "")) for name, label in EVIDENCE_FIELDS]
