"""The location after payment, one calendar UID per booking, and the builder's private calendar feed.

The feed and the invite download are exercised through the HTTP API (Starlette's TestClient); the
emailed invite through the outbox's own message builder.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from starlette.testclient import TestClient

from booking.client import receipts
from booking.core.config import get_settings
from booking.core.db import session_scope
from booking.core.models import (
    Booking,
    BookingStatus,
    Builder,
    Client,
    Notification,
    Payment,
    PaymentStatus,
    SessionType,
)
from booking.notifications import calendar_feed, invites
from booking.notifications.ics import booking_uid, site_domain
from booking.notifications.outbox import NotificationKind, build_message, queue_booking_notifications
from booking_ui import api, routes
from tests.factories import add_payment, make_builder, make_client, make_session_type

VIDEO_LINK = "https://meet.example.com/ada-grace"
_hour = itertools.count(1)


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(api.build_api()) as test_client:
        yield test_client


@pytest.fixture
def ada(session: Session) -> tuple[Builder, SessionType]:
    builder = make_builder(session, name="Ada Lovelace", slug="ada-feed")
    session_type = make_session_type(session, builder, name="1:1 call", location=VIDEO_LINK)
    session.commit()
    return builder, session_type


def book(session: Session, builder: Builder, session_type: SessionType, *, status: BookingStatus,
         start: datetime | None = None, client: Client | None = None) -> Booking:
    start = start or (datetime.now(UTC) + timedelta(days=2, hours=next(_hour))).replace(microsecond=0)
    paid = status == BookingStatus.CONFIRMED
    booking = Booking(
        client_id=(client or make_client(session, name="Grace Hopper")).id, builder_id=builder.id,
        session_type_id=session_type.id, start_time=start,
        end_time=start + timedelta(minutes=session_type.duration_minutes), status=status,
        confirmed_at=datetime.now(UTC) if paid else None,
        hold_expires_at=datetime.now(UTC) + timedelta(minutes=30) if status == BookingStatus.PENDING else None,
    )
    session.add(booking)
    session.flush()
    add_payment(session, booking, amount=session_type.price_amount, currency=session_type.currency,
                status=PaymentStatus.PAID if paid else PaymentStatus.OPEN)
    return booking


def new_token(engine: Engine, builder_id: int) -> str:
    with session_scope(engine) as session:
        return calendar_feed.issue_token(session=session, builder_id=builder_id)


def feed_ics(client: TestClient, token: str) -> str:
    """The feed's text with RFC 5545 line folding undone (a folded id would hide from a search)."""
    response = client.get(routes.calendar_feed(token))
    assert response.status_code == 200, response.text
    return response.text.replace("\r\n ", "")


