"""The builder's tools on one booking: move it to another time, keep private notes, open the client's
manage page. Services: they take the actor and a session, check ownership on the server, never commit.

- reschedule: the lifecycle's move (`booking.lifecycle.moves`, the same core as the client's own
  reschedule), without the client's reschedule policy or allowance; the client is emailed the updated
  invite (same UID, SEQUENCE + 1) by the lifecycle's one "moved" message. No money moves.
- notes: the builder's words only. Never on a client page, in an email or in Stripe's metadata; the audit
  log records that they changed, not what they say; `erase_host_note` blanks them (part of the booking's erasure).
- manage link: the booking's manage link, made on the server when the builder asks (the token is derived,
  only its hash stored), so the builder sees what the client sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from booking.accounts import audit, authz
from booking.accounts.authz import Actor
from booking.core.models import Booking, BookingStatus, Builder, utcnow
from booking.lifecycle import moves
from booking.lifecycle.moves import MoveRefused
from booking.notifications import manage_links

NOTE_MAX = 4000


class NoteTooLong(ValueError):
    pass


@dataclass(frozen=True)
class RescheduleTarget:
    """What the builder's time picker needs (after the ownership check)."""

    booking_id: str
    session_type_id: int
    start: datetime
    builder_time_zone: str


def reschedule_target(*, session: Session, actor: Actor, booking_id: str) -> RescheduleTarget:
    """Raises authz.NotFound (not the actor's) or MoveRefused (not a confirmed booking)."""
    booking = authz.load_owned(session=session, actor=actor, model=Booking, object_id=booking_id)
    if booking.status != BookingStatus.CONFIRMED:
        raise moves.NotMovable("Only a confirmed booking can be rescheduled.")
    builder = session.get(Builder, booking.builder_id)
    return RescheduleTarget(booking_id=booking.id, session_type_id=booking.session_type_id,
                            start=booking.start_time, builder_time_zone=builder.time_zone)


def reschedule_by_builder(*, session: Session, actor: Actor, booking_id: str, new_start: datetime,
                          now: datetime | None = None) -> Booking:
    """Move the actor's confirmed booking to `new_start` (an open time of its session type). Raises
    authz.NotFound or MoveRefused (nothing changed)."""
    now = now or utcnow()
    if new_start.utcoffset() is None:
        raise moves.NotMovable("Pick one of the times shown.")
    authz.load_owned(session=session, actor=actor, model=Booking, object_id=booking_id)
    moved = moves.move_confirmed(session=session, booking_id=str(booking_id), new_start=new_start.astimezone(now.tzinfo),
                                 now=now, by_client=False)
    if moved.changed:
        audit.record(session=session, actor=actor, action="booking.reschedule_by_builder", entity_type="booking",
                     entity_id=moved.booking.id, builder_id=moved.booking.builder_id, before=moved.before,
                     after=moved.after)
    return moved.booking


def save_host_note(*, session: Session, actor: Actor, booking_id: str, note: str) -> str:
    """Replace the booking's private notes (blank clears them). Returns what was kept."""
    text = (note or "").replace("\r\n", "\n").strip()
    if len(text) > NOTE_MAX:
        raise NoteTooLong(f"Notes can be at most {NOTE_MAX} characters (these have {len(text)}).")
    if "\x00" in text:
        raise NoteTooLong("Notes can't contain that character.")
    booking = authz.load_owned(session=session, actor=actor, model=Booking, object_id=booking_id, for_update=True)
    had = bool(booking.host_note)
    booking.host_note = text or None
    booking.updated_at = utcnow()
    session.add(booking)
    # The audit log says that the notes changed, never what they say (they are personal data).
    audit.record(session=session, actor=actor, action="booking.notes_saved", entity_type="booking",
                 entity_id=booking.id, builder_id=booking.builder_id, before={"has_notes": had},
                 after={"has_notes": bool(text), "length": len(text)})
    return text


def manage_link_for_builder(*, session: Session, actor: Actor, booking_id: str, public_url: str | None = None) -> str:
    """The client's manage page for this booking, as an absolute URL (issued now if it never was)."""
    booking = authz.load_owned(session=session, actor=actor, model=Booking, object_id=booking_id)
    token = manage_links.issue(session=session, booking=booking)
    audit.record(session=session, actor=actor, action="booking.manage_link_opened", entity_type="booking",
                 entity_id=booking.id, builder_id=booking.builder_id)
    return manage_links.manage_url(token, public_url)


def erase_host_note(*, session: Session, booking: Booking) -> None:
    """The notes' share of erasing a booking's personal data (`personal_data.erase_booking_personal_data`)."""
    booking.host_note = None
    session.add(booking)


__all__ = ["MoveRefused", "NOTE_MAX", "NoteTooLong", "RescheduleTarget", "erase_host_note",
           "manage_link_for_builder", "reschedule_by_builder", "reschedule_target", "save_host_note"]
