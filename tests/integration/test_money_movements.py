"""The money journal records each movement once and balances: what the platform, the builder and Stripe
hold adds up to what the client paid minus what went back."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from booking.core.models import MovementKind, Payment
from booking.payments import movements
from booking.payments.ledger import current_payment
from tests.factories import make_hold


def _payment(session: Session) -> Payment:
    payment = current_payment(session=session, booking=make_hold(session))
    assert payment is not None and payment.currency == "gbp"
    return payment


def test_a_paid_refunded_destination_charge_balances(session: Session) -> None:
    payment = _payment(session)
    for kind, amount, ref in [
        (MovementKind.CHARGE, 5000, "ch_1"),
        (MovementKind.STRIPE_FEE, 95, "txn_1"),
        (MovementKind.TRANSFER, 5000, "tr_1"),
        (MovementKind.APPLICATION_FEE, 500, "fee_1"),
        (MovementKind.REFUND, 2000, "re_1"),
        (MovementKind.TRANSFER_REVERSAL, 2000, "trr_1"),
        (MovementKind.APPLICATION_FEE_REFUND, 200, "fr_1"),
    ]:
        assert movements.record(session=session, payment=payment, kind=kind, amount=amount, stripe_object_id=ref)
    held = movements.balances(movements.movements_of(session=session, payment_id=payment.id))
    assert held.client_paid_net == 3000
    assert held.platform + held.builder + held.stripe == 3000
    assert (held.builder, held.stripe, held.platform) == (5000 - 500 - 2000 + 200, 95, 3000 - 2700 - 95)


def test_a_replayed_movement_is_recorded_once(session: Session) -> None:
    payment = _payment(session)
    first = movements.record(session=session, payment=payment, kind=MovementKind.CHARGE, amount=5000,
                             stripe_object_id="ch_9")
    again = movements.record(session=session, payment=payment, kind=MovementKind.CHARGE, amount=5000,
                             stripe_object_id="ch_9")
    assert first is not None and again is None
    assert len(movements.movements_of(session=session, payment_id=payment.id)) == 1


def test_a_negative_or_foreign_currency_movement_is_refused(session: Session) -> None:
    payment = _payment(session)
    with pytest.raises(movements.BadMovement):
        movements.record(session=session, payment=payment, kind=MovementKind.REFUND, amount=-1,
                         stripe_object_id="re_x")
    with pytest.raises(movements.BadMovement):
        movements.record(session=session, payment=payment, kind=MovementKind.REFUND, amount=100,
                         stripe_object_id="re_y", currency="eur")
    assert movements.movements_of(session=session, payment_id=payment.id) == []


def test_a_stripe_id_learnt_later_is_filled_in_and_the_amount_kept(session: Session) -> None:
    payment = _payment(session)
    first = movements.record(session=session, payment=payment, kind=MovementKind.TRANSFER, amount=5000,
                             stripe_object_id=None, key="transfer:payment-x")
    again = movements.record(session=session, payment=payment, kind=MovementKind.TRANSFER, amount=4000,
                             stripe_object_id="tr_later", key="transfer:payment-x")
    assert first is not None and again is None
    [row] = movements.movements_of(session=session, payment_id=payment.id)
    assert (row.amount, row.stripe_object_id) == (5000, "tr_later")
