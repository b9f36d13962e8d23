"""The defects a new client hit (issue 9, item 4), on a real database with the in-memory gateway.

- the browser's own hold is recognised (Back from Checkout), and one browser holds one slot at a time;
- an internationalised address is delivered (mail folder, SMTP with SMTPUTF8) or failed clearly, never
  charged and then lost to a UnicodeEncodeError;
- "payment didn't go through" and "hold expired" are checked again when they are sent.
"""

from __future__ import annotations

import email
import hashlib
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.policy import default as default_policy
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from booking.client import holds, receipts
from booking.core.config import load_settings
from booking.core.db import session_scope
from booking.core.models import Booking, BookingStatus, EndCause, Notification, NotificationStatus
from booking.lifecycle import checkout as payments
from booking.lifecycle import transitions as bookings
from booking.notifications.mailer import FolderMailer, SmtpMailer
from booking.notifications.outbox import (
    SKIPPED_BOOKED_AGAIN,
    SKIPPED_HOLD_NOT_EXPIRED,
    NotificationKind,
    send_due_notifications,
)
from booking.payments import ledger as payment_records
from tests.conftest import free_port
from tests.factories import make_builder, make_session_type
from tests.support.fake_gateway import FakeGateway
from tests.support.ledger import money

NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)
SETTINGS = load_settings(PUBLIC_URL="https://book.example", HOLD_MINUTES=30)
BROWSER = "browser-key-" + "a" * 32
OTHER_BROWSER = "browser-key-" + "b" * 32
UNICODE_ADDRESS = "ünï@exämple.com"


def at(hour: int) -> datetime:
    return (NOW + timedelta(days=2)).replace(hour=hour, minute=0)


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def session_type(session: Session):
    builder = make_builder(session, time_zone="UTC")
    st = make_session_type(session, builder, price_amount=5000, currency="gbp", name="Quick consult",
                           location="https://meet.example/room")
    session.commit()
    return st


def begin(engine, gateway, session_type, *, start=None, email="ann@example.com", key=BROWSER, name="Ann"):
    return payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS,
                                   session_type_id=session_type.id, start_time=start or at(10), client_name=name,
                                   client_email=email, browser_hold_key=key)


def booking(engine, booking_id: str) -> Booking:
    with Session(engine) as s:
        return s.get(Booking, booking_id)


def notifications(engine, booking_id: str) -> list[Notification]:
    with Session(engine) as s:
        return list(s.exec(select(Notification).where(Notification.booking_id == booking_id)
                           .order_by(Notification.id)).all())


def pay(engine, gateway, checkout_session_id: str) -> None:
    gateway.pay(checkout_session_id, payment_intent_id=f"pi_{checkout_session_id}")
    assert receipts.confirm_from_success_page(engine=engine, gateway=gateway,
                                              checkout_session_id=checkout_session_id).state == "confirmed"


# --- the browser's own hold -------------------------------------------------------------------------------


def test_the_hold_is_recognised_by_its_browser_only_and_stores_the_key_hashed(engine, gateway, session_type):
    started = begin(engine, gateway, session_type, name="  Ann Client ")

    held = booking(engine, started.booking_id)
    assert held.browser_hold_key == hashlib.sha256(BROWSER.encode()).hexdigest()
    assert BROWSER not in (held.browser_hold_key or "")
    assert held.client_name == "Ann Client"
    with session_scope(engine) as s:
        mine = holds.current_hold(session=s, browser_hold_key=BROWSER, viewer_time_zone="Asia/Tokyo")
        theirs = holds.current_hold(session=s, browser_hold_key=OTHER_BROWSER, viewer_time_zone="UTC")
        nobody = holds.current_hold(session=s, browser_hold_key="", viewer_time_zone="UTC")
    assert theirs is None and nobody is None
    assert mine.session_type_id == str(session_type.id)
    local_start = at(10).astimezone(ZoneInfo("Asia/Tokyo"))
    assert mine.when_24.endswith(f"{local_start:%H:%M}–{(local_start + timedelta(hours=1)):%H:%M}")
    tokyo_until = held.hold_expires_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert mine.until_24 == f"{tokyo_until:%H:%M}"


def test_continue_to_payment_returns_to_the_same_open_checkout(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)

    continued = holds.continue_browser_hold(engine=engine, gateway=gateway, settings=SETTINGS,
                                            browser_hold_key=BROWSER)

    assert (continued.paid, continued.checkout_session_id) == (False, started.checkout_session_id)
    assert continued.checkout_url == started.checkout_url
    assert len(gateway.created) == 1 and gateway.expired == []


