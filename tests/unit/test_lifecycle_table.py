"""The lifecycle's table: what it allows, what it refuses, and that its diagram is the table."""

from __future__ import annotations

import itertools
import re

import pytest

from booking.core.models import END_CAUSE_TEXT, BookingStatus, EndCause, end_reason_text
from booking.lifecycle import transitions as bookings
from booking.lifecycle.transitions import (
    HOLD_CAUSES,
    ONLY_AFTER,
    TRANSITIONS,
    Event,
    IllegalTransition,
    next_status,
    state_in_table,
)

TRIGGERS = [*Event, *EndCause]


def a_cause_allowing(status: BookingStatus, trigger) -> EndCause | None:
    allowed = ONLY_AFTER.get((status, trigger))
    return sorted(allowed)[0] if allowed else None


@pytest.mark.parametrize(("status", "trigger"), sorted(TRANSITIONS, key=str))
def test_every_move_in_the_table_is_allowed(status, trigger):
    assert next_status(status, trigger, a_cause_allowing(status, trigger)) == TRANSITIONS[(status, trigger)]


@pytest.mark.parametrize(("status", "trigger"),
                         [key for key in itertools.product(BookingStatus, TRIGGERS) if key not in TRANSITIONS])
def test_every_move_outside_the_table_raises(status, trigger):
    with pytest.raises(IllegalTransition):
        next_status(status, trigger)


@pytest.mark.parametrize(("key", "cause"), [(key, cause) for key, allowed in ONLY_AFTER.items()
                                            for cause in [*EndCause, None] if cause not in allowed])
def test_a_move_out_of_an_ending_needs_the_right_cause(key, cause):
    with pytest.raises(IllegalTransition):
        next_status(*key, cause)


def test_a_builder_cancelled_hold_is_never_revived_by_a_late_payment():
    with pytest.raises(IllegalTransition):
        next_status(BookingStatus.CANCELLED, Event.PAY_LATE, EndCause.CANCELLED_BY_BUILDER)
    assert next_status(BookingStatus.CANCELLED, Event.PAY_LATE, EndCause.RELEASED_BY_CLIENT) == BookingStatus.CONFIRMED


def test_nothing_leaves_a_cancelled_booking_except_a_late_payment_or_the_clients_claim_on_a_refund():
    leaving = {trigger for (status, trigger) in TRANSITIONS if status == BookingStatus.CANCELLED}
    assert leaving == {Event.PAY_LATE, EndCause.CANCELLED_BY_CLIENT}


def test_the_primitive_refuses_a_from_state_outside_the_table_before_touching_the_database():
    with pytest.raises(IllegalTransition):
        bookings._change_state(session=None, booking_id="b", trigger=EndCause.EXPIRED,
                       from_statuses=(BookingStatus.CONFIRMED,))
    with pytest.raises(IllegalTransition):
        bookings._change_state(session=None, booking_id="b", trigger=Event.RESCHEDULE,
                       from_statuses=(BookingStatus.PENDING,))


@pytest.mark.parametrize("cause", sorted(set(EndCause) - HOLD_CAUSES))
def test_only_hold_causes_end_a_hold(cause):
    with pytest.raises(IllegalTransition):
        bookings.end_hold_now(session=None, booking_id="b", cause=cause)


def test_the_hold_causes():
    assert {EndCause.EXPIRED, EndCause.REPLACED, EndCause.RELEASED_BY_CLIENT, EndCause.PAYMENT_FAILED,
                           EndCause.PROVIDER_UNREACHABLE, EndCause.REPAIRED_BY_RECONCILE,
                           EndCause.CANCELLED_BY_BUILDER} == HOLD_CAUSES


def test_each_trigger_leads_to_one_state():
    for trigger in TRIGGERS:
        assert len({to for (_status, event), to in TRANSITIONS.items() if event == trigger}) <= 1, trigger


def test_the_docstring_shows_exactly_the_table():
    rows = set()
    for line in bookings.__doc__.splitlines():
        match = re.match(r"^\s{4}(pending|confirmed|expired|cancelled)\b.*?\s{2,}(\w+)\s{2,}(\w+)\s*$", line)
        if match:
            rows.add((BookingStatus(match.group(1)), match.group(2), BookingStatus(match.group(3))))
    assert rows == {(status, str(trigger), to) for (status, trigger), to in TRANSITIONS.items()}


def test_every_cause_has_a_text_and_a_builders_note_wins():
    assert set(END_CAUSE_TEXT) == set(EndCause)
    assert end_reason_text(EndCause.CANCELLED_BY_BUILDER, "Builder is ill") == "Builder is ill"
    assert end_reason_text(EndCause.CANCELLED_BY_BUILDER, None) == "Cancelled by the builder"
    assert end_reason_text(None, None) == ""


def test_the_states_the_table_can_leave_a_booking_in():
    reachable = {(status, cause) for status in BookingStatus for cause in [*EndCause, None]
                 if state_in_table(status, cause)}
    assert reachable == {(BookingStatus.PENDING, None), (BookingStatus.CONFIRMED, None),
                         (BookingStatus.EXPIRED, EndCause.EXPIRED)} | {
        (BookingStatus.CANCELLED, cause) for cause in EndCause if cause != EndCause.EXPIRED}
