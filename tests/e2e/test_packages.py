"""Packages in a real browser, through the emulator's hosted Checkout: a client buys a package of 3 on the
builder's page, gets the wallet link by email, books 3 times from it without paying, and the 4th time is
sent to the booking page, which asks for payment."""

from __future__ import annotations

import re
import uuid
from datetime import time

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from booking.core.models import Booking, BookingStatus, CreditPackage, CreditPackageSessionType, Payment
from tests.e2e.test_manage_booking import wait_for_mail
from tests.factories import make_builder, make_session_type

pytestmark = pytest.mark.e2e


@pytest.fixture
def shop(app_db: Session):
    """A builder open around the clock, one session type and a package of 3 of it."""
    tag = uuid.uuid4().hex[:8]
    builder = make_builder(app_db, name=f"Pack {tag}", slug=f"pack-{tag}", time_zone="UTC",
                           hours=(time(0, 0), time(23, 30)), min_notice_minutes=60)
    session_type = make_session_type(app_db, builder, price_amount=5000, currency="gbp", name=f"Pack call {tag}")
    package = CreditPackage(builder_id=builder.id, name=f"Three calls {tag}", session_count=3, price_amount=13500,
                            currency="gbp", validity_days=60)
    app_db.add(package)
    app_db.flush()
    app_db.add(CreditPackageSessionType(package_id=package.id, session_type_id=session_type.id))
    app_db.commit()
    return {"builder": builder, "session_type": session_type, "package": package}


def pay_on_hosted_checkout(page: Page) -> None:
    expect(page.get_by_label("Card number")).to_be_visible(timeout=30_000)
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry").fill("12/34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Cardholder name").fill("Pat Client")
    page.get_by_role("button", name="Pay").click()


def test_buy_a_package_of_3_book_3_times_without_paying_and_the_4th_asks_for_payment(
        app_server, app_db, shop, page: Page, mail_dir):
    address = f"pat-{uuid.uuid4().hex[:6]}@example.com"
    page.goto(f"{app_server.url}/b/{shop['builder'].slug}")
    offer = page.get_by_test_id("package-offer")
    expect(offer).to_contain_text("£135.00")
    offer.get_by_test_id("choose-package").click()
    page.get_by_label("Name").fill("Pat Client")
    page.get_by_label("Email").fill(address)
    page.get_by_test_id("buy-package").click()
    pay_on_hosted_checkout(page)
    expect(page.get_by_test_id("package-paid")).to_contain_text("3 sessions", timeout=30_000)

    text = wait_for_mail(mail_dir, address, "package_purchased").get_body(preferencelist=("plain",)).get_content()
    wallet_url = re.search(r"Your wallet: (\S+)", text).group(1)
    assert re.search(r"/wallet/[\w-]{43}$", wallet_url)

    page.goto(wallet_url)
    expect(page.get_by_test_id("credits-available")).to_have_text("3")
    for left in (2, 1, 0):
        slot = page.get_by_test_id("wallet-slot").first
        slot.click()
        expect(slot).to_have_attribute("aria-pressed", "true")
        page.get_by_test_id("book-with-credit").click()
        expect(page.get_by_test_id("wallet-notice")).to_contain_text("Booked")
        expect(page.get_by_test_id("credits-available")).to_have_text(str(left))

    with Session(app_db.get_bind()) as fresh:
        booked = fresh.exec(select(Booking).where(Booking.session_type_id == shop["session_type"].id)).all()
        assert [b.status for b in booked] == [BookingStatus.CONFIRMED] * 3
        assert fresh.exec(select(Payment).where(Payment.booking_id.in_([b.id for b in booked]))).all() == []

    # No credit left: the wallet sends the 4th booking to the booking page, which asks for payment.
    expect(page.get_by_test_id("no-credit")).to_be_visible()
    page.get_by_test_id("pay-instead").click()
    expect(page).to_have_url(re.compile(rf"/book/{shop['session_type'].id}$"))
    expect(page.get_by_test_id("price")).to_contain_text("£50.00")
    page.get_by_test_id("slot").first.click()
    page.get_by_label("Name").fill("Pat Client")
    page.get_by_label("Email").fill(address)
    page.get_by_role("button", name=re.compile(r"^Pay")).click()
    expect(page.get_by_label("Card number")).to_be_visible(timeout=30_000)
