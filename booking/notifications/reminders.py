"""Reminders: emails to the client and the builder before each confirmed session, at the builder's times
(`Builder.reminder_offsets`, default a day and an hour before).

They are rows (`BookingReminder`, one per booking, offset and recipient), derived from the booking's
lifecycle: `follow_booking` runs inside every state change (`booking.lifecycle.transitions`), so a
confirmation schedules them, a reschedule moves them (a reminder already sent for the old time is
scheduled again for the new one) and an ending cancels them, in the same transaction as the change.

`schedule_missing_reminders` gives the rows to confirmed future bookings that have none (confirmed before
reminders existed, migration 0025), through `follow_booking` itself; the worker runs it before each
`send_due_reminders` tick.

`send_due_reminders` is one tick of the worker. Each due row is claimed with a compare-and-swap
(`scheduled` -> `sent`, only while its `due_at` is the one read), and its email is queued in the outbox in
the same transaction (its dedupe key names the booking, offset, recipient and start), so however many
workers tick at once each reminder is sent once.

Late means: more than the grace (REMINDER_GRACE_MINUTES, default 10) past its moment, or at or after the
session's start. A late reminder (the app was down when it fell due) is skipped, never sent late. A
reminder whose moment had already passed when the booking was confirmed or moved is skipped at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.core.db import session_scope
from booking.core.models import (
    DEFAULT_REMINDER_OFFSETS,
    Booking,
    BookingReminder,
    BookingStatus,
    Builder,
    ReminderRecipient,
    ReminderStatus,
)
from booking.notifications.outbox import queue_booking_notifications
from booking.notifications.templates import NotificationKind, RecipientRole

log = logging.getLogger(__name__)

MAX_REMINDERS = 3
MAX_OFFSET_MINUTES = 14 * 24 * 60  # two weeks
DEFAULT_GRACE = timedelta(minutes=10)


class InvalidReminderTimes(ValueError):
    """The builder's reminder times are not a list of up to three durations before the session."""