def test_continue_after_the_checkout_closed_opens_a_new_one_for_the_same_hold(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)
    gateway.expire_checkout_session(started.checkout_session_id, idempotency_key="test")  # e.g. closed by Stripe

    continued = holds.continue_browser_hold(engine=engine, gateway=gateway, settings=SETTINGS,
                                            browser_hold_key=BROWSER)

    assert continued.checkout_session_id != started.checkout_session_id
    current = booking(engine, started.booking_id)
    assert current.status == BookingStatus.PENDING
    assert money(engine, started.booking_id).checkout_session_id == continued.checkout_session_id


def test_continue_when_it_was_paid_meanwhile_goes_to_the_confirmation(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)
    gateway.pay(started.checkout_session_id)

    continued = holds.continue_browser_hold(engine=engine, gateway=gateway, settings=SETTINGS,
                                            browser_hold_key=BROWSER)

    assert continued.paid and booking(engine, started.booking_id).status == BookingStatus.CONFIRMED


def test_continue_or_release_without_a_live_hold_is_refused(engine, gateway, session_type):
    begin(engine, gateway, session_type)

    with pytest.raises(payments.HoldNotActive):
        holds.continue_browser_hold(engine=engine, gateway=gateway, settings=SETTINGS, browser_hold_key=OTHER_BROWSER)
    with pytest.raises(payments.HoldNotActive):
        holds.release_browser_hold(engine=engine, gateway=gateway, browser_hold_key="")


def test_pick_another_time_releases_the_browsers_hold_and_frees_the_slot(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)

    assert holds.release_browser_hold(engine=engine, gateway=gateway, browser_hold_key=BROWSER)

    assert booking(engine, started.booking_id).status == BookingStatus.CANCELLED
    assert gateway.expired == [started.checkout_session_id]
    begin(engine, gateway, session_type, key=OTHER_BROWSER, email="bob@example.com")  # the slot is free again


def test_one_browser_holds_one_slot_a_second_checkout_releases_the_first(engine, gateway, session_type):
    first = begin(engine, gateway, session_type, start=at(10))

    second = begin(engine, gateway, session_type, start=at(12))

    assert booking(engine, first.booking_id).status == BookingStatus.CANCELLED
    assert booking(engine, second.booking_id).status == BookingStatus.PENDING
    assert gateway.expired == [first.checkout_session_id]  # its Checkout page can no longer take money
    with Session(engine) as s:
        live = s.exec(select(Booking).where(Booking.status == BookingStatus.PENDING)).all()
    assert [b.id for b in live] == [second.booking_id]


def test_the_same_browser_can_pick_the_very_time_it_held(engine, gateway, session_type):
    first = begin(engine, gateway, session_type, start=at(10))

    again = begin(engine, gateway, session_type, start=at(10))

    assert booking(engine, first.booking_id).status == BookingStatus.CANCELLED
    assert booking(engine, again.booking_id).status == BookingStatus.PENDING


def test_another_browser_cannot_release_someone_elses_hold(engine, gateway, session_type):
    first = begin(engine, gateway, session_type, start=at(10))

    begin(engine, gateway, session_type, start=at(12), key=OTHER_BROWSER, email="bob@example.com")
    with pytest.raises(payments.SlotUnavailable):
        begin(engine, gateway, session_type, start=at(10), key=OTHER_BROWSER, email="bob@example.com")

    assert booking(engine, first.booking_id).status == BookingStatus.PENDING


def test_a_paid_booking_is_never_released_by_a_new_hold(engine, gateway, session_type):
    first = begin(engine, gateway, session_type, start=at(10))
    pay(engine, gateway, first.checkout_session_id)

    begin(engine, gateway, session_type, start=at(12))

    assert booking(engine, first.booking_id).status == BookingStatus.CONFIRMED


# --- internationalised addresses --------------------------------------------------------------------------


@pytest.mark.parametrize(("address", "ok"), [
    (UNICODE_ADDRESS, True), ("ann@exämple.com", True), ("ann@example.com", True),
    ("not-an-email", False), ("a@b", False), ("ann@@example.com", False), ("a b@example.com", False),
])
def test_the_form_accepts_deliverable_addresses_and_refuses_the_rest(address, ok):
    errors = payments.client_detail_errors(name="Ann", email=address)
    assert ("client_email" not in errors) is ok