def feed_events(client: TestClient, token: str) -> list[icalendar.Event]:
    response = client.get(routes.calendar_feed(token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    assert calendar["METHOD"] == "PUBLISH"
    return list(calendar.walk("VEVENT"))


def uid_of_booking(booking: Booking) -> str:
    assert booking.invite_uid and booking.id not in booking.invite_uid  # opaque: no booking id in anything shared
    return booking_uid(booking.invite_uid, site_domain(get_settings().public_url))


# --- the feed ------------------------------------------------------------------------------------------


def test_the_feed_lists_confirmed_bookings_from_30_days_ago_with_location_and_client(
        session: Session, engine: Engine, client: TestClient, ada) -> None:
    builder, session_type = ada
    now = datetime.now(UTC).replace(microsecond=0)
    upcoming = book(session, builder, session_type, status=BookingStatus.CONFIRMED)
    recent = book(session, builder, session_type, status=BookingStatus.CONFIRMED, start=now - timedelta(days=29))
    book(session, builder, session_type, status=BookingStatus.CONFIRMED, start=now - timedelta(days=31))
    for status in (BookingStatus.PENDING, BookingStatus.CANCELLED, BookingStatus.EXPIRED):
        book(session, builder, session_type, status=status)
    someone_else = make_builder(session, slug="someone-else")
    book(session, someone_else, make_session_type(session, someone_else), status=BookingStatus.CONFIRMED)
    session.commit()

    events = feed_events(client, new_token(engine, builder.id))

    assert [str(e["UID"]) for e in events] == [uid_of_booking(recent), uid_of_booking(upcoming)]
    first = events[1]
    assert str(first["LOCATION"]) == VIDEO_LINK
    assert str(first["SUMMARY"]) == "1:1 call with Grace Hopper"
    assert "Grace Hopper" in str(first["DESCRIPTION"]) and "Booking reference" in str(first["DESCRIPTION"])
    raw = feed_ics(client, new_token(engine, builder.id))
    assert all(b.id not in raw for b in (upcoming, recent))  # the feed names no booking id anywhere
    assert first.decoded("DTSTART") == upcoming.start_time and first.decoded("DTSTART").utcoffset() == timedelta(0)
    assert "ATTENDEE" not in first


def test_a_builder_with_no_bookings_gets_an_empty_calendar(engine: Engine, client: TestClient, ada) -> None:
    builder, _ = ada

    assert feed_events(client, new_token(engine, builder.id)) == []


def test_only_the_hash_of_the_token_is_stored(engine: Engine, ada) -> None:
    builder, _ = ada
    token = new_token(engine, builder.id)

    with session_scope(engine) as session:
        stored = session.get(Builder, builder.id).calendar_token_hash
    assert len(token) >= 43
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in stored


def test_regenerating_revokes_the_old_url(session: Session, engine: Engine, client: TestClient, ada) -> None:
    builder, session_type = ada
    book(session, builder, session_type, status=BookingStatus.CONFIRMED)
    session.commit()
    old = new_token(engine, builder.id)
    assert len(feed_events(client, old)) == 1

    new = new_token(engine, builder.id)

    gone = client.get(routes.calendar_feed(old))
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "calendar_not_found"
    assert new != old and len(feed_events(client, new)) == 1


@pytest.mark.parametrize("token", [
    "A" * 43,  # the right shape, but nobody's
    "short",
    "x" * 400,
    "has spaces in it and is long enough to pass",
    "dots.are.not.in.a.token.dots.are.not.in.a.token",
    "%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00",
    "ünïcödé-ünïcödé-ünïcödé-ünïcödé-ünïcödé",
])
def test_an_unknown_or_malformed_token_is_a_404_json_error(client: TestClient, ada, token: str) -> None:
    response = client.get(routes.calendar_feed(token))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "calendar_not_found"


def test_no_builder_and_no_token_mean_no_feed(session: Session, client: TestClient, ada) -> None:
    builder, _ = ada
    with pytest.raises(LookupError):
        calendar_feed.issue_token(session=session, builder_id=builder.id + 1000)
    assert calendar_feed.builder_for_token(session=session, token="") is None
    assert client.get("/calendar/.ics").status_code == 404


def test_the_feed_reads_its_bookings_in_one_query(session: Session, engine: Engine, ada) -> None:
    builder, session_type = ada
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    clients = [make_client(session) for _ in range(5)]
    for n in range(300):
        book(session, builder, session_type, status=BookingStatus.CONFIRMED, start=start + timedelta(hours=2 * n),
             client=clients[n % 5])
    session.commit()
    token = new_token(engine, builder.id)
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with session_scope(engine) as fresh:
            began = time.perf_counter()
            data = calendar_feed.feed_for_token(session=fresh, token=token)
            elapsed = time.perf_counter() - began
    finally:
        event.remove(engine, "before_cursor_execute", count)

    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 2  # the builder by token hash, then every booking with its client and type
    assert data.count(b"BEGIN:VEVENT") == 300
    assert elapsed < 2.0


# --- one UID for every invite of a booking -----------------------------------------------------------------


def test_the_emailed_the_downloaded_and_the_feed_invites_share_one_uid_and_the_location(
        session: Session, engine: Engine, client: TestClient, ada) -> None:
    builder, session_type = ada
    booking = book(session, builder, session_type, status=BookingStatus.CONFIRMED)
    queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_CONFIRMED)
    session.commit()

    emailed = []
    for row in session.exec(select(Notification).where(Notification.booking_id == booking.id)).all():
        message = build_message(notification_id=row.id, kind=row.kind, recipient=row.recipient,
                                payload=row.payload, now=datetime.now(UTC))
        (invite,) = [part for part in message.iter_attachments() if part.get_filename() == "invite.ics"]
        emailed.append(icalendar.Calendar.from_ical(invite.get_payload(decode=True)).walk("VEVENT")[0])
    session.commit()  # end the read (SQLite: it holds the write lock the API's transactions need)
    download = client.get(invites.invite_path(booking.invite_uid))  # what the success page gives the payer
    assert download.status_code == 200
    (downloaded,) = icalendar.Calendar.from_ical(download.content).walk("VEVENT")
    (in_feed,) = feed_events(client, new_token(engine, builder.id))

    assert len(emailed) == 2  # the client's and the builder's
    uids = {str(e["UID"]) for e in [*emailed, downloaded, in_feed]}
    assert uids == {uid_of_booking(booking)}
    assert {str(e["LOCATION"]) for e in [*emailed, downloaded, in_feed]} == {VIDEO_LINK}


def test_the_cancel_invite_keeps_the_uid(session: Session, engine: Engine, ada) -> None:
    builder, session_type = ada
    booking = book(session, builder, session_type, status=BookingStatus.CONFIRMED)
    booking.status = BookingStatus.CANCELLED
    queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_CANCELLED)
    session.commit()
    row = session.exec(select(Notification).where(Notification.booking_id == booking.id)).first()

    message = build_message(notification_id=row.id, kind=row.kind, recipient=row.recipient, payload=row.payload,
                            now=datetime.now(UTC))
    (cancel,) = [part for part in message.iter_attachments() if part.get_filename() == "cancel.ics"]

    assert str(icalendar.Calendar.from_ical(cancel.get_payload(decode=True)).walk("VEVENT")[0]["UID"]) == \
        uid_of_booking(booking)


