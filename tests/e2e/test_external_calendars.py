"""A builder's own calendars, in a real browser: an ICS feed served on 127.0.0.1 blocks a slot within one
sync of the job worker (the workspace shows when it synced); with a CalDAV account (a real Radicale server)
chosen for bookings, a booking paid on the emulator's hosted Checkout appears in it and disappears when the
client cancels."""

from __future__ import annotations

import re
import time as clock
import uuid
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from booking.core.models import UserRole
from booking.scheduling.availability import END_OF_DAY
from tests.e2e.test_manage_booking import book_and_pay, booking_of, wait_for_mail
from tests.factories import make_builder, make_session_type
from tests.support.admin_states import PASSWORD, make_user
from tests.support.calendar_servers import IcsFeed, Radicale, radicale_server
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def radicale(tmp_path_factory) -> Radicale:
    with radicale_server(tmp_path_factory.mktemp("radicale-e2e")) as server:
        yield server


@pytest.fixture
def builder_account(app_db: Session):
    """A builder open around the clock (UTC) with one session type, and their workspace account."""
    tag = uuid.uuid4().hex[:8]
    builder = make_builder(app_db, name=f"Calendars {tag}", slug=f"calendars-{tag}", time_zone="UTC",
                           hours=(time(0, 0), END_OF_DAY), min_notice_minutes=0)
    session_type = make_session_type(app_db, builder, price_amount=5000, currency="gbp", name=f"Call {tag}")
    app_db.commit()
    address = f"builder-{tag}@example.com"
    make_user(app_db.get_bind(), email=address, role=UserRole.BUILDER, builder_id=builder.id)
    return session_type, address


def sign_in(page: Page, app_url: str, address: str) -> None:
    page.goto(f"{app_url}/admin/login")
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(address, timeout=30_000)  # a loaded machine


def add_calendar(page: Page, app_url: str, *, kind: str, url: str, username: str = "", password: str = "",
                 write_bookings: bool = False) -> None:
    page.goto(f"{app_url}/admin/calendars")
    expect(page.get_by_role("heading", name="Calendars", level=1)).to_be_visible()
    page.get_by_label("Kind").select_option(kind)
    page.get_by_label("Address").fill(url)
    if username:
        page.get_by_label("CalDAV user name").fill(username)
        page.get_by_label("CalDAV app password").fill(password)
    if write_bookings:
        page.get_by_label("Write confirmed bookings to this calendar (CalDAV only)").check()
    page.get_by_test_id("add-calendar").click()
    expect(page.get_by_test_id("calendar-notice")).to_contain_text("Added", timeout=30_000)


def slot_at(hours: float) -> datetime:
    moment = datetime.now(timezone.utc) + timedelta(hours=hours)
    return moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def is_offered(app_url: str, session_type, start: datetime) -> bool:
    slots = httpx.get(f"{app_url}/api/session-types/{session_type.id}/slots",
                      params={"from": start.date().isoformat(), "days": 1, "tz": "UTC"}, timeout=30).json()["slots"]
    return any(datetime.fromisoformat(s["start_time"]) == start for s in slots)


def test_an_ics_feed_blocks_a_slot_within_one_sync(app_server, builder_account, page: Page):
    session_type, address = builder_account
    app = app_server.url
    dentist, free = slot_at(50), slot_at(53)
    with IcsFeed().serving() as feed:
        feed.set_body((
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nBEGIN:VEVENT\r\nUID:dentist@e2e.test\r\n"
            f"DTSTAMP:20261201T000000Z\r\nDTSTART:{dentist:%Y%m%dT%H%M%SZ}\r\n"
            f"DTEND:{dentist + timedelta(minutes=30):%Y%m%dT%H%M%SZ}\r\nSUMMARY:Dentist\r\nEND:VEVENT\r\n"
            "END:VCALENDAR\r\n").encode(), modified_at=clock.time())
        assert is_offered(app, session_type, dentist)

        sign_in(page, app, address)
        add_calendar(page, app, kind="ics", url=feed.url)
        wait_until(lambda: not is_offered(app, session_type, dentist), timeout=60, message="the feed's event to block")
        assert feed.answers[0] == 200  # one sync did it
        assert is_offered(app, session_type, free)

        page.reload()
        row = page.get_by_test_id("calendar-row")
        expect(row.get_by_test_id("calendar-busy-count")).to_have_text("1")
        expect(row.get_by_test_id("calendar-last-synced")).not_to_have_text("Not yet")
        expect(row.get_by_test_id("calendar-last-error")).to_have_text("—")

        # The feed goes away: the error is shown, the busy time stays.
        feed.status = 503
        wait_until(lambda: page.reload() or "503" in row.get_by_test_id("calendar-last-error").inner_text(),
                   timeout=60, interval=1, message="the feed's error in the workspace")
        assert not is_offered(app, session_type, dentist)


def test_a_paid_booking_appears_in_radicale_and_disappears_on_cancel(
        app_server, app_db, builder_account, radicale: Radicale, page: Page, browser, mail_dir: Path):
    session_type, address = builder_account
    app = app_server.url
    calendar_url = radicale.calendar(f"bookings-{uuid.uuid4().hex[:8]}")
    sign_in(page, app, address)
    add_calendar(page, app, kind="caldav", url=calendar_url, username=radicale.USER, password=radicale.PASSWORD,
                 write_bookings=True)
    expect(page.get_by_test_id("calendar-row")).to_contain_text("Bookings written here")

    client = f"radicale-{uuid.uuid4().hex[:8]}@example.com"
    start = slot_at(30)
    payer = browser.new_context(timezone_id="Europe/London", locale="en-GB")
    book_and_pay(app, payer.new_page(), session_type, start, client)
    payer.close()
    booking = booking_of(app_db, session_type)
    wait_until(lambda: radicale.get(calendar_url, booking.invite_uid) is not None, timeout=60,
               message="the booking in the CalDAV calendar")
    stored = radicale.get(calendar_url, booking.invite_uid).decode()
    assert f"UID:{booking.invite_uid}@" in stored and start.strftime("DTSTART:%Y%m%dT%H%M%SZ") in stored
    assert "ATTENDEE" not in stored and "METHOD" not in stored
    # Our own event in the calendar blocks nothing twice, and its sync reports no error.
    page.reload()
    expect(page.get_by_test_id("calendar-row").get_by_test_id("calendar-last-error")).to_have_text("—")

    text = wait_for_mail(mail_dir, client, "booking_confirmed").get_body(preferencelist=("plain",)).get_content()
    manage = browser.new_context(timezone_id="Europe/London", locale="en-GB").new_page()
    manage.goto(re.search(r"(http://\S+/manage/[A-Za-z0-9_-]{43})", text).group(1))
    manage.get_by_label("Yes, cancel this booking").check()
    manage.get_by_test_id("cancel-booking").click()
    expect(manage.get_by_test_id("booking-status")).to_have_text("Cancelled")
    wait_until(lambda: radicale.get(calendar_url, booking.invite_uid) is None, timeout=60,
               message="the cancelled booking gone from the CalDAV calendar")
    assert is_offered(app, session_type, start)
    manage.context.close()
