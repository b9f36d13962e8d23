"""The ledger balances, whatever happens (a hypothesis property, through the Stripe emulator).

For random sequences of payments (taken before or after the builder's onboarding) and of partial refunds,
full refunds and releases of held money: for every payment, the builder's transfers less reversals, the
application fee less its refunds, Stripe's fee and the platform's share add up to what the client paid
minus refunds, in integer minor units; the builder holds exactly their net (a destination charge's
`net_amount`, a released payment's share, nothing while held); and the totals match the emulator's balance
transactions (the builder's account, the platform's balance, Stripe's fees)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking.payments import release
from tests.support import money_flows as flows
from tests.support.money_flows import SETTINGS

PRICES = st.sampled_from([5000, 3333, 999, 12345])
# What happens to one payment after it is made, in order.
STEPS = st.lists(st.one_of(st.tuples(st.just("refund"), st.integers(min_value=1, max_value=4000)),
                           st.tuples(st.just("refund_all"), st.none()),
                           st.tuples(st.just("release"), st.none())), max_size=3)
PAYMENTS = st.lists(st.tuples(st.booleans(), STEPS), min_size=1, max_size=3)  # (taken before onboarding?, steps)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(price=PRICES, plan=PAYMENTS, onboard_at_end=st.booleans())
def test_every_payment_s_money_adds_up_and_matches_stripe(engine, emulator, price, plan, onboard_at_end):
    gateway = flows.gateway_for(emulator)
    deliveries = flows.Deliveries(engine, gateway, emulator)
    shop = flows.new_shop(engine, price=price)
    account_id = flows.start_account(engine, gateway, shop)
    before = flows.at_stripe(emulator, None)

    held = [flows.book_and_pay(engine, gateway, emulator, deliveries, shop) for early, _ in plan if early]
    onboarded = any(not early for early, _ in plan) or onboard_at_end
    if any(not early for early, _ in plan):
        flows.control(emulator, f"accounts/{account_id}/onboarding", choice="complete", bank_account="000123456789")
        deliveries.flush()
    later = iter([flows.book_and_pay(engine, gateway, emulator, deliveries, shop) for early, _ in plan if not early])
    early_ones = iter(held)
    bookings = [next(early_ones) if early else next(later) for early, _ in plan]

    for booking, (_early, steps) in zip(bookings, plan, strict=True):
        for step, amount in steps:
            left = flows.payment_of(engine, booking)
            remaining = left.amount - left.amount_refunded
            if step == "release":
                flows.run_jobs(engine, gateway, deliveries)
            elif remaining > 0:
                flows.refund(engine, gateway, deliveries, shop, booking,
                             None if step == "refund_all" else min(amount, remaining))
    if onboard_at_end and not flows.builder_row(engine, shop.builder_id).payouts_enabled:
        flows.control(emulator, f"accounts/{account_id}/onboarding", choice="complete", bank_account="000123456789")
        deliveries.flush()
    flows.run_jobs(engine, gateway, deliveries)
    flows.run_jobs(engine, gateway, deliveries)  # a release's refund reversal settles at the next tick

    journal = []
    for booking in bookings:
        payment = flows.payment_of(engine, booking)
        balance, kinds = flows.journal_of(engine, booking)
        journal.append(balance)
        paid_net = payment.amount - payment.amount_refunded
        assert balance.client_paid_net == paid_net
        builder = kinds.get("transfer", 0) - kinds.get("transfer_reversal", 0) \
            - kinds.get("application_fee", 0) + kinds.get("application_fee_refund", 0)
        stripe_fee = kinds.get("stripe_fee", 0)
        assert stripe_fee > 0
        assert builder + stripe_fee + balance.platform == paid_net
        assert builder == balance.builder >= 0
        if payment.destination_account_id:
            assert builder == payment.net_amount
        elif onboarded:
            assert builder == release.builder_share(amount=payment.amount, refunded=payment.amount_refunded,
                                                    currency=payment.currency, settings=SETTINGS)
            assert (payment.release_transfer_id is not None) == (builder > 0 or kinds.get("transfer", 0) > 0)
        else:
            assert builder == 0 and payment.release_transfer_id is None  # still held by the platform

    after = flows.at_stripe(emulator, account_id)
    assert sum(j.builder for j in journal) == after.builder
    assert sum(j.platform for j in journal) == after.platform - before.platform
    assert sum(j.stripe for j in journal) == after.stripe_fees - before.stripe_fees