def parse_offsets(text: str | None) -> tuple[int, ...]:
    """'1440,60' -> (1440, 60): minutes before the start, largest first, no repeats. Raises
    InvalidReminderTimes naming the problem."""
    values: set[int] = set()
    for part in (text or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise InvalidReminderTimes(f"'{part}' is not a number of minutes.")
        minutes = int(part)
        if not 1 <= minutes <= MAX_OFFSET_MINUTES:
            raise InvalidReminderTimes(f"Each reminder must be between 1 minute and {MAX_OFFSET_MINUTES // 1440} "
                                       "days before the session.")
        values.add(minutes)
    if len(values) > MAX_REMINDERS:
        raise InvalidReminderTimes(f"At most {MAX_REMINDERS} reminder times.")
    return tuple(sorted(values, reverse=True))


def format_offsets(offsets: tuple[int, ...]) -> str:
    return ",".join(str(minutes) for minutes in offsets)


def builder_offsets(builder: Builder | None) -> tuple[int, ...]:
    """The builder's reminder times (a stored value that no longer parses falls back to the default)."""
    try:
        return parse_offsets(builder.reminder_offsets if builder is not None else DEFAULT_REMINDER_OFFSETS)
    except InvalidReminderTimes:
        return parse_offsets(DEFAULT_REMINDER_OFFSETS)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.utcoffset() is None else moment.astimezone(UTC)


# --- following the lifecycle (inside the state change's transaction) ----------------------------------


def follow_booking(*, session: Session, booking: Booking, now: datetime) -> None:
    """Bring the booking's reminder rows in line with its state: confirmed -> one per (offset, recipient)
    at start - offset (moved when the start moved); ended -> the unsent ones cancelled."""
    rows = session.exec(select(BookingReminder).where(BookingReminder.booking_id == booking.id)).all()
    if booking.status != BookingStatus.CONFIRMED:
        for row in rows:
            if row.status == ReminderStatus.SCHEDULED:
                row.status, row.settled_at = ReminderStatus.CANCELLED, now
                session.add(row)
        session.flush()
        return
    start = _utc(booking.start_time)
    existing = {(row.offset_minutes, ReminderRecipient(row.recipient)): row for row in rows}
    builder = session.get(Builder, booking.builder_id)
    for minutes in builder_offsets(builder):
        due = start - timedelta(minutes=minutes)
        status = ReminderStatus.SCHEDULED if due > now else ReminderStatus.SKIPPED
        for recipient in ReminderRecipient:
            row = existing.get((minutes, recipient))
            if row is None:
                session.add(BookingReminder(booking_id=booking.id, offset_minutes=minutes, recipient=recipient,
                                            due_at=due, status=status,
                                            settled_at=None if status == ReminderStatus.SCHEDULED else now))
            elif _utc(row.due_at) != due or row.status == ReminderStatus.CANCELLED:  # moved (or confirmed again)
                row.due_at, row.status = due, status
                row.settled_at = None if status == ReminderStatus.SCHEDULED else now
                session.add(row)
    session.flush()


def schedule_missing_reminders(*, engine: Engine, now: datetime, limit: int = 200) -> int:
    """Schedule the reminders of confirmed bookings still to start that have no reminder row; moments already
    past are skipped, as for any confirmation. Idempotent and safe with several workers: each booking's row is
    locked and re-read before its reminders are written. Returns how many bookings got reminders."""
    with session_scope(engine) as session:
        has_reminders = select(BookingReminder.id).where(BookingReminder.booking_id == Booking.id)
        lacking = session.exec(select(Booking.id).join(Builder, Builder.id == Booking.builder_id).where(
            Booking.status == BookingStatus.CONFIRMED, Booking.start_time > now, ~sa.exists(has_reminders),
            Builder.reminder_offsets != "")  # a builder who wants no reminders: nothing to schedule, ever
            .order_by(Booking.start_time).limit(limit)).all()
    scheduled = 0
    for booking_id in lacking:
        with session_scope(engine) as session:
            scheduled += _schedule_if_missing(session=session, booking_id=booking_id, now=now)
    if scheduled:
        log.info("reminders scheduled for %s confirmed booking(s) that had none", scheduled)
    return scheduled


def _schedule_if_missing(*, session: Session, booking_id: str, now: datetime) -> bool:
    # The row lock waits for a state change (or another worker's backfill) in progress, then reads its outcome.
    booking = session.get(Booking, booking_id, with_for_update=True, populate_existing=True)
    if booking is None or booking.status != BookingStatus.CONFIRMED:
        return False
    if _has_reminders(session=session, booking_id=booking_id):
        return False
    follow_booking(session=session, booking=booking, now=now)
    return _has_reminders(session=session, booking_id=booking_id)


def _has_reminders(*, session: Session, booking_id: str) -> bool:
    return session.exec(select(BookingReminder.id).where(BookingReminder.booking_id == booking_id)
                        .limit(1)).first() is not None


# --- sending (the worker) ---------------------------------------------------------------------------------


@dataclass
class ReminderReport:
    queued: int = 0
    skipped: int = 0

    def __bool__(self) -> bool:
        return bool(self.queued or self.skipped)


def _cause(row: BookingReminder, start: datetime) -> str:
    """The outbox dedupe cause: one email per reminder and start (a moved booking is reminded again)."""
    return f"{row.offset_minutes}m-{start.isoformat()}"


def send_due_reminders(*, engine: Engine, now: datetime, grace: timedelta = DEFAULT_GRACE,
                       limit: int = 200) -> ReminderReport:
    """Queue the email of every reminder due at `now` (once each, whatever other workers do); skip the late."""
    report = ReminderReport()
    with session_scope(engine) as session:
        due = session.exec(select(BookingReminder).where(
            BookingReminder.status == ReminderStatus.SCHEDULED, BookingReminder.due_at <= now)
            .order_by(BookingReminder.due_at).limit(limit)).all()
        candidates = [(row.id, row.due_at) for row in due]
    for reminder_id, due_at in candidates:
        with session_scope(engine) as session:
            outcome = _send_one(session=session, reminder_id=reminder_id, due_at=due_at, now=now, grace=grace)
        if outcome == ReminderStatus.SENT:
            report.queued += 1
        elif outcome == ReminderStatus.SKIPPED:
            report.skipped += 1
    return report


def _send_one(*, session: Session, reminder_id: int, due_at: datetime, now: datetime,
              grace: timedelta) -> ReminderStatus | None:
    row = session.get(BookingReminder, reminder_id)
    booking = session.get(Booking, row.booking_id) if row is not None else None
    if row is None or booking is None:
        return None
    start = _utc(booking.start_time)
    late = now > _utc(due_at) + grace or now >= start or booking.status != BookingStatus.CONFIRMED
    outcome = ReminderStatus.SKIPPED if late else ReminderStatus.SENT
    claimed = session.execute(
        sa.update(BookingReminder)
        .where(BookingReminder.id == reminder_id, BookingReminder.status == ReminderStatus.SCHEDULED,
               BookingReminder.due_at == due_at)
        .values(status=outcome, settled_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if not claimed:  # another worker took it, or the booking moved meanwhile
        return None
    if late:
        log.info("reminder %s of booking %s skipped: its moment passed (%s)", reminder_id, booking.id,
                 _utc(due_at).isoformat())
        return outcome
    queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_REMINDER,
                                cause=_cause(row, start), only=RecipientRole(str(row.recipient)),
                                reminder_minutes=row.offset_minutes)
    return outcome
