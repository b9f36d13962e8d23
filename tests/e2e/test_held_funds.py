"""Held funds released, in a real browser: a builder who has not finished Stripe's onboarding takes a
payment (the platform holds it); their payouts page says what is held, why and when it goes out; they
finish onboarding on the emulator's hosted page, the job worker releases the money as one transfer linked
to the charge, and the page shows it released. A platform admin's fee report shows Stripe's fee and the
real net, and "Where the money went" shows every movement of the payment."""

from __future__ import annotations

import re
import uuid
from datetime import time

import pytest
import stripe
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from booking.accounts.authz import Actor
from booking.core.models import Booking, Builder, Payment, UserAccount, UserRole
from booking.payments import connect
from tests.e2e.test_booking_flow import CARD_OK, expect_confirmed, fill_card, pick_first_slot_and_pay
from tests.e2e.test_workspace import sign_in
from tests.factories import make_builder, make_session_type
from tests.support.admin_states import password_hash
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def people(app_db: Session):
    tag = uuid.uuid4().hex[:8]
    row = make_builder(app_db, name=f"Hal {tag}", slug=f"hal-held-{tag}", email=f"hal-{tag}@e2e.test",
                       time_zone="Europe/London", hours=(time(0, 0), time(23, 0)), min_notice_minutes=60)
    session_type = make_session_type(app_db, row, price_amount=5000, currency="gbp", name=f"Held call {tag}")
    builder = UserAccount(email=f"hal-held-{tag}@e2e.test", password_hash=password_hash(), role=UserRole.BUILDER,
                          builder_id=row.id)
    admin = UserAccount(email=f"ops-held-{tag}@e2e.test", password_hash=password_hash(), role=UserRole.ADMIN)
    app_db.add_all([builder, admin])
    app_db.commit()
    return {"id": row.id, "name": row.name, "email": builder.email, "admin": admin.email, "admin_id": admin.id,
            "session_type": session_type, "tag": tag}


def payment_of(app_db: Session, builder_id: int) -> Payment | None:
    with Session(app_db.get_bind()) as session:  # a short transaction: SQLite's write lock
        return session.exec(select(Payment).join(Booking, Booking.id == Payment.booking_id)
                            .where(Booking.builder_id == builder_id)).first()


