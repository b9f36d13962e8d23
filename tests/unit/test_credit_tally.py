"""The credit ledger's arithmetic: a grant's numbers come from its lines alone."""

from __future__ import annotations

from booking.core.models import CreditEntry, CreditEntryKind
from booking.payments.credits import Tally, client_email_key, tally

G, R, D, T, X, F = (CreditEntryKind.GRANTED, CreditEntryKind.RESERVED, CreditEntryKind.REDEEMED,
                    CreditEntryKind.RETURNED, CreditEntryKind.EXPIRED, CreditEntryKind.REFUNDED)


def lines(*specs: tuple) -> list[CreditEntry]:
    return [CreditEntry(id=n, grant_id=1, kind=kind, quantity=quantity, booking_id=booking, key=f"k{n}")
            for n, (kind, quantity, booking) in enumerate(specs, start=1)]


def test_a_fresh_grant_is_all_available() -> None:
    assert tally(lines((G, 5, None))) == Tally(granted=5)
    assert tally(lines((G, 5, None))).available == 5


def test_a_held_slot_holds_one_credit_and_a_confirmed_one_spends_it() -> None:
    held = tally(lines((G, 3, None), (R, 1, "a")))
    assert (held.available, held.held, held.spent) == (2, 1, 0)
    spent = tally(lines((G, 3, None), (R, 1, "a"), (D, 1, "a")))
    assert (spent.available, spent.held, spent.spent) == (2, 0, 1)


def test_a_returned_credit_is_available_again_whether_it_was_held_or_spent() -> None:
    assert tally(lines((G, 2, None), (R, 1, "a"), (T, 1, "a"))).available == 2
    assert tally(lines((G, 2, None), (R, 1, "a"), (D, 1, "a"), (T, 1, "a"))).available == 2


def test_expired_and_refunded_credits_are_gone() -> None:
    result = tally(lines((G, 5, None), (R, 1, "a"), (D, 1, "a"), (F, 2, None), (X, 2, None)))
    assert (result.available, result.spent, result.refunded, result.expired) == (0, 1, 2, 2)


def test_the_order_of_lines_is_their_ids_not_the_list_order() -> None:
    ordered = lines((G, 1, None), (R, 1, "a"), (D, 1, "a"))
    assert tally(reversed(ordered)) == tally(ordered)


def test_client_emails_are_keyed_as_bookings_keep_them() -> None:
    assert client_email_key("  Ann@Example.COM ") == "ann@example.com"
    assert client_email_key("not an email") == "not an email"
