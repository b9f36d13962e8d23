"""Receipts and invoices in a real browser (issue #15): a client ticks "I need an invoice", gives a business
name and tax ID on Stripe's page, and the success page, the manage page and the confirmation email link to
the invoice, which shows the tax ID, and whose PDF downloads."""

from __future__ import annotations

import email
import email.policy
import re
import uuid
from datetime import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from tests.factories import make_builder, make_session_type
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

TAX_ID = "DE811907980"
BUSINESS = "Lovelace Analytics GmbH"


@pytest.fixture
def session_type(app_db: Session):
    builder = make_builder(app_db, time_zone="Europe/London", hours=(time(0, 0), time(23, 0)), min_notice_minutes=60)
    st = make_session_type(app_db, builder, price_amount=5000, currency="gbp", name="Invoiced call")
    app_db.commit()
    return st


def confirmation_to(mail_dir: Path, address: str) -> email.message.EmailMessage | None:
    for path in sorted(mail_dir.glob("*-booking_confirmed-*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if address in str(message["To"]):
            return message
    return None


def test_an_invoice_with_the_tax_id_is_linked_from_the_success_page_the_email_and_the_manage_page(
        app_server, app_db, session_type, browser: Browser, mail_dir: Path):
    page: Page = browser.new_context(accept_downloads=True).new_page()
    address = f"inv-{uuid.uuid4().hex[:8]}@example.com"
    page.goto(f"{app_server.url}/book/{session_type.id}")
    page.get_by_test_id("slot").first.click()
    page.get_by_label("Name").fill("Ann Client")
    page.get_by_label("Email").fill(address)
    page.get_by_test_id("wants-invoice").check()
    page.get_by_role("button", name=re.compile(r"^Pay")).click()

    # Stripe's page asks for the business details, as tax_id_collection does.
    expect(page.get_by_label("Business name")).to_be_visible()
    page.get_by_label("Business name").fill(BUSINESS)
    page.get_by_label("Tax ID type").select_option("eu_vat")
    page.get_by_label("Tax ID", exact=True).fill(TAX_ID)
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry").fill("12/34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Cardholder name").fill("Ann Client")
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_test_id("booking-confirmed")).to_be_visible(timeout=30_000)

    # The success page links the invoice once Stripe's events are in (the page reads them on load).
    def success_page_links_it() -> bool:
        if page.get_by_test_id("invoice-link").count():
            return True
        page.reload()
        page.get_by_test_id("booking-confirmed").wait_for(timeout=30_000)
        return page.get_by_test_id("invoice-link").count() > 0

    wait_until(success_page_links_it, timeout=30, interval=0.5, message="the invoice link on the success page")
    invoice_url = page.get_by_test_id("invoice-link").get_attribute("href")
    assert invoice_url and "/i/in_" in invoice_url

    # The confirmation email links the same invoice, and Stripe's receipt.
    wait_until(lambda: confirmation_to(mail_dir, address) is not None, timeout=30, message="the confirmation")
    text = confirmation_to(mail_dir, address).get_body(preferencelist=("plain",)).get_content()
    assert f"View your invoice: {invoice_url}" in text
    assert re.search(r"View your receipt: http://\S+/receipts/ch_", text)
    manage_url = re.search(r"Manage booking \([^)]*\): (\S+)", text).group(1)

    # The manage page links it too; the invoice shows the business name and the tax ID; its PDF downloads.
    page.goto(manage_url)
    expect(page.get_by_test_id("invoice-link")).to_have_attribute("href", invoice_url)
    expect(page.get_by_test_id("receipt-link")).to_be_visible()
    page.goto(invoice_url)
    expect(page.get_by_test_id("bill-to")).to_contain_text(TAX_ID)
    expect(page.get_by_test_id("bill-to")).to_contain_text(BUSINESS)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download invoice (PDF)").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    assert Path(download.path()).read_bytes().startswith(b"%PDF")
    assert httpx.get(invoice_url.removesuffix("/") + "/pdf").content.startswith(b"%PDF")
    page.context.close()
