"""The one explicit handler table covers every event the product reacts to."""

from booking.events.webhooks import HANDLERS

REQUIRED_EVENTS = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "charge.refunded",
    # a bank debit submitted: how the attempt is being paid (SEPA, Bacs)
    "charge.pending",
    # one refund's own record: pending -> succeeded or failed, whichever way it is reported
    "refund.created",
    "refund.updated",
    "refund.failed",
    "charge.refund.updated",
    # Connect: the transfer of a destination charge, and the builders' connected accounts
    "charge.succeeded",
    "transfer.created",
    "account.updated",
    "payout.created",
    "payout.updated",
    "payout.paid",
    "payout.failed",
    "payout.canceled",
    # disputes: one handler records whatever the dispute object says (booking/events/dispute_events.py)
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
    # memberships: the subscription's status and each invoice (booking/events/membership_events.py)
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
}


def test_every_event_the_product_handles_has_a_handler():
    assert set(HANDLERS) == REQUIRED_EVENTS


def test_async_success_is_fulfilled_like_a_completed_checkout():
    assert HANDLERS["checkout.session.async_payment_succeeded"] is HANDLERS["checkout.session.completed"]
