"""The workspace session in a real browser: signing in through the page sets an HttpOnly cookie that page
scripts can't read, the websocket is signed in by it, the sign-in returns to the page asked for, and after
signing out the old cookie value is refused."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from booking_ui.admin.base import SESSION_COOKIE
from tests.e2e.test_workspace import ada  # noqa: F401 - the signed-up builder fixture
from tests.support.admin_states import PASSWORD

pytestmark = pytest.mark.e2e


def session_cookies(page: Page) -> list[dict]:
    return [cookie for cookie in page.context.cookies() if cookie["name"] == SESSION_COOKIE]


def test_the_session_cookie_is_http_only_and_signing_out_ends_it(app_server, ada, page: Page):  # noqa: F811
    page.goto(f"{app_server.url}/admin/bookings?status=confirmed")
    expect(page).to_have_url(re.compile(r"/admin/login/?\?next=%2Fadmin%2Fbookings(%2F)?%3Fstatus%3Dconfirmed$"))
    page.get_by_label("Email").fill(ada["email"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # Back on the page that was asked for, signed in over the websocket by the cookie alone.
    expect(page).to_have_url(re.compile(r"/admin/bookings/?\?status=confirmed$"))
    expect(page.get_by_test_id("signed-in-as")).to_have_text(ada["email"])
    (cookie,) = session_cookies(page)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert SESSION_COOKIE not in page.evaluate("document.cookie")  # page scripts can't read it
    page.goto(f"{app_server.url}/admin/account")  # another page, another guarded event: still signed in
    expect(page.get_by_test_id("account-email")).to_have_text(ada["email"])

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/admin/login/?\?reason=signed-out$"))
    expect(page.get_by_test_id("login-info")).to_contain_text("signed out")
    assert session_cookies(page) == []  # cleared by the answer

    # Someone who copied the old value: refused by the websocket's guard and by the HTTP routes.
    page.context.add_cookies([{key: cookie[key] for key in ("name", "value", "domain", "path", "httpOnly",
                                                           "sameSite")}])
    page.goto(f"{app_server.url}/admin/account")
    expect(page).to_have_url(re.compile(r"/admin/login/?\?next=%2Fadmin%2Faccount(%2F)?$"))
    expect(page.get_by_test_id("signed-in-as")).to_have_count(0)
    replayed = httpx.get(f"{app_server.url}/api/admin/events/1/payload", cookies={SESSION_COOKIE: cookie["value"]})
    assert replayed.status_code == 401


def test_a_wrong_password_keeps_next_and_shows_the_message(app_server, ada, page: Page):  # noqa: F811
    page.goto(f"{app_server.url}/admin/payouts")
    expect(page).to_have_url(re.compile(r"/admin/login/?\?next="))
    page.get_by_label("Email").fill(ada["email"])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("login-error")).to_contain_text("don't match")
    assert session_cookies(page) == []
    page.get_by_label("Email").fill(ada["email"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/admin/payouts/?$"))
    expect(page.get_by_test_id("signed-in-as")).to_have_text(ada["email"])
