"""The booking page as a client meets it: month calendar to the horizon, the clock and zone they read,
Back from Checkout to their own hold, an internationalised address, a phone-sized screen."""

from __future__ import annotations

import email
import re
import uuid
from datetime import date, datetime, time, timedelta, timezone
from email.policy import default as default_policy
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from booking.core.models import AvailabilityOverride, Booking, BookingStatus, Builder
from tests.e2e.test_booking_flow import (
    CARD_OK,
    booking_of,
    expect_confirmed,
    fill_card,
    pick_first_slot,
    pick_first_slot_and_pay,
    slot_at,
)
from tests.factories import make_builder, make_session_type
from tests.support.ledger import money
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def session_type(app_db: Session):
    """Open around the clock (London), bookable 100 days ahead: a slot exists whenever the test runs."""
    builder = make_builder(app_db, time_zone="Europe/London", hours=(time(0, 0), time(23, 0)),
                           min_notice_minutes=60, horizon_days=100, name="Page Builder",
                           slug=f"page-builder-{uuid.uuid4().hex[:8]}")
    st = make_session_type(app_db, builder, price_amount=5000, currency="gbp", name="Picker call",
                           location="https://meet.example/secret-room")
    app_db.commit()
    return st


def slug_of(app_db: Session, session_type) -> str:
    # A short transaction of its own: on SQLite an open one would hold up the app's writes.
    with Session(app_db.get_bind()) as fresh:
        return fresh.get(Builder, session_type.builder_id).slug


def new_page(browser: Browser, **context: object) -> Page:
    ctx = browser.new_context(**{"timezone_id": "Europe/London", "locale": "en-GB", **context})
    ctx.set_default_timeout(20_000)
    return ctx.new_page()


def pending(app_db: Session, session_type) -> list[Booking]:
    with Session(app_db.get_bind()) as fresh:
        return list(fresh.exec(select(Booking).where(Booking.session_type_id == session_type.id,
                                                     Booking.status == BookingStatus.PENDING)).all())


def test_summary_panel_title_and_how_it_happens_before_payment(app_server, session_type, page: Page):
    page.goto(f"{app_server.url}/book/{session_type.id}")

    panel = page.get_by_test_id("summary-panel")
    expect(panel.get_by_role("heading", level=1)).to_have_text("Picker call")
    expect(panel).to_contain_text("Page Builder")
    expect(panel.get_by_test_id("duration")).to_have_text("60 min")
    expect(panel.get_by_test_id("price")).to_have_text("£50.00")
    expect(panel.get_by_test_id("how")).to_have_text("Video call")
    expect(page).to_have_title("Book Picker call with Page Builder · Book a builder")
    expect(page.locator("h1")).to_have_count(1)
    assert "secret-room" not in page.content()  # the link itself only after payment
    pick_first_slot(page, app_server.url, session_type)
    expect(panel).to_be_visible()
    expect(panel.get_by_test_id("summary-when")).not_to_be_empty()


def test_clock_and_zone_follow_the_browser_and_can_be_changed(app_server, session_type, browser: Browser):
    page = new_page(browser, timezone_id="Asia/Calcutta", locale="en-US")
    page.goto(f"{app_server.url}/book/{session_type.id}")

    expect(page.get_by_label("Time zone")).to_have_value("Asia/Kolkata")
    expect(page.get_by_test_id("zone-now")).to_have_text(re.compile(r"^India Time — \d{1,2}:\d\d [AP]M$"))
    first = page.get_by_test_id("slot").first
    expect(first).to_have_text(re.compile(r"^\d{1,2}:\d\d [AP]M – \d{1,2}:\d\d [AP]M"))
    expect(first).to_have_attribute("aria-label", re.compile(
        r"^\d{1,2}:\d\d [AP]M – \d{1,2}:\d\d [AP]M, (Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, \w+ \d{1,2}, \d{4}, "
        r"India Time$"))  # an en-US browser reads the day the American way
    expect(first).to_have_attribute("aria-pressed", "false")

    page.get_by_role("radio", name="24h").click()
    expect(page.get_by_test_id("slot").first).to_have_text(re.compile(r"^\d\d:\d\d – \d\d:\d\d"))
    page.get_by_label("Time zone").select_option("America/New_York")
    expect(page.get_by_test_id("zone-now")).to_have_text(re.compile(r"^Eastern Time — \d\d:\d\d$"))
    expect(page.get_by_test_id("slot").first).to_have_attribute("data-start", re.compile(r"-0[45]:00$"))
    page.context.close()


