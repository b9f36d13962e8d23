"""The monitor pages: failed payments, expired holds and refunds, the webhook log with Replay, the email
outbox with Retry, and the Reconcile button — scoped per builder, refused to those who may not."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from booking.core.db import session_scope
from booking.core.models import (
    AuditEntry,
    Booking,
    BookingStatus,
    EventStatus,
    Membership,
    MembershipInvoice,
    MembershipInvoiceStatus,
    MembershipPlan,
    MembershipStatus,
    Notification,
    NotificationStatus,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    StripeEvent,
    UserRole,
    utcnow,
)
from booking.payments.gateway import CheckoutPaymentStatus, CheckoutSession, CheckoutStatus
from booking_ui import deps, routes
from booking_ui.admin.base import NOT_FOUND_MESSAGE
from booking_ui.admin.outbox import OutboxState
from booking_ui.admin.payments import PaymentsState
from booking_ui.admin.webhooks import WebhooksState
from tests.factories import make_builder, make_client, make_hold, make_session_type
from tests.support import stripe_events as se
from tests.support.admin_states import call, make_user, redirect_path, state_of, token_for
from tests.support.fake_gateway import FakeGateway
from tests.support.ledger import money


def _side(session: Session, name: str) -> dict:
    """One builder's rows: a hold whose payment failed, an expired hold, a refund, a failed event, a failed email."""
    builder = make_builder(session, name=name, slug=name.lower(), email=f"{name.lower()}@builder.test")
    session_type = make_session_type(session, builder, name=f"{name} session")
    client = make_client(session, name=f"{name} Client", email=f"client-of-{name.lower()}@example.test")
    hold = make_hold(session, builder=builder, session_type=session_type, client=client,
                     checkout_session_id=f"cs_test_{name.lower()}", payment_status=PaymentStatus.FAILED)
    expired = make_hold(session, builder=builder, session_type=session_type, client=client,
                        start=hold.start_time + timedelta(hours=2), status=BookingStatus.EXPIRED)
    payment = session.exec(select(Payment).where(Payment.booking_id == hold.id)).one()
    payment.failure_code, payment.failure_message, payment.failed_at = (
        "card_declined", "Your card was declined.", utcnow())
    session.add(payment)
    session.flush()
    refund = Refund(payment_id=payment.id, booking_id=hold.id, amount=1000, currency=payment.currency,
                    reason="requested_by_customer", status=RefundStatus.SUCCEEDED, requested_by=f"{name}@admin")
    # Stored failed (say a bug since fixed): its payload now confirms the hold when replayed.
    completed = se.event("checkout.session.completed", se.checkout_session(hold.id, f"cs_test_{name.lower()}",
                                                                           payment_intent=f"pi_test_{name.lower()}"))
    event = StripeEvent(id=completed["id"], type=completed["type"], payload=json.dumps(completed),
                        status=EventStatus.FAILED, attempts=1, booking_id=hold.id,
                        error="Traceback (most recent call last):\n  ...\nRuntimeError: was a bug")
    email = Notification(dedupe_key=f"walk-{name}", kind="booking_confirmed", recipient=client.email,
                         booking_id=hold.id, status=NotificationStatus.FAILED, attempts=6, last_error="550 no")
    session.add_all([refund, event, email])
    session.flush()
    return {"builder": builder.id, "hold": hold.id, "expired": expired.id, "event": event.id,
            "notification": email.id, "client": client.email}


@pytest.fixture
def world(engine, monkeypatch):
    with session_scope(engine) as session:
        ada, bob = _side(session, "Ada"), _side(session, "Bob")
    tokens = {
        "ada": token_for(engine, make_user(engine, email="ada@example.test", builder_id=ada["builder"])),
        "bob": token_for(engine, make_user(engine, email="bob@example.test", builder_id=bob["builder"])),
        "admin": token_for(engine, make_user(engine, email="root@example.test", role=UserRole.ADMIN)),
    }
    gateway = FakeGateway()
    monkeypatch.setattr(deps, "gateway", lambda: gateway)
    return {"ada": ada, "bob": bob, "tokens": tokens, "gateway": gateway}


