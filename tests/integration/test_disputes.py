"""Disputes on a real database, through the Stripe emulator and the official SDK: a payment made with
Stripe's dispute test card is disputed; the handlers keep the dispute, journal every movement (the withdrawal,
Stripe's dispute fee, the reinstatement of a won dispute, the recovery from the builder and its payback), email
the builder and every admin once, and change nothing twice on duplicate or out-of-order events. Evidence is
submitted through the gateway; the emulator's clock decides."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import stripe
from sqlmodel import Session, select

from booking.accounts.authz import Actor, NotFound
from booking.core.config import get_settings
from booking.core.models import (
    Dispute,
    DisputeRecovery,
    DisputeStatus,
    MovementKind,
    Notification,
    Payment,
    UserAccount,
    UserRole,
)
from booking.events.webhooks import handle_webhook
from booking.lifecycle import checkout as payments
from booking.notifications.outbox import build_message
from booking.payments import connect, disputes, movements
from booking.workspace import booking_detail
from tests.factories import make_builder, make_session_type
from tests.support import stripe_events as se
from tests.support.admin_states import make_user

NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)
FRAUD_CARD = "4000000000000259"
WEEK = 7 * 24 * 3600
RETURN_URL, REFRESH_URL = "https://book.example/admin/payouts/return", "https://book.example/admin/payouts/refresh"


@pytest.fixture(autouse=True)
def fresh_emulator(emulator):
    emulator.emulator.reset()  # its clock back to now, no objects
    yield


@pytest.fixture
def sdk(emulator) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_disputes", base_addresses={"api": emulator.url})


def actor_for(engine, user_id: int) -> Actor:
    with Session(engine) as s:
        return Actor.of(s.get(UserAccount, user_id))


@pytest.fixture
def ada(engine, session: Session):
    builder = make_builder(session, name="Ada", email="ada@example.test", time_zone="Europe/London")
    gbp = make_session_type(session, builder, price_amount=5000, currency="gbp", name="Consult")
    session.commit()
    actor = actor_for(engine, make_user(engine, email="ada-user@example.test", builder_id=builder.id))
    return {"builder_id": builder.id, "gbp": gbp, "actor": actor}


@pytest.fixture
def admin(engine) -> Actor:
    return actor_for(engine, make_user(engine, email="ops@example.test", role=UserRole.ADMIN))


@pytest.fixture
def recovery(request, monkeypatch) -> str:
    setting = getattr(request, "param", "reverse_transfer")
    monkeypatch.setenv("DISPUTE_RECOVERY", setting)
    get_settings.cache_clear()
    return setting


class Deliveries:
    """Hands the emulator's events to our webhook in the order it made them (or as told), each once."""

    def __init__(self, engine, gateway, emulator) -> None:
        self.engine, self.gateway, self.emulator = engine, gateway, emulator
        self.done = {event["id"] for event in emulator.emulator.snapshot()["events"]}
        self.delivered: list[dict] = []

    def new_events(self) -> list[dict]:
        events = list(reversed(self.emulator.emulator.snapshot()["events"]))  # the order they were made in
        fresh = [{k: v for k, v in e.items() if k != "delivery_status"} for e in events if e["id"] not in self.done]
        self.done.update(e["id"] for e in fresh)
        return fresh

    def deliver(self, events: list[dict]) -> list[str]:
        outcomes = []
        for event in events:
            payload = json.dumps(event).encode()
            result = handle_webhook(engine=self.engine, gateway=self.gateway, payload=payload,
                                    signature=se.sign(payload))
            assert result.status_code == 200, (event["type"], result.body)
            self.delivered.append(event)
            outcomes.append(str(result.body.get("outcome", "")))
        return outcomes

    def flush(self) -> list[str]:
        return self.deliver(self.new_events())


