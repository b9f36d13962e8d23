"""The cancellation policy's arithmetic: windows, boundaries, amounts, and the admin form's rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking.notifications import manage_links
from booking.scheduling import policy
from booking.scheduling.policy import CancellationPolicy, RefundWindow, refund_quote

START = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
STANDARD = CancellationPolicy(full_refund_hours=24, partial_refund_percent=50, partial_refund_hours=2,
                              reschedule_hours=24, max_reschedules=2)


def quote_at(now: datetime, *, rules: CancellationPolicy = STANDARD, paid: int = 5000, left: int = 5000):
    return refund_quote(policy=rules, start=START, now=now, paid=paid, refundable=left)


def test_full_refund_until_exactly_n_hours_before():
    at_boundary = quote_at(START - timedelta(hours=24))
    just_after = quote_at(START - timedelta(hours=24) + timedelta(microseconds=1))

    assert (at_boundary.window, at_boundary.amount, at_boundary.until) == (RefundWindow.FULL, 5000,
                                                                            START - timedelta(hours=24))
    assert (just_after.window, just_after.amount) == (RefundWindow.PARTIAL, 2500)


def test_partial_refund_until_exactly_m_hours_before_then_nothing():
    at_boundary = quote_at(START - timedelta(hours=2))
    just_after = quote_at(START - timedelta(hours=2) + timedelta(microseconds=1))

    assert (at_boundary.window, at_boundary.percent, at_boundary.amount) == (RefundWindow.PARTIAL, 50, 2500)
    assert at_boundary.until == START - timedelta(hours=2)
    assert (just_after.window, just_after.amount, just_after.until) == (RefundWindow.NONE, 0, None)


def test_partial_amount_rounds_down_and_never_exceeds_what_is_left():
    assert quote_at(START - timedelta(hours=5), paid=4999, left=4999).amount == 2499
    assert quote_at(START - timedelta(hours=5), paid=5000, left=1000).amount == 1000  # the builder refunded most


def test_zero_percent_or_equal_windows_mean_no_partial_window():
    no_partial = CancellationPolicy(24, 0, 2, 24, 2)
    same_hours = CancellationPolicy(24, 50, 24, 24, 2)
    for rules in (no_partial, same_hours):
        assert quote_at(START - timedelta(hours=25), rules=rules).next_change == RefundWindow.NONE
        assert quote_at(START - timedelta(hours=5), rules=rules).window == RefundWindow.NONE


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        refund_quote(policy=STANDARD, start=START.replace(tzinfo=None), now=START, paid=1, refundable=1)


policies = st.builds(
    lambda n, m, p, r, k: CancellationPolicy(n, p, min(m, n), r, k),
    st.integers(0, policy.MAX_HOURS), st.integers(0, policy.MAX_HOURS), st.integers(0, 100),
    st.integers(0, policy.MAX_HOURS), st.integers(0, 10),
)
offsets = st.integers(-2 * 24 * 3600, 400 * 24 * 3600)  # seconds before the start (negative: after)


@given(rules=policies, paid=st.integers(0, 10**8), spent=st.integers(0, 10**8), before=offsets)
def test_the_refund_never_exceeds_what_is_left_nor_the_payment(rules, paid, spent, before):
    left = max(paid - spent, 0)
    quote = quote_at(START - timedelta(seconds=before), rules=rules, paid=paid, left=left)
    assert 0 <= quote.amount <= left <= paid
    if quote.window == RefundWindow.PARTIAL:
        assert quote.amount <= paid * rules.partial_refund_percent // 100


@given(rules=policies, paid=st.integers(0, 10**8), earlier=offsets, later=offsets)
def test_the_refund_never_grows_as_the_start_comes_closer(rules, paid, earlier, later):
    first, second = sorted([earlier, later], reverse=True)  # seconds before the start: first is earlier
    sooner = quote_at(START - timedelta(seconds=first), rules=rules, paid=paid, left=paid)
    closer = quote_at(START - timedelta(seconds=second), rules=rules, paid=paid, left=paid)
    assert closer.amount <= sooner.amount
    order = [RefundWindow.FULL, RefundWindow.PARTIAL, RefundWindow.NONE]
    assert order.index(closer.window) >= order.index(sooner.window)


@given(rules=policies, paid=st.integers(1, 10**8))
def test_boundaries_are_exact_for_any_policy(rules, paid):
    full_end = START - timedelta(hours=rules.full_refund_hours)
    assert quote_at(full_end, rules=rules, paid=paid, left=paid).amount == paid
    after_full = quote_at(full_end + timedelta(microseconds=1), rules=rules, paid=paid, left=paid)
    if policy.has_partial_window(rules):
        assert after_full.amount == paid * rules.partial_refund_percent // 100
        partial_end = START - timedelta(hours=rules.partial_refund_hours)
        assert quote_at(partial_end, rules=rules, paid=paid, left=paid).window == RefundWindow.PARTIAL
        assert quote_at(partial_end + timedelta(microseconds=1), rules=rules, paid=paid, left=paid).amount == 0
    else:
        assert after_full.amount == 0


def test_cancel_is_possible_until_the_start():
    assert policy.can_cancel(start=START, now=START - timedelta(seconds=1))
    assert not policy.can_cancel(start=START, now=START)


def test_reschedule_window_and_limit():
    ok = policy.reschedule_check(policy=STANDARD, start=START, now=START - timedelta(hours=24), reschedule_count=1)
    late = policy.reschedule_check(policy=STANDARD, start=START, now=START - timedelta(hours=23), reschedule_count=0)
    spent = policy.reschedule_check(policy=STANDARD, start=START, now=START - timedelta(days=5), reschedule_count=2)
    never = policy.reschedule_check(policy=CancellationPolicy(24, 50, 2, 24, 0), start=START,
                                    now=START - timedelta(days=5), reschedule_count=0)

    assert (ok.allowed, ok.remaining) == (True, 1)
    assert not late.allowed and "too late" in late.reason
    assert not spent.allowed and "2 times" in spent.reason
    assert not never.allowed


def test_session_type_overrides_win_field_by_field_and_keep_the_windows_in_order():
    builder = SimpleNamespace(policy_full_refund_hours=24, policy_partial_refund_percent=50,
                              policy_partial_refund_hours=2, policy_reschedule_hours=24, policy_max_reschedules=2)
    session_type = SimpleNamespace(policy_full_refund_hours=1, policy_partial_refund_percent=None,
                                   policy_partial_refund_hours=None, policy_reschedule_hours=None,
                                   policy_max_reschedules=5)

    rules = policy.effective_policy(builder, session_type)

    assert rules == CancellationPolicy(full_refund_hours=1, partial_refund_percent=50, partial_refund_hours=1,
                                       reschedule_hours=24, max_reschedules=5)
    assert policy.effective_policy(builder, None) == STANDARD


@pytest.mark.parametrize(("form", "field"), [
    ({"full_refund_hours": "8761"}, "full_refund_hours"),
    ({"partial_refund_percent": "101"}, "partial_refund_percent"),
    ({"partial_refund_hours": "48"}, "partial_refund_hours"),  # M > N
    ({"reschedule_hours": "-1"}, "reschedule_hours"),
    ({"max_reschedules": "11"}, "max_reschedules"),
    ({"max_reschedules": "２"}, "max_reschedules"),  # a full-width digit is not a number here
    ({"full_refund_hours": ""}, "full_refund_hours"),
])
def test_the_form_refuses_out_of_range_values(form, field):
    values = {**{name: str(value) for name, value in STANDARD.as_dict().items()}, **form}
    with pytest.raises(policy.InvalidPolicy) as caught:
        policy.parse_policy_form(values, allow_blank=False)
    assert field in caught.value.errors


def test_an_override_may_be_blank_and_is_checked_against_the_builders_numbers():
    parsed = policy.parse_policy_form({"partial_refund_percent": "80"}, allow_blank=True, inherited=STANDARD)
    assert parsed == {"full_refund_hours": None, "partial_refund_percent": 80, "partial_refund_hours": None,
                      "reschedule_hours": None, "max_reschedules": None}
    with pytest.raises(policy.InvalidPolicy):
        policy.parse_policy_form({"partial_refund_hours": "30"}, allow_blank=True, inherited=STANDARD)


def test_words_state_the_exact_amount_and_deadline_in_the_clients_zone():
    quote = quote_at(START - timedelta(hours=5))
    text = policy.describe_quote(quote, money="£25.00", zone=ZoneInfo("Europe/London"))
    assert text == "Cancel now and get £25.00 back (50 %, until 14:00 on 3 Dec)."
    assert policy.describe(STANDARD) == [
        "Free cancellation with a full refund until 24 hours before.",
        "Then a 50 % refund until 2 hours before.",
        "After that, cancelling refunds nothing.",
        "You can reschedule up to 2 times, until 24 hours before.",
    ]


# --- the manage token -------------------------------------------------------------------------------------

KEY = b"k" * 48


def test_the_manage_token_is_256_bits_keyed_and_not_the_booking_id():
    token = manage_links.derive_token("3f2a0b8e-0000-4000-8000-000000000001", key=KEY)
    assert len(token) == manage_links.TOKEN_LENGTH and manage_links.looks_like_token(token)
    assert "3f2a0b8e" not in token
    assert token != manage_links.derive_token("3f2a0b8e-0000-4000-8000-000000000001", key=b"x" * 48)
    assert token != manage_links.derive_token("3f2a0b8e-0000-4000-8000-000000000002", key=KEY)


@given(st.text(min_size=0, max_size=80))
def test_only_the_exact_csrf_token_of_the_action_passes(presented):
    digest = manage_links.token_hash("t" * 43)
    good = manage_links.csrf_token(digest, "cancel", key=KEY)
    assert manage_links.csrf_ok(digest, "cancel", good, key=KEY)
    assert not manage_links.csrf_ok(digest, "reschedule", good, key=KEY)
    assert manage_links.csrf_ok(digest, "cancel", presented, key=KEY) == (presented == good)


# --- the booking page's refund tier (issue #14) ----------------------------------------------------------------


@pytest.mark.parametrize("hours_ahead,expected", [
    (27, "Booked 27 h ahead: a full refund if you cancel up to 24 h before, then 50 % back up to 2 h before."),
    (24, "Booked 24 h ahead: a full refund if you cancel up to 24 h before, then 50 % back up to 2 h before."),
    (6, "Booked 6 h ahead: 50 % back if you cancel up to 2 h before (the full-refund window has already passed)."),
    (1.5, "Booked 1 h ahead: no refund if you cancel, as the refund windows have already passed."),
    (0.5, "Booked less than 1 h ahead: no refund if you cancel, as the refund windows have already passed."),
])
def test_the_refund_tier_of_a_time_picked_now(hours_ahead, expected):
    now = START - timedelta(hours=hours_ahead)

    assert policy.booking_tier_text(STANDARD, start=START, now=now) == expected


def test_the_refund_tier_follows_the_builders_own_policy():
    generous = CancellationPolicy(full_refund_hours=48, partial_refund_percent=0, partial_refund_hours=0,
                                  reschedule_hours=24, max_reschedules=1)
    until_start = CancellationPolicy(full_refund_hours=0, partial_refund_percent=0, partial_refund_hours=0,
                                     reschedule_hours=0, max_reschedules=0)

    assert policy.booking_tier_text(generous, start=START, now=START - timedelta(hours=72)) == (
        "Booked 72 h ahead: a full refund if you cancel up to 48 h before.")
    assert policy.booking_tier_text(generous, start=START, now=START - timedelta(hours=30)).endswith(
        "no refund if you cancel, as the refund windows have already passed.")
    assert policy.booking_tier_text(until_start, start=START, now=START - timedelta(hours=3)) == (
        "Booked 3 h ahead: a full refund if you cancel up to the start.")
