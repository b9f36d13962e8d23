"""The client manages their booking through the emulator: the link in the email, cancelling under the
policy (full, partial, none; a refused refund and its retry), rescheduling (the payment kept, the slot
moved in one transaction, the invite's SEQUENCE raised, races), and the POST routes' CSRF defences."""

from __future__ import annotations

import email
import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time, timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select
from starlette.testclient import TestClient

from booking.client import manage, receipts
from booking.core.config import get_settings, load_settings
from booking.core.models import (
    AuditEntry,
    Booking,
    BookingStatus,
    EndCause,
    Notification,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    utcnow,
)
from booking.events.webhooks import handle_webhook
from booking.lifecycle import checkout as payments
from booking.notifications import manage_links
from booking.notifications.outbox import build_message
from booking.payments.gateway import PaymentProviderError, StripeGateway
from booking.scheduling import slots
from booking.scheduling.availability import END_OF_DAY
from booking_ui import routes
from tests.factories import make_builder, make_session_type
from tests.support import stripe_events as se
from tests.support.ledger import money

PUBLIC_URL = "https://book.example"
SETTINGS = load_settings(PUBLIC_URL=PUBLIC_URL, HOLD_MINUTES=30)
CLIENT_EMAIL = "ann@example.com"
SECRET = "manage-test-secret-" + "s" * 40


@pytest.fixture(autouse=True)
def app_settings(engine, emulator, monkeypatch):
    """The app's settings (for the HTTP routes and the emails): this test's database and the emulator."""
    monkeypatch.setenv("SECRET_KEY", SECRET)
    monkeypatch.setenv("PUBLIC_URL", PUBLIC_URL)
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_manage")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", se.WEBHOOK_SECRET)
    monkeypatch.setenv("STRIPE_API_BASE", emulator.url)
    get_settings.cache_clear()
    yield


@pytest.fixture
def session_type(session: Session):
    """Open around the clock (UTC), no minimum notice; the default policy: 100 % until 24 h before,
    50 % until 2 h before, reschedule twice until 24 h before."""
    builder = make_builder(session, time_zone="UTC", hours=(time(0, 0), END_OF_DAY), name="Ada",
                           email="ada@builder.test")
    st = make_session_type(session, builder, price_amount=5000, currency="gbp", name="Consult",
                           location="https://meet.example/ada")
    session.commit()
    return st


# --- helpers ----------------------------------------------------------------------------------------


def hours_ahead(hours: float) -> datetime:
    """A slot start `hours` from now, on the half-hour grid."""
    moment = utcnow() + timedelta(hours=hours)
    return slot_from(moment.replace(minute=0 if moment.minute < 30 else 30, second=0, microsecond=0)
                     + timedelta(minutes=30))


def overlapping_half_hour(start: datetime) -> datetime:
    """A start half an hour from `start` (so the hours overlap) that never crosses the builder's midnight."""
    return start + timedelta(minutes=30) if start.hour < 23 else start - timedelta(minutes=30)


def slot_from(start: datetime) -> datetime:
    """`start`, unless it is 23:30: the builder's day ends at midnight (UTC), and an hour from 23:30 would
    cross it, so 00:00 instead."""
    return start + timedelta(minutes=30) if (start.hour, start.minute) == (23, 30) else start


def deliver(engine, gateway, evt: dict) -> int:
    payload = json.dumps(evt).encode()
    return handle_webhook(engine=engine, gateway=gateway, payload=payload, signature=se.sign(payload)).status_code


HOLD_KEY = "the-paying-browsers-hold-key"