def test_stripe_gets_the_ascii_domain_whenever_the_local_part_allows(engine, gateway, session_type):
    begin(engine, gateway, session_type, email="Ann@Exämple.com")

    request, _ = gateway.created[-1]
    assert request.customer_email == "ann@xn--exmple-cua.com"
    begin(engine, gateway, session_type, email=UNICODE_ADDRESS, start=at(12), key=OTHER_BROWSER)
    request, _ = gateway.created[-1]
    assert request.customer_email == "ünï@xn--exmple-cua.com"


def test_a_unicode_address_is_charged_confirmed_and_its_email_written_to_the_mail_folder(engine, gateway,
                                                                                         session_type, tmp_path):
    started = begin(engine, gateway, session_type, email=UNICODE_ADDRESS, name="Ünï Client")
    pay(engine, gateway, started.checkout_session_id)

    report = send_due_notifications(engine=engine, mailer=FolderMailer(tmp_path))

    assert (report.sent, report.failed, report.retried) == (2, 0, 0)
    messages = [email.message_from_bytes(path.read_bytes(), policy=default_policy) for path in tmp_path.glob("*.eml")]
    # (Python's parser reads 8-bit headers with surrogates; their text is what a mail client shows.)
    [to_client] = [m for m in messages if str(m["To"]) == "Ünï Client <ünï@xn--exmple-cua.com>"]
    assert "Confirmed" in to_client["Subject"]
    assert "Ünï Client" in to_client.get_body(("plain",)).get_content()


class _Collecting:
    def __init__(self) -> None:
        self.received: list[tuple[list[str], list[str], email.message.EmailMessage]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=default_policy)
        with self._lock:
            self.received.append((list(envelope.rcpt_tos), list(envelope.mail_options), message))
        return "250 Message accepted"


@pytest.fixture(params=[True, False], ids=["smtputf8", "ascii-only-server"])
def smtp_server(request) -> Iterator[tuple[str, _Collecting, bool]]:
    handler = _Collecting()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=request.param)
    controller.start()
    yield f"smtp://127.0.0.1:{port}", handler, request.param
    controller.stop()


def test_smtp_delivers_a_unicode_address_with_smtputf8_or_fails_it_clearly(engine, gateway, session_type,
                                                                          smtp_server):
    url, handler, smtputf8 = smtp_server
    started = begin(engine, gateway, session_type, email=UNICODE_ADDRESS)
    pay(engine, gateway, started.checkout_session_id)

    report = send_due_notifications(engine=engine, mailer=SmtpMailer(url))

    client_row = next(n for n in notifications(engine, started.booking_id) if n.recipient == UNICODE_ADDRESS)
    if smtputf8:
        assert (report.sent, report.failed) == (2, 0)
        [(rcpts, options, message)] = [r for r in handler.received if r[0] == ["ünï@xn--exmple-cua.com"]]
        assert "SMTPUTF8" in options
        assert str(message["To"]).endswith("<ünï@xn--exmple-cua.com>")
    else:  # the booking stays confirmed; the outbox says exactly why this one email could not go
        assert (report.sent, report.failed) == (1, 1)
        assert client_row.status == NotificationStatus.FAILED
        assert "SMTPUTF8" in client_row.last_error and "UnicodeEncodeError" not in client_row.last_error
    assert booking(engine, started.booking_id).status == BookingStatus.CONFIRMED


def test_an_idn_domain_with_an_ascii_local_part_needs_no_smtputf8(engine, gateway, session_type, smtp_server):
    url, handler, _ = smtp_server
    started = begin(engine, gateway, session_type, email="ann@exämple.com")
    pay(engine, gateway, started.checkout_session_id)

    report = send_due_notifications(engine=engine, mailer=SmtpMailer(url))

    assert (report.sent, report.failed) == (2, 0)
    [(rcpts, options, _)] = [r for r in handler.received if r[0] == ["ann@xn--exmple-cua.com"]]
    assert "SMTPUTF8" not in options


# --- emails checked again when they are sent -----------------------------------------------------------------


def _decline(engine, booking_id: str, cause: str) -> None:
    """A card declined on the Checkout page, as the payment_intent.payment_failed webhook records it."""
    with session_scope(engine) as s:
        payment_records.mark_failed(session=s, payment=payment_records.current_payment(session=s, booking=booking_id),
                                    code="card_declined", message=cause)
        assert bookings.record_payment_failure(session=s, booking_id=booking_id, payment_intent_id=f"pi_{cause}",
                                               cause=cause)


