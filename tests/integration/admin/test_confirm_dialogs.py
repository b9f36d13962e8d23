"""/admin/bookings asks before anything is refunded or cancelled: the form's submit opens a dialog that says
what will happen (as the lifecycle really does it); nothing changes until the dialog's button, and "Go back"
changes nothing at all."""

from __future__ import annotations

from sqlmodel import Session

from booking.core.models import Booking, BookingStatus
from booking.lifecycle import ASK_CANCEL_SESSION
from tests.integration.admin.test_bookings_admin import gateway, paid, signed_in, world  # noqa: F401 - fixtures
from tests.support.admin_states import call


def run_confirmed(state, spec) -> None:
    """What the browser does with the event `confirm` returns: run it."""
    args = {key._js_expr: value._var_value for key, value in spec.args}
    call(state, spec.handler.fn.__name__, **args)


def status_of(engine, booking_id) -> BookingStatus:
    with Session(engine) as s:
        return s.get(Booking, booking_id).status


def test_a_full_refund_that_keeps_the_session_asks_first(engine, gateway, session, world):  # noqa: F811
    booking_id = paid(engine, gateway, session, world, pi="pi_confirm_keep")
    state = signed_in(engine, world, "ada")
    call(state, "open_booking", booking_id)

    call(state, "ask_refund", {"amount": "50.00", "reason": "requested_by_customer", "session": "keep"})

    assert state.confirm_kind == "refund" and state.confirm_title == "Refund £50.00?"
    assert state.confirm_text.startswith("£50.00 is refunded to the client; the session stays booked.")
    assert gateway.refunds == []  # nothing yet

    spec = call(state, "confirm")
    assert state.confirm_kind == ""  # the dialog closes
    run_confirmed(state, spec)

    assert state.refund_result == "Refunded £50.00." and len(gateway.refunds) == 1
    assert status_of(engine, booking_id) == BookingStatus.CONFIRMED


def test_a_full_refund_that_cancels_says_the_client_is_emailed(engine, gateway, session, world):  # noqa: F811
    booking_id = paid(engine, gateway, session, world, pi="pi_confirm_cancel")
    state = signed_in(engine, world, "ada")
    call(state, "open_booking", booking_id)

    call(state, "ask_refund", {"amount": "", "reason": "requested_by_customer", "session": "cancel"})

    assert state.confirm_text.startswith("£50.00 is refunded to the client and the session is cancelled")
    assert "the client is emailed" in state.confirm_text
    run_confirmed(state, call(state, "confirm"))
    assert status_of(engine, booking_id) == BookingStatus.CANCELLED and len(gateway.refunds) == 1


def test_a_full_refund_without_the_session_answer_asks_for_it_and_opens_no_dialog(engine, gateway, session, world):  # noqa: F811
    booking_id = paid(engine, gateway, session, world, pi="pi_confirm_ask")
    state = signed_in(engine, world, "ada")
    call(state, "open_booking", booking_id)

    call(state, "ask_refund", {"amount": "50.00", "reason": "requested_by_customer"})

    assert state.confirm_kind == "" and state.refund_result == ASK_CANCEL_SESSION


def test_a_partial_refund_says_how_much_and_a_bad_amount_opens_no_dialog(engine, gateway, session, world):  # noqa: F811
    booking_id = paid(engine, gateway, session, world, pi="pi_confirm_part")
    state = signed_in(engine, world, "ada")
    call(state, "open_booking", booking_id)

    call(state, "ask_refund", {"amount": "1E+500000", "reason": "requested_by_customer"})
    assert state.confirm_kind == "" and "Enter an amount" in state.refund_result
    call(state, "ask_refund", {"amount": "60", "reason": "requested_by_customer"})
    assert state.confirm_kind == "" and state.refund_result == "Enter an amount up to £50.00."

    call(state, "ask_refund", {"amount": "12.50", "reason": "requested_by_customer"})
    assert state.confirm_text.startswith("£12.50 is refunded to the client; the session stays booked.")


def test_cancelling_asks_first_and_going_back_changes_nothing(engine, gateway, session, world):  # noqa: F811
    booking_id = paid(engine, gateway, session, world, pi="pi_confirm_back")
    state = signed_in(engine, world, "ada")
    call(state, "open_booking", booking_id)

    call(state, "ask_cancel", {"refund": "full", "refund_reason": "requested_by_customer", "reason": ""})

    assert (state.confirm_kind, state.confirm_title) == ("cancel", "Cancel this booking?")
    assert state.confirm_text.startswith("The session is cancelled: the time is freed and the client is emailed. "
                                         "£50.00 is refunded to them.")
    call(state, "set_confirm_open", False)  # Escape or "Go back"
    assert state.confirm_kind == "" and call(state, "confirm") is None
    assert status_of(engine, booking_id) == BookingStatus.CONFIRMED and gateway.refunds == []

    call(state, "ask_cancel", {"refund": "none", "reason": "Ill"})
    assert state.confirm_text.endswith("Nothing is refunded. This can't be undone.")
    run_confirmed(state, call(state, "confirm"))
    assert state.cancel_ok and state.cancel_result.startswith("Booking cancelled")
    assert status_of(engine, booking_id) == BookingStatus.CANCELLED and gateway.refunds == []


def test_a_partial_cancel_needs_an_amount_before_the_dialog(engine, gateway, session, world):  # noqa: F811
    booking_id = paid(engine, gateway, session, world, pi="pi_confirm_partial_cancel")
    state = signed_in(engine, world, "ada")
    call(state, "open_booking", booking_id)

    call(state, "ask_cancel", {"refund": "partial", "amount": "", "refund_reason": "requested_by_customer"})
    assert state.confirm_kind == "" and state.cancel_result == "Enter an amount to refund, up to £50.00."
    call(state, "ask_cancel", {"refund": "maybe"})
    assert state.confirm_kind == "" and state.cancel_result == "Choose a full, partial or no refund."
    call(state, "ask_cancel", {"refund": "partial", "amount": "20", "refund_reason": "requested_by_customer"})
    assert "£20.00 is refunded to them." in state.confirm_text