def paid_booking(engine, gateway, emulator, session_type, start: datetime) -> tuple[str, str]:
    """A confirmed booking paid with 4242 through the emulator (by a browser holding HOLD_KEY);
    (booking id, payment intent id)."""
    started = payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS,
                                      session_type_id=session_type.id, start_time=start, client_name="Ann",
                                      client_email=CLIENT_EMAIL, client_time_zone="Europe/London",
                                      browser_hold_key=HOLD_KEY)
    result = httpx.post(f"{emulator.url}/_emulator/checkout/sessions/{started.checkout_session_id}/complete",
                        json={"card": "4242424242424242", "email": CLIENT_EMAIL, "name": "Ann"}, timeout=10).json()
    assert result["status"] == "succeeded"
    completed = [e for e in emulator.emulator.snapshot()["events"]
                 if e["type"] == "checkout.session.completed" and e["data"]["object"]["id"] == started.checkout_session_id]
    assert deliver(engine, gateway, {k: v for k, v in completed[0].items() if k != "delivery_status"}) == 200
    assert booking_of(engine, started.booking_id).status == BookingStatus.CONFIRMED
    return started.booking_id, result["payment_intent"]["id"]


def booking_of(engine, booking_id) -> Booking:
    with Session(engine) as s:
        return s.get(Booking, booking_id)


def messages(engine, booking_id, kind: str) -> dict[str, email.message.EmailMessage]:
    """The emails of one kind about a booking, built as the worker would send them, by recipient."""
    with Session(engine) as s:
        rows = s.exec(select(Notification).where(Notification.booking_id == booking_id,
                                                 Notification.kind == kind).order_by(Notification.id)).all()
        return {n.recipient: build_message(notification_id=n.id, kind=n.kind, recipient=n.recipient,
                                           payload=n.payload, now=utcnow()) for n in rows}


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def invite_of(message) -> str:
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return part.get_content() if isinstance(part.get_content(), str) else part.get_content().decode()


def token_from_email(engine, booking_id) -> str:
    text = text_of(messages(engine, booking_id, "booking_confirmed")[CLIENT_EMAIL])
    match = re.search(r"https://book\.example/manage/([A-Za-z0-9_-]{43})\b", text)
    assert match, text
    return match.group(1)


def stripe_refunds(emulator, payment_intent: str) -> list[dict]:
    return [r for r in emulator.emulator.snapshot()["refunds"] if r["payment_intent"] == payment_intent]


def is_bookable(engine, session_type, start: datetime) -> bool:
    with Session(engine) as s:
        found = slots.find_open_slots(session=s, session_type_id=session_type.id, from_day=start.date(), days=1,
                                      viewer_time_zone="UTC", now=utcnow())
    return any(slot.start == start for slot in found)


def all_rows_text(engine) -> str:
    with engine.connect() as connection:
        return json.dumps([[str(v) for v in row] for table in SQLModel.metadata.sorted_tables
                           for row in connection.execute(sa.select(table))])


class RefusingRefunds:
    """The real gateway, except that the next `failures` refunds are refused (a bank says no)."""

    def __init__(self, inner: StripeGateway, failures: int = 1) -> None:
        self.inner, self.failures, self.refund_calls = inner, failures, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def refund(self, **kwargs):
        self.refund_calls += 1
        if self.failures:
            self.failures -= 1
            raise PaymentProviderError("Stripe refused the refund: charge_disputed")
        return self.inner.refund(**kwargs)


# --- the link ------------------------------------------------------------------------------------------


