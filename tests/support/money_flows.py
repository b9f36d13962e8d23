"""Money flows through the Stripe emulator on a real database: builders onboarded (or not yet), bookings paid,
refunded and released, with every event the emulator makes handed to our webhook in order; and what the
emulator's balance transactions say each party holds, to compare with the money journal."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from sqlmodel import Session, select

from booking.accounts.authz import Actor
from booking.core.config import load_settings
from booking.core.db import session_scope
from booking.core.models import Builder, Payment, UserAccount
from booking.events.webhooks import handle_webhook
from booking.lifecycle import checkout as payments
from booking.lifecycle import refunds
from booking.payments import connect, movements, release
from booking.payments.gateway import StripeGateway
from stripe_emulator.server import EmulatorServer
from tests.factories import make_builder, make_session_type
from tests.support import stripe_events as se
from tests.support.admin_states import make_user

SETTINGS = load_settings(PUBLIC_URL="https://book.example", HOLD_MINUTES=30, PLATFORM_FEE_PERCENT="10",
                         PLATFORM_FIXED_FEES="gbp:30")
RETURN_URL, REFRESH_URL = "https://book.example/admin/payouts/return", "https://book.example/admin/payouts/refresh"
NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)
_numbers = itertools.count(1)


def gateway_for(emulator: EmulatorServer) -> StripeGateway:
    return StripeGateway(secret_key="sk_test_money", webhook_secret=[se.WEBHOOK_SECRET], api_base=emulator.url)


class Deliveries:
    """The emulator's events to our webhook, in the order it made them, each once."""

    def __init__(self, engine: Any, gateway: StripeGateway, emulator: EmulatorServer) -> None:
        self.engine, self.gateway, self.emulator = engine, gateway, emulator
        self.done = {event["id"] for event in emulator.emulator.snapshot()["events"]}
        self.delivered: list[dict[str, Any]] = []

    def flush(self) -> list[tuple[str, str]]:
        events = sorted(self.emulator.emulator.snapshot()["events"], key=lambda e: (e["created"], e["id"]))
        answers = []
        for event in events:
            if event["id"] in self.done:
                continue
            self.done.add(event["id"])
            answers.append(self.deliver({k: v for k, v in event.items() if k != "delivery_status"}))
        return answers

    def deliver(self, event: dict[str, Any]) -> tuple[str, str]:
        payload = json.dumps(event).encode()
        result = handle_webhook(engine=self.engine, gateway=self.gateway, payload=payload,
                                signature=se.sign(payload))
        assert result.status_code == 200, (event["type"], result.body)
        self.delivered.append(event)
        return event["type"], str(result.body.get("outcome", ""))


