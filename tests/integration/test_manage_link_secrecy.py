"""Issue #14: the manage link stays secret. Each path the probe used, driven through the pages' states:
a stranger who opens /payment/cancel?booking=<id> or /payment/success?session_id=<a paid cs id> gets no
manage path; the browser that paid (its hold key) still does."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session

from booking.client import receipts
from booking.core.config import load_settings
from booking.core.models import Booking, BookingStatus
from booking.lifecycle import checkout as payments
from tests.factories import make_builder, make_session_type
from tests.support.admin_states import call, redirect_path
from tests.support.fake_gateway import FakeGateway

SETTINGS = load_settings(PUBLIC_URL="https://book.example", HOLD_MINUTES=30)
PAYER = "payer-browser-key-" + "a" * 32
STRANGER = "stranger-browser-key-" + "b" * 32
START = (datetime.now(timezone.utc) + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)


@pytest.fixture
def gateway(monkeypatch) -> FakeGateway:
    from booking_ui import deps

    fake = FakeGateway()
    monkeypatch.setattr(deps, "gateway", lambda: fake)
    return fake


@pytest.fixture
def session_type(session: Session):
    builder = make_builder(session, time_zone="UTC")
    st = make_session_type(session, builder, price_amount=5000, currency="gbp", name="Quick consult",
                           location="https://meet.example/room")
    session.commit()
    return st


def begin(engine, gateway, session_type, key: str = PAYER):
    return payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS,
                                   session_type_id=session_type.id, start_time=START, client_name="Ann",
                                   client_email="ann@example.com", browser_hold_key=key)


def page_state(cls, path: str, query: dict[str, str], hold_key: str = ""):
    """A page's state in a fresh browser tab whose local storage holds `hold_key` (a stranger: none)."""
    import reflex as rx
    from reflex.istate.data import RouterData

    import booking_ui.booking_ui  # noqa: F401 - registers the pages
    from booking_ui.state.book import BookState

    root = rx.State(_reflex_internal_init=True)
    root.router = RouterData.from_router_data({
        "pathname": path, "asPath": path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""),
        "query": query, "headers": {"origin": "http://localhost:3000"}})
    root.get_substate(BookState.get_full_name().split(".")[1:]).hold_key = hold_key
    return root.get_substate(cls.get_full_name().split(".")[1:])


def visible_text(state) -> str:
    """Everything the page's state sends the browser (its vars, as the frontend receives them)."""
    return str(state.dict())


def test_a_stranger_opening_the_cancel_url_with_a_booking_id_gets_no_manage_path(engine, gateway, session_type):
    from booking_ui.state.payment import CancelState

    started = begin(engine, gateway, session_type)
    gateway.pay(started.checkout_session_id)
    receipts.confirm_from_success_page(engine=engine, gateway=gateway, checkout_session_id=started.checkout_session_id)
    with Session(engine) as s:
        booking = s.get(Booking, started.booking_id)
        assert booking.status == BookingStatus.CONFIRMED and booking.manage_token_hash

    for key in ("", STRANGER):
        page = page_state(CancelState, "/payment/cancel", {"booking": started.booking_id}, hold_key=key)
        call(page, "load")
        assert page.state == "unknown" and page.summary is None
        assert "/manage/" not in visible_text(page) and started.booking_id not in visible_text(page)
        assert call(page, "try_again") is None and call(page, "pick_another_time") is None  # nothing to act on
        assert len(gateway.created) == 1

    # The paying browser's own cancel page shows its booking, still without the manage path.
    own = page_state(CancelState, "/payment/cancel", {}, hold_key=PAYER)
    call(own, "load")
    assert own.state == "confirmed" and own.summary.manage_path == ""
    assert "/manage/" not in visible_text(own)


def test_the_cancel_page_works_by_the_hold_key_alone(engine, gateway, session_type):
    from booking_ui.state.payment import CancelState

    started = begin(engine, gateway, session_type)
    assert gateway.created[0][0].cancel_url == "https://book.example/payment/cancel"
    page = page_state(CancelState, "/payment/cancel", {}, hold_key=PAYER)
    call(page, "load")
    assert page.state == "held" and page.summary.id == started.booking_id
    assert redirect_path(call(page, "try_again")) == "https://checkout.example/pay"
    assert len(gateway.created) == 2  # a new Checkout Session for the same hold