def test_held_money_is_released_after_onboarding_and_the_fee_report_shows_stripe_s_fee(
        app_server, app_db, emulator, people, browser: Browser, page: Page):
    sign_in(page, app_server.url, people["email"])
    page.get_by_role("link", name="Payouts", exact=True).click()
    page.get_by_test_id("set-up-payouts").click()
    expect(page.get_by_role("button", name="Complete onboarding")).to_be_visible(timeout=30_000)
    page.goto(f"{app_server.url}/admin/payouts")  # left Stripe's onboarding before finishing it
    expect(page.get_by_test_id("payouts-status")).to_have_text("Onboarding not finished")

    # A client books and pays meanwhile: the platform holds the money.
    client_context = browser.new_context(timezone_id="Europe/London", locale="en-GB")
    client = client_context.new_page()
    pick_first_slot_and_pay(client, app_server.url, people["session_type"],
                            email_address=f"payer-{people['tag']}@example.com")
    fill_card(client, CARD_OK)
    expect_confirmed(client)
    client_context.close()
    wait_until(lambda: payment_of(app_db, people["id"]) is not None and payment_of(app_db, people["id"]).paid_at,
               timeout=30, message="the payment recorded")
    assert payment_of(app_db, people["id"]).destination_account_id is None

    page.reload()
    held = page.get_by_test_id("held-funds")
    expect(held.get_by_test_id("held-amount")).to_contain_text("£45.00")
    expect(held.get_by_test_id("held-reason")).to_contain_text("Stripe onboarding isn't finished")
    expect(held.get_by_test_id("held-when")).to_contain_text("As soon as your payouts are enabled")
    expect(held.get_by_test_id("held-when")).to_contain_text("usually within a few minutes")
    expect(page.get_by_test_id("transfer-row").first.get_by_test_id("transfer-net")).to_have_text(
        "Held by the platform")

    # The builder finishes onboarding; the job worker releases the held money once.
    page.get_by_test_id("set-up-payouts").click()
    page.get_by_role("button", name="Complete onboarding").click(timeout=30_000)
    expect(page).to_have_url(re.compile(r"/admin/payouts\?onboarding=returned"), timeout=30_000)
    expect(page.get_by_test_id("payouts-status")).to_have_text("Payouts enabled")
    wait_until(lambda: payment_of(app_db, people["id"]).release_transfer_id is not None, timeout=30,
               message="the held money released")
    paid = payment_of(app_db, people["id"])
    with Session(app_db.get_bind()) as session:
        account_id = session.get(Builder, people["id"]).stripe_account_id
    sdk = stripe.StripeClient("sk_test_e2e", base_addresses={"api": emulator.url})
    [transfer] = sdk.v1.transfers.list(params={"destination": account_id}).data
    assert (transfer.id, transfer.amount) == (paid.release_transfer_id, 4500)
    assert transfer.source_transaction == sdk.v1.payment_intents.retrieve(paid.payment_intent_id).latest_charge

    page.reload()
    expect(page.get_by_test_id("held-funds")).to_have_count(0)
    row = page.get_by_test_id("transfer-row").first
    expect(row.get_by_test_id("transfer-net")).to_contain_text("£45.00")
    expect(row.get_by_test_id("transfer-released")).to_contain_text("Released")
    expect(row.get_by_test_id("transfer-id")).to_have_text(transfer.id)

    # Stripe's fee of the charge is read by the worker; the admin's report and breakdown show it.
    charge = sdk.v1.charges.retrieve(transfer.source_transaction, params={"expand": ["balance_transaction"]})
    stripe_fee = charge.balance_transaction.fee
    assert stripe_fee > 0
    wait_until(lambda: _stripe_fee_recorded(app_db, paid.id), timeout=30, message="Stripe's fee recorded")

    admin_context = browser.new_context(timezone_id="Europe/London", locale="en-GB")
    admin_page = admin_context.new_page()
    sign_in(admin_page, app_server.url, people["admin"])
    admin_page.goto(f"{app_server.url}/admin/payouts")
    with Session(app_db.get_bind()) as session:
        admin = Actor.of(session.get(UserAccount, people["admin_id"]))
        month = next(r for r in connect.fee_report(session=session, actor=admin) if r.currency == "GBP")
    report_row = admin_page.get_by_test_id("fee-month-row").filter(has_text=month.month).filter(has_text="GBP")
    expect(report_row.get_by_test_id("fee-stripe")).to_have_text(month.stripe_fees)
    expect(report_row.get_by_test_id("fee-net")).to_have_text(month.net)
    assert month.stripe_fees != "£0.00"

    admin_page.locator("#payouts-builder").select_option(str(people["id"]))
    admin_page.get_by_test_id("show-breakdown").first.click()
    breakdown = admin_page.get_by_test_id("money-breakdown")
    fee_text = f"£{stripe_fee / 100:.2f}"
    expect(breakdown.get_by_test_id("movement-row").filter(has_text="Stripe's processing fee")).to_contain_text(
        fee_text)
    expect(breakdown.get_by_test_id("movement-row").filter(has_text="Transfer to the builder")).to_contain_text(
        "£45.00")
    expect(breakdown.get_by_test_id("breakdown-party").filter(has_text="Platform")).to_contain_text(
        f"£{(500 - stripe_fee) / 100:.2f}")
    admin_context.close()


def _stripe_fee_recorded(app_db: Session, payment_id: int) -> bool:
    from booking.core.models import MoneyMovement, MovementKind

    with Session(app_db.get_bind()) as session:
        return session.exec(select(MoneyMovement.id).where(MoneyMovement.payment_id == payment_id,
                                                           MoneyMovement.kind == MovementKind.STRIPE_FEE)).first() \
            is not None