def test_the_month_calendar_navigates_to_the_horizon_and_books_a_day_there(app_server, app_db, session_type,
                                                                          browser: Browser):
    page = new_page(browser)
    page.goto(f"{app_server.url}/book/{session_type.id}")
    title = page.get_by_test_id("month-title")
    expect(title).not_to_be_empty()
    months = [title.inner_text()]
    expect(page.get_by_test_id("previous-month")).to_be_disabled()

    while page.get_by_test_id("next-month").is_enabled():
        page.get_by_test_id("next-month").click()
        expect(title).not_to_have_text(months[-1])
        months.append(title.inner_text())

    horizon = datetime.now(timezone.utc) + timedelta(days=100)
    assert months[-1] == f"{horizon:%B %Y}" and len(months) >= 4  # not just two weeks
    days = page.get_by_test_id("calendar-day")
    if page.get_by_test_id("month-empty").count():  # the horizon fell in the small hours of the 1st
        page.get_by_test_id("previous-month").click()
    expect(days.first).to_be_visible()
    days.last.click()
    expect(days.last).to_have_attribute("aria-pressed", "true")
    day_label = days.last.get_attribute("aria-label").split(",")[0]
    expect(page.get_by_test_id("times-heading")).to_have_text(day_label)
    slot = page.get_by_test_id("slot").first
    start = slot.get_attribute("data-start")
    slot.click()
    page.get_by_label("Name").fill("Far Ahead")
    page.get_by_label("Email").fill("far@example.com")
    page.get_by_label("Email").press("Enter")  # Enter submits
    fill_card(page, CARD_OK)
    expect_confirmed(page)
    booked = booking_of(app_db, session_type)
    assert booked.status == BookingStatus.CONFIRMED
    assert booked.start_time == datetime.fromisoformat(start)
    assert booked.start_time > datetime.now(timezone.utc) + timedelta(days=60)
    page.context.close()


def test_an_empty_month_says_when_the_next_available_day_is(app_server, app_db, browser: Browser):
    builder = make_builder(app_db, time_zone="UTC", weekdays=[], horizon_days=120, name="Rare Builder")
    st = make_session_type(app_db, builder, name="Rare call")
    today = datetime.now(timezone.utc).date()
    open_day = (today.replace(day=1) + timedelta(days=70)).replace(day=10)  # two months on
    app_db.add(AvailabilityOverride(builder_id=builder.id, day=open_day, start_time=time(10), end_time=time(12)))
    app_db.commit()
    page = new_page(browser, timezone_id="UTC")

    page.goto(f"{app_server.url}/book/{st.id}")

    expect(page.get_by_test_id("month-title")).to_have_text(f"{open_day:%B %Y}")  # opens where times are
    expect(page.get_by_test_id("slot")).to_have_count(3)  # 10:00, 10:30 and 11:00, an hour each
    page.get_by_test_id("previous-month").click()
    empty = page.get_by_test_id("month-empty")
    label = f"{open_day:%A} {open_day.day} {open_day:%B %Y}"
    expect(empty).to_contain_text(f"No times this month — next available: {label}")
    page.get_by_test_id("next-available").click()
    expect(page.get_by_test_id("times-heading")).to_have_text(label)
    page.context.close()