def test_a_decline_then_a_retry_that_pays_sends_no_payment_failed_email(engine, gateway, session_type, tmp_path):
    started = begin(engine, gateway, session_type)
    _decline(engine, started.booking_id, "declined-1")  # shown on the Checkout page: no email
    retried = payments.retry_checkout(engine=engine, gateway=gateway, settings=SETTINGS, booking_id=started.booking_id)
    pay(engine, gateway, retried.checkout_session_id)

    send_due_notifications(engine=engine, mailer=FolderMailer(tmp_path))

    assert NotificationKind.PAYMENT_FAILED not in [n.kind for n in notifications(engine, started.booking_id)]
    assert not any("didn" in p.read_text() for p in tmp_path.glob("*.eml"))


def test_a_decline_then_booking_another_time_sends_no_payment_failed_email(engine, gateway, session_type,
                                                                          tmp_path):
    first = begin(engine, gateway, session_type, start=at(10))
    _decline(engine, first.booking_id, "declined-1")
    second = begin(engine, gateway, session_type, start=at(12))  # Back, another time: the first is released
    pay(engine, gateway, second.checkout_session_id)

    send_due_notifications(engine=engine, mailer=FolderMailer(tmp_path))

    assert notifications(engine, first.booking_id) == []


def test_the_unpaid_endings_email_is_skipped_when_the_client_booked_again_before_it_went(engine, gateway,
                                                                                        session_type, tmp_path):
    first = begin(engine, gateway, session_type, start=at(10))
    _decline(engine, first.booking_id, "declined-1")
    later = datetime.now(timezone.utc) + timedelta(minutes=45)
    assert payments.sweep_expired_holds(engine=engine, gateway=gateway, now=later) == 1  # queued, with a grace
    second = begin(engine, gateway, session_type, start=at(12))
    pay(engine, gateway, second.checkout_session_id)

    report = send_due_notifications(engine=engine, mailer=FolderMailer(tmp_path), now=later + timedelta(minutes=3))

    [failed_row] = [n for n in notifications(engine, first.booking_id) if n.kind == NotificationKind.PAYMENT_FAILED]
    assert failed_row.last_error == SKIPPED_BOOKED_AGAIN
    assert report.skipped == 1


def test_a_declined_hold_that_runs_out_sends_one_payment_failed_email(engine, gateway, session_type, tmp_path):
    started = begin(engine, gateway, session_type)
    _decline(engine, started.booking_id, "declined-1")
    later = datetime.now(timezone.utc) + timedelta(minutes=45)
    assert payments.sweep_expired_holds(engine=engine, gateway=gateway, now=later) == 1

    report = send_due_notifications(engine=engine, mailer=FolderMailer(tmp_path), now=later + timedelta(minutes=3))

    assert (report.sent, report.skipped) == (1, 0)
    assert [n.kind for n in notifications(engine, started.booking_id)] == [NotificationKind.PAYMENT_FAILED]


def test_an_expired_hold_sends_hold_expired_with_a_link_to_book_again(engine, gateway, session_type, tmp_path):
    begin(engine, gateway, session_type)
    later = datetime.now(timezone.utc) + timedelta(minutes=45)
    assert payments.sweep_expired_holds(engine=engine, gateway=gateway, now=later) == 1

    too_soon = send_due_notifications(engine=engine, mailer=FolderMailer(tmp_path), now=later)
    report = send_due_notifications(engine=engine, mailer=FolderMailer(tmp_path), now=later + timedelta(minutes=3))

    assert too_soon.total == 0 and report.sent == 1  # after a short grace
    [message] = [email.message_from_bytes(p.read_bytes(), policy=default_policy) for p in tmp_path.glob("*.eml")]
    # .strip(): a subject of 70-odd characters is folded right after "Subject:", and Python's parser keeps
    # the fold's leading space (mail clients unfold it away); the builder's number decides the length.
    assert message["Subject"].strip().startswith("Hold expired")
    text = message.get_body(("plain",)).get_content()
    book_again = next(line for line in text.splitlines() if line.startswith("Book again: "))
    # The readable address (/<builder>/<type>; a type without a slug is addressed by its id there).
    assert book_again.endswith(f"/{session_type_builder_slug(engine, session_type)}/{session_type.id}")
    assert "meet.example" not in text  # never the location of an unpaid booking


