"""Memberships, in a real browser: a client subscribes to a builder's monthly plan from the builder's page
through the emulator's hosted checkout; the first month's credits are granted; the emulator's clock moves a month
and the renewal grants the next month's; the client changes the card in the customer portal to Stripe's
"attaches but fails on charge" card (4000 0000 0000 0341), opening the portal from the wallet; a month later the renewal fails: the client gets the
"update your card" email (its link opens the portal again) and no new credits."""

from __future__ import annotations

import uuid
from datetime import time
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from booking.accounts.authz import Actor
from booking.core.models import CreditGrant, Membership, MembershipStatus, UnusedCredits, UserAccount, UserRole
from booking.payments import memberships
from booking.payments.gateway import StripeGateway
from booking.payments.memberships import PlanInput
from tests.e2e.conftest import WEBHOOK_SECRET
from tests.factories import make_builder, make_session_type
from tests.support.admin_states import password_hash
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

FAILING_CARD = "4000 0000 0000 0341"


@pytest.fixture
def emulator_months(emulator):
    """Advance the emulator's clock by months; afterwards reset the emulator (its clock never goes back)."""
    yield lambda months: emulator.control("clock/advance", months=months)
    emulator.control("reset")


@pytest.fixture
def plan(app_db: Session, emulator):
    tag = uuid.uuid4().hex[:8]
    builder = make_builder(app_db, name=f"Ada {tag}", slug=f"ada-member-{tag}", email=f"ada-{tag}@e2e.test",
                           time_zone="Europe/London", hours=(time(0, 0), time(23, 0)))
    make_session_type(app_db, builder, price_amount=5000, currency="gbp", name=f"Mentoring {tag}")
    app_db.commit()
    gateway = StripeGateway(secret_key="sk_test_e2e", webhook_secret=WEBHOOK_SECRET, api_base=emulator.url)

    user = UserAccount(email=f"ada-member-{tag}@e2e.test", password_hash=password_hash(), role=UserRole.BUILDER,
                       builder_id=builder.id)
    app_db.add(user)
    app_db.commit()
    plan_id = memberships.create_plan(engine=app_db.get_bind(), gateway=gateway, actor=Actor.of(user), data=PlanInput(
        name=f"Monthly {tag}", sessions_per_period=4, amount=16000, currency="gbp",
        unused_credits=UnusedCredits.ROLL_OVER))
    return {"id": plan_id, "slug": builder.slug, "tag": tag, "email": f"member-{tag}@example.com",
            "builder_id": builder.id}


def credits_of(app_db: Session, email: str) -> list[int]:
    with Session(app_db.get_bind()) as session:  # a short transaction: SQLite's write lock
        return [grant.quantity for grant in session.exec(
            select(CreditGrant).where(CreditGrant.client_email == email).order_by(CreditGrant.id)).all()]


def membership_of(app_db: Session, email: str) -> Membership | None:
    with Session(app_db.get_bind()) as session:
        return session.exec(select(Membership).where(Membership.client_email == email)).first()


def emails_to(mail_dir: Path, address: str, subject: str) -> list[Path]:
    found = []
    for path in mail_dir.glob("*.eml"):
        message = message_from_bytes(path.read_bytes(), policy=default)
        if address in str(message["To"]) and subject in str(message["Subject"]):
            found.append(path)
    return found


def link_in(path: Path, marker: str) -> str:
    text = message_from_bytes(path.read_bytes(), policy=default).get_body(("plain",)).get_content()
    return next(word for line in text.splitlines() for word in line.split() if marker in word and "://" in word)


def test_subscribe_renew_then_the_card_fails(app_server, app_db, emulator_months, plan, browser: Browser,
                                             page: Page, mail_dir: Path):
    page.goto(f"{app_server.url}/b/{plan['slug']}")
    card = page.get_by_test_id("membership-plan")
    expect(card).to_be_visible(timeout=60_000)  # the first load of a busy machine is slow
    expect(card.get_by_test_id("membership-price")).to_contain_text("4 sessions a month · £160.00 a month")
    card.get_by_label("Your name").fill("Member Client")
    card.get_by_label("Your email").fill(plan["email"])
    card.get_by_test_id("subscribe").click()

    # The emulator's hosted checkout, in subscription mode.
    expect(page.get_by_test_id("billing-interval")).to_have_text(" per month", timeout=30_000)
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry").fill("12/34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Cardholder name").fill("Member Client")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_test_id("membership-started")).to_be_visible(timeout=30_000)
    wait_until(lambda: credits_of(app_db, plan["email"]) == [4], timeout=30, message="the first month's credits")
    assert membership_of(app_db, plan["email"]).status == MembershipStatus.ACTIVE

    emulator_months(1)  # the renewal
    wait_until(lambda: credits_of(app_db, plan["email"]) == [4, 4], timeout=30, message="the renewal's credits")

    # The client changes the card in the customer portal, opened from their wallet (its link was emailed).
    started = f"Your Monthly {plan['tag']} membership with"  # its own email, with the wallet link
    wait_until(lambda: emails_to(mail_dir, plan["email"], started), timeout=30, message="the wallet link's email")
    assert len(emails_to(mail_dir, plan["email"], started)) == 1  # once, not again at the renewal
    page.goto(link_in(emails_to(mail_dir, plan["email"], started)[0], "/wallet/"))
    expect(page.get_by_test_id("credits-available")).to_have_text("8", timeout=30_000)
    page.get_by_test_id("manage-membership").click()
    expect(page.get_by_test_id("portal-subscription")).to_contain_text(f"Monthly {plan['tag']}", timeout=30_000)
    page.get_by_label("Card number").fill(FAILING_CARD)
    page.get_by_label("Expiry").fill("12/34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Cardholder name").fill("Member Client")
    page.get_by_role("button", name="Update payment method").click()
    expect(page.get_by_test_id("card-on-file")).to_have_text("Card ending in 0341")

    emulator_months(1)  # this renewal fails
    wait_until(lambda: membership_of(app_db, plan["email"]).status == MembershipStatus.PAST_DUE, timeout=30,
               message="the failed renewal")
    wait_until(lambda: emails_to(mail_dir, plan["email"], "failed: update your card"), timeout=30,
               message="the failed payment's email")
    assert credits_of(app_db, plan["email"]) == [4, 4]  # nothing for the unpaid month
    [path] = emails_to(mail_dir, plan["email"], "failed: update your card")
    page.goto(link_in(path, "/membership/portal/"))  # the email's link opens the customer portal again
    expect(page.get_by_test_id("subscription-status")).to_have_text("past_due", timeout=30_000)