def loaded(cls, token):
    state = state_of(cls, token)
    call(state, "load")
    return state


def snapshot(engine) -> list[tuple]:
    with Session(engine) as s:
        events = [(e.id, e.status, e.attempts, e.error) for e in s.exec(select(StripeEvent)).all()]
        emails = [(n.id, n.status, str(n.next_attempt_at)) for n in s.exec(select(Notification)).all()]
        audit = [e.id for e in s.exec(select(AuditEntry)).all()]
    return sorted(events) + sorted(emails) + audit


# --- scoping ----------------------------------------------------------------------------------------


def test_a_builder_sees_only_their_own_payments_holds_and_refunds(world):
    bob = loaded(PaymentsState, world["tokens"]["bob"])
    assert [row.client_email for row in bob.failed] == [world["bob"]["client"]]
    assert [row.code for row in bob.failed] == ["card_declined"]
    assert [row.booking_id for row in bob.expired] == [world["bob"]["expired"]]
    assert [row.requested_by for row in bob.refunds] == ["Bob@admin"]

    admin = loaded(PaymentsState, world["tokens"]["admin"])
    assert sorted(row.client_email for row in admin.failed) == sorted([world["ada"]["client"], world["bob"]["client"]])
    assert (admin.failed_total, admin.expired_total, admin.refunds_total) == (2, 2, 2)


def test_a_members_unpaid_month_is_listed_with_the_failed_payments_of_its_builder_only(engine, world):
    with session_scope(engine) as session:
        plan = MembershipPlan(builder_id=world["ada"]["builder"], name="Monthly four", sessions_per_period=4,
                              amount=4000, currency="gbp")
        session.add(plan)
        session.flush()
        member = Membership(plan_id=plan.id, builder_id=plan.builder_id, client_email="cleo@example.test",
                            client_name="Cleo Member", status=MembershipStatus.PAST_DUE)
        session.add(member)
        session.flush()
        later = utcnow() + timedelta(minutes=5)  # the newest failure: listed first
        session.add_all([
            MembershipInvoice(membership_id=member.id, stripe_invoice_id="in_walk_failed", amount=4000,
                              currency="gbp", status=MembershipInvoiceStatus.FAILED, failed_at=later),
            MembershipInvoice(membership_id=member.id, stripe_invoice_id="in_walk_paid", amount=4000,
                              currency="gbp", status=MembershipInvoiceStatus.PAID, paid_at=utcnow()),
        ])

    ada = loaded(PaymentsState, world["tokens"]["ada"])
    assert ada.failed_total == 2
    newest, booking = ada.failed
    assert (newest.client, newest.client_email, newest.session_type, newest.amount, newest.booking_id) == (
        "Cleo Member", "cleo@example.test", "Membership: Monthly four", "£40.00", "")
    assert newest.code == "invoice_payment_failed" and "update their card" in newest.message
    assert (booking.booking_id, booking.code) == (world["ada"]["hold"], "card_declined")
    bob = loaded(PaymentsState, world["tokens"]["bob"])
    assert [row.client_email for row in bob.failed] == [world["bob"]["client"]]
    assert loaded(PaymentsState, world["tokens"]["admin"]).failed_total == 3


def test_a_builder_sees_only_their_own_events_and_emails(world):
    bob_events = loaded(WebhooksState, world["tokens"]["bob"])
    assert [row.id for row in bob_events.events] == [world["bob"]["event"]]
    assert bob_events.events[0].error_summary == "RuntimeError: was a bug"
    assert bob_events.events[0].replayable
    bob_outbox = loaded(OutboxState, world["tokens"]["bob"])
    assert [row.recipient for row in bob_outbox.rows] == [world["bob"]["client"]]

    assert loaded(WebhooksState, world["tokens"]["admin"]).total == 2
    assert loaded(OutboxState, world["tokens"]["admin"]).total == 2


