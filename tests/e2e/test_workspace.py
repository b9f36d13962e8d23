"""The builder workspace in a real browser: a builder signs in, creates a session type priced in
Stripe, a client books and pays it through the emulator's hosted Checkout in a second browser, and the
builder finds the booking, refunds it, and sees the refund in the webhook log and the outbox."""

from __future__ import annotations

import re
import uuid
from datetime import time

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from booking.core.models import Booking, BookingStatus, PaymentStatus, SessionType
from tests.e2e.test_booking_flow import CARD_OK, expect_confirmed, fill_card
from tests.factories import make_builder
from tests.support.admin_states import PASSWORD, password_hash
from tests.support.ledger import money
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def ada(app_db: Session):
    """A builder open around the clock (so a slot exists whenever the test runs), with a sign-in."""
    from booking.core.models import UserAccount, UserRole

    tag = uuid.uuid4().hex[:8]
    builder = make_builder(app_db, name=f"Ada {tag}", slug=f"ada-{tag}", time_zone="Europe/London",
                           hours=(time(0, 0), time(23, 0)), min_notice_minutes=60)
    user = UserAccount(email=f"ada-{tag}@e2e.test", password_hash=password_hash(), role=UserRole.BUILDER,
                       builder_id=builder.id)
    app_db.add(user)
    app_db.commit()
    return {"builder": builder, "email": user.email, "tag": tag}


def sign_in(page: Page, app_url: str, email: str) -> None:
    page.goto(f"{app_url}/admin/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("signed-in-as")).to_have_text(email)


def fresh(app_db: Session, model, *where):
    with Session(app_db.get_bind()) as session:  # a short transaction: SQLite's write lock
        return session.exec(select(model).where(*where)).first()


def test_sign_in_refuses_a_wrong_password_and_guards_pages(app_server, ada, page: Page):
    page.goto(f"{app_server.url}/admin/bookings")
    expect(page).to_have_url(re.compile(r"/admin/login"))
    page.get_by_label("Email").fill(ada["email"])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("login-error")).to_contain_text("don't match")
    sign_in(page, app_server.url, ada["email"])
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/admin/login"))
    page.goto(f"{app_server.url}/admin")
    expect(page).to_have_url(re.compile(r"/admin/login"))


def test_builder_creates_a_type_client_pays_builder_refunds(app_server, app_db, ada, browser: Browser,
                                                            page: Page, mail_dir):
    name, location = f"Pairing {ada['tag']}", f"https://meet.example/{ada['tag']}"
    sign_in(page, app_server.url, ada["email"])

    # A new session type with a price and a location: a Stripe Product and Price behind it.
    page.goto(f"{app_server.url}/admin/session-types")
    page.get_by_test_id("new-session-type").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Description").fill("Ninety minutes of pair programming.")
    page.get_by_label("Duration (minutes)").fill("90")
    page.get_by_label("Price").fill("42.50")
    page.get_by_label("Currency").select_option("gbp")
    page.get_by_label("Location").fill(location)
    page.get_by_role("button", name="Save").click()
    row = page.get_by_test_id("session-type-row").filter(has_text=name)
    expect(row).to_be_visible(timeout=30_000)
    expect(row.get_by_test_id("session-type-price")).to_have_text("£42.50")
    session_type = fresh(app_db, SessionType, SessionType.name == name)
    assert session_type.active and session_type.stripe_price_id.startswith("price_")

    # The client sees it on the builder's public page, and books and pays in a browser of their own.
    client_context = browser.new_context(timezone_id="Europe/London", locale="en-GB")
    client = client_context.new_page()
    client.goto(f"{app_server.url}/b/{ada['builder'].slug}")
    expect(client.get_by_text(name)).to_be_visible()
    expect(client.get_by_text("£42.50").first).to_be_visible()
    client_email = f"client-{ada['tag']}@example.com"
    client.goto(f"{app_server.url}/book/{session_type.id}")
    client.get_by_test_id("slot").first.click()
    client.get_by_label("Name").fill("Cleo Client")
    client.get_by_label("Email").fill(client_email)
    client.get_by_role("button", name=re.compile(r"^Pay")).click()
    fill_card(client, CARD_OK)
    expect_confirmed(client)
    expect(client.get_by_test_id("location")).to_contain_text(location)
    booking = fresh(app_db, Booking, Booking.session_type_id == session_type.id)
    assert booking.status == BookingStatus.CONFIRMED
    invite = httpx.get(app_server.url + client.get_by_test_id("add-to-calendar").get_attribute("href"),
                       timeout=10).text  # the signed link only the paying browser is given
    assert f"LOCATION:{location}" in invite
    client_context.close()

    # The builder finds the booking and refunds it in full, keeping the session (asked: cancel it too?).
    page.goto(f"{app_server.url}/admin/bookings")
    booking_row = page.get_by_test_id("booking-row").filter(has_text=client_email)
    expect(booking_row).to_be_visible()
    booking_row.get_by_test_id("open-booking").click()
    detail = page.get_by_test_id("booking-detail")
    expect(detail.get_by_test_id("payment-history")).to_contain_text("£42.50")
    refund_form = page.get_by_test_id("refund-form")
    expect(refund_form.get_by_test_id("refund-amount")).to_have_value("42.50")
    refund_form.get_by_test_id("refund-session").get_by_text("Keep the session").click()
    refund_form.get_by_test_id("refund-submit").click()
    dialog = page.get_by_test_id("confirm-dialog")  # says what will happen before anything does
    expect(dialog).to_contain_text("£42.50 is refunded to the client; the session stays booked")
    dialog.get_by_test_id("confirm-go").click()
    expect(page.get_by_test_id("refund-result")).to_contain_text("Refunded £42.50.", timeout=30_000)
    wait_until(lambda: money(app_db.get_bind(), booking.id).status == PaymentStatus.REFUNDED,
               timeout=30, message="the booking refunded")
    assert fresh(app_db, Booking, Booking.id == booking.id).status == BookingStatus.CONFIRMED  # the session stays

    # The refund in the webhook log, and the client's refund email in the outbox.
    page.goto(f"{app_server.url}/admin/webhooks")
    expect(page.get_by_test_id("event-row").filter(has_text="charge.refunded").first).to_be_visible(timeout=30_000)
    page.goto(f"{app_server.url}/admin/outbox")
    expect(page.get_by_test_id("outbox-row").filter(has_text=client_email)
           .filter(has_text="refund").first).to_be_visible(timeout=30_000)

    def refund_mail() -> bool:
        return any(client_email in p.read_text(errors="replace") and "Refund" in p.read_text(errors="replace")
                   for p in mail_dir.glob("*.eml"))

    wait_until(refund_mail, timeout=30, message="the refund email in the mail folder")
