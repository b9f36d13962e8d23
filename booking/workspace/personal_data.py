"""A booking's personal data, erased on request (the client asked the builder, or the platform's operator).

What goes: the booking questions' answers, the name given with the booking, the keyed digests of the
client's network and browser, and the answers copied into the booking's queued emails. What stays: the
appointment, its times and its money (the ledger keeps what the law asks to keep), and the client's
address row, which other bookings of the same address share. An upcoming booking is refused: its emails
and invite still need the name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, select

from booking.accounts import audit, authz
from booking.accounts.authz import Actor
from booking.core.models import ACTIVE_BOOKING_STATUSES, Booking, Notification, utcnow
from booking.scheduling import questions
from booking.workspace.host_tools import erase_host_note

ERASED_NAME = "(erased)"


class ErasureRefused(ValueError):
    """The booking is still to happen: nothing was erased."""


@dataclass(frozen=True)
class Erasure:
    booking_id: str
    answers_deleted: int
    emails_scrubbed: int


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def erase_booking_personal_data(*, session: Session, actor: Actor, booking_id: object,
                                now: datetime | None = None) -> Erasure:
    """Erase one booking's personal data (a service: the caller commits). Raises authz.NotFound for a
    booking that isn't the actor's, ErasureRefused for one still to happen."""
    now = now or utcnow()
    booking = authz.load_owned(session=session, actor=actor, model=Booking, object_id=booking_id, for_update=True)
    if booking.status in ACTIVE_BOOKING_STATUSES and _aware(booking.end_time) > now:
        raise ErasureRefused("This booking is still to happen: cancel it first, or erase it once it has taken place.")
    deleted = questions.delete_answers(session=session, booking_id=booking.id)
    scrubbed = 0
    for row in session.exec(select(Notification).where(Notification.booking_id == booking.id)).all():
        try:
            payload = json.loads(row.payload or "{}")
        except ValueError:
            continue
        if isinstance(payload, dict) and payload.get("answers"):
            payload["answers"] = []
            row.payload = json.dumps(payload, sort_keys=True)
            session.add(row)
            scrubbed += 1
    erase_host_note(session=session, booking=booking)
    booking.client_name = ERASED_NAME
    booking.client_address_key = None
    booking.browser_hold_key = None
    booking.updated_at = now
    session.add(booking)
    session.flush()
    audit.record(session=session, actor=actor, action="booking.erase_personal_data", entity_type="booking",
                 entity_id=booking.id, builder_id=booking.builder_id,
                 after={"answers_deleted": deleted, "emails_scrubbed": scrubbed})
    return Erasure(booking_id=booking.id, answers_deleted=deleted, emails_scrubbed=scrubbed)
