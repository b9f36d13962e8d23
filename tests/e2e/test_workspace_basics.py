"""The workspace's basics in a real browser: the profile (a photo uploaded in the workspace shows on the public
page, and a new public address keeps the old one working), the confirm dialog before a cancellation, the
bookings list and detail on a 390 px phone, and the navigation on a 1366 px laptop."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from booking.core.models import Booking, BookingStatus, EndCause
from tests.e2e.test_workspace import ada, fresh, sign_in  # noqa: F401 - `ada` is a fixture
from tests.factories import make_client, make_hold, make_session_type

pytestmark = pytest.mark.e2e


def page_at(browser: Browser, width: int, height: int) -> Page:
    context = browser.new_context(viewport={"width": width, "height": height}, timezone_id="Europe/London",
                                  locale="en-GB")
    context.set_default_timeout(20_000)
    return context.new_page()


@pytest.fixture
def confirmed(app_db: Session, ada):  # noqa: F811 - the fixture imported above
    """A confirmed, unpaid-for-refund booking of Ada's, two days ahead, with a long client name and email."""
    builder = ada["builder"]
    session_type = make_session_type(app_db, builder, name=f"Long consultation {ada['tag']}")
    client = make_client(app_db, name="Bartholomew Longname-Featherstonehaugh",
                         email=f"bartholomew.longname-{ada['tag']}@a-rather-long-domain.example.com")
    start = (datetime.now(timezone.utc) + timedelta(days=2)).replace(hour=11, minute=0, second=0, microsecond=0)
    booking = make_hold(app_db, builder=builder, session_type=session_type, client=client, start=start,
                        status=BookingStatus.CONFIRMED, confirmed_at=datetime.now(timezone.utc))
    app_db.commit()
    return booking


WIDEST = """width => [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > width + 1 && !el.closest('.rt-ScrollAreaViewport'))
    .slice(-4).map(el => `${el.tagName}.${el.className} ${Math.round(el.getBoundingClientRect().right)}px`)"""


