"""Where every penny goes, through the Stripe emulator: the money journal of a paid, a refunded and a partly
refunded destination charge and of a held payment matches the emulator's balance transactions (Stripe's
fee included); held money is released to the builder once their payouts are enabled, as one transfer
linked to its charge, however often the job runs, on two workers at once, or after a replayed
account.updated; a refund after the release takes the builder's share back."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import stripe
from sqlmodel import Session

from booking.payments import release
from stripe_emulator.core import fees
from stripe_emulator.server import EmulatorServer
from tests.support import money_flows as flows
from tests.support.money_flows import SETTINGS

GBP_FEE_5000 = fees.standard("US").fee(5000, "gbp")  # the emulator's default schedule: 2.9 % + 20p


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(webhook_url=None, webhook_secret=flows.se.WEBHOOK_SECRET) as server:
        yield server


@pytest.fixture
def world(engine, emulator):
    gateway = flows.gateway_for(emulator)
    return engine, gateway, emulator, flows.Deliveries(engine, gateway, emulator)


@pytest.fixture
def sdk(emulator) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_money", base_addresses={"api": emulator.url})


def test_a_destination_charge_paid_then_refunded_in_part_and_in_full_matches_stripe(world):
    engine, gateway, emulator, deliveries = world
    shop = flows.new_shop(engine)
    account_id = flows.onboard(engine, gateway, emulator, deliveries, shop)
    before = flows.at_stripe(emulator, None)

    paid = flows.book_and_pay(engine, gateway, emulator, deliveries, shop)
    part = flows.book_and_pay(engine, gateway, emulator, deliveries, shop)
    whole = flows.book_and_pay(engine, gateway, emulator, deliveries, shop)
    flows.refund(engine, gateway, deliveries, shop, part, 2000)
    flows.refund(engine, gateway, deliveries, shop, whole, None)
    flows.run_jobs(engine, gateway, deliveries)

    held, kinds = flows.journal_of(engine, paid)
    assert kinds == {"charge": 5000, "transfer": 5000, "application_fee": 530, "stripe_fee": GBP_FEE_5000}
    assert (held.client_paid_net, held.builder, held.platform, held.stripe) == (
        5000, 4470, 530 - GBP_FEE_5000, GBP_FEE_5000)
    held, kinds = flows.journal_of(engine, part)
    assert kinds["refund"] == kinds["transfer_reversal"] == 2000 and kinds["application_fee_refund"] == 212
    assert (held.client_paid_net, held.builder) == (3000, 5000 - 530 - 2000 + 212)
    held, kinds = flows.journal_of(engine, whole)
    assert (held.client_paid_net, held.builder, held.platform) == (0, 0, -GBP_FEE_5000)  # Stripe keeps its fee
    assert flows.payment_of(engine, whole).net_amount == 0

    journal = [flows.journal_of(engine, booking)[0] for booking in (paid, part, whole)]
    after = flows.at_stripe(emulator, account_id)
    assert sum(j.builder for j in journal) == after.builder
    assert sum(j.platform for j in journal) == after.platform - before.platform
    assert sum(j.stripe for j in journal) == after.stripe_fees - before.stripe_fees == 3 * GBP_FEE_5000


def test_held_money_is_released_once_when_payouts_are_enabled(world, sdk):
    engine, gateway, emulator, deliveries = world
    shop = flows.new_shop(engine)
    account_id = flows.start_account(engine, gateway, shop)  # onboarding not finished
    booking = flows.book_and_pay(engine, gateway, emulator, deliveries, shop)
    payment = flows.payment_of(engine, booking)
    assert payment.destination_account_id is None  # the platform holds it

    assert not flows.run_jobs(engine, gateway, deliveries)  # payouts not enabled: nothing goes out
    assert flows.payment_of(engine, booking).release_transfer_id is None

    flows.control(emulator, f"accounts/{account_id}/onboarding", choice="complete", bank_account="000123456789")
    deliveries.flush()  # account.updated: payouts enabled
    assert flows.run_jobs(engine, gateway, deliveries).released == 1
    assert not flows.run_jobs(engine, gateway, deliveries)  # again: nothing more

    [transfer] = sdk.v1.transfers.list(params={"destination": account_id}).data
    charge = sdk.v1.payment_intents.retrieve(payment.payment_intent_id).latest_charge
    assert (transfer.amount, transfer.currency, transfer.source_transaction) == (4470, "gbp", charge)
    assert transfer.transfer_group == f"booking_{booking}" and transfer.metadata["booking_id"] == booking
    released = flows.payment_of(engine, booking)
    assert released.release_transfer_id == transfer.id and released.released_at is not None

    # A replayed account.updated changes nothing: still one transfer.
    account_updated = [e for e in deliveries.delivered if e["type"] == "account.updated"][-1]
    deliveries.deliver({**account_updated, "id": account_updated["id"] + "_replay"})
    flows.run_jobs(engine, gateway, deliveries)
    assert len(sdk.v1.transfers.list(params={"destination": account_id}).data) == 1

    held, kinds = flows.journal_of(engine, booking)
    assert kinds == {"charge": 5000, "transfer": 4470, "stripe_fee": GBP_FEE_5000}
    assert flows.at_stripe(emulator, account_id).builder == held.builder == 4470

    # A refund after the release: the client gets it from the platform, the builder's share is taken back.
    flows.refund(engine, gateway, deliveries, shop, booking, 2000)
    assert flows.run_jobs(engine, gateway, deliveries).reversed == 1
    held, kinds = flows.journal_of(engine, booking)
    share = release.builder_share(amount=5000, refunded=2000, currency="gbp", settings=SETTINGS)
    assert share == 3000 - (530 - 212)
    assert (held.builder, kinds["transfer_reversal"]) == (share, 4470 - share)
    assert flows.at_stripe(emulator, account_id).builder == share
    assert sdk.v1.transfers.retrieve(transfer.id).amount_reversed == 4470 - share
    assert not flows.run_jobs(engine, gateway, deliveries)


def test_a_refund_of_held_money_touches_only_the_platform(world, sdk):
    engine, gateway, emulator, deliveries = world
    shop = flows.new_shop(engine)
    flows.start_account(engine, gateway, shop)
    booking = flows.book_and_pay(engine, gateway, emulator, deliveries, shop)
    flows.refund(engine, gateway, deliveries, shop, booking, 1000)
    intent = flows.payment_of(engine, booking).payment_intent_id
    [refund] = sdk.v1.refunds.list(params={"payment_intent": intent}).data
    assert refund.transfer_reversal is None
    held, kinds = flows.journal_of(engine, booking)
    assert (held.client_paid_net, held.builder, kinds["refund"]) == (4000, 0, 1000)


def test_two_workers_releasing_at_once_make_one_transfer(world, sdk):
    engine, gateway, emulator, deliveries = world
    shop = flows.new_shop(engine)
    account_id = flows.start_account(engine, gateway, shop)
    bookings = [flows.book_and_pay(engine, gateway, emulator, deliveries, shop) for _ in range(2)]
    flows.control(emulator, f"accounts/{account_id}/onboarding", choice="complete", bank_account="000123456789")
    deliveries.flush()

    results: list[release.ReleaseResult] = []
    go = threading.Barrier(2)

    def worker() -> None:
        go.wait()
        results.append(release.release_held_funds(engine=engine, gateway=gateway, settings=SETTINGS))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(result.released for result in results) == 2 and not any(result.failed for result in results)
    transfers = sdk.v1.transfers.list(params={"destination": account_id}).data
    assert sorted(t.metadata["booking_id"] for t in transfers) == sorted(bookings)
    assert {flows.payment_of(engine, b).release_transfer_id for b in bookings} == {t.id for t in transfers}
    for booking in bookings:
        assert flows.journal_of(engine, booking)[1]["transfer"] == 4470


def test_older_payments_get_their_journal_from_their_rows(world):
    engine, gateway, emulator, deliveries = world
    shop = flows.new_shop(engine)
    flows.onboard(engine, gateway, emulator, deliveries, shop)
    booking = flows.book_and_pay(engine, gateway, emulator, deliveries, shop)
    flows.refund(engine, gateway, deliveries, shop, booking, 1000)
    expected = flows.journal_of(engine, booking)[1]
    with Session(engine) as session:  # as before the journal existed
        payment_id = flows.payment_of(engine, booking).id
        session.execute(flows.movements.MoneyMovement.__table__.delete().where(
            flows.movements.MoneyMovement.payment_id == payment_id))
        session.commit()
    assert flows.journal_of(engine, booking)[1] == {}
    assert release.backfill_journal(engine=engine) >= 6
    assert release.backfill_journal(engine=engine) == 0
    flows.run_jobs(engine, gateway, deliveries)
    assert flows.journal_of(engine, booking)[1] == {**expected, "stripe_fee": GBP_FEE_5000}
