"""Forgot password, in a real browser: the sign-in page's link, the emailed link (read from the app's mail
folder, as the worker delivered it), a new password, and signing in with it through the sign-in form."""

from __future__ import annotations

import email
import re
import uuid
from email.policy import default as default_policy
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from booking.core.models import UserAccount, UserRole
from tests.factories import make_builder
from tests.support.admin_states import PASSWORD, password_hash
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "a-new-password-from-the-email"


@pytest.fixture
def account(app_db: Session) -> str:
    tag = uuid.uuid4().hex[:8]
    builder = make_builder(app_db, name=f"Reset {tag}", slug=f"reset-{tag}")
    user = UserAccount(email=f"reset-{tag}@e2e.test", password_hash=password_hash(), role=UserRole.BUILDER,
                       builder_id=builder.id)
    app_db.add(user)
    app_db.commit()
    return user.email


def reset_emails(mail_dir: Path, address: str) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted(mail_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        if message["X-Booking-Notification-Kind"] == "password_reset" and address in str(message["To"]):
            found.append(message)
    return found


def sign_in(page: Page, app_url: str, address: str, password: str) -> None:
    page.goto(f"{app_url}/admin/login")
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_forgot_password_email_link_new_password_sign_in(app_server, account: str, page: Page, mail_dir: Path):
    page.goto(f"{app_server.url}/admin/login")
    page.get_by_role("link", name="Forgot password?").click()
    expect(page).to_have_url(re.compile(r"/admin/forgot"))
    page.get_by_label("Email").fill(account)
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_test_id("forgot-answer")).to_contain_text("If an account exists for that address")

    wait_until(lambda: bool(reset_emails(mail_dir, account)), timeout=30, message="the reset email")
    [message] = reset_emails(mail_dir, account)
    text = message.get_body(("plain",)).get_content()
    link = re.search(r"(http\S+/admin/reset\?token=[A-Za-z0-9_-]+)", text).group(1)
    assert link.startswith(app_server.url)

    page.goto(link)
    expect(page.get_by_test_id("link-account")).to_have_value(account)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    expect(page).to_have_url(re.compile(r"/admin/login"))

    sign_in(page, app_server.url, account, PASSWORD)  # the old password no longer works
    expect(page.get_by_test_id("login-error")).to_be_visible()
    sign_in(page, app_server.url, account, NEW_PASSWORD)
    expect(page.get_by_test_id("signed-in-as")).to_have_text(account)

    page.goto(link)  # used: a clear message and a way to ask again
    expect(page.get_by_test_id("recovery-error")).to_contain_text("already used")
    expect(page.get_by_test_id("ask-again")).to_be_visible()


@pytest.fixture
def platform_admin(app_db: Session) -> str:
    user = UserAccount(email=f"admin-{uuid.uuid4().hex[:8]}@e2e.test", password_hash=password_hash(),
                       role=UserRole.ADMIN)
    app_db.add(user)
    app_db.commit()
    return user.email


def invite_emails(mail_dir: Path, address: str) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted(mail_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        if message["X-Booking-Notification-Kind"] == "builder_invite" and address in str(message["To"]):
            found.append(message)
    return found


def test_an_admin_invites_a_builder_who_sets_a_password_and_signs_in(app_server, platform_admin: str,
                                                                     browser, page: Page, mail_dir: Path):
    tag = uuid.uuid4().hex[:8]
    address = f"invited-{tag}@example.com"
    sign_in(page, app_server.url, platform_admin, PASSWORD)
    expect(page.get_by_test_id("signed-in-as")).to_have_text(platform_admin)
    page.get_by_role("link", name="Invite a builder").click()
    page.get_by_label("Name").fill(f"Invited {tag}")
    page.get_by_label("Email").fill(address)
    page.get_by_label("Time zone").select_option("Europe/Paris")
    page.get_by_role("button", name="Send invite").click()
    expect(page.get_by_test_id("invite-notice")).to_contain_text(f"Invite sent to {address}")
    expect(page.get_by_role("cell", name=address)).to_be_visible()

    wait_until(lambda: bool(invite_emails(mail_dir, address)), timeout=30, message="the invite email")
    [message] = invite_emails(mail_dir, address)
    link = re.search(r"(http\S+/admin/invite\?token=[A-Za-z0-9_-]+)",
                     message.get_body(("plain",)).get_content()).group(1)

    builder = browser.new_context(timezone_id="Europe/Paris", locale="en-GB").new_page()
    try:
        builder.goto(link)  # signed out: no sign-in needed
        builder.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        builder.get_by_label("Confirm new password").fill(NEW_PASSWORD)
        builder.get_by_role("button", name="Set password").click()
        expect(builder).to_have_url(re.compile(r"/admin/login"))
        sign_in(builder, app_server.url, address, NEW_PASSWORD)
        expect(builder.get_by_test_id("signed-in-as")).to_have_text(address)
    finally:
        builder.context.close()