def control(emulator, path: str, **body) -> dict:
    response = httpx.post(f"{emulator.url}/_emulator/{path}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def onboard(engine, gateway, emulator, deliveries, ada) -> str:
    connect.start_onboarding(engine=engine, gateway=gateway, actor=ada["actor"], return_url=RETURN_URL,
                             refresh_url=REFRESH_URL)
    with Session(engine) as s:
        from booking.core.models import Builder
        account_id = s.get(Builder, ada["builder_id"]).stripe_account_id
    control(emulator, f"accounts/{account_id}/onboarding", choice="complete")
    deliveries.flush()
    return account_id


def book_and_pay(engine, gateway, emulator, ada, card=FRAUD_CARD) -> str:
    start = (NOW + timedelta(days=2)).replace(hour=10, minute=0)
    started = payments.begin_checkout(engine=engine, gateway=gateway, settings=get_settings(),
                                      session_type_id=ada["gbp"].id, start_time=start, client_name="Cleo",
                                      client_email="cleo@example.com")
    paid = control(emulator, f"checkout/sessions/{started.checkout_session_id}/complete", card=card)
    assert paid["status"] == "succeeded"
    return started.booking_id


def read(engine, fn, **kwargs):
    """A read in a session of its own, closed at once (SQLite: an open one holds the write lock)."""
    with Session(engine) as s:
        return fn(session=s, **kwargs)


def dispute_of(engine, booking_id) -> Dispute:
    with Session(engine) as s:
        return s.exec(select(Dispute).where(Dispute.booking_id == booking_id)).one()


def journal(engine, booking_id):
    with Session(engine) as s:
        payment = s.exec(select(Payment).where(Payment.booking_id == booking_id)).one()
        return movements.movements_of(session=s, payment_id=payment.id)


def ensure_payment_movements(engine, booking_id, *, destination: bool) -> None:
    """The charge, transfer and application fee in the journal (the ledger records them as the payment settles;
    syncing again records nothing twice)."""
    with Session(engine) as s:
        payment = s.exec(select(Payment).where(Payment.booking_id == booking_id)).one()
        movements.sync_payment(session=s, payment=payment)
        s.commit()
    kinds = {row.kind for row in journal(engine, booking_id)}
    assert MovementKind.CHARGE in kinds and (MovementKind.TRANSFER in kinds) == destination


def assert_balances(engine, booking_id) -> movements.Balances:
    rows = journal(engine, booking_id)
    held = movements.balances(rows)
    paid = movements.total(rows, MovementKind.CHARGE)
    withdrawn = movements.total(rows, MovementKind.DISPUTE_WITHDRAWAL)
    reinstated = movements.total(rows, MovementKind.DISPUTE_REINSTATEMENT)
    refunded = movements.total(rows, MovementKind.REFUND)
    assert held.builder + held.platform + held.stripe == paid - refunded - withdrawn + reinstated
    return held


def test_a_disputed_destination_charge_is_recovered_then_won_and_paid_back(
        engine, gateway, emulator, sdk, ada, admin, recovery):
    deliveries = Deliveries(engine, gateway, emulator)
    account_id = onboard(engine, gateway, emulator, deliveries, ada)
    booking_id = book_and_pay(engine, gateway, emulator, ada)
    outcomes = deliveries.flush()
    assert "dispute recorded" in " ".join(outcomes)

    row = dispute_of(engine, booking_id)
    assert (row.amount, row.currency, row.reason, row.status) == (5000, "gbp", "fraudulent",
                                                                   DisputeStatus.NEEDS_RESPONSE)
    assert row.evidence_due_by is not None and row.recovery == DisputeRecovery.RECOVERED
    # The builder's transfer was reversed for the disputed amount, once.
    with Session(engine) as s:
        payment = s.exec(select(Payment).where(Payment.booking_id == booking_id)).one()
    transfer = sdk.v1.transfers.retrieve(payment.transfer_id)
    assert transfer.amount_reversed == 5000
    kinds = {m.kind: m.amount for m in journal(engine, booking_id)}
    assert (kinds[MovementKind.DISPUTE_WITHDRAWAL], kinds[MovementKind.DISPUTE_FEE],
            kinds[MovementKind.DISPUTE_RECOVERY]) == (5000, 2000, 5000)

    # The booking shows as disputed; the builder and the admin were each emailed once.
    assert read(engine, booking_detail, actor=ada["actor"], booking_id=booking_id).dispute_label == \
        "Disputed"
    with Session(engine) as s:
        mails = s.exec(select(Notification).where(Notification.kind == "dispute_opened")).all()
    assert sorted(m.recipient for m in mails) == ["ada@example.test", "ops@example.test"]
    builder_mail = build_message(notification_id=mails[0].id, kind=mails[0].kind, recipient=mails[0].recipient,
                                 payload=[m for m in mails if m.recipient == "ada@example.test"][0].payload,
                                 now=NOW)
    text = builder_mail.get_body(("plain",)).get_content()
    assert "Fraudulent" in text and "Europe/London" in text and "£50.00" in text

    # Every event again, duplicated and reversed: nothing changes, no second email or movement.
    before = [(m.kind, m.amount) for m in journal(engine, booking_id)]
    again = [dict(e, id=e["id"] + "_again") for e in reversed(deliveries.delivered)]
    deliveries.deliver(again)
    assert [(m.kind, m.amount) for m in journal(engine, booking_id)] == before
    with Session(engine) as s:
        assert len(s.exec(select(Notification).where(Notification.kind == "dispute_opened")).all()) == 2
    assert sdk.v1.transfers.retrieve(payment.transfer_id).amount_reversed == 5000

    # A builder sees their own dispute; evidence pre-filled from our records, then submitted.
    [listed] = read(engine, disputes.list_disputes, actor=ada["actor"], zone=get_zone("Europe/London"))
    assert listed.open and listed.amount == "£50.00"
    prefill = read(engine, disputes.evidence_prefill, actor=ada["actor"], dispute_id=listed.id)
    assert "Consult" in prefill["product_description"] and "Free cancellation" in \
        prefill["cancellation_policy_disclosure"]
    assert prefill["customer_email_address"] == "cleo@example.com"
    assert "Booking confirmed email to cleo@example.com" in prefill["uncategorized_text"]
    result = disputes.submit_evidence(engine=engine, gateway=gateway, actor=ada["actor"], dispute_id=listed.id,
                                      evidence={**prefill, "uncategorized_text": "winning_evidence"})
    assert result.ok, result.message
    assert sdk.v1.disputes.retrieve(row.stripe_dispute_id).status == "under_review"
    again = disputes.submit_evidence(engine=engine, gateway=gateway, actor=ada["actor"], dispute_id=listed.id,
                                     evidence={"uncategorized_text": "more"})
    assert not again.ok and "no longer" in again.message

    emulator.emulator.advance(WEEK + 60)
    deliveries.flush()
    row = dispute_of(engine, booking_id)
    assert (row.status, row.outcome, row.recovery) == (DisputeStatus.WON, "won", DisputeRecovery.RETURNED)
    returned = sdk.v1.transfers.retrieve(row.recovery_return_transfer_id)
    assert (returned.amount, returned.destination) == (5000, account_id)
    held = assert_balances_after_setup(engine, booking_id)
    # Won: the client paid; the builder keeps their share; the platform is out of Stripe's dispute fee.
    fee = payment.application_fee_amount
    assert fee > 0 and (held.builder, held.stripe, held.platform) == (5000 - fee, 2000, fee - 2000)


def assert_balances_after_setup(engine, booking_id) -> movements.Balances:
    ensure_payment_movements(engine, booking_id, destination=True)
    return assert_balances(engine, booking_id)


def get_zone(name):
    from booking.core.time import zone
    return zone(name)


@pytest.mark.parametrize("recovery", ["reverse_transfer", "platform_absorbs"], indirect=True)
def test_a_lost_dispute_with_either_recovery_setting(engine, gateway, emulator, sdk, ada, admin, recovery):
    deliveries = Deliveries(engine, gateway, emulator)
    onboard(engine, gateway, emulator, deliveries, ada)
    booking_id = book_and_pay(engine, gateway, emulator, ada)
    deliveries.flush()
    row = dispute_of(engine, booking_id)
    sdk.v1.disputes.close(row.stripe_dispute_id)  # accepted: lost
    deliveries.flush()
    emulator.emulator.advance(WEEK + 60)  # nothing more happens to a closed dispute
    deliveries.flush()
    row = dispute_of(engine, booking_id)
    assert (row.status, row.outcome) == (DisputeStatus.LOST, "lost")
    ensure_payment_movements(engine, booking_id, destination=True)
    held = assert_balances(engine, booking_id)
    fee = read(engine, lambda session: session.get(Payment, row.payment_id).application_fee_amount)
    if recovery == "reverse_transfer":
        assert row.recovery == DisputeRecovery.RECOVERED
        assert (held.builder, held.platform, held.stripe) == (-fee, fee - 2000, 2000)
    else:
        assert row.recovery == DisputeRecovery.ABSORBED and row.recovery_reversal_id is None
        assert (held.builder, held.platform, held.stripe) == (5000 - fee, fee - 5000 - 2000, 2000)
    assert read(engine, booking_detail, actor=admin, booking_id=booking_id).dispute_label == \
        "Dispute lost"


def test_a_held_payments_dispute_touches_only_the_platform(engine, gateway, emulator, sdk, ada, admin, recovery):
    deliveries = Deliveries(engine, gateway, emulator)
    booking_id = book_and_pay(engine, gateway, emulator, ada)  # the builder never onboarded
    deliveries.flush()
    emulator.emulator.advance(WEEK + 60)
    deliveries.flush()
    row = dispute_of(engine, booking_id)
    assert (row.status, row.recovery) == (DisputeStatus.LOST, DisputeRecovery.NONE)
    ensure_payment_movements(engine, booking_id, destination=False)
    held = assert_balances(engine, booking_id)
    assert (held.builder, held.platform, held.stripe) == (0, -2000, 2000)


def test_events_out_of_order_end_in_the_same_state(engine, gateway, emulator, sdk, ada, admin, recovery):
    deliveries = Deliveries(engine, gateway, emulator)
    onboard(engine, gateway, emulator, deliveries, ada)
    booking_id = book_and_pay(engine, gateway, emulator, ada)
    payment_events = deliveries.new_events()
    disputed = [e for e in payment_events if e["type"].startswith("charge.dispute.")]
    deliveries.deliver([e for e in payment_events if not e["type"].startswith("charge.dispute.")])
    row_id = None
    with Session(engine) as s:
        assert s.exec(select(Dispute)).first() is None
    sdk.v1.disputes.update(
        sdk.v1.disputes.list().data[0].id, params={"evidence": {"uncategorized_text": "winning_evidence"}})
    emulator.emulator.advance(WEEK + 60)
    later = deliveries.new_events()
    # The closing events first, then the opening ones.
    deliveries.deliver(list(reversed(later)) + list(reversed(disputed)))
    row = dispute_of(engine, booking_id)
    row_id = row.id
    assert (row.status, row.outcome) == (DisputeStatus.WON, "won")
    # Won before the reversal was ever made: nothing to take back, nothing to pay back.
    assert row.recovery == DisputeRecovery.NONE and row.recovery_reversal_id is None
    kinds = sorted((m.kind.value, m.amount) for m in journal(engine, booking_id) if m.kind.value.startswith("dispute"))
    assert kinds == [("dispute_fee", 2000), ("dispute_reinstatement", 5000), ("dispute_withdrawal", 5000)]
    assert row_id is not None


def test_a_builder_cannot_see_or_answer_another_builders_dispute(engine, gateway, emulator, ada, admin, session,
                                                                  recovery):
    deliveries = Deliveries(engine, gateway, emulator)
    booking_id = book_and_pay(engine, gateway, emulator, ada)
    deliveries.flush()
    other = make_builder(session, name="Bo", email="bo@example.test", time_zone="UTC")
    session.commit()
    bo = actor_for(engine, make_user(engine, email="bo-user@example.test", builder_id=other.id))
    row = dispute_of(engine, booking_id)
    assert read(engine, disputes.list_disputes, actor=bo, zone=get_zone("UTC")) == []
    with pytest.raises(NotFound):
        read(engine, disputes.evidence_prefill, actor=bo, dispute_id=row.id)
    refused = disputes.submit_evidence(engine=engine, gateway=gateway, actor=bo, dispute_id=row.id,
                                       evidence={"uncategorized_text": "winning_evidence"})
    assert not refused.ok
    assert dispute_of(engine, booking_id).submitted_at is None
    assert len(read(engine, disputes.list_disputes, actor=admin, zone=get_zone("UTC"))) == 1


def test_a_recovery_whose_transfer_arrives_later_is_made_by_the_worker(engine, gateway, emulator, sdk, ada, admin,
                                                                       recovery):
    from booking.core.config import load_settings
    from booking.ops import worker as job_worker

    deliveries = Deliveries(engine, gateway, emulator)
    onboard(engine, gateway, emulator, deliveries, ada)
    booking_id = book_and_pay(engine, gateway, emulator, ada)
    events = deliveries.new_events()
    transfer_events = ("charge.succeeded", "transfer.created")
    deliveries.deliver([e for e in events if e["type"] not in transfer_events])
    row = dispute_of(engine, booking_id)
    assert (row.recovery, row.recovery_reversal_id) == (DisputeRecovery.REQUESTED, None)  # no transfer known yet

    deliveries.deliver([e for e in events if e["type"] in transfer_events])
    ctx = job_worker.Context(settings=load_settings(DATABASE_URL=str(engine.url.render_as_string(
        hide_password=False)), STRIPE_SECRET_KEY="sk_test_disputes"), engine=engine,
        gateway_factory=lambda _settings: gateway)
    assert job_worker.send_dispute_recoveries(ctx) == 1
    assert job_worker.send_dispute_recoveries(ctx) == 0  # once
    row = dispute_of(engine, booking_id)
    assert row.recovery == DisputeRecovery.RECOVERED
    with Session(engine) as s:
        payment = s.get(Payment, row.payment_id)
    assert sdk.v1.transfers.retrieve(payment.transfer_id).amount_reversed == 5000
    assert movements.total(journal(engine, booking_id), MovementKind.DISPUTE_RECOVERY) == 5000