def test_a_stranger_opening_a_paid_success_url_is_told_only_that_it_was_paid(engine, gateway, session_type):
    from booking_ui.state.payment import SuccessState

    started = begin(engine, gateway, session_type)
    gateway.pay(started.checkout_session_id)
    query = {"session_id": started.checkout_session_id}
    private = ("Ann", "ann@example.com", "meet.example", "Quick consult", "/manage/", "/api/invites/",
               started.booking_id, START.strftime("%H:%M"))

    for key in ("", STRANGER):  # even first, before the paying browser ever came back
        stranger = page_state(SuccessState, "/payment/success", query, hold_key=key)
        call(stranger, "load")
        assert stranger.state == "confirmed" and not stranger.own and stranger.summary is None
        assert stranger.page_title.startswith("Payment received")
        assert not [word for word in private if word in visible_text(stranger)]
        # Nothing to act on either: the buttons of an unpaid page need the booking.
        assert call(stranger, "pick_another_time") is None and call(stranger, "continue_payment") is None

    payer = page_state(SuccessState, "/payment/success", query, hold_key=PAYER)
    call(payer, "load")
    assert payer.state == "confirmed" and payer.own and payer.manage_path.startswith("/manage/")
    assert payer.summary.manage_path == ""  # derived when the page is sent, never kept in the stored state
    assert payer.summary.location == "https://meet.example/room" and payer.summary.client_email == "ann@example.com"
    assert payer.summary.invite_path.startswith("/api/invites/")

    again = page_state(SuccessState, "/payment/success", query, hold_key=STRANGER)
    call(again, "load")
    assert again.summary is None and again.manage_path == "" and payer.manage_path not in visible_text(again)


def test_the_invite_download_is_keyed_by_a_signed_link_not_the_booking_id(engine, gateway, session_type):
    from starlette.testclient import TestClient

    from booking.notifications import invites
    from booking_ui import api
    from booking_ui.state.payment import SuccessState

    started = begin(engine, gateway, session_type)
    gateway.pay(started.checkout_session_id)
    payer = page_state(SuccessState, "/payment/success", {"session_id": started.checkout_session_id},
                       hold_key=PAYER)
    call(payer, "load")
    client = TestClient(api.build_api())

    old = client.get(f"/api/bookings/{started.booking_id}/invite.ics")  # the id-keyed URL the probe used
    assert old.status_code == 404 and b"BEGIN:VCALENDAR" not in old.content and b"meet.example" not in old.content

    download = client.get(payer.summary.invite_path)  # the link only the paying browser was given
    assert download.status_code == 200 and b"LOCATION:https://meet.example/room" in download.content
    assert started.booking_id.encode() not in download.content

    uid, token = payer.summary.invite_path.split("/")[3:5]
    expires, signature = token.split(".")
    refused = [
        f"/api/invites/{uid}/{int(expires) + 60}.{signature}/invite.ics",  # a later expiry, same signature
        f"/api/invites/{started.booking_id}/{token}/invite.ics",  # the booking id in the UID's place
        f"/api/invites/{uid}/{'1' * 10}.{'a' * 43}/invite.ics",
        invites.INVITE_PATH.format(invite_uid=uid, token=invites.invite_token(
            uid, now=datetime.now(timezone.utc) - invites.INVITE_LINK_TTL - timedelta(minutes=1))),  # expired
    ]
    for path in refused:
        response = client.get(path)
        assert response.status_code == 404 and response.json()["error"]["code"] == "booking_not_found"
        assert b"meet.example" not in response.content


def test_receipts_refuse_odd_hold_keys(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)
    gateway.pay(started.checkout_session_id)
    for key in (None, "", "x" * 10_000, 12345):
        receipt = receipts.confirm_from_success_page(engine=engine, gateway=gateway,
                                                     checkout_session_id=started.checkout_session_id,
                                                     browser_hold_key=key)
        assert receipt.summary.manage_path == ""
        assert receipts.browser_receipt(engine=engine, browser_hold_key=key).state == "unknown"