def no_sideways_scroll(page: Page, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, (f"the page is {scroll_width} px wide in a {width} px window; too wide: "
                                   f"{page.evaluate(WIDEST, width)}")


def in_view(page: Page, locator) -> None:
    expect(locator).to_be_visible()
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"], box


def test_a_photo_uploaded_in_the_workspace_shows_on_the_public_page(app_server, app_db, ada, page: Page,  # noqa: F811
                                                                     tmp_path: Path):
    photo = tmp_path / "me.jpg"
    exif = Image.Exif()
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS latitude
    Image.new("RGB", (1200, 800), (200, 40, 40)).save(photo, format="JPEG", exif=exif)
    sign_in(page, app_server.url, ada["email"])

    page.goto(f"{app_server.url}/admin/profile")
    expect(page.get_by_label("Name")).to_have_value(ada["builder"].name)
    page.get_by_test_id("profile-photo-upload").locator("input[type=file]").set_input_files(str(photo))
    expect(page.get_by_test_id("profile-photo-notice")).to_contain_text("Photo saved")
    expect(page.get_by_test_id("profile-photo-preview")).to_be_visible()
    page.get_by_label("Bio").fill("Pair programming and code review, mostly Python.")
    new_slug = f"ada-new-{ada['tag']}"
    page.get_by_label("Public address").fill(new_slug)
    page.get_by_test_id("profile-save").click()
    expect(page.get_by_test_id("profile-notice")).to_contain_text(f"/b/{new_slug}")

    # The public page, at the new address and from the old one, shows the photo and the bio.
    page.goto(f"{app_server.url}/b/{ada['builder'].slug}")
    expect(page).to_have_url(re.compile(rf"/b/{new_slug}$"))
    image = page.get_by_test_id("builder-photo")
    expect(image).to_be_visible()
    expect(page.get_by_test_id("builder-bio")).to_have_text("Pair programming and code review, mostly Python.")
    page.wait_for_function("el => el.complete && el.naturalWidth === 400", arg=image.element_handle())
    served = httpx.get(app_server.url + image.get_attribute("src"), timeout=10)
    assert served.status_code == 200 and served.headers["content-type"] == "image/webp"
    assert not Image.open(io.BytesIO(served.content)).getexif()  # no EXIF, no GPS

    # Removing it takes it off the public page.
    page.goto(f"{app_server.url}/admin/profile")
    page.get_by_test_id("profile-photo-remove").click()
    expect(page.get_by_test_id("profile-photo-notice")).to_contain_text("Photo removed")
    page.goto(f"{app_server.url}/b/{new_slug}")
    expect(page.get_by_test_id("builder-bio")).to_be_visible()
    expect(page.get_by_test_id("builder-photo")).to_have_count(0)


def test_cancelling_asks_first_and_says_what_will_happen(app_server, app_db, ada, confirmed, page: Page):  # noqa: F811
    sign_in(page, app_server.url, ada["email"])
    page.goto(f"{app_server.url}/admin/bookings")
    page.get_by_test_id("booking-row").filter(has_text="Bartholomew").get_by_test_id("open-booking").click()
    cancel_form = page.get_by_test_id("cancel-form")
    cancel_form.get_by_text("No refund").click()

    # Going back (Escape, from the keyboard) changes nothing.
    cancel_form.get_by_test_id("cancel-submit").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("The session is cancelled: the time is freed and the client is emailed.")
    expect(dialog).to_contain_text("Nothing is refunded.")
    expect(dialog.get_by_role("button", name="Go back")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert fresh(app_db, Booking, Booking.id == confirmed.id).status == BookingStatus.CONFIRMED

    # Confirming cancels it.
    cancel_form.get_by_test_id("cancel-submit").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Cancel booking").click()
    expect(page.get_by_test_id("cancel-result")).to_contain_text("Booking cancelled", timeout=30_000)
    cancelled = fresh(app_db, Booking, Booking.id == confirmed.id)
    assert (cancelled.status, cancelled.end_cause) == (BookingStatus.CANCELLED, EndCause.CANCELLED_BY_BUILDER)


def test_the_bookings_list_and_detail_work_on_a_390px_phone(app_server, app_db, ada, confirmed, browser: Browser):  # noqa: F811
    phone = page_at(browser, 390, 844)
    sign_in(phone, app_server.url, ada["email"])
    phone.goto(f"{app_server.url}/admin/bookings")
    row = phone.get_by_test_id("booking-row").filter(has_text="Bartholomew")
    expect(row).to_be_visible()
    no_sideways_scroll(phone, 390)
    in_view(phone, row.get_by_test_id("open-booking"))
    row.get_by_test_id("open-booking").click()
    expect(phone.get_by_test_id("booking-detail")).to_be_visible()
    no_sideways_scroll(phone, 390)
    in_view(phone, phone.get_by_test_id("cancel-submit"))
    in_view(phone, phone.get_by_role("button", name="Close"))
    phone.get_by_test_id("cancel-submit").click()
    dialog = phone.get_by_role("alertdialog")
    in_view(phone, dialog.get_by_role("button", name="Cancel booking"))
    no_sideways_scroll(phone, 390)
    phone.context.close()


def test_the_navigation_fits_on_one_line_at_1366px_and_wraps_on_a_phone(app_server, ada, browser: Browser):  # noqa: F811
    laptop = page_at(browser, 1366, 768)
    sign_in(laptop, app_server.url, ada["email"])
    laptop.goto(f"{app_server.url}/admin/bookings")
    nav = laptop.get_by_test_id("admin-nav")
    expect(nav.get_by_role("link", name="Profile")).to_be_visible()
    fits = nav.evaluate("el => ({scroll: el.scrollWidth, client: el.clientWidth,"
                        " tops: [...el.querySelectorAll('a')].map(a => a.getBoundingClientRect().top),"
                        " hidden: [...el.querySelectorAll('a')].filter(a => !a.checkVisibility()).length})")
    assert fits["scroll"] <= fits["client"], fits
    assert len(set(round(top) for top in fits["tops"])) == 1, f"the nav wraps at 1366 px: {fits}"
    assert fits["hidden"] == 0 and len(fits["tops"]) >= 11
    no_sideways_scroll(laptop, 1366)
    laptop.context.close()

    phone = page_at(browser, 390, 844)
    sign_in(phone, app_server.url, ada["email"])
    phone.goto(f"{app_server.url}/admin")
    links = phone.get_by_test_id("admin-nav").get_by_role("link")
    for index in range(links.count()):
        in_view(phone, links.nth(index))
    no_sideways_scroll(phone, 390)
    phone.get_by_test_id("admin-nav").get_by_role("link", name="Profile").click()
    expect(phone).to_have_url(re.compile(r"/admin/profile$"))
    no_sideways_scroll(phone, 390)
    phone.context.close()