def test_the_confirmation_carries_the_link_policy_location_and_the_builder_gets_contact_details(
        engine, gateway, emulator, session_type):
    booking_id, _ = paid_booking(engine, gateway, emulator, session_type, hours_ahead(48))

    token = token_from_email(engine, booking_id)

    sent = messages(engine, booking_id, "booking_confirmed")
    client_text = text_of(sent[CLIENT_EMAIL])
    assert "Free cancellation with a full refund until 24 hours before." in client_text
    assert "https://meet.example/ada" in client_text
    assert "Manage booking" in sent[CLIENT_EMAIL].get_body(preferencelist=("html",)).get_content()
    builder_text = text_of(sent["ada@builder.test"])
    assert CLIENT_EMAIL in builder_text and "Ann" in builder_text and "Europe/London" in builder_text
    assert "/manage/" not in builder_text
    assert all(m.get_body(preferencelist=("plain",)) is not None for m in sent.values())
    # Unguessable and apart from the booking id; stored only as its SHA-256.
    assert len(token) == 43 and booking_id not in token
    assert booking_of(engine, booking_id).manage_token_hash == manage_links.token_hash(token)
    assert token not in all_rows_text(engine)
    # The success page offers the same link to the browser that paid, and to no one else.
    assert receipts.booking_receipt(engine=engine, booking_id=booking_id,
                                    browser_hold_key=HOLD_KEY).summary.manage_path == f"/manage/{token}"
    assert receipts.booking_receipt(engine=engine, booking_id=booking_id).summary.manage_path == ""
    assert receipts.booking_receipt(engine=engine, booking_id=booking_id,
                                    browser_hold_key="a-strangers-key").summary.manage_path == ""
    # Nothing the builder receives (headers, text, html, the invite) names the booking id.
    builder_parts = [str(sent["ada@builder.test"].items())] + [
        part.get_content() for part in sent["ada@builder.test"].walk() if not part.is_multipart()]
    assert all(booking_id not in (p.decode() if isinstance(p, bytes) else p) for p in builder_parts)
    assert any("Booking reference" in (p.decode() if isinstance(p, bytes) else p) for p in builder_parts)


def test_a_wrong_or_malformed_token_finds_nothing(engine, gateway, emulator, session_type):
    booking_id, _ = paid_booking(engine, gateway, emulator, session_type, hours_ahead(48))
    token = token_from_email(engine, booking_id)
    forged = ("A" if token[0] != "A" else "B") + token[1:]

    assert manage.load_view(engine=engine, token=forged) is None
    assert manage.load_view(engine=engine, token=booking_id) is None
    assert manage.load_view(engine=engine, token="") is None
    with pytest.raises(manage.LinkNotFound):
        manage.cancel_by_client(engine=engine, gateway=gateway, token=forged)
    assert booking_of(engine, booking_id).status == BookingStatus.CONFIRMED


# --- cancel ---------------------------------------------------------------------------------------------


def test_cancel_in_the_free_window_refunds_in_full_frees_the_slot_and_emails_both(
        engine, gateway, emulator, session_type):
    start = hours_ahead(48)
    booking_id, payment_intent = paid_booking(engine, gateway, emulator, session_type, start)
    token = token_from_email(engine, booking_id)
    view = manage.load_view(engine=engine, token=token)
    assert view.refund_text.startswith("Cancel now and get £50.00 back (a full refund, until ")
    assert not is_bookable(engine, session_type, start)

    outcome = manage.cancel_by_client(engine=engine, gateway=gateway, token=token, expected_refund=5000)

    assert (outcome.ok, outcome.code) == (True, "cancelled")
    booking = booking_of(engine, booking_id)
    assert (booking.status, money(engine, booking_id).status, money(engine, booking_id).amount_refunded) == (
        BookingStatus.CANCELLED, PaymentStatus.REFUNDED, 5000)
    assert booking.end_cause == EndCause.CANCELLED_BY_CLIENT
    [at_stripe] = stripe_refunds(emulator, payment_intent)
    assert at_stripe["amount"] == 5000
    assert is_bookable(engine, session_type, start)
    cancelled = messages(engine, booking_id, "booking_cancelled")
    assert set(cancelled) == {CLIENT_EMAIL, "ada@builder.test"}
    assert "£50.00 has been refunded." in text_of(cancelled[CLIENT_EMAIL])
    assert "METHOD:CANCEL" in invite_of(cancelled["ada@builder.test"])
    with Session(engine) as s:
        assert "booking.cancel_by_client" in [e.action for e in s.exec(select(AuditEntry)).all()]
    # The same form again (a double click that arrived late): nothing more happens.
    again = manage.cancel_by_client(engine=engine, gateway=gateway, token=token)
    assert again.code == "already_cancelled" and len(stripe_refunds(emulator, payment_intent)) == 1


