"""Where every penny goes, through the Stripe emulator: the money journal of a paid, a refunded and a partly
refunded destination charge and of a held payment matches the emulator's balance transactions (Stripe's
fee included); held money is released to the builder once their payouts are enabled, as one transfer
linked to its charge, however often the job runs, on two workers at once, or after a replayed
account.updated; a refund after the release takes the builder's share back."""

from __future__ import annotations

import threading

import pytest
import stripe
from sqlmodel import Session

from booking.accounts.authz import Actor, Forbidden
from booking.core.models import UserAccount, UserRole
from booking.payments import connect, release
from booking.payments.gateway import BalanceAmount, ConnectedBalance
from stripe_emulator.core import fees
from tests.support import money_flows as flows
from tests.support.admin_states import make_user
from tests.support.money_flows import SETTINGS

GBP_FEE_5000 = fees.standard("US").fee(5000, "gbp")  # the emulator's default schedule: 2.9 % + 20p


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


def test_a_disputed_held_payment_stays_held(world, sdk):
    engine, gateway, emulator, deliveries = world
    shop = flows.new_shop(engine)
    account_id = flows.start_account(engine, gateway, shop)
    booking = flows.book_and_pay(engine, gateway, emulator, deliveries, shop, card="4000000000000259")  # disputed

    flows.control(emulator, f"accounts/{account_id}/onboarding", choice="complete", bank_account="000123456789")
    deliveries.flush()
    flows.run_jobs(engine, gateway, deliveries)

    assert flows.payment_of(engine, booking).release_transfer_id is None  # the bank has the money
    assert sdk.v1.transfers.list(params={"destination": account_id}).data == []
    held, kinds = flows.journal_of(engine, booking)
    assert held.builder == 0 and kinds["dispute_withdrawal"] == 5000


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


def test_the_payouts_page_says_what_is_held_why_and_when_then_shows_the_release(world):
    engine, gateway, emulator, deliveries = world
    shop = flows.new_shop(engine)
    account_id = flows.start_account(engine, gateway, shop)
    booking = flows.book_and_pay(engine, gateway, emulator, deliveries, shop)

    with Session(engine) as session:
        view = connect.payouts_view(session=session, actor=shop.actor, settings=SETTINGS)
    assert view.held == connect.HeldFunds(amounts=["£44.70"], bookings=1,
                                          reason="Stripe onboarding isn't finished, so Stripe can't pay you yet.",
                                          when=connect.HELD_UNTIL)
    assert "usually within a few minutes" in view.held.when
    [row] = view.transfers
    assert (row.held_by_platform, row.released, row.transfer_id) == (True, False, "")

    flows.control(emulator, f"accounts/{account_id}/onboarding", choice="complete", bank_account="000123456789")
    deliveries.flush()
    with Session(engine) as session:
        assert connect.payouts_view(session=session, actor=shop.actor, settings=SETTINGS).held.when == \
            connect.RELEASING
    flows.run_jobs(engine, gateway, deliveries)
    with Session(engine) as session:
        view = connect.payouts_view(session=session, actor=shop.actor, settings=SETTINGS)
    [row] = view.transfers
    assert view.held is None
    assert (row.held_by_platform, row.released, row.net, row.fee) == (False, True, "£44.70", "£5.30")
    assert row.transfer_id == flows.payment_of(engine, booking).release_transfer_id and row.released_at
    [total] = view.totals
    assert (total.net, total.fees, total.held) == ("£44.70", "£5.30", "£0.00")