# --- the location: seen only after paying ----------------------------------------------------------------


def test_the_success_page_summary_shows_the_location_only_once_confirmed(session: Session, engine: Engine,
                                                                          ada) -> None:
    builder, session_type = ada
    booking = book(session, builder, session_type, status=BookingStatus.PENDING)
    session.commit()

    held = receipts.booking_receipt(engine=engine, booking_id=booking.id)
    assert held.state == "held" and held.summary.location == ""

    with session_scope(engine) as tx:
        row = tx.get(Booking, booking.id)
        row.status = BookingStatus.CONFIRMED
        payment = tx.exec(select(Payment).where(Payment.booking_id == booking.id)).one()
        payment.status = PaymentStatus.PAID
    confirmed = receipts.booking_receipt(engine=engine, booking_id=booking.id)

    assert confirmed.state == "confirmed"
    assert (confirmed.summary.location, confirmed.summary.location_is_link) == (VIDEO_LINK, True)


def test_an_address_is_shown_as_text_and_an_empty_location_not_at_all(session: Session, engine: Engine) -> None:
    builder = make_builder(session)
    at_an_address = make_session_type(session, builder, location="1 High St\nLondon")
    nowhere = make_session_type(session, builder, location="")
    first = book(session, builder, at_an_address, status=BookingStatus.CONFIRMED)
    second = book(session, builder, nowhere, status=BookingStatus.CONFIRMED)
    session.commit()

    address = receipts.booking_receipt(engine=engine, booking_id=first.id).summary
    empty = receipts.booking_receipt(engine=engine, booking_id=second.id).summary

    assert (address.location, address.location_is_link) == ("1 High St, London", False)
    assert (empty.location, empty.location_is_link) == ("", False)


def test_the_confirmation_emails_say_where_and_the_unpaid_emails_do_not(session: Session, ada) -> None:
    builder, session_type = ada
    session_type.location = 'Studio "A" <upstairs> & back'
    session.add(session_type)
    booking = book(session, builder, session_type, status=BookingStatus.CONFIRMED)
    queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_CONFIRMED)
    unpaid = book(session, builder, session_type, status=BookingStatus.PENDING)
    queue_booking_notifications(session=session, booking=unpaid, kind=NotificationKind.PAYMENT_FAILED)
    session.commit()

    rows = session.exec(select(Notification).order_by(Notification.id)).all()
    by_booking = {row.booking_id: [] for row in rows}
    for row in rows:
        by_booking[row.booking_id].append(build_message(notification_id=row.id, kind=row.kind,
                                                        recipient=row.recipient, payload=row.payload,
                                                        now=datetime.now(UTC)))

    assert len(by_booking[booking.id]) == 2  # client and builder
    for message in by_booking[booking.id]:
        assert 'Studio "A" <upstairs> & back' in message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert "Studio &quot;A&quot; &lt;upstairs&gt; &amp; back" in html and "<upstairs>" not in html
    (failed,) = by_booking[unpaid.id]
    assert "Studio" not in failed.get_body(("plain",)).get_content()
    assert json.loads(rows[-1].payload)["location"] == ""  # not even stored for an unpaid hold


def test_the_public_catalogue_does_not_reveal_the_location(client: TestClient, ada) -> None:
    response = client.get(routes.API_SESSION_TYPES)

    assert response.status_code == 200 and "1:1 call" in response.text
    assert "meet.example.com" not in response.text