def test_cancel_in_the_partial_window_refunds_the_policy_share(engine, gateway, emulator, session_type):
    booking_id, payment_intent = paid_booking(engine, gateway, emulator, session_type, hours_ahead(6))
    token = token_from_email(engine, booking_id)
    view = manage.load_view(engine=engine, token=token)
    assert re.match(r"Cancel now and get £25\.00 back \(50 %, until \d\d:\d\d on \d+ \w{3}\)\.", view.refund_text)

    outcome = manage.cancel_by_client(engine=engine, gateway=gateway, token=token, expected_refund=2500)

    assert outcome.code == "cancelled" and "£25.00" in outcome.message
    booking = booking_of(engine, booking_id)
    assert (booking.status, money(engine, booking_id).status, money(engine, booking_id).amount_refunded) == (
        BookingStatus.CANCELLED, PaymentStatus.PARTIALLY_REFUNDED, 2500)
    assert [r["amount"] for r in stripe_refunds(emulator, payment_intent)] == [2500]


def test_after_the_last_window_cancelling_refunds_nothing_and_calls_no_stripe(engine, gateway, emulator, session_type):
    start = hours_ahead(48)
    booking_id, payment_intent = paid_booking(engine, gateway, emulator, session_type, start)
    token = token_from_email(engine, booking_id)
    an_hour_before = start - timedelta(hours=1)
    spy = RefusingRefunds(gateway, failures=0)

    assert manage.load_view(engine=engine, token=token, now=an_hour_before).refund_text.startswith(
        "Cancelling now refunds nothing")
    outcome = manage.cancel_by_client(engine=engine, gateway=spy, token=token, now=an_hour_before)

    assert outcome.code == "cancelled" and spy.refund_calls == 0
    assert stripe_refunds(emulator, payment_intent) == []
    assert booking_of(engine, booking_id).status == BookingStatus.CANCELLED
    other_id, _ = paid_booking(engine, gateway, emulator, session_type, start + timedelta(days=1))
    with pytest.raises(manage.NotAllowed):  # once started, it's too late even to cancel
        manage.cancel_by_client(engine=engine, gateway=gateway, token=token_from_email(engine, other_id),
                                now=start + timedelta(days=1, minutes=1))
    assert booking_of(engine, other_id).status == BookingStatus.CONFIRMED


def test_a_refund_the_page_no_longer_matches_is_refused_and_changes_nothing(engine, gateway, emulator, session_type):
    start = hours_ahead(48)
    booking_id, payment_intent = paid_booking(engine, gateway, emulator, session_type, start)
    token = token_from_email(engine, booking_id)

    with pytest.raises(manage.RefundChanged):  # the page said £50, but the free window has just closed
        manage.cancel_by_client(engine=engine, gateway=gateway, token=token, expected_refund=5000,
                                now=start - timedelta(hours=23))

    assert booking_of(engine, booking_id).status == BookingStatus.CONFIRMED
    assert stripe_refunds(emulator, payment_intent) == []