def test_the_fee_report_shows_stripe_s_fees_and_the_real_net_and_each_payment_s_breakdown(world):
    engine, gateway, emulator, deliveries = world
    admin_id = make_user(engine, email=f"ops-{id(world)}@example.test", role=UserRole.ADMIN)
    with Session(engine) as session:
        admin = Actor.of(session.get(UserAccount, admin_id))
    shop = flows.new_shop(engine)
    flows.onboard(engine, gateway, emulator, deliveries, shop)
    flows.book_and_pay(engine, gateway, emulator, deliveries, shop)
    refunded = flows.book_and_pay(engine, gateway, emulator, deliveries, shop)
    flows.refund(engine, gateway, deliveries, shop, refunded, 2000)
    flows.run_jobs(engine, gateway, deliveries)

    with Session(engine) as session:
        [month] = [row for row in connect.fee_report(session=session, actor=admin) if row.currency == "GBP"]
        breakdown = connect.money_breakdown(session=session, actor=admin, booking_id=refunded)
        with pytest.raises(Forbidden):
            connect.money_breakdown(session=session, actor=shop.actor, booking_id=refunded)
    kept = 530 + 530 - 212
    assert (month.fees, month.fees_refunded, month.fees_kept) == ("£10.60", "£2.12", f"£{kept / 100:.2f}")
    assert month.stripe_fees == f"£{2 * GBP_FEE_5000 / 100:.2f}"
    assert month.net == f"£{(kept - 2 * GBP_FEE_5000) / 100:.2f}" and not month.net_negative

    assert breakdown.balanced and breakdown.title == "£50.00 paid, £20.00 refunded"
    assert sorted((line.label, line.source, line.destination, line.amount) for line in breakdown.lines) == sorted([
        ("The client paid", "Client", "Platform", "£50.00"),
        ("Transfer to the builder", "Platform", "Builder", "£50.00"),
        ("Platform fee", "Builder", "Platform", "£5.30"),
        ("Refund to the client", "Platform", "Client", "£20.00"),
        ("Transfer reversed (a refund)", "Builder", "Platform", "£20.00"),
        ("Platform fee given back (a refund)", "Platform", "Builder", "£2.12"),
        ("Stripe's processing fee", "Platform", "Stripe", f"£{GBP_FEE_5000 / 100:.2f}"),
    ])
    builder_has = 5000 - 530 - 2000 + 212
    assert {p.party: p.amount for p in breakdown.parties} == {
        "Client": "−£30.00", "Builder": f"£{builder_has / 100:.2f}", "Stripe": f"£{GBP_FEE_5000 / 100:.2f}",
        "Platform": f"£{(3000 - builder_has - GBP_FEE_5000) / 100:.2f}"}
    assert all(line.stripe_object_id for line in breakdown.lines if line.label != "Platform fee given back (a refund)"
               and line.label != "Platform fee")


def test_a_negative_balance_is_explained_and_shown_with_a_minus_sign():
    negative = ConnectedBalance(available=[BalanceAmount(amount=-6300, currency="gbp")],
                                pending=[BalanceAmount(amount=1200, currency="gbp")])
    assert connect.balance_lines(negative) == (["−£63.00"], ["£12.00"])
    assert connect.balance_note(negative).startswith("Refunds after payout")
    assert "recovered from your next payouts" in connect.balance_note(negative)
    assert connect.balance_note(ConnectedBalance(available=[BalanceAmount(amount=0, currency="gbp")],
                                                 pending=[])) == ""


def test_a_package_sale_held_for_a_builder_without_payouts_is_released_once_they_are_enabled(world):
    """A package sale is a payment with no booking: held like a booking's, released the same way."""
    from sqlmodel import select

    from booking.client import packages
    from booking.core.models import CreditPackage, CreditPackageSessionType, Payment

    engine, gateway, emulator, deliveries = world
    shop = flows.new_shop(engine)
    with Session(engine) as session:
        package = CreditPackage(builder_id=shop.builder_id, name="Three", session_count=3, price_amount=13500,
                                currency="gbp", validity_days=30)
        session.add(package)
        session.flush()
        session.add(CreditPackageSessionType(package_id=package.id, session_type_id=shop.session_type.id))
        session.commit()
        package_id = package.id
    started = packages.begin_package_purchase(engine=engine, gateway=gateway, settings=SETTINGS, package_id=package_id,
                                              client_name="Cleo", client_email="cleo@example.com")
    with Session(engine) as session:
        payment = session.exec(select(Payment).where(Payment.package_purchase_id == started.purchase_id)).one()
    flows.control(emulator, f"checkout/sessions/{payment.checkout_session_id}/complete", card="4242424242424242")
    deliveries.flush()
    assert flows.run_jobs(engine, gateway, deliveries).released == 0  # no payouts yet: held

    flows.onboard(engine, gateway, emulator, deliveries, shop)
    first = flows.run_jobs(engine, gateway, deliveries)
    again = flows.run_jobs(engine, gateway, deliveries)

    assert (first.released, again.released) == (1, 0)
    with Session(engine) as session:
        released = session.get(Payment, payment.id)
        assert released.release_transfer_id is not None and released.booking_id is None
