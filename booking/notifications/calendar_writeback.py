"""Confirmed bookings in the builder's own CalDAV calendar, through an outbox (`CalendarWrite`).

`queue_calendar_write` runs inside the transition's transaction (booking.lifecycle): one row per booking,
made due again by every change. `send_due_calendar_writes` is the worker's tick: it reads the booking as it
is *now* and brings the calendar in line — a confirmed booking is PUT (created, or moved after a
reschedule), anything else is DELETEd. So repeated or reordered changes converge, and a CalDAV outage only
delays the write: the row stays due, retried with exponential backoff, and nothing is lost.

The event is the booking's one invite (booking.notifications.ics: the same UID as the emailed invite), stored
as `<calendar>/<invite uid>.ics`, without METHOD or attendees (a stored object, not an invitation).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import icalendar
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.core.db import session_scope
from booking.core.models import (
    Booking,
    BookingStatus,
    CalendarWrite,
    ExternalCalendar,
    utcnow,
)
from booking.core.secretbox import UnreadableSecret, decrypt_secret
from booking.notifications.invites import invite_of
from booking.scheduling import caldav_access
from booking.scheduling.external_calendars import writeback_calendar
from booking.scheduling.safe_fetch import FetchPolicy

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=2)  # a claimed row is invisible to other ticks for this long
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)
_ERROR_LENGTH = 500


def queue_calendar_write(*, session: Session, booking: Booking, now: datetime | None = None) -> CalendarWrite | None:
    """Make the booking's calendar write due (inside the caller's transaction); None when the builder has no
    calendar chosen for bookings, or the booking was never confirmed (nothing to write or remove)."""
    if booking.confirmed_at is None and booking.status != BookingStatus.CONFIRMED:
        return None
    now = now or utcnow()
    row = session.exec(select(CalendarWrite).where(CalendarWrite.booking_id == booking.id)).first()
    if row is None:
        calendar = writeback_calendar(session=session, builder_id=booking.builder_id)
        if calendar is None:
            return None
        row = CalendarWrite(booking_id=booking.id, calendar_id=calendar.id)
    row.done, row.attempts, row.next_attempt_at, row.updated_at = False, 0, now, now
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class _Write:
    id: int
    booking_id: str
    attempts: int
    url: str
    username: str
    password_encrypted: str
    name: str  # the resource's name: the booking's invite UID
    ical: bytes | None  # None: remove


def _stored_object(invite: bytes) -> bytes:
    """The invite as a calendar object resource: no METHOD (RFC 4791 §4.1)."""
    calendar = icalendar.Calendar.from_ical(invite)
    calendar.pop("METHOD", None)
    return calendar.to_ical()


def send_due_calendar_writes(*, engine: Engine, policy: FetchPolicy, public_url: str,
                             now: datetime | None = None, limit: int = 50) -> int:
    """One tick: claim due writes, do them with no transaction open, record each outcome; returns how many
    succeeded."""
    now = now or utcnow()
    with session_scope(engine) as session:
        rows = session.exec(select(CalendarWrite, ExternalCalendar, Booking)
                            .join(ExternalCalendar, ExternalCalendar.id == CalendarWrite.calendar_id)
                            .join(Booking, Booking.id == CalendarWrite.booking_id)
                            .where(CalendarWrite.done.is_(False), CalendarWrite.next_attempt_at <= now)
                            .order_by(CalendarWrite.next_attempt_at).limit(limit)).all()
        writes = []
        for write, calendar, booking in rows:
            claimed = session.execute(sa.update(CalendarWrite)
                                      .where(CalendarWrite.id == write.id,
                                             CalendarWrite.next_attempt_at == write.next_attempt_at,
                                             CalendarWrite.done.is_(False))
                                      .values(next_attempt_at=now + CLAIM_LEASE)).rowcount
            if not claimed:
                continue  # another tick has it
            invite = invite_of(session=session, booking=booking, public_url=public_url)
            writes.append(_Write(id=write.id, booking_id=booking.id, attempts=write.attempts, url=calendar.url,
                                 username=calendar.username, password_encrypted=calendar.password_encrypted,
                                 name=booking.invite_uid, ical=_stored_object(invite) if invite else None))
    done = 0
    for write in writes:
        error = _perform(write, policy)
        with session_scope(engine) as session:
            row = session.get(CalendarWrite, write.id)
            if row is None:
                continue
            if row.updated_at is not None and row.updated_at > now:
                continue  # queued again while we wrote: its own turn comes next
            if error is None:
                row.done, row.last_error, row.written_at = True, None, utcnow()
                done += 1
            else:
                row.attempts = write.attempts + 1
                row.next_attempt_at = now + min(FIRST_BACKOFF * 2 ** write.attempts, MAX_BACKOFF)
                row.last_error = error[:_ERROR_LENGTH]
                log.info("calendar write for a booking failed (attempt %s): %s", row.attempts, error[:200])
            session.add(row)
    return done


def _perform(write: _Write, policy: FetchPolicy) -> str | None:
    """The PUT or DELETE; the error's message on failure."""
    try:
        password = decrypt_secret(write.password_encrypted)
        if write.ical is not None:
            caldav_access.put_event(url=write.url, username=write.username, password=password, name=write.name,
                                    ical=write.ical, policy=policy)
        else:
            caldav_access.delete_event(url=write.url, username=write.username, password=password,
                                       name=write.name, policy=policy)
    except (caldav_access.CalDavError, UnreadableSecret) as exc:
        return str(exc)
    return None