def test_a_refused_refund_keeps_the_booking_confirmed_and_a_retry_refunds_once(engine, gateway, emulator, session_type):
    start = hours_ahead(48)
    booking_id, payment_intent = paid_booking(engine, gateway, emulator, session_type, start)
    token = token_from_email(engine, booking_id)
    flaky = RefusingRefunds(gateway, failures=1)

    first = manage.cancel_by_client(engine=engine, gateway=flaky, token=token, expected_refund=5000)

    assert (first.ok, first.code) == (False, "refund_failed")
    booking = booking_of(engine, booking_id)
    assert (booking.status, money(engine, booking_id).status) == (BookingStatus.CONFIRMED, PaymentStatus.PAID)
    assert not is_bookable(engine, session_type, start)
    view = manage.load_view(engine=engine, token=token)
    assert view.can_cancel and "charge_disputed" in view.refund_failure
    assert messages(engine, booking_id, "booking_cancelled") == {}

    with ThreadPoolExecutor(max_workers=2) as pool:  # the Retry, clicked twice
        retries = list(pool.map(lambda _: manage.cancel_by_client(engine=engine, gateway=flaky, token=token),
                                range(2)))

    assert "cancelled" in {r.code for r in retries}
    assert {r.code for r in retries} <= {"cancelled", "already_cancelled", "in_progress"}
    assert [r["amount"] for r in stripe_refunds(emulator, payment_intent)] == [5000]
    with Session(engine) as s:
        rows = s.exec(select(Refund).where(Refund.booking_id == booking_id).order_by(Refund.id)).all()
    assert [(r.status, r.request_key) for r in rows] == [
        (RefundStatus.FAILED, f"client-cancel-{booking_id}-1"), (RefundStatus.SUCCEEDED, f"client-cancel-{booking_id}-2")]
    assert booking_of(engine, booking_id).status == BookingStatus.CANCELLED


# --- reschedule -------------------------------------------------------------------------------------------


def payment_rows(engine, booking_id) -> list[tuple]:
    with Session(engine) as s:
        return [(p.id, p.amount, p.status, p.amount_refunded, p.payment_intent_id)
                for p in s.exec(select(Payment).where(Payment.booking_id == booking_id)).all()]


def test_reschedule_keeps_the_payment_moves_the_slot_and_sends_a_newer_invite(engine, gateway, emulator, session_type):
    old_start = hours_ahead(72)
    booking_id, payment_intent = paid_booking(engine, gateway, emulator, session_type, old_start)
    token = token_from_email(engine, booking_id)
    paid_before = payment_rows(engine, booking_id)
    new_start = slot_from(old_start + timedelta(days=1, hours=2))
    offered = manage.reschedule_options(engine=engine, token=token, from_day=new_start.date(), time_zone="UTC", days=1)
    assert new_start.isoformat() in [slot.value for day in offered for slot in day.slots]

    outcome = manage.reschedule(engine=engine, token=token, new_start=new_start)

    assert (outcome.ok, outcome.code) == (True, "rescheduled")
    booking = booking_of(engine, booking_id)
    assert (booking.start_time, booking.end_time) == (new_start, new_start + timedelta(hours=1))
    assert (booking.status, booking.reschedule_count, booking.invite_sequence) == (BookingStatus.CONFIRMED, 1, 1)
    assert payment_rows(engine, booking_id) == paid_before == [
        (paid_before[0][0], 5000, PaymentStatus.PAID, 0, payment_intent)]
    assert stripe_refunds(emulator, payment_intent) == []
    assert is_bookable(engine, session_type, old_start) and not is_bookable(engine, session_type, new_start)
    moved = messages(engine, booking_id, "booking_rescheduled")
    assert set(moved) == {CLIENT_EMAIL, "ada@builder.test"}
    confirmed_invite = invite_of(messages(engine, booking_id, "booking_confirmed")[CLIENT_EMAIL])
    uid = re.search(r"UID:(\S+)", confirmed_invite).group(1)
    for message in moved.values():
        invite = invite_of(message)
        assert "METHOD:REQUEST" in invite and "SEQUENCE:1" in invite and f"UID:{uid}" in invite
        assert new_start.strftime("DTSTART:%Y%m%dT%H%M%SZ") in invite
        assert "Previously" in text_of(message)
    assert "SEQUENCE:0" in confirmed_invite
    download = manage.invite_for_token(engine=engine, token=token).decode()
    assert f"UID:{uid}" in download and "SEQUENCE:1" in download


