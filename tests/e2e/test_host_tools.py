"""Host tools in Chromium: a client pays at the readable address /<builder>/<type>, the builder moves the
paid booking from the workspace and the client's email shows the new time; the booking page works inside
an iframe on another site's page; old addresses redirect; the workspace still refuses framing."""

from __future__ import annotations

import email
import http.server
import re
import threading
import uuid
from datetime import time
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from booking.core.models import Booking, BookingStatus, UserAccount, UserRole
from tests.e2e.test_booking_flow import CARD_OK, expect_confirmed, fill_card
from tests.factories import make_builder, make_session_type
from tests.support.admin_states import PASSWORD, password_hash
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def ada(app_db: Session):
    """A builder open around the clock (London), a session type with a readable slug, and a sign-in."""
    tag = uuid.uuid4().hex[:8]
    builder = make_builder(app_db, name=f"Ada {tag}", slug=f"ada-{tag}", time_zone="Europe/London",
                           hours=(time(0, 0), time(23, 0)), min_notice_minutes=60)
    session_type = make_session_type(app_db, builder, name="Pairing", slug="pairing", price_amount=4200)
    user = UserAccount(email=f"ada-{tag}@e2e.test", password_hash=password_hash(), role=UserRole.BUILDER,
                       builder_id=builder.id)
    app_db.add(user)
    app_db.commit()
    return {"slug": builder.slug, "name": builder.name, "type_id": session_type.id, "email": user.email, "tag": tag,
            "path": f"/{builder.slug}/pairing"}


def fresh_booking(app_db: Session, session_type_id: int) -> Booking | None:
    with Session(app_db.get_bind()) as session:
        return session.exec(select(Booking).where(Booking.session_type_id == session_type_id)
                            .order_by(Booking.created_at.desc())).first()


def mails_to(mail_dir: Path, address: str, subject_word: str) -> list[email.message.EmailMessage]:
    found = []
    for path in mail_dir.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if address in (message["To"] or "") and subject_word in (message["Subject"] or ""):
            found.append(message)
    return found


def test_the_builder_reschedules_a_paid_booking_and_the_clients_email_shows_the_new_time(
        app_server, app_db, ada, browser: Browser, page: Page, mail_dir: Path):
    client_email = f"cleo-{ada['tag']}@example.com"
    client_context = browser.new_context(timezone_id="Europe/London", locale="en-GB")
    client = client_context.new_page()
    client.goto(f"{app_server.url}{ada['path']}")  # the readable address
    expect(client.get_by_role("heading", name=re.compile("Pairing"))).to_be_visible()
    client.get_by_test_id("slot").first.click()
    client.get_by_label("Name").fill("Cleo Client")
    client.get_by_label("Email").fill(client_email)
    client.get_by_role("button", name=re.compile(r"^Pay")).click()
    fill_card(client, CARD_OK)
    expect_confirmed(client)
    client_context.close()
    booking = fresh_booking(app_db, ada["type_id"])
    assert booking.status == BookingStatus.CONFIRMED
    old_start = booking.start_time

    page.goto(f"{app_server.url}/admin/login")
    page.get_by_label("Email").fill(ada["email"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("signed-in-as")).to_have_text(ada["email"])
    page.goto(f"{app_server.url}/admin/bookings")
    page.get_by_test_id("booking-row").filter(has_text=client_email).get_by_test_id("open-booking").click()
    detail = page.get_by_test_id("booking-detail")
    detail.get_by_test_id("reschedule-open").click()
    picker = detail.get_by_test_id("reschedule-picker")
    expect(picker).to_be_visible()
    times = picker.get_by_test_id("reschedule-time")
    expect(times.first).to_be_visible()
    times.nth(min(3, times.count() - 1)).click()
    detail.get_by_test_id("reschedule-confirm").click()
    expect(detail.get_by_test_id("reschedule-result")).to_contain_text("Moved", timeout=30_000)

    moved = fresh_booking(app_db, ada["type_id"])
    assert moved.id == booking.id and moved.start_time != old_start and moved.status == BookingStatus.CONFIRMED
    assert (moved.invite_sequence, moved.reschedule_count) == (1, 0)
    wait_until(lambda: bool(mails_to(mail_dir, client_email, "Rescheduled")), timeout=30,
               message="the client's rescheduled email in the mail folder")
    [message] = mails_to(mail_dir, client_email, "Rescheduled")
    text = message.get_body(preferencelist=("plain",)).get_content()
    new_local = moved.start_time.astimezone(ZoneInfo("Europe/London"))
    assert f"{ada['name']} moved your booking to" in text
    assert new_local.strftime("%H:%M") in text and str(new_local.day) in text
    invite = next(part for part in message.walk() if part.get_content_type() == "text/calendar").get_content()
    invite = invite if isinstance(invite, str) else invite.decode()
    assert "SEQUENCE:1" in invite and moved.start_time.strftime("DTSTART:%Y%m%dT%H%M%SZ") in invite


class _EmbeddingSite(http.server.BaseHTTPRequestHandler):
    html = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.html)

    def log_message(self, *args):
        pass


@pytest.fixture
def embedding_site(app_server, ada):
    """Another origin (its own port) whose page carries the builder's embed snippet, and an iframe of /admin."""
    handler = type("Site", (_EmbeddingSite,), {"html": (
        "<!DOCTYPE html><html><body><h1>Ada's own site</h1>"
        f'<iframe id="booking" src="{app_server.url}{ada["path"]}" title="Book" width="900" height="800"></iframe>'
        "</body></html>").encode()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{server.server_address[1]}/"
    server.shutdown()


def test_the_booking_page_loads_at_its_address_and_inside_an_iframe_elsewhere(app_server, ada, embedding_site,
                                                                               page: Page):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(embedding_site)  # another site (its own origin): the frame is third-party, its storage may be denied
    frame = page.frame_locator("#booking")
    expect(frame.get_by_role("heading", name=re.compile("Pairing"))).to_be_visible(timeout=30_000)
    expect(frame.get_by_test_id("slot").first).to_be_visible(timeout=30_000)
    frame.get_by_test_id("slot").first.click()
    frame.get_by_label("Name").fill("Fay Framed")  # a time can be chosen inside the frame
    frame.get_by_label("Email").fill(f"fay-{ada['tag']}@example.com")
    frame.get_by_role("button", name=re.compile(r"^Pay")).click()
    # Checkout opens in the whole window (Stripe's page refuses to be framed).
    expect(page.get_by_label("Card number")).to_be_visible(timeout=30_000)
    assert not page.url.startswith(embedding_site)
    assert errors == []

    # The old address answers a permanent redirect; the workspace still refuses to be framed.
    old = httpx.get(f"{app_server.url}/book/{ada['type_id']}", follow_redirects=False, timeout=10)
    assert (old.status_code, old.headers["location"]) == (301, ada["path"])
    booking_page = httpx.get(f"{app_server.url}{ada['path']}", timeout=10)
    assert booking_page.status_code == 200 and "frame-ancestors *" in booking_page.headers["content-security-policy"]
    admin = httpx.get(f"{app_server.url}/admin/login", timeout=10)
    assert "frame-ancestors 'none'" in admin.headers["content-security-policy"]
    assert admin.headers["x-frame-options"] == "DENY"
