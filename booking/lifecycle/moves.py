"""Moving a confirmed booking to another time: the one core the client's reschedule (manage link) and the
builder's (workspace) share.

Inside the caller's transaction: the builder's lock (serialised with holds and other moves), the booking
row locked, the new time checked by slot search (hours, notice, buffers, busy times, booking limits; the
booking's own time doesn't block it), then the lifecycle's `reschedule` move under a savepoint, so the
database's no-overlap rule has the last word. The lifecycle queues the one "moved" message with the
updated invite (same UID, SEQUENCE + 1). No money moves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from booking.accounts import audit
from booking.core.models import Booking, BookingStatus
from booking.lifecycle import transitions
from booking.scheduling import slots

AUDITED = ("start_time", "end_time", "reschedule_count", "invite_sequence")


class MoveRefused(Exception):
    """The move can't be made; nothing changed. `code`: not_allowed | slot_taken."""

    code = "not_allowed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotMovable(MoveRefused):
    code = "not_allowed"


class SlotGone(MoveRefused):
    code = "slot_taken"


@dataclass(frozen=True)
class Moved:
    booking: Booking
    changed: bool  # False: it was already at that time
    before: dict  # the audited fields before the move (audit.snapshot)
    after: dict


def move_confirmed(*, session: Session, booking_id: str, new_start: datetime, now: datetime,
                   precheck: Callable[[Session, Booking], None] | None = None,
                   by_client: bool = True) -> Moved:
    """Move a confirmed booking to `new_start` (same session type and length). `precheck` (e.g. the
    client's reschedule policy) may raise MoveRefused before anything is checked or changed;
    `by_client` False: the builder's move (the lifecycle's builder_reschedule: the client's allowance
    is left alone, the emails say who moved it).
    Raises MoveRefused; an IntegrityError at commit is the caller's (a race lost at the last moment)."""
    found = transitions.get_booking(session=session, booking_id=booking_id)
    transitions.lock_builder(session=session, builder_id=found.builder_id)
    booking = session.get(Booking, booking_id, with_for_update=True, populate_existing=True)
    if booking.status != BookingStatus.CONFIRMED:
        raise NotMovable("Only a confirmed booking can be rescheduled.")
    snapshot = audit.snapshot(booking, AUDITED)
    if booking.start_time == new_start:
        return Moved(booking=booking, changed=False, before=snapshot, after=snapshot)
    if precheck is not None:
        precheck(session, booking)
    try:
        schedule = slots.load_schedule(session=session, session_type_id=booking.session_type_id)
    except slots.SessionTypeNotFound:
        raise NotMovable("This session is no longer offered, so it can't be moved.") from None
    new_end = new_start + timedelta(minutes=schedule.session_type.duration_minutes)
    transitions.end_lapsed_holds(session=session, builder_id=booking.builder_id, start=new_start, end=new_end,
                                 now=now)
    if not slots.is_open(session=session, schedule=schedule, start=new_start, now=now, ignore_booking_id=booking.id):
        raise SlotGone("Sorry, that time isn't available any more. Please pick another.")
    try:
        with session.begin_nested():  # the no-overlap constraint has the last word
            moved = transitions.reschedule(session=session, booking_id=booking.id, from_start=booking.start_time,
                                           new_start=new_start, new_end=new_end, now=now,
                                           by_client=by_client)
    except sa.exc.IntegrityError:
        raise SlotGone("Sorry, that time was just taken. Please pick another.") from None
    if not moved:
        raise NotMovable("This booking changed meanwhile. Please look again.")
    booking = session.get(Booking, booking_id)
    return Moved(booking=booking, changed=True, before=snapshot, after=audit.snapshot(booking, AUDITED))