def test_the_event_log_filters_by_status_and_type(world):
    state = loaded(WebhooksState, world["tokens"]["admin"])
    call(state, "set_status", "processed")
    assert state.events == []
    call(state, "set_status", "no-such-status")  # anything unknown shows all
    assert state.status_filter == "" and state.total == 2
    call(state, "set_search", "checkout.session")
    assert state.total == 2
    call(state, "set_search", "charge.refunded")
    assert state.total == 0


# --- the payload ----------------------------------------------------------------------------------------


def test_the_payload_is_shown_to_its_owner_only(world):
    ada = loaded(WebhooksState, world["tokens"]["ada"])
    call(ada, "show_payload", world["ada"]["event"])
    assert ada.payload_open and json.loads(ada.payload_text)["id"] == world["ada"]["event"]

    bob = loaded(WebhooksState, world["tokens"]["bob"])
    call(bob, "show_payload", world["ada"]["event"])
    assert (bob.payload_open, bob.payload_text, bob.admin_error) == (False, "", NOT_FOUND_MESSAGE)


# --- Replay ---------------------------------------------------------------------------------------------


def test_replay_of_a_failed_event_applies_it_and_is_audited(engine, world):
    state = loaded(WebhooksState, world["tokens"]["ada"])

    call(state, "replay", world["ada"]["event"])

    with Session(engine) as s:
        event = s.get(StripeEvent, world["ada"]["event"])
        booking = s.get(Booking, world["ada"]["hold"])
        audit = s.exec(select(AuditEntry)).all()
    assert (event.status, event.error) == (EventStatus.PROCESSED, None)
    assert (booking.status, money(engine, booking.id).status) == (BookingStatus.CONFIRMED, PaymentStatus.PAID)
    assert [(a.action, a.entity_id, a.actor_email) for a in audit] == [
        ("webhook_event.replay", world["ada"]["event"], "ada@example.test")]
    assert state.admin_error == "" and "Replayed" in state.notice
    assert [row.status for row in state.events] == ["processed"]
    assert not state.events[0].replayable

    call(state, "replay", world["ada"]["event"])  # processed now: nothing to replay
    assert state.admin_error == "Only a failed event can be replayed."


def test_a_replay_that_fails_again_keeps_the_new_traceback(engine, world, monkeypatch):
    from booking.events import webhooks

    def still_broken(*_args):
        raise RuntimeError("still a bug")

    monkeypatch.setitem(webhooks.HANDLERS, "checkout.session.completed", still_broken)
    state = loaded(WebhooksState, world["tokens"]["admin"])

    call(state, "replay", world["ada"]["event"])

    with Session(engine) as s:
        event = s.get(StripeEvent, world["ada"]["event"])
    assert (event.status, event.attempts) == (EventStatus.FAILED, 2)
    assert "still a bug" in event.error
    assert "failed again" in state.admin_error


def test_replay_signed_out_or_by_another_builder_changes_nothing(engine, world):
    before = snapshot(engine)

    signed_out = state_of(WebhooksState, "")
    assert redirect_path(call(signed_out, "replay", world["ada"]["event"])) == routes.ADMIN_LOGIN
    bob = loaded(WebhooksState, world["tokens"]["bob"])
    call(bob, "replay", world["ada"]["event"])

    assert bob.admin_error == NOT_FOUND_MESSAGE
    assert snapshot(engine) == before


# --- Retry ------------------------------------------------------------------------------------------------