def test_a_move_that_overlaps_its_own_old_time_is_allowed(engine, gateway, emulator, session_type):
    start = hours_ahead(72)
    booking_id, _ = paid_booking(engine, gateway, emulator, session_type, start)
    token = token_from_email(engine, booking_id)
    half_an_hour_later = overlapping_half_hour(start)
    offered = manage.reschedule_options(engine=engine, token=token, from_day=start.date(), time_zone="UTC", days=2)
    values = [slot.value for day in offered for slot in day.slots]
    assert half_an_hour_later.isoformat() in values and start.isoformat() not in values

    assert manage.reschedule(engine=engine, token=token, new_start=half_an_hour_later).code == "rescheduled"
    assert booking_of(engine, booking_id).start_time == half_an_hour_later


def test_the_reschedule_limit_and_window_are_enforced(engine, gateway, emulator, session_type):
    start = hours_ahead(24 * 10)
    booking_id, _ = paid_booking(engine, gateway, emulator, session_type, start)
    token = token_from_email(engine, booking_id)
    first, second, third = (start + timedelta(days=n) for n in (1, 2, 3))

    manage.reschedule(engine=engine, token=token, new_start=first)
    manage.reschedule(engine=engine, token=token, new_start=second)
    with pytest.raises(manage.NotAllowed, match="2 times"):
        manage.reschedule(engine=engine, token=token, new_start=third)
    assert booking_of(engine, booking_id).start_time == second

    other_start = slot_from(start + timedelta(hours=3))
    other_id, _ = paid_booking(engine, gateway, emulator, session_type, other_start)
    other = token_from_email(engine, other_id)
    with pytest.raises(manage.NotAllowed, match="too late"):
        manage.reschedule(engine=engine, token=other, new_start=third, now=other_start - timedelta(hours=23))
    assert not manage.load_view(engine=engine, token=other, now=start - timedelta(hours=20)).can_reschedule


def test_a_taken_slot_is_refused_and_nothing_moves(engine, gateway, emulator, session_type):
    start = hours_ahead(72)
    booking_id, _ = paid_booking(engine, gateway, emulator, session_type, start)
    taken = start + timedelta(days=1)
    paid_booking(engine, gateway, emulator, session_type, taken)
    token = token_from_email(engine, booking_id)

    with pytest.raises(manage.SlotTaken):
        manage.reschedule(engine=engine, token=token, new_start=overlapping_half_hour(taken))

    booking = booking_of(engine, booking_id)
    assert (booking.start_time, booking.reschedule_count, booking.invite_sequence) == (start, 0, 0)


def test_two_bookings_racing_for_one_slot_one_wins_cleanly(engine, gateway, emulator, session_type):
    first_id, _ = paid_booking(engine, gateway, emulator, session_type, hours_ahead(72))
    second_id, _ = paid_booking(engine, gateway, emulator, session_type, hours_ahead(96))
    tokens = [token_from_email(engine, first_id), token_from_email(engine, second_id)]
    target = hours_ahead(24 * 6)

    def move(token):
        try:
            return manage.reschedule(engine=engine, token=token, new_start=target).code
        except manage.SlotTaken:
            return "slot_taken"

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = sorted(pool.map(move, tokens))

    assert results == ["rescheduled", "slot_taken"]
    with Session(engine) as s:
        at_target = s.exec(select(Booking).where(Booking.start_time == target,
                                                 Booking.status == BookingStatus.CONFIRMED)).all()
    assert len(at_target) == 1


# --- the HTTP routes: POST with CSRF, never GET ----------------------------------------------------------


@pytest.fixture
def api_client():
    from booking_ui.api import build_api

    return TestClient(build_api(), base_url=PUBLIC_URL, follow_redirects=False)


def form_for(token: str, action: str, **fields) -> dict:
    return {"csrf_token": manage_links.csrf_token(manage_links.token_hash(token), action), **fields}


