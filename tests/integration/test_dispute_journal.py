"""Property: whatever happens to a disputed payment (won or lost, recovery from the builder on or off, a
destination charge or money the platform holds, events in any order, some twice), the journal balances:
builder + platform + Stripe == what the client paid - refunds - dispute withdrawals + reinstatements, in
integer minor units; and the builder ends with their share when the dispute is won, less the disputed amount
(with recovery) when it is lost."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from booking.core.config import DisputeRecoveryPolicy
from booking.core.models import Booking, MovementKind, Payment, PaymentStatus
from booking.payments import disputes, movements
from booking.payments.ledger import current_payment
from tests.factories import make_hold

_ids = itertools.count(1)


class FakeStripe:
    """Just what recovery needs: each idempotency key makes one object, its id the same on a retry."""

    def __init__(self) -> None:
        self.made: dict[str, str] = {}

    def _once(self, key: str, prefix: str) -> str:
        return self.made.setdefault(key, f"{prefix}_{next(_ids)}")

    def reverse_transfer(self, transfer_id, *, amount, metadata, idempotency_key):
        return SimpleNamespace(id=self._once(idempotency_key, "trr"))

    def create_transfer(self, *, destination, amount, currency, metadata, source_transaction, transfer_group,
                        idempotency_key):
        return SimpleNamespace(id=self._once(idempotency_key, "tr"))


def snapshots(*, dispute_id: str, amount: int, fee: int, won: bool, submitted: bool) -> list[dict]:
    """The dispute object as each of its events carries it, in Stripe's order."""
    n = next(_ids)
    withdrawal = {"id": f"txn_w{n}", "amount": -amount, "fee": fee, "currency": "gbp", "created": 1_800_000_000}
    base = {"id": dispute_id, "object": "dispute", "amount": amount, "currency": "gbp", "reason": "fraudulent",
            "charge": f"ch_{n}", "payment_intent": None, "created": 1_800_000_000,
            "evidence_details": {"due_by": 1_800_604_800, "submission_count": 0}}
    opened = {**base, "status": "needs_response", "balance_transactions": [withdrawal]}
    events = [dict(opened), dict(opened)]  # created, funds_withdrawn
    if submitted:
        events.append({**opened, "status": "under_review", "evidence_details": {"due_by": 1_800_604_800,
                                                                                 "submission_count": 1}})
    closed = {**events[-1], "status": "won" if won else "lost"}
    if won:
        reinstated = {"id": f"txn_r{n}", "amount": amount, "fee": 0, "currency": "gbp", "created": 1_800_700_000}
        closed["balance_transactions"] = [withdrawal, reinstated]
        events.append(dict(closed))  # funds_reinstated
    events.append(closed)
    return events


@settings(max_examples=25, deadline=None, phases=(Phase.explicit, Phase.generate), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    amount=st.integers(min_value=100, max_value=500_000),
    fee_percent=st.integers(min_value=0, max_value=30),
    dispute_fee=st.sampled_from([1500, 2000]),
    destination=st.booleans(),
    recovery=st.sampled_from(list(DisputeRecoveryPolicy)),
    won=st.booleans(),
    data=st.data(),
)
def test_the_journal_of_a_disputed_payment_balances(engine, amount, fee_percent, dispute_fee, destination, recovery,
                                                    won, data) -> None:
    stripe = FakeStripe()
    with Session(engine, expire_on_commit=False) as session:
        booking = make_hold(session)
        payment = current_payment(session=session, booking=booking)
        payment.amount, payment.status = amount, PaymentStatus.PAID
        application_fee = amount * fee_percent // 100
        if destination:
            payment.destination_account_id, payment.transfer_id = f"acct_{next(_ids)}", f"tr_{next(_ids)}"
            payment.application_fee_amount = application_fee
        session.add(payment)
        # What the charge itself moved (the `funds` work records these from Stripe's objects).
        movements.record(session=session, payment=payment, kind=MovementKind.CHARGE, amount=amount,
                         stripe_object_id=f"ch_of_{payment.id}")
        movements.record(session=session, payment=payment, kind=MovementKind.STRIPE_FEE, amount=amount // 50,
                         stripe_object_id=f"txn_of_{payment.id}")
        if destination:
            movements.record(session=session, payment=payment, kind=MovementKind.TRANSFER, amount=amount,
                             stripe_object_id=payment.transfer_id)
            movements.record(session=session, payment=payment, kind=MovementKind.APPLICATION_FEE,
                             amount=application_fee, stripe_object_id=f"fee_of_{payment.id}")
        session.commit()
        booking_id, payment_id = booking.id, payment.id

    events = snapshots(dispute_id=f"dp_{next(_ids)}", amount=amount, fee=dispute_fee, won=won, submitted=won)
    twice = data.draw(st.lists(st.integers(min_value=0, max_value=len(events) - 1), max_size=3))
    events = data.draw(st.permutations(events + [events[i] for i in twice]))  # any order, some twice
    for dispute in events:
        with Session(engine) as session:
            disputes.record_dispute(session=session, booking=session.get(Booking, booking_id),
                                               payment=session.get(Payment, payment_id), dispute=dispute,
                                               recovery_setting=recovery)
            due = disputes.requested_recoveries(session)
            session.commit()
        if due:  # as the webhook does right after its transaction
            disputes.send_recoveries(engine=engine, gateway=stripe, dispute_ids=due)
    disputes.send_recoveries(engine=engine, gateway=stripe)  # the worker's tick, for anything left

    with Session(engine) as session:
        rows = movements.movements_of(session=session, payment_id=payment_id)
    held = movements.balances(rows)
    paid = movements.total(rows, MovementKind.CHARGE)
    back = (movements.total(rows, MovementKind.REFUND) + movements.total(rows, MovementKind.DISPUTE_WITHDRAWAL)
            - movements.total(rows, MovementKind.DISPUTE_REINSTATEMENT))
    assert held.builder + held.platform + held.stripe == paid - back
    assert held.client_paid_net == paid - back
    assert movements.total(rows, MovementKind.DISPUTE_FEE) == dispute_fee  # once, whatever the repeats
    assert back == (0 if won else amount)
    share = amount - application_fee if destination else 0
    taken_back = amount if destination and recovery is DisputeRecoveryPolicy.REVERSE_TRANSFER and not won else 0
    assert held.builder == share - taken_back
    # The platform bears the dispute fee, and the disputed amount unless it was taken back or won.
    assert held.stripe == amount // 50 + dispute_fee