def test_hold_expired_is_skipped_when_the_client_released_the_hold_meanwhile(engine, gateway, session_type, tmp_path):
    started = begin(engine, gateway, session_type)
    with session_scope(engine) as s:  # the expiry webhook of "Pick another time" landed first...
        assert bookings.end_hold_now(session=s, booking_id=started.booking_id, cause=EndCause.EXPIRED)
    with session_scope(engine) as s:  # ...then the release itself
        assert bookings.end_hold_now(session=s, booking_id=started.booking_id, cause=EndCause.RELEASED_BY_CLIENT)

    report = send_due_notifications(engine=engine, mailer=FolderMailer(tmp_path),
                                    now=datetime.now(timezone.utc) + timedelta(minutes=5))

    [row] = [n for n in notifications(engine, started.booking_id) if n.kind == NotificationKind.HOLD_EXPIRED]
    assert row.last_error == SKIPPED_HOLD_NOT_EXPIRED and report.skipped == 1
    assert not money(engine, started.booking_id).paid


# --- the booking page's state, driven without a browser ----------------------------------------------------


def _book_state(session_type_id: int, hold_key: str = ""):
    import reflex as rx
    from reflex.istate.data import RouterData

    import booking_ui.booking_ui  # noqa: F401 - registers the pages, so the route's argument exists on the state
    from booking_ui.state.book import BookState

    root = rx.State(_reflex_internal_init=True)
    root.router = RouterData.from_router_data({
        "pathname": "/book/[session_type_id]", "asPath": f"/book/{session_type_id}",
        "query": {"session_type_id": str(session_type_id)}, "headers": {"origin": "http://localhost:3000"}})
    state = root.get_substate(BookState.get_full_name().split(".")[1:])
    state.hold_key = hold_key
    return state


def test_booking_page_state_back_from_checkout_finds_the_hold_and_continues_to_the_same_page(
        engine, gateway, session_type, monkeypatch):
    from booking_ui import deps
    from tests.support.admin_states import call, redirect_path

    monkeypatch.setattr(deps, "gateway", lambda: gateway)
    page = _book_state(session_type.id)
    call(page, "load")
    call(page, "set_browser_preferences", {"tz": "Asia/Calcutta", "hour12": True})
    assert page.time_zone == "Asia/Kolkata" and page.zone_now.startswith("India Time — ")
    assert page.page_title == f"Book Quick consult with {page.summary.builder_name} · Book a builder"
    assert page.summary.how == "Video call" and "meet.example" not in str(page.summary)
    assert page.times and page.times[0].label_12.endswith(("AM", "PM"))
    call(page, "choose", page.times[0].start)
    call(page, "pay", {"client_name": "", "client_email": "ünï@exämple"})
    assert page.name_error and page.email_error and page.error_summary.startswith("Please fix 2 problems")
    call(page, "pay", {"client_name": "Ünï", "client_email": UNICODE_ADDRESS})
    assert page.paying and page.hold_key
    spec = call(page, "start_payment")
    checkout_url = redirect_path(spec)
    assert checkout_url == "https://checkout.example/pay"

    back = _book_state(session_type.id, hold_key=page.hold_key)  # Back: a fresh page, the same browser
    call(back, "load")
    call(back, "set_browser_preferences", {"tz": "Asia/Kolkata", "hour12": False})
    assert back.held is not None and back.held_until and back.held_when
    assert any(t.held for t in back.times)  # the held time shows, marked, rather than vanishing
    assert redirect_path(call(back, "continue_hold")) == checkout_url
    assert len(gateway.created) == 1

    stranger = _book_state(session_type.id, hold_key=OTHER_BROWSER)
    call(stranger, "load")
    call(stranger, "set_browser_preferences", {"tz": "UTC", "hour12": False})
    assert stranger.held is None and not any(t.held for t in stranger.times)

    call(back, "load")  # Back from Checkout once more, then "Pick another time"
    call(back, "set_browser_preferences", {"tz": "Asia/Kolkata", "hour12": False})
    call(back, "release_hold")
    assert back.held is None and back.notice == ""
    assert not any(t.held for t in back.times)
    with Session(engine) as s:
        assert s.exec(select(Booking)).one().status == BookingStatus.CANCELLED


def session_type_builder_slug(engine, session_type) -> str:
    from booking.core.models import Builder

    with Session(engine) as fresh:
        return fresh.get(Builder, session_type.builder_id).slug
