"""Reminders follow the booking's lifecycle (scheduled on confirm, moved on reschedule, cancelled on an ending),
are sent once however many workers tick, carry the manage link and the location, and a late one is skipped.
Time moves through `now=`, never by sleeping."""

from __future__ import annotations

import email
import threading
from datetime import UTC, datetime, timedelta
from email.policy import default as default_policy
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from booking.core.config import load_settings
from booking.core.db import session_scope
from booking.core.models import (
    BookingReminder,
    Notification,
    PaymentStatus,
    ReminderRecipient,
    ReminderStatus,
)
from booking.lifecycle import transitions as bookings
from booking.notifications import (
    InvalidReminderTimes,
    parse_offsets,
    schedule_missing_reminders,
    send_due_reminders,
)
from booking.notifications.mailer import FolderMailer
from booking.notifications.outbox import send_due_notifications
from booking.ops import worker as job_worker
from tests.factories import make_builder, make_hold, make_session_type


def confirmed_booking(engine, session: Session, **builder_fields):
    builder = make_builder(session, **builder_fields)
    session_type = make_session_type(session, builder, location="https://meet.example/ada-room")
    booking = make_hold(session, builder=builder, session_type=session_type, payment_status=PaymentStatus.PAID)
    session.commit()
    with session_scope(engine) as s:
        assert bookings.confirm_paid(session=s, booking_id=booking.id, payment_intent_id=None).newly_confirmed
    return booking


def reminders_of(engine, booking_id: str) -> dict[tuple[int, ReminderRecipient], BookingReminder]:
    with Session(engine) as s:
        rows = s.exec(select(BookingReminder).where(BookingReminder.booking_id == booking_id)).all()
        return {(row.offset_minutes, ReminderRecipient(row.recipient)): row for row in rows}


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.utcoffset() is None else moment


def outbox_reminders(engine, booking_id: str) -> list[Notification]:
    with Session(engine) as s:
        return list(s.exec(select(Notification).where(Notification.booking_id == booking_id,
                                                      Notification.kind == "booking_reminder")).all())


def test_a_confirmation_schedules_the_builders_reminder_times_for_both_sides(engine, session):
    booking = confirmed_booking(engine, session)
    rows = reminders_of(engine, booking.id)
    start = utc(booking.start_time)
    assert sorted(rows) == [(60, ReminderRecipient.BUILDER), (60, ReminderRecipient.CLIENT),
                            (1440, ReminderRecipient.BUILDER), (1440, ReminderRecipient.CLIENT)]
    for (minutes, _recipient), row in rows.items():
        assert row.status == ReminderStatus.SCHEDULED
        assert utc(row.due_at) == start - timedelta(minutes=minutes)


def test_the_builders_own_times_are_used(engine, session):
    booking = confirmed_booking(engine, session, reminder_offsets="120")
    assert sorted(minutes for minutes, _ in reminders_of(engine, booking.id)) == [120, 120]


def test_a_reschedule_moves_them_and_a_cancellation_cancels_them(engine, session):
    booking = confirmed_booking(engine, session)
    start, end = utc(booking.start_time), utc(booking.end_time)
    moved_to = start + timedelta(days=1, hours=2)
    with session_scope(engine) as s:
        assert bookings.reschedule(session=s, booking_id=booking.id, from_start=booking.start_time,
                                   new_start=moved_to, new_end=end + timedelta(days=1, hours=2))
    for (minutes, _recipient), row in reminders_of(engine, booking.id).items():
        assert (row.status, utc(row.due_at)) == (ReminderStatus.SCHEDULED, moved_to - timedelta(minutes=minutes))

    with session_scope(engine) as s:
        assert bookings.cancel_by_builder(session=s, booking_id=booking.id)
    assert {row.status for row in reminders_of(engine, booking.id).values()} == {ReminderStatus.CANCELLED}
    due = moved_to - timedelta(minutes=60) + timedelta(minutes=1)
    assert not send_due_reminders(engine=engine, now=due)
    assert outbox_reminders(engine, booking.id) == []


def test_a_due_reminder_is_sent_once_with_two_workers_and_carries_the_manage_link_and_location(
        engine, session, tmp_path: Path):
    booking = confirmed_booking(engine, session)
    now = utc(booking.start_time) - timedelta(minutes=60) + timedelta(minutes=2)  # the hour-before one is due
    barrier = threading.Barrier(2)
    reports = []

    def worker() -> None:
        barrier.wait()
        reports.append(send_due_reminders(engine=engine, now=now))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    # The day-before ones fell due long ago (more than the grace): skipped, not sent late.
    assert sum(report.queued for report in reports) == 2 and sum(report.skipped for report in reports) == 2
    rows = reminders_of(engine, booking.id)
    assert rows[(60, ReminderRecipient.CLIENT)].status == ReminderStatus.SENT
    assert rows[(1440, ReminderRecipient.CLIENT)].status == ReminderStatus.SKIPPED
    assert sorted(n.recipient for n in outbox_reminders(engine, booking.id)) == sorted(
        [booking_client_email(engine, booking.id), booking_builder_email(engine, booking.id)])
    assert not send_due_reminders(engine=engine, now=now + timedelta(minutes=1))  # nothing left to send

    mail = tmp_path / "mail"
    assert send_due_notifications(engine=engine, mailer=FolderMailer(mail), now=now).sent >= 2
    messages = [email.message_from_bytes(path.read_bytes(), policy=default_policy)
                for path in sorted(mail.glob("*booking_reminder*.eml"))]
    client_copy = next(m for m in messages if m["To"].addresses[0].addr_spec == booking_client_email(engine, booking.id))
    builder_copy = next(m for m in messages if m is not client_copy)
    text = client_copy.get_body(preferencelist=("plain",)).get_content()
    assert client_copy["Subject"].startswith("Reminder:")
    assert "starts in 1 hour" in text and "https://meet.example/ada-room" in text
    assert "/manage/" in text
    assert "/manage/" not in builder_copy.get_body(preferencelist=("plain",)).get_content()


