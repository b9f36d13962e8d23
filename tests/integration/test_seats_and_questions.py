"""Workshops with seats and booking questions on a real database (SQLite, and PostgreSQL when
TEST_POSTGRES_URL is set): the capacity under a 50-client race, what the database itself refuses, seats left,
a cancellation freeing a seat, no attendee seeing another, and answers stored, shown, erased, kept from Stripe."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from starlette.testclient import TestClient

from booking.accounts import NotFound
from booking.accounts.authz import Actor
from booking.core.config import load_settings
from booking.core.db import session_scope
from booking.core.models import Booking, BookingAnswer, BookingStatus, Builder, EndCause, Notification, UserRole
from booking.lifecycle import checkout as payments
from booking.lifecycle import transitions
from booking.notifications.outbox import build_message
from booking.scheduling import InvalidAnswers, find_open_slots, questions_of, seats
from booking.workspace import (
    ErasureRefused,
    QuestionDraft,
    booking_detail,
    erase_booking_personal_data,
    save_host_note,
    save_seats_and_questions,
    validate_seats_and_questions,
)
from booking_ui import api, deps
from tests.factories import make_builder, make_client, make_hold, make_session_type
from tests.support.admin_states import make_user
from tests.support.fake_gateway import FakeGateway

NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)
SETTINGS = load_settings(PUBLIC_URL="https://book.example", HOLD_MINUTES=30, MAX_HOLDS_PER_IP=1000,
                         MAX_HOLDS_PER_EMAIL=1000)
TEN = (NOW + timedelta(days=2)).replace(hour=10, minute=0)


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def workshop(session: Session):
    builder = make_builder(session, time_zone="UTC", name="Ada Lovelace", email="ada@example.com")
    row = make_session_type(session, builder, name="Pairing workshop", duration_minutes=60, seats=5)
    session.commit()
    return row


def begin(engine, gateway, session_type, *, email: str, name: str = "Ann", start: datetime = TEN, **kw):
    return payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS,
                                   session_type_id=session_type.id, start_time=start, client_name=name,
                                   client_email=email, **kw)


def pay(engine, gateway, started) -> None:
    payments.fulfil_flow(engine=engine, gateway=gateway,
                         checkout=gateway.pay(started.checkout_session_id, f"pi_{started.booking_id[:8]}"))


def active_seats(engine, session_type) -> list[int]:
    with Session(engine) as s:
        return sorted(s.exec(select(Booking.seat_no).where(
            Booking.session_type_id == session_type.id,
            Booking.status.in_((BookingStatus.PENDING, BookingStatus.CONFIRMED)))).all())


def builder_actor(engine, session_type) -> Actor:
    user_id = make_user(engine, email=f"owner{session_type.builder_id}@example.com", builder_id=session_type.builder_id)
    return Actor(user_id=user_id, email="owner@example.com", role=UserRole.BUILDER, builder_id=session_type.builder_id)


# --- seats -----------------------------------------------------------------------------------------


def test_fifty_clients_racing_for_the_last_three_seats_get_exactly_three(engine, gateway, workshop):
    begin(engine, gateway, workshop, email="early1@example.com")
    begin(engine, gateway, workshop, email="early2@example.com")

    def attempt(n: int) -> str:
        try:
            begin(engine, gateway, workshop, email=f"racer{n}@example.com")
            return "held"
        except payments.SlotUnavailable:
            return "refused"

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(attempt, range(50)))

    assert outcomes.count("held") == 3
    assert outcomes.count("refused") == 47
    assert active_seats(engine, workshop) == [0, 1, 2, 3, 4]
    assert len(gateway.created) == 5  # a refused client never reached Stripe


def test_the_database_refuses_a_seat_beyond_the_capacity_a_seat_twice_and_any_other_overlap(session, workshop):
    builder = session.get(Builder, workshop.builder_id)
    other_type = make_session_type(session, builder, name="One to one")
    first = make_hold(session, builder=builder, session_type=workshop, start=TEN, seat_no=0, seat_capacity=3)
    make_hold(session, builder=builder, session_type=workshop, start=TEN, seat_no=1, seat_capacity=3)
    session.commit()

    refusals = {
        "beyond the capacity": dict(session_type=workshop, start=TEN, seat_no=3, seat_capacity=3),
        "a seat taken twice": dict(session_type=workshop, start=TEN, seat_no=1, seat_capacity=3),
        "another type over the session": dict(session_type=other_type, start=TEN + timedelta(minutes=30)),
        "another type at the same start": dict(session_type=other_type, start=TEN, seat_no=2, seat_capacity=3),
        "the same type half an hour later": dict(session_type=workshop, start=TEN + timedelta(minutes=30),
                                                 seat_no=0, seat_capacity=3),
    }
    for why, fields in refusals.items():
        with pytest.raises(sa.exc.IntegrityError), session.begin_nested():  # the database itself refuses
            make_hold(session, builder=builder, client=make_client(session, name=why), **fields)

    make_hold(session, builder=builder, session_type=workshop, start=TEN, seat_no=2, seat_capacity=3)  # fits
    session.commit()
    first.status = BookingStatus.CANCELLED
    first.end_cause = EndCause.CANCELLED_BY_BUILDER
    session.add(first)
    session.commit()
    make_hold(session, builder=builder, session_type=workshop, start=TEN, seat_no=0,
              seat_capacity=3)  # a cancelled seat is free again
    session.commit()


def test_the_slot_stays_offered_with_the_seats_left_until_it_is_full(engine, gateway, session, workshop):
    workshop.seats = 3
    session.add(workshop)
    session.commit()

    def offered() -> set[datetime]:
        with Session(engine) as s:
            return {slot.start for slot in find_open_slots(session=s, session_type_id=workshop.id,
                                                           from_day=TEN.date(), days=1, viewer_time_zone="UTC",
                                                           now=datetime.now(timezone.utc))}

    def left() -> int:
        with Session(engine) as s:
            return seats.seats_left(session=s, session_type=s.get(type(workshop), workshop.id), start=TEN,
                                    end=TEN + timedelta(hours=1), now=datetime.now(timezone.utc)).get(TEN, 3)

    assert TEN in offered() and left() == 3
    begin(engine, gateway, workshop, email="one@example.com")
    assert TEN in offered() and left() == 2
    assert TEN + timedelta(minutes=30) not in offered()  # overlapping the workshop: never a start of its own
    begin(engine, gateway, workshop, email="two@example.com")
    assert TEN in offered() and left() == 1
    begin(engine, gateway, workshop, email="three@example.com")
    assert TEN not in offered() and left() == 0

    with pytest.raises(payments.SlotUnavailable):
        begin(engine, gateway, workshop, email="four@example.com")


def test_the_slots_api_says_how_many_seats_each_time_has_left(engine, gateway, session, workshop, monkeypatch):
    workshop.seats = 3
    session.add(workshop)
    one_to_one = make_session_type(session, session.get(Builder, workshop.builder_id),
                                   name="Review", duration_minutes=60)
    session.commit()
    monkeypatch.setattr(deps, "gateway", lambda: gateway)
    client = TestClient(api.build_api())

    def listed(session_type) -> tuple[int, dict[str, int]]:
        answer = client.get(f"/api/session-types/{session_type.id}/slots?from={TEN.date()}&days=1&tz=UTC").json()
        return answer["seats"], {slot["start_time"]: slot["seats_left"] for slot in answer["slots"]}

    begin(engine, gateway, workshop, email="one@example.com")
    seats_of_type, left = listed(workshop)
    assert seats_of_type == 3
    assert left[TEN.isoformat()] == 2 and left[(TEN + timedelta(hours=2)).isoformat()] == 3
    begin(engine, gateway, workshop, email="two@example.com")
    assert listed(workshop)[1][TEN.isoformat()] == 1
    assert listed(one_to_one)[0] == 1 and set(listed(one_to_one)[1].values()) == {1}


def test_a_cancellation_frees_its_seat_for_the_next_client(engine, gateway, session, workshop):
    workshop.seats = 2
    session.add(workshop)
    session.commit()
    first = begin(engine, gateway, workshop, email="one@example.com")
    pay(engine, gateway, first)
    begin(engine, gateway, workshop, email="two@example.com")
    with pytest.raises(payments.SlotUnavailable):
        begin(engine, gateway, workshop, email="three@example.com")

    with session_scope(engine) as s:
        assert transitions.cancel_by_builder(session=s, booking_id=first.booking_id)

    begin(engine, gateway, workshop, email="three@example.com")
    assert active_seats(engine, workshop) == [0, 1]


def test_no_attendee_sees_another_in_their_emails_or_invites(engine, gateway, workshop):
    ann = begin(engine, gateway, workshop, email="ann@example.com", name="Ann Attendee")
    bob = begin(engine, gateway, workshop, email="bob@example.com", name="Bob Bystander")
    pay(engine, gateway, ann)
    pay(engine, gateway, bob)

    with Session(engine) as s:
        rows = s.exec(select(Notification).where(Notification.booking_id.in_((ann.booking_id, bob.booking_id)))).all()
    to_clients = [row for row in rows if row.recipient in ("ann@example.com", "bob@example.com")]
    assert {row.recipient for row in to_clients} == {"ann@example.com", "bob@example.com"}
    for row in to_clients:
        message = build_message(notification_id=row.id, kind=row.kind, recipient=row.recipient, payload=row.payload,
                                now=datetime.now(timezone.utc)).as_bytes().decode("utf-8", "replace")
        other_name, other_email = (("Bob", "bob@") if row.recipient.startswith("ann") else ("Ann", "ann@"))
        assert other_name not in message and other_email not in message
        invites = [part.get_content() for part in
                   build_message(notification_id=row.id, kind=row.kind, recipient=row.recipient,
                                 payload=row.payload, now=datetime.now(timezone.utc)).iter_attachments()]
        assert invites, "the confirmation carries the invite"
        for invite in invites:
            text = invite.decode() if isinstance(invite, bytes) else invite
            assert text.count("ATTENDEE") == 1 and row.recipient in text.replace("\r\n ", "")


def test_the_builder_sees_every_attendee_of_the_session(engine, gateway, workshop):
    ann = begin(engine, gateway, workshop, email="ann@example.com", name="Ann Attendee")
    begin(engine, gateway, workshop, email="bob@example.com", name="Bob Bystander")
    pay(engine, gateway, ann)
    actor = builder_actor(engine, workshop)

    with Session(engine) as s:
        detail = booking_detail(session=s, actor=actor, booking_id=ann.booking_id)

    assert detail.seat == "Seat 1 of 5"
    assert [(a.seat, a.name, a.email, a.status_label) for a in detail.attendees] == [
        ("Seat 1", "Ann Attendee", "ann@example.com", "Confirmed"),
        ("Seat 2", "Bob Bystander", "bob@example.com", "Held, paying")]


# --- questions ---------------------------------------------------------------------------------------


@pytest.fixture
def asked(engine, workshop):
    """The workshop asks three questions."""
    actor = builder_actor(engine, workshop)
    data = validate_seats_and_questions(seats="5", drafts=[
        QuestionDraft(kind="short_text", label="What do you want to build?", required=True),
        QuestionDraft(kind="choice", label="Your level", required=True, options="Beginner\nAdvanced"),
        QuestionDraft(kind="checkbox", label="I have a laptop", required=False),
    ])
    with session_scope(engine) as s:
        save_seats_and_questions(session=s, actor=actor, session_type_id=workshop.id, data=data)
        ids = [q.id for q in questions_of(session=s, session_type_id=workshop.id)]
    return actor, ids


def test_wrong_answers_hold_nothing_and_say_what_is_wrong(engine, gateway, workshop, asked):
    _actor, (build, level, _laptop) = asked

    with pytest.raises(InvalidAnswers) as refused:
        begin(engine, gateway, workshop, email="ann@example.com", answers={str(level): "Expert"})

    assert refused.value.errors == {str(build): "Please answer this question.",
                                    str(level): "Choose one of the options offered."}
    assert active_seats(engine, workshop) == [] and gateway.created == []


def test_answers_reach_the_builder_never_stripe_and_go_with_the_personal_data(engine, gateway, workshop, asked):
    actor, (build, level, laptop) = asked
    answers = {str(build): "A ray tracer in Rust", str(level): "Advanced", str(laptop): True}
    started = begin(engine, gateway, workshop, email="ann@example.com", answers=answers)
    pay(engine, gateway, started)

    with Session(engine) as s:
        detail = booking_detail(session=s, actor=actor, booking_id=started.booking_id)
        rows = s.exec(select(Notification).where(Notification.booking_id == started.booking_id)).all()
    assert [(a.question, a.answer) for a in detail.answers] == [
        ("What do you want to build?", "A ray tracer in Rust"), ("Your level", "Advanced"), ("I have a laptop", "Yes")]
    emails = {row.recipient: build_message(notification_id=row.id, kind=row.kind, recipient=row.recipient,
                                           payload=row.payload, now=datetime.now(timezone.utc)).get_body(("plain",))
              .get_content() for row in rows}
    assert "A ray tracer in Rust" in emails["ada@example.com"]  # the builder's confirmation
    assert "A ray tracer in Rust" not in emails["ann@example.com"]
    assert "ray tracer" not in repr(gateway.created)  # never in the Checkout request (metadata, description...)

    with session_scope(engine) as s:  # the builder's private note goes with the rest
        save_host_note(session=s, actor=actor, booking_id=started.booking_id, note="Ann: bring the ray tracer repo")
    with pytest.raises(ErasureRefused), session_scope(engine) as s:  # still to happen: refused
        erase_booking_personal_data(session=s, actor=actor, booking_id=started.booking_id)
    with session_scope(engine) as s:
        erasure = erase_booking_personal_data(session=s, actor=actor, booking_id=started.booking_id,
                                              now=TEN + timedelta(hours=2))
    assert erasure.answers_deleted == 3
    with Session(engine) as s:
        assert s.exec(select(BookingAnswer)).all() == []
        assert booking_detail(session=s, actor=actor, booking_id=started.booking_id).answers == []
        assert booking_detail(session=s, actor=actor, booking_id=started.booking_id).host_note == ""
        payloads = [json.loads(row.payload) for row in
                    s.exec(select(Notification).where(Notification.booking_id == started.booking_id)).all()]
    assert all(not payload.get("answers") for payload in payloads)
    assert "ray tracer" not in json.dumps(payloads)


def test_the_api_refuses_bad_answers_with_invalid_answers(engine, gateway, workshop, asked, monkeypatch):
    _actor, (build, level, _laptop) = asked
    monkeypatch.setattr(deps, "gateway", lambda: gateway)
    client = TestClient(api.build_api())
    body = {"session_type_id": str(workshop.id), "start_time": TEN.isoformat(), "client_name": "Ann",
            "client_email": "ann@example.com"}

    missing = client.post("/api/payments/create-checkout-session", json={**body, "answers": {str(level): "Beginner"}})
    not_an_object = client.post("/api/payments/create-checkout-session", json={**body, "answers": ["x"]})
    good = client.post("/api/payments/create-checkout-session",
                       json={**body, "answers": {str(build): "A game", str(level): "Beginner"}})

    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "invalid_answers"
    assert missing.json()["error"]["fields"] == {str(build): "Please answer this question."}
    assert not_an_object.status_code == 422 and not_an_object.json()["error"]["code"] == "invalid_answers"
    assert good.status_code == 201
    with Session(engine) as s:
        assert [a.value for a in s.exec(select(BookingAnswer).order_by(BookingAnswer.position)).all()] == [
            "A game", "Beginner"]


def test_a_late_payment_for_a_workshop_takes_a_free_seat(engine, gateway, session, workshop):
    workshop.seats = 2
    session.add(workshop)
    session.commit()
    lapsed = begin(engine, gateway, workshop, email="late@example.com")
    with session_scope(engine) as s:  # the hold ran out; another client took seat 0 meanwhile
        assert transitions.end_hold_now(session=s, booking_id=lapsed.booking_id, cause=EndCause.RELEASED_BY_CLIENT)
    other = begin(engine, gateway, workshop, email="other@example.com")

    pay(engine, gateway, lapsed)

    with Session(engine) as s:
        revived, taken = s.get(Booking, lapsed.booking_id), s.get(Booking, other.booking_id)
    assert revived.status == BookingStatus.CONFIRMED
    assert {revived.seat_no, taken.seat_no} == {0, 1}


def test_a_client_erasure_is_scoped_to_the_builders_own_bookings(engine, gateway, session, workshop):
    started = begin(engine, gateway, workshop, email="ann@example.com")
    stranger_builder = make_builder(session)
    session.commit()
    user_id = make_user(engine, email="stranger@example.com", builder_id=stranger_builder.id)
    stranger = Actor(user_id=user_id, email="stranger@example.com", role=UserRole.BUILDER,
                     builder_id=stranger_builder.id)
    with pytest.raises(NotFound), session_scope(engine) as s:
        erase_booking_personal_data(session=s, actor=stranger, booking_id=started.booking_id,
                                    now=TEN + timedelta(hours=2))