def test_retry_makes_a_failed_email_due_now_and_is_audited(engine, world):
    state = loaded(OutboxState, world["tokens"]["ada"])
    assert [row.retryable for row in state.rows] == [True]
    started = utcnow()

    call(state, "retry", str(world["ada"]["notification"]))

    with Session(engine) as s:
        email = s.get(Notification, world["ada"]["notification"])
        audit = s.exec(select(AuditEntry)).all()
    due = email.next_attempt_at if email.next_attempt_at.tzinfo else email.next_attempt_at.replace(tzinfo=started.tzinfo)
    assert email.status == NotificationStatus.PENDING
    assert started - timedelta(seconds=1) <= due <= utcnow()
    assert [(a.action, a.entity_id) for a in audit] == [("notification.retry", str(world["ada"]["notification"]))]
    assert json.loads(audit[0].before)["status"] == "failed" and json.loads(audit[0].after)["status"] == "pending"
    assert "sent again" in state.notice and [row.status for row in state.rows] == ["pending"]


def test_retry_signed_out_by_another_builder_or_of_a_sent_email_changes_nothing(engine, world):
    with session_scope(engine) as s:
        sent = s.get(Notification, world["bob"]["notification"])
        sent.status, sent.sent_at = NotificationStatus.SENT, utcnow()
        s.add(sent)
    before = snapshot(engine)

    assert redirect_path(call(state_of(OutboxState, ""), "retry", str(world["ada"]["notification"]))) == routes.ADMIN_LOGIN
    bob = loaded(OutboxState, world["tokens"]["bob"])
    call(bob, "retry", str(world["ada"]["notification"]))
    assert bob.admin_error == NOT_FOUND_MESSAGE
    call(bob, "retry", "not-a-number")
    assert bob.admin_error == NOT_FOUND_MESSAGE
    call(bob, "retry", str(world["bob"]["notification"]))
    assert bob.admin_error == "That email is already sent or about to be sent."

    assert snapshot(engine) == before


# --- Reconcile ------------------------------------------------------------------------------------------


def test_the_reconcile_button_refuses_a_builder(engine, world):
    before = snapshot(engine)
    state = loaded(PaymentsState, world["tokens"]["ada"])

    call(state, "run_reconcile")

    assert state.admin_error == "Only a platform admin can do that."
    assert not state.reconcile_done and not state.reconcile_running
    assert snapshot(engine) == before
    assert redirect_path(call(state_of(PaymentsState, ""), "run_reconcile")) == routes.ADMIN_LOGIN


def test_the_reconcile_button_shows_counts_and_mismatches_to_a_platform_admin(engine, world):
    gateway = world["gateway"]
    # Ada's hold was paid at Stripe, but the hold had already been released here.
    with session_scope(engine) as s:
        hold = s.get(Booking, world["ada"]["hold"])
        hold.status = BookingStatus.CANCELLED
        gateway.sessions["cs_test_ada"] = CheckoutSession(
            id="cs_test_ada", url=None, status=CheckoutStatus.COMPLETE, payment_status=CheckoutPaymentStatus.PAID,
            payment_intent_id="pi_test_ada", amount_total=5000, currency="gbp",
            metadata={"booking_id": hold.id}, client_reference_id=hold.id)
    state = loaded(PaymentsState, world["tokens"]["admin"])

    call(state, "run_reconcile")

    assert state.admin_error == "" and state.reconcile_error == ""
    assert state.reconcile_done and not state.reconcile_running
    assert {c.name: c.value for c in state.reconcile_counts}["mismatches"] == 1
    assert [(m.kind, m.booking_id) for m in state.reconcile_mismatches] == [
        ("Paid at Stripe, not confirmed here", world["ada"]["hold"])]
    with Session(engine) as s:
        assert [a.action for a in s.exec(select(AuditEntry)).all()] == ["reconcile.run"]


def test_stripe_down_during_reconcile_shows_a_message(world):
    world["gateway"].down = True
    state = loaded(PaymentsState, world["tokens"]["admin"])

    call(state, "run_reconcile")

    assert state.reconcile_error.startswith("Reconcile stopped: Stripe could not be reached")
    assert not state.reconcile_done and not state.reconcile_running