def test_changes_need_a_post_from_our_origin_with_the_right_csrf_token(engine, gateway, emulator, session_type,
                                                                     api_client):
    booking_id, payment_intent = paid_booking(engine, gateway, emulator, session_type, hours_ahead(48))
    token = token_from_email(engine, booking_id)
    url = routes.manage_action(token, "cancel")
    ours = {"Origin": PUBLIC_URL}

    assert api_client.get(url).status_code == 405
    assert api_client.post(url, data={}, headers=ours).status_code == 403
    assert api_client.post(url, data={"csrf_token": "forged"}, headers=ours).status_code == 403
    wrong_action = form_for(token, "reschedule")
    assert api_client.post(url, data=wrong_action, headers=ours).status_code == 403
    good = form_for(token, "cancel", expected_refund="5000")
    assert api_client.post(url, data=good, headers={"Origin": "https://evil.example"}).status_code == 403
    assert api_client.post(url, data=good, headers={"Referer": "https://evil.example/x"}).status_code == 403
    assert api_client.post(url, data=good).status_code == 403  # neither Origin nor Referer
    assert booking_of(engine, booking_id).status == BookingStatus.CONFIRMED
    assert stripe_refunds(emulator, payment_intent) == []

    response = api_client.post(url, data=good, headers={"Referer": f"{PUBLIC_URL}/manage/{token}"})

    assert response.status_code == 303
    assert response.headers["location"] == f"/manage/{token}?done=cancelled"
    assert booking_of(engine, booking_id).status == BookingStatus.CANCELLED


def test_the_reschedule_route_answers_with_the_outcome(engine, gateway, emulator, session_type, api_client):
    start = hours_ahead(72)
    booking_id, _ = paid_booking(engine, gateway, emulator, session_type, start)
    token = token_from_email(engine, booking_id)
    url = routes.manage_action(token, "reschedule")
    headers = {"Origin": PUBLIC_URL}
    new_start = start + timedelta(days=1)

    assert api_client.get(url).status_code == 405
    bad = api_client.post(url, data=form_for(token, "reschedule", start="not a time"), headers=headers)
    assert bad.headers["location"].endswith("?done=not_allowed")
    moved = api_client.post(url, data=form_for(token, "reschedule", start=new_start.isoformat()), headers=headers)

    assert moved.status_code == 303 and moved.headers["location"].endswith("?done=rescheduled")
    assert booking_of(engine, booking_id).start_time == new_start
    ics = api_client.get(routes.manage_invite(token))
    assert ics.status_code == 200 and "SEQUENCE:1" in ics.text
    assert api_client.get(routes.manage_invite("x" * 43)).status_code == 404


def test_the_secret_key_file_is_made_once_and_private(tmp_path, monkeypatch):
    from booking.core import config

    monkeypatch.delenv("SECRET_KEY", raising=False)
    settings = load_settings(SECRET_KEY_FILE=str(tmp_path / "var" / "secret_key"))
    config._key_from_file.cache_clear()

    first = config.secret_key(settings)
    config._key_from_file.cache_clear()

    assert config.secret_key(settings) == first and len(first) >= 32
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("new_start", ["9999-12-31T10:00:00+00:00", "0001-01-01T10:00:00+05:00",
                                       "0001-01-01T00:00:00-05:00", "9999-12-31T23:00:00-05:00"])
def test_a_reschedule_to_year_1_or_9999_is_refused_with_a_reason(engine, gateway, emulator, session_type, api_client,
                                                                  new_start):
    start = hours_ahead(72)
    booking_id, _ = paid_booking(engine, gateway, emulator, session_type, start)
    token = token_from_email(engine, booking_id)

    response = api_client.post(routes.manage_action(token, "reschedule"),
                               data=form_for(token, "reschedule", start=new_start), headers={"Origin": PUBLIC_URL})

    assert response.status_code == 422
    assert "outside the times you can book" in response.text
    with pytest.raises(manage.NotAllowed, match="outside the times you can book"):
        manage.reschedule(engine=engine, token=token, new_start=datetime.fromisoformat(new_start))
    assert booking_of(engine, booking_id).start_time == start