def test_a_reminder_whose_moment_passed_while_the_app_was_down_is_skipped(engine, session):
    booking = confirmed_booking(engine, session)
    start = utc(booking.start_time)
    back_up = start - timedelta(minutes=60) + timedelta(minutes=11)  # 11 minutes late: past the 10-minute grace
    report = send_due_reminders(engine=engine, now=back_up)
    assert (report.queued, report.skipped) == (0, 4)
    assert outbox_reminders(engine, booking.id) == []
    assert not send_due_reminders(engine=engine, now=start + timedelta(minutes=1))


def test_a_reschedule_after_a_reminder_was_sent_sends_it_again_for_the_new_time(engine, session):
    booking = confirmed_booking(engine, session)
    start, end = utc(booking.start_time), utc(booking.end_time)
    sent_at = start - timedelta(minutes=1440) + timedelta(minutes=1)
    assert send_due_reminders(engine=engine, now=sent_at).queued == 2
    later = start + timedelta(days=3)
    with session_scope(engine) as s:
        assert bookings.reschedule(session=s, booking_id=booking.id, from_start=booking.start_time,
                                   new_start=later, new_end=end + timedelta(days=3), now=sent_at)
    assert send_due_reminders(engine=engine, now=later - timedelta(minutes=1439)).queued == 2
    assert len(outbox_reminders(engine, booking.id)) == 4


def without_reminders(engine, booking_id: str) -> None:
    """As a booking confirmed before reminders existed (migration 0025) is: no reminder row."""
    with session_scope(engine) as s:
        s.execute(sa.delete(BookingReminder).where(BookingReminder.booking_id == booking_id))


def test_a_confirmed_booking_without_reminders_gets_them_once_skipping_past_moments_and_a_cancelled_one_none(
        engine, session):
    booking, cancelled = confirmed_booking(engine, session), confirmed_booking(engine, session)
    with session_scope(engine) as s:
        assert bookings.cancel_by_builder(session=s, booking_id=cancelled.id)
    without_reminders(engine, booking.id)
    without_reminders(engine, cancelled.id)
    start = utc(booking.start_time)
    now = start - timedelta(minutes=120)  # the day-before moment has passed, the hour-before one has not

    assert schedule_missing_reminders(engine=engine, now=now) == 1
    rows = reminders_of(engine, booking.id)
    assert {key: row.status for key, row in rows.items()} == {
        (60, ReminderRecipient.CLIENT): ReminderStatus.SCHEDULED, (60, ReminderRecipient.BUILDER): ReminderStatus.SCHEDULED,
        (1440, ReminderRecipient.CLIENT): ReminderStatus.SKIPPED, (1440, ReminderRecipient.BUILDER): ReminderStatus.SKIPPED}
    assert utc(rows[(60, ReminderRecipient.CLIENT)].due_at) == start - timedelta(minutes=60)
    assert reminders_of(engine, cancelled.id) == {}

    assert schedule_missing_reminders(engine=engine, now=now) == 0  # run again: nothing new
    assert reminders_of(engine, booking.id).keys() == rows.keys()
    report = send_due_reminders(engine=engine, now=start - timedelta(minutes=59))
    assert (report.queued, report.skipped) == (2, 0)  # the hour-before reminder reaches both sides
    assert len(outbox_reminders(engine, booking.id)) == 2


def test_two_workers_backfilling_at_once_write_each_reminder_once(engine, session):
    booking = confirmed_booking(engine, session)
    without_reminders(engine, booking.id)
    now = utc(booking.start_time) - timedelta(days=2)
    barrier = threading.Barrier(2)
    scheduled: list[int] = []

    def worker() -> None:
        barrier.wait()
        scheduled.append(schedule_missing_reminders(engine=engine, now=now))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(scheduled) == [0, 1]
    with Session(engine) as s:
        assert len(s.exec(select(BookingReminder).where(BookingReminder.booking_id == booking.id)).all()) == 4


def test_the_job_workers_reminders_tick_backfills_and_leaves_a_builder_who_wants_none_alone(engine, session):
    booking = confirmed_booking(engine, session)
    unreminded = confirmed_booking(engine, session, reminder_offsets="")
    without_reminders(engine, booking.id)
    url = str(engine.url.render_as_string(hide_password=False))
    ctx = job_worker.Context(settings=load_settings(DATABASE_URL=url), engine=engine)
    assert job_worker.send_reminders(ctx) == 1  # the tick's count: the booking that got its reminders
    assert len(reminders_of(engine, booking.id)) == 4
    assert reminders_of(engine, unreminded.id) == {}
    assert job_worker.send_reminders(ctx) == 0


def booking_client_email(engine, booking_id: str) -> str:
    from booking.core.models import Booking, Client

    with Session(engine) as s:
        return s.get(Client, s.get(Booking, booking_id).client_id).email


def booking_builder_email(engine, booking_id: str) -> str:
    from booking.core.models import Booking, Builder

    with Session(engine) as s:
        return s.get(Builder, s.get(Booking, booking_id).builder_id).email


def test_reminder_times_are_checked():
    assert parse_offsets("60, 1440") == (1440, 60)
    assert parse_offsets("") == ()
    for bad in ("soon", "0", "30,60,90,120", str(15 * 24 * 60)):
        with pytest.raises(InvalidReminderTimes):
            parse_offsets(bad)