def test_back_from_checkout_shows_the_hold_and_continue_reaches_the_same_checkout(app_server, app_db, session_type,
                                                                                 browser: Browser):
    page = new_page(browser)
    start = pick_first_slot_and_pay(page, app_server.url, session_type)
    checkout_url = page.url
    held = booking_of(app_db, session_type)

    page.go_back()

    banner = page.get_by_test_id("hold-banner")
    expect(banner).to_contain_text(re.compile(r"You're holding .+ until \d\d:\d\d"))
    expect(slot_at(page, start)).to_contain_text("your hold")  # the held time has not vanished
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.get_by_label("Card number")).to_be_visible()
    assert page.url == checkout_url  # the same hosted Checkout, not a second hold
    assert [b.id for b in pending(app_db, session_type)] == [held.id]

    page.go_back()
    expect(banner).to_be_visible()
    expect(slot_at(page, start)).to_contain_text("your hold")  # the day's times are shown
    other = page.get_by_test_id("slot").filter(has_not_text="your hold").first
    if not other.count():  # late in the evening the held time is the day's last: another day's
        another_day = page.locator('[data-testid="calendar-day"][aria-pressed="false"]')
        if not another_day.count():
            page.get_by_test_id("next-month").click()
        another_day.first.click()
    # Back from Checkout, the page reconnects and loads again: a click landing just before that load is
    # undone by it (the time is no longer chosen), so a person, like this test, clicks again.
    for _ in range(3):
        other.click()
        try:
            expect(page.get_by_label("Name")).to_be_visible(timeout=5_000)
            break
        except AssertionError:
            continue
    expect(page.get_by_label("Name")).to_be_focused()  # the details form, for the other time
    page.get_by_label("Name").fill("Ann Client")
    page.get_by_label("Email").fill("ann@example.com")
    page.get_by_role("button", name=re.compile(r"^Pay")).click()
    expect(page.get_by_label("Card number")).to_be_visible()
    assert page.url != checkout_url
    [live] = pending(app_db, session_type)  # one browser, one hold
    assert live.id != held.id
    with Session(app_db.get_bind()) as fresh:  # ended: replaced, or expired by the checkout.session.expired that
        # expiring its Checkout Session sends, if that webhook is applied first (release_hold_and_expire)
        assert fresh.get(Booking, held.id).status in (BookingStatus.CANCELLED, BookingStatus.EXPIRED)

    page.go_back()
    page.get_by_role("button", name="Pick another time").click()
    expect(banner).to_have_count(0)
    wait_until(lambda: not pending(app_db, session_type), timeout=20, message="the hold to be released")
    page.context.close()


def test_payment_not_completed_offers_continue_and_pick_another_time(app_server, app_db, session_type,
                                                                    browser: Browser):
    page = new_page(browser)
    pick_first_slot_and_pay(page, app_server.url, session_type)
    checkout_url = page.url
    held = money(app_db.get_bind(), booking_of(app_db, session_type).id)

    page.goto(f"{app_server.url}/payment/success?session_id={held.checkout_session_id}")

    expect(page.get_by_test_id("booking-unpaid")).to_be_visible()
    expect(page).to_have_title("Payment not completed · Book a builder")
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.get_by_label("Card number")).to_be_visible()
    assert page.url == checkout_url
    page.goto(f"{app_server.url}/payment/success?session_id={held.checkout_session_id}")
    page.get_by_role("button", name="Pick another time").click()
    expect(page).to_have_url(re.compile(rf"/[^/]+/{session_type.id}/?$"))
    wait_until(lambda: not pending(app_db, session_type), timeout=20, message="the hold to be released")
    page.goto(f"{app_server.url}/payment/success?session_id=cs_test_nothing_here")
    expect(page.get_by_test_id("booking-unknown")).to_be_visible()
    expect(page).to_have_title("Payment not found · Book a builder")
    page.context.close()


def test_a_non_ascii_email_is_charged_confirmed_and_emailed(app_server, app_db, session_type, browser: Browser,
                                                            mail_dir: Path):
    page = new_page(browser)
    pick_first_slot(page, app_server.url, session_type)
    page.get_by_label("Name").fill("Ünï Client")
    page.get_by_label("Email").fill("ünï@exämple.com")
    page.get_by_role("button", name=re.compile(r"^Pay")).click()
    fill_card(page, CARD_OK)

    expect_confirmed(page)
    expect(page).to_have_title("Booking confirmed · Book a builder")

    def client_mail() -> list[email.message.EmailMessage]:
        found = [email.message_from_bytes(p.read_bytes(), policy=default_policy) for p in mail_dir.glob("*.eml")]
        return [m for m in found if "ünï@xn--exmple-cua.com" in str(m["To"])]

    wait_until(lambda: bool(client_mail()), timeout=30, message="the confirmation to ünï@exämple.com")
    assert "Confirmed" in client_mail()[0]["Subject"]
    page.context.close()


