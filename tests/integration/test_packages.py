"""Packages end to end below the UI, against the Stripe emulator over HTTP: a builder defines one (a Stripe
Product and Price), a client buys it (the paid webhook grants the credits and emails the wallet link),
books with credits until none are left, cancels in time and late, the builder refunds what is unused, and
the credits expire after one reminder. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest
from babel.dates import format_date as babel_date
from sqlmodel import Session, select

from booking.accounts.authz import Actor, NotFound
from booking.client import manage, packages, wallet
from booking.core.config import load_settings
from booking.core.models import (
    Booking,
    BookingStatus,
    CreditGrant,
    CreditPackage,
    MoneyMovement,
    MovementKind,
    Notification,
    PackagePurchase,
    Payment,
    PaymentStatus,
    Refund,
    UserAccount,
    UserRole,
)
from booking.events.webhooks import handle_webhook
from booking.notifications import wallet_links
from booking.notifications.outbox import build_message
from booking.payments import connect, credits, package_sales
from booking.payments.gateway import StripeGateway
from booking.workspace import packages as workspace_packages
from stripe_emulator.server import EmulatorServer
from tests.factories import make_builder, make_session_type
from tests.support import stripe_events as se

SETTINGS = load_settings(PUBLIC_URL="https://book.example")
CARD = dict(number="4242424242424242", expiry="12/34", cvc="123", email="ann@example.com", name="Ann")


@pytest.fixture(scope="module")
def emulator():
    with EmulatorServer(webhook_url=None, webhook_secret=se.WEBHOOK_SECRET) as server:
        yield server


@pytest.fixture
def gateway(emulator) -> StripeGateway:
    return StripeGateway(secret_key="sk_test_integration", webhook_secret=se.WEBHOOK_SECRET, api_base=emulator.url)


@pytest.fixture
def shop(engine, gateway):
    """Ada, her 1:1 call, and a 3-session package of it made through the workspace."""
    with Session(engine) as s:
        builder = make_builder(s, name="Ada", min_notice_minutes=0, policy_full_refund_hours=24)
        session_type = make_session_type(s, builder, price_amount=5000, currency="gbp", name="1:1 call")
        user = UserAccount(email="ada@example.com", password_hash="-", role=UserRole.BUILDER, builder_id=builder.id)
        s.add(user)
        s.commit()
        ids = {"builder": builder.id, "session_type": session_type.id}
        actor = Actor.of(user)
    data = workspace_packages.parse_package_form({"name": "Three calls", "session_count": "3", "price": "135.00",
                                                  "currency": "gbp", "validity_days": "60",
                                                  "session_type_ids": [str(ids["session_type"])]})
    ids["package"] = workspace_packages.create_package(engine=engine, gateway=gateway, actor=actor, data=data,
                                                       settings=SETTINGS)
    return {**ids, "actor": actor}


def deliver_all(engine, gateway, emulator) -> list[str]:
    """Every event the emulator made, signed and posted to our webhook (in order, each once)."""
    outcomes = []
    listed = httpx.get(f"{emulator.url}/v1/events", params={"limit": 100},
                       headers={"Authorization": "Bearer sk_test_integration"}, timeout=10).json()["data"]
    for evt in reversed(listed):
        payload = json.dumps(evt).encode()
        result = handle_webhook(engine=engine, gateway=gateway, payload=payload, signature=se.sign(payload))
        assert result.status_code == 200, result.body
        outcomes.append(f"{evt['type']}: {result.body}")
    return outcomes


def buy(engine, gateway, emulator, shop, client_locale: str | None = None) -> None:
    started = packages.begin_package_purchase(engine=engine, gateway=gateway, settings=SETTINGS,
                                              package_id=shop["package"], client_name="Ann",
                                              client_email="Ann@Example.com", client_time_zone="Europe/London",
                                              client_locale=client_locale)
    with Session(engine) as s:
        session_id = s.exec(select(Payment.checkout_session_id).where(
            Payment.package_purchase_id == started.purchase_id)).one()
    emulator.emulator.pay(session_id, **CARD)
    deliver_all(engine, gateway, emulator)


def slot(hours_ahead: int) -> datetime:
    start = (datetime.now(timezone.utc) + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    return start + timedelta(hours=hours_ahead)


def wallet_token(shop) -> str:
    return wallet_links.derive_token(shop["builder"], "ann@example.com")


def test_the_package_is_a_stripe_product_and_price_and_buying_it_grants_credits_once(engine, gateway, emulator, shop):
    with Session(engine) as s:
        package = s.get(CreditPackage, shop["package"])
        price = emulator.client().v1.prices.retrieve(package.stripe_price_id)
        assert (price.unit_amount, price.currency, price.product) == (13500, "gbp", package.stripe_product_id)

    buy(engine, gateway, emulator, shop)
    deliver_all(engine, gateway, emulator)  # every event again: nothing changes

    with Session(engine) as s:
        payment = s.exec(select(Payment).where(Payment.package_purchase_id.is_not(None))).one()
        assert (payment.status, payment.booking_id, payment.amount) == (PaymentStatus.PAID, None, 13500)
        kinds = {row.kind for row in s.exec(select(MoneyMovement).where(MoneyMovement.payment_id == payment.id))}
        assert MovementKind.CHARGE in kinds
        balance = credits.balance(session=s, client_email="ann@example.com", now=datetime.now(timezone.utc))
        assert balance.available == 3
        [mail] = s.exec(select(Notification).where(Notification.kind == "package_purchased")).all()
        assert wallet_token(shop) not in mail.payload  # the link (a credential) is derived when sending
    view = wallet.load_wallet(engine=engine, token=wallet_token(shop), time_zone="Europe/London")
    assert (view.available, view.builder_name, [t.name for t in view.session_types]) == (3, "Ada", ["1:1 call"])


def test_three_credits_book_three_times_and_the_fourth_asks_for_payment(engine, gateway, emulator, shop):
    buy(engine, gateway, emulator, shop)
    token = wallet_token(shop)
    results = [wallet.book_with_credit(engine=engine, token=token, session_type_id=shop["session_type"],
                                       start_time=slot(hours)) for hours in (0, 2, 4, 6)]

    assert [result.code for result in results] == ["booked", "booked", "booked", "no_credit"]
    with Session(engine) as s:
        booked = s.exec(select(Booking)).all()
        assert [b.status for b in booked] == [BookingStatus.CONFIRMED] * 3  # the 4th hold was rolled back
        assert s.exec(select(Payment).where(Payment.booking_id.is_not(None))).all() == []  # no charge
        confirmations = s.exec(select(Notification).where(Notification.kind == "booking_confirmed")).all()
        assert len(confirmations) == 6  # the client and the builder, each booking
    assert wallet.load_wallet(engine=engine, token=token).available == 0


def test_a_cancellation_in_time_returns_the_credit_and_a_late_one_uses_it(engine, gateway, emulator, shop):
    buy(engine, gateway, emulator, shop)
    token = wallet_token(shop)
    early = wallet.book_with_credit(engine=engine, token=token, session_type_id=shop["session_type"],
                                    start_time=slot(0))
    late = wallet.book_with_credit(engine=engine, token=token, session_type_id=shop["session_type"],
                                   start_time=slot(2))
    assert wallet.load_wallet(engine=engine, token=token).available == 1

    manage.cancel_by_client(engine=engine, gateway=gateway, token=early.manage_path.split("/")[-1])
    assert wallet.load_wallet(engine=engine, token=token).available == 2

    too_late = slot(2) - timedelta(hours=3)  # inside the 24 hours before its start
    manage.cancel_by_client(engine=engine, gateway=gateway, token=late.manage_path.split("/")[-1], now=too_late)
    assert wallet.load_wallet(engine=engine, token=token, now=too_late).available == 2


def test_the_builder_refunds_unused_credits_pro_rata(engine, gateway, emulator, shop):
    buy(engine, gateway, emulator, shop)
    wallet.book_with_credit(engine=engine, token=wallet_token(shop), session_type_id=shop["session_type"],
                            start_time=slot(0))
    with Session(engine) as s:
        [sale] = workspace_packages.list_sales(session=s, actor=shop["actor"])
        assert (sale.bought, sale.unused, sale.refundable) == (3, 2, "£90.00")

    said = workspace_packages.refund_unused_credits(engine=engine, gateway=gateway, actor=shop["actor"],
                                                    grant_id=sale.grant_id)

    assert said == "Refunded £90.00 for 2 unused credit(s)."
    with Session(engine) as s:
        refund = s.exec(select(Refund)).one()
        payment = s.get(Payment, refund.payment_id)
        assert (refund.amount, refund.booking_id, payment.amount_refunded) == (9000, None, 9000)
        assert payment.status == PaymentStatus.PARTIALLY_REFUNDED
        assert s.exec(select(MoneyMovement).where(MoneyMovement.kind == MovementKind.REFUND)).one().amount == 9000
    assert wallet.load_wallet(engine=engine, token=wallet_token(shop)).available == 0
    with Session(engine) as s:  # the builder's payouts page shows the refund on the sale's row
        [row] = connect.payouts_view(session=s, actor=shop["actor"], settings=SETTINGS).transfers
    assert (row.kind, row.sold, row.client, row.amount, row.refunded, row.status) == (
        "Package", "Three calls", "Ann", "£135.00", "£90.00", "partially_refunded")
    with pytest.raises(workspace_packages.RefundRefused):
        workspace_packages.refund_unused_credits(engine=engine, gateway=gateway, actor=shop["actor"],
                                                 grant_id=sale.grant_id)
    deliver_all(engine, gateway, emulator)  # the refund's events find it already recorded
    with Session(engine) as s:
        assert s.get(Payment, refund.payment_id).amount_refunded == 9000


def test_another_builder_cannot_refund_or_see_the_sale(engine, gateway, emulator, shop):
    buy(engine, gateway, emulator, shop)
    with Session(engine) as s:
        other = make_builder(s)
        user = UserAccount(email="x@example.com", password_hash="-", role=UserRole.BUILDER, builder_id=other.id)
        s.add(user)
        s.commit()
        stranger = Actor.of(user)
        assert workspace_packages.list_sales(session=s, actor=stranger) == []
        grant_id = s.exec(select(CreditGrant.id)).one()
    with pytest.raises(NotFound):
        workspace_packages.refund_unused_credits(engine=engine, gateway=gateway, actor=stranger, grant_id=grant_id)


def test_credits_expire_after_one_reminder_a_week_before(engine, gateway, emulator, shop):
    buy(engine, gateway, emulator, shop)
    with Session(engine) as s:
        expires_at = s.exec(select(CreditGrant.expires_at)).one()
    week_before = expires_at - timedelta(days=6)

    first = package_sales.expire_credits(engine=engine, now=week_before)
    again = package_sales.expire_credits(engine=engine, now=week_before + timedelta(hours=1))
    after = package_sales.expire_credits(engine=engine, now=expires_at + timedelta(minutes=1))

    assert (first.reminded, again.reminded, after.expired) == (1, 0, 3)
    with Session(engine) as s:
        assert len(s.exec(select(Notification).where(Notification.kind == "credits_expiring")).all()) == 1
    assert wallet.load_wallet(engine=engine, token=wallet_token(shop), now=expires_at + timedelta(minutes=1)).available == 0


def mail_text(engine, kind: str) -> str:
    with Session(engine) as s:
        [email] = s.exec(select(Notification).where(Notification.kind == kind)).all()
    return build_message(notification_id=email.id, kind=email.kind, recipient=email.recipient,
                         payload=email.payload, now=datetime.now(timezone.utc)).get_body(("plain",)).get_content()


def test_a_french_buyer_reads_the_package_emails_in_french(engine, gateway, emulator, shop):
    buy(engine, gateway, emulator, shop, client_locale="fr-FR")
    with Session(engine) as s:
        assert s.exec(select(PackagePurchase.client_locale)).one() == "fr-FR"
        expires_at = s.exec(select(CreditGrant.expires_at)).one().replace(tzinfo=timezone.utc)
    french_day = babel_date(expires_at.astimezone(ZoneInfo("Europe/London")), "d MMM y", locale="fr_FR")
    bought = mail_text(engine, "package_purchased")
    assert "Paid: 135,00\N{NO-BREAK SPACE}£GB" in bought and f"Valid until: {french_day}" in bought
    assert "Thank you for buying Three calls" in bought  # the words stay English

    package_sales.expire_credits(engine=engine, now=expires_at - timedelta(days=6))
    assert f"They expire on {french_day}" in mail_text(engine, "credits_expiring")


def test_a_garbage_locale_is_not_kept_and_the_emails_keep_the_default(engine, gateway, emulator, shop):
    buy(engine, gateway, emulator, shop, client_locale="zz-Nowhere<script>")
    with Session(engine) as s:
        assert s.exec(select(PackagePurchase.client_locale)).one() is None
    assert "Paid: £135.00" in mail_text(engine, "package_purchased")


def test_the_fee_report_shows_package_sales_as_their_own_kind(engine, gateway, emulator, shop):
    buy(engine, gateway, emulator, shop)
    admin = Actor(user_id=0, email="admin@example.com", role=UserRole.ADMIN, builder_id=None)
    with Session(engine) as s:
        rows = connect.fee_report(session=s, actor=admin)
    assert [(row.kind, row.payments, row.gross) for row in rows] == [("Packages", 1, "£135.00")]


def test_a_bad_wallet_link_and_a_bad_package_are_refused(engine, gateway, shop):
    with pytest.raises(wallet.WalletNotFound):
        wallet.load_wallet(engine=engine, token="x" * 43)
    with pytest.raises(packages.InvalidRequest):
        packages.begin_package_purchase(engine=engine, gateway=gateway, settings=SETTINGS, package_id="999",
                                        client_name="Ann", client_email="ann@example.com")
    with pytest.raises(packages.InvalidRequest):
        packages.begin_package_purchase(engine=engine, gateway=gateway, settings=SETTINGS,
                                        package_id=shop["package"], client_name="Ann", client_email="not-an-email")


def test_the_builders_cancellation_always_gives_the_credit_back(engine, gateway, emulator, shop):
    from booking.lifecycle import RefundChoice, cancel_booking

    buy(engine, gateway, emulator, shop)
    booked = wallet.book_with_credit(engine=engine, token=wallet_token(shop), session_type_id=shop["session_type"],
                                     start_time=slot(0))
    with Session(engine) as s:
        booking_id = s.exec(select(Booking.id)).one()
    assert booked.ok and wallet.load_wallet(engine=engine, token=wallet_token(shop)).available == 2

    outcome = cancel_booking(engine=engine, gateway=gateway, actor=shop["actor"], booking_id=booking_id,
                             refund=RefundChoice.NONE, amount=None, refund_reason="", request_key="")

    assert outcome.cancelled
    assert wallet.load_wallet(engine=engine, token=wallet_token(shop)).available == 3