def control(emulator: EmulatorServer, path: str, **body: Any) -> dict[str, Any]:
    response = httpx.post(f"{emulator.url}/_emulator/{path}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


@dataclass
class Shop:
    """One builder with a GBP session type, and their sign-in."""

    builder_id: int
    session_type: Any
    actor: Actor
    next_day: int = 2


def new_shop(engine: Any, *, price: int = 5000) -> Shop:
    n = next(_numbers)
    with session_scope(engine) as session:
        builder = make_builder(session, name=f"Ada {n}", email=f"ada{n}@example.test", time_zone="Europe/London")
        session_type = make_session_type(session, builder, price_amount=price, currency="gbp", name="Consult")
        session.flush()
        builder_id = builder.id
        session.expunge(session_type)
    user_id = make_user(engine, email=f"ada{n}-user@example.test", builder_id=builder_id)
    with Session(engine) as session:
        actor = Actor.of(session.get(UserAccount, user_id))
    return Shop(builder_id=builder_id, session_type=session_type, actor=actor)


def onboard(engine: Any, gateway: StripeGateway, emulator: EmulatorServer, deliveries: Deliveries,
            shop: Shop) -> str:
    connect.start_onboarding(engine=engine, gateway=gateway, actor=shop.actor, return_url=RETURN_URL,
                             refresh_url=REFRESH_URL)
    account_id = builder_row(engine, shop.builder_id).stripe_account_id
    control(emulator, f"accounts/{account_id}/onboarding", choice="complete", bank_account="000123456789")
    deliveries.flush()  # account.updated
    assert builder_row(engine, shop.builder_id).payouts_enabled
    return account_id


def start_account(engine: Any, gateway: StripeGateway, shop: Shop) -> str:
    """The builder pressed "Set up payouts" but has not finished onboarding."""
    connect.start_onboarding(engine=engine, gateway=gateway, actor=shop.actor, return_url=RETURN_URL,
                             refresh_url=REFRESH_URL)
    return builder_row(engine, shop.builder_id).stripe_account_id


def builder_row(engine: Any, builder_id: int) -> Builder:
    with Session(engine) as session:
        return session.get(Builder, builder_id)


def book_and_pay(engine: Any, gateway: StripeGateway, emulator: EmulatorServer, deliveries: Deliveries,
                 shop: Shop, card: str = "4242424242424242") -> str:
    start = (NOW + timedelta(days=shop.next_day)).replace(hour=10, minute=0)
    shop.next_day += 1
    started = payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS,
                                      session_type_id=shop.session_type.id, start_time=start, client_name="Cleo",
                                      client_email="cleo@example.com")
    paid = control(emulator, f"checkout/sessions/{started.checkout_session_id}/complete", card=card)
    assert paid["status"] == "succeeded"
    deliveries.flush()
    return started.booking_id


def refund(engine: Any, gateway: StripeGateway, deliveries: Deliveries, shop: Shop, booking_id: str,
           amount: int | None) -> None:
    outcome = refunds.request_refund(engine=engine, gateway=gateway, actor=shop.actor, cancel_session=False,
                                     booking_id=booking_id, amount=amount, reason="requested_by_customer",
                                     request_key=f"refund-{booking_id[:8]}-{next(_numbers)}")
    assert outcome.ok, outcome
    deliveries.flush()


def run_jobs(engine: Any, gateway: StripeGateway, deliveries: Deliveries) -> release.ReleaseResult:
    """What the worker's money jobs do at a tick: release held funds, then read Stripe's fees."""
    result = release.release_held_funds(engine=engine, gateway=gateway, settings=SETTINGS)
    release.record_stripe_fees(engine=engine, gateway=gateway)
    deliveries.flush()
    return result


def payment_of(engine: Any, booking_id: str) -> Payment:
    with Session(engine) as session:
        return session.exec(select(Payment).where(Payment.booking_id == booking_id)
                            .order_by(Payment.attempt.desc())).first()


def journal_of(engine: Any, booking_id: str) -> tuple[movements.Balances, dict[str, int]]:
    """Each party's holding of the booking's payment, and the total of each kind of movement."""
    with Session(engine) as session:
        payment = session.exec(select(Payment).where(Payment.booking_id == booking_id)
                               .order_by(Payment.attempt.desc())).first()
        rows = movements.movements_of(session=session, payment_id=payment.id)
    kinds: dict[str, int] = {}
    for row in rows:
        kinds[row.kind.value] = kinds.get(row.kind.value, 0) + row.amount
    return movements.balances(rows), kinds


@dataclass(frozen=True)
class AtStripe:
    """What the emulator's balance transactions say: the platform's and an account's net, and Stripe's fees."""

    platform: int
    stripe_fees: int
    builder: int


def at_stripe(emulator: EmulatorServer, account_id: str | None) -> AtStripe:
    emu = emulator.emulator
    with emu.tx():
        platform = [txn for txn in emu.store.all("balance_transaction", None) if txn["type"] != "payout"]
        builder = [txn for txn in emu.store.all("balance_transaction", account_id) if txn["type"] != "payout"] \
            if account_id else []
    return AtStripe(platform=sum(txn["net"] for txn in platform), stripe_fees=sum(txn["fee"] for txn in platform
                                                                                   if txn["type"] == "charge"),
                    builder=sum(txn["net"] for txn in builder))