@pytest.mark.parametrize("path", ["/", "/b/{slug}", "/book/{id}"])
def test_a_390px_screen_has_no_horizontal_scroll(app_server, app_db, session_type, browser: Browser, path: str):
    page = new_page(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    slug = slug_of(app_db, session_type)

    page.goto(app_server.url + path.format(id=session_type.id, slug=slug))

    expect(page.locator("h1")).to_have_count(1)

    def overflow() -> int:
        return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")

    assert overflow() <= 0
    if path.startswith("/book"):
        expect(page.get_by_test_id("slot").first).to_be_visible()
        assert overflow() <= 0
        page.get_by_test_id("slot").first.click()
        expect(page.get_by_label("Name")).to_be_visible()
        assert overflow() <= 0
    page.context.close()


def test_no_date_before_today_and_days_are_buttons_with_full_names(app_server, session_type, page: Page):
    page.goto(f"{app_server.url}/book/{session_type.id}")

    first_day = page.get_by_test_id("calendar-day").first
    expect(first_day).to_have_attribute("aria-label",
                                        re.compile(r"^\w+day \d{1,2} \w+ \d{4}, \d+ times? available$"))
    yesterday = datetime.now(timezone.utc).date() - timedelta(days=1)
    assert date.fromisoformat(first_day.get_attribute("data-day")) >= yesterday


def test_the_month_grid_is_one_tab_stop_and_arrow_keys_move_between_days(app_server, session_type,
                                                                          browser: Browser):
    """The WAI-ARIA grid pattern: Tab reaches the chosen day and then leaves the grid; arrows move a day or a
    week, Home/End to the week's ends, PageDown to the next month; Enter picks."""
    page = new_page(browser, timezone_id="UTC")
    page.goto(f"{app_server.url}/book/{session_type.id}")
    grid = page.get_by_role("grid")
    expect(grid.get_by_test_id("calendar-day").first).to_be_visible()
    expect(grid.get_by_role("row").first).to_be_visible()
    chosen = grid.locator('[role="gridcell"][aria-selected="true"] [data-grid-day]')
    expect(chosen).to_have_count(1)
    first_day = date.fromisoformat(chosen.get_attribute("data-grid-day"))
    expect(grid.locator('[tabindex="0"]')).to_have_count(1)  # one Tab stop: the chosen day

    focused = page.locator(":focus")
    page.get_by_test_id("next-month").focus()
    page.keyboard.press("Tab")
    expect(focused).to_have_attribute("data-grid-day", first_day.isoformat())
    page.keyboard.press("Tab")  # the next Tab leaves the grid
    assert page.evaluate("document.activeElement.closest('[role=grid]') === null")
    page.keyboard.press("Shift+Tab")
    expect(focused).to_have_attribute("data-grid-day", first_day.isoformat())

    page.keyboard.press("ArrowRight")
    expect(focused).to_have_attribute("data-grid-day", (first_day + timedelta(days=1)).isoformat())
    page.keyboard.press("ArrowDown")
    target = first_day + timedelta(days=8)
    expect(focused).to_have_attribute("data-grid-day", target.isoformat())  # the next month, if need be
    expect(page.get_by_role("grid").locator('[tabindex="0"]')).to_have_count(1)
    page.keyboard.press("Home")  # the week's Monday (in the month before, if the week starts there)
    monday = target - timedelta(days=target.weekday())
    expect(focused).to_have_attribute("data-grid-day", monday.isoformat())
    page.keyboard.press("End")
    expect(focused).to_have_attribute("data-grid-day", (monday + timedelta(days=6)).isoformat())
    page.keyboard.press("ArrowLeft")
    picked = (monday + timedelta(days=5)).isoformat()
    expect(focused).to_have_attribute("data-grid-day", picked)
    page.keyboard.press("Enter")  # picks the day: its times are shown
    expect(page.get_by_role("grid").locator(f'[data-day="{picked}"]')).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("times-heading")).to_have_text(
        page.get_by_role("grid").locator(f'[data-day="{picked}"]').get_attribute("aria-label").split(",")[0])

    title = page.get_by_test_id("month-title").inner_text()
    page.keyboard.press("PageDown")
    expect(page.get_by_test_id("month-title")).not_to_have_text(title)
    expect(focused).to_have_attribute("data-grid-day", re.compile(r"\d{4}-\d\d-\d\d"))
    page.context.close()


def test_the_booking_page_says_which_refund_tier_the_picked_time_is_in(app_server, session_type, browser: Browser):
    page = new_page(browser, timezone_id="UTC")
    page.goto(f"{app_server.url}/book/{session_type.id}")
    expect(page.get_by_test_id("calendar-day").first).to_be_visible()
    later = (datetime.now(timezone.utc) + timedelta(days=2)).date()
    day = page.get_by_role("grid").locator(f'[data-day="{later.isoformat()}"]')
    if not day.count():
        page.get_by_test_id("next-month").click()
    day.click()
    expect(day).to_have_attribute("aria-pressed", "true")
    page.get_by_test_id("slot").first.click()
    expect(page.get_by_label("Name")).to_be_visible()

    expect(page.get_by_test_id("refund-tier")).to_have_text(re.compile(
        r"^Booked \d+ h ahead: a full refund if you cancel up to 24 h before, then 50 % back up to 2 h before\.$"))
    page.context.close()
