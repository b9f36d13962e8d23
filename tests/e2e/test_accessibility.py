"""axe-core on every public page (WCAG 2.2 AA rules): no serious or critical violation anywhere.

axe-core comes from the npm registry (`scripts/bootstrap.sh --tests` puts it in .tools/axe) and is
injected into the page by Playwright, then run where the client would be: after the page has loaded,
with a time picked, with the form's errors shown, on the success, cancel and 404 pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import time

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from booking.core.migrations import PROJECT_ROOT
from tests.e2e.test_booking_flow import CARD_OK, expect_confirmed, fill_card, pick_first_slot
from tests.e2e.test_booking_page import slug_of
from tests.factories import make_builder, make_session_type

pytestmark = pytest.mark.e2e

AXE_SCRIPT = PROJECT_ROOT / ".tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def serious_violations(page: Page) -> list[str]:
    assert AXE_SCRIPT.exists(), "axe-core is missing: run scripts/bootstrap.sh --tests"
    page.add_script_tag(path=str(AXE_SCRIPT))
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_TAGS,
    )
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(node["target"][0] if isinstance(node["target"][0], str) else str(node["target"])
                    for node in violation["nodes"][:5])
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def check(page: Page) -> None:
    expect(page.locator("h1")).to_have_count(1)
    assert serious_violations(page) == []


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """As the shared fixture, but the test may inject axe-core: the app's CSP (rightly) refuses inline
    scripts it did not serve, so this context alone bypasses it."""
    context = browser.new_context(timezone_id="Europe/London", locale="en-GB", bypass_csp=True)
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def session_type(app_db: Session):
    builder = make_builder(app_db, time_zone="Europe/London", hours=(time(0, 0), time(23, 0)),
                           min_notice_minutes=60, name="Axe Builder", bio="Accessible sessions.")
    st = make_session_type(app_db, builder, price_amount=5000, currency="gbp", name="Axe call",
                           description="A short call.", location="https://meet.example/axe")
    app_db.commit()
    return st


def test_home_page(app_server, session_type, page: Page):
    page.goto(app_server.url + "/")
    expect(page.get_by_test_id("builder").first).to_be_visible()
    expect(page).to_have_title("Builders · Book a builder")
    check(page)


def test_builder_page(app_server, app_db, session_type, page: Page):
    slug = slug_of(app_db, session_type)
    page.goto(f"{app_server.url}/b/{slug}")
    expect(page.get_by_role("heading", name="Axe Builder", level=1)).to_be_visible()
    expect(page.get_by_test_id("session-type").first).to_be_visible()
    expect(page).to_have_title("Axe Builder · Book a builder")
    check(page)


def test_booking_page_calendar_then_a_time_picked_then_errors_shown(app_server, session_type, page: Page):
    page.goto(f"{app_server.url}/book/{session_type.id}")
    expect(page.get_by_test_id("slot").first).to_be_visible()
    expect(page).to_have_title("Book Axe call with Axe Builder · Book a builder")
    check(page)

    pick_first_slot(page, app_server.url, session_type)  # focus moves to the Name field
    check(page)

    page.get_by_label("Email").fill("ünï@exämple")
    page.get_by_label("Email").press("Enter")
    expect(page.get_by_text("Please enter your name.")).to_be_visible()
    expect(page.get_by_label("Name")).to_be_focused()
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#client-email-error")).to_have_text("Please enter a valid email address.")
    check(page)


def test_cancel_success_and_manage_pages(app_server, app_db, session_type, page: Page):
    pick_first_slot(page, app_server.url, session_type)
    page.get_by_label("Name").fill("Axe Client")
    page.get_by_label("Email").fill("axe@example.com")
    page.get_by_role("button", name=re.compile(r"^Pay")).click()
    expect(page.get_by_label("Card number")).to_be_visible()

    page.goto(f"{app_server.url}/payment/cancel")  # this browser's hold, found by its hold key
    expect(page.get_by_role("button", name="Try again")).to_be_visible()
    expect(page).to_have_title("Payment cancelled · Book a builder")
    check(page)

    page.get_by_role("button", name="Try again").click()
    fill_card(page, CARD_OK)
    expect_confirmed(page)
    expect(page).to_have_title("Booking confirmed · Book a builder")
    check(page)

    page.get_by_test_id("manage-booking-link").click()  # the client's manage page is public too
    expect(page).to_have_url(re.compile(r"/manage/"))
    expect(page.locator("h1")).to_have_count(1)
    check(page)

    page.goto(f"{app_server.url}/payment/success?session_id=cs_test_unknown")
    expect(page.get_by_test_id("booking-unknown")).to_be_visible()
    check(page)


def test_not_found_page_is_styled_and_leads_home(app_server, page: Page):
    response = page.goto(app_server.url + "/no/such/page")
    expect(page.get_by_role("heading", name="Page not found", level=1)).to_be_visible()
    expect(page).to_have_title("Page not found · Book a builder")
    check(page)
    assert response is not None
    page.get_by_role("link", name="Go to the home page").click()
    expect(page).to_have_url(re.compile(r"/$"))


def test_favicon_is_served_and_pages_log_no_console_errors(app_server, session_type, browser: Browser):
    page = browser.new_context(timezone_id="Europe/London").new_page()  # with the app's CSP in force
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{app_server.url}/book/{session_type.id}")
    expect(page.get_by_test_id("slot").first).to_be_visible()

    favicon = page.request.get(app_server.url + "/favicon.ico")

    assert favicon.status == 200 and favicon.body()[:4] == b"\x00\x00\x01\x00"  # an .ico file
    assert page.locator('link[rel="icon"]').count() >= 1
    assert errors == []
    page.context.close()
