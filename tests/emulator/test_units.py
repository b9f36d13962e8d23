"""Unit tests for test-card logic, currency formatting and webhook signing."""

from __future__ import annotations

from datetime import date

import pytest
import stripe

from stripe_emulator.core import cards
from stripe_emulator.core.money import format_amount
from stripe_emulator.core.webhooks import signature_header

TODAY = date(2030, 6, 15)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (5000, "jpy", "¥5,000"),
        (5000, "JPY", "¥5,000"),
        (120000, "krw", "₩120,000"),
        (5000, "gbp", "£50.00"),
        (123456, "eur", "€1,234.56"),
        (1999, "usd", "$19.99"),
        (1234, "sek", "SEK 12.34"),
        (1234, "xyz", "12.34 XYZ"),
    ],
)
def test_format_amount(amount: int, currency: str, expected: str) -> None:
    assert format_amount(amount, currency) == expected


@pytest.mark.parametrize(
    ("number", "valid"),
    [("4242424242424242", True), ("4242424242424241", False), ("378282246310005", True), ("", False)],
)
def test_luhn(number: str, valid: bool) -> None:
    assert cards.luhn_valid(number) is valid


def test_validate_card_ignores_spaces_and_detects_brand() -> None:
    card, problems = cards.validate_card("4242 4242 4242 4242", "12 / 34", "123", TODAY)
    assert problems == {}
    assert card is not None
    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("visa", "4242", 12, 2034)
    amex, problems = cards.validate_card("3782 822463 10005", "1234", "1234", TODAY)
    assert problems == {} and amex is not None and amex.brand == "amex"


def test_validate_card_reports_each_field() -> None:
    card, problems = cards.validate_card("4242 4242 4242 4241", "05/30", "12", TODAY)
    assert card is None
    assert problems == {
        "number": "Your card number is invalid.",
        "expiry": "Your card's expiration date is in the past.",
        "cvc": "Your card's security code is incomplete.",
    }
    _, problems = cards.validate_card("", "13/40", "abc", TODAY)
    assert problems["number"] == "Your card number is incomplete."
    assert problems["expiry"] == "Your card's expiration month is invalid."
    assert problems["cvc"] == "Your card's security code is invalid."
    _, problems = cards.validate_card("4242424242424242", "01/29", "123", TODAY)
    assert problems == {"expiry": "Your card's expiration year is in the past."}


def test_current_month_is_still_valid() -> None:
    assert cards.parse_expiry("06/30", TODAY) == ((6, 2030), None)


@pytest.mark.parametrize(
    ("number", "kind", "code", "decline_code"),
    [
        ("4242424242424242", "succeeded", None, None),
        ("5555555555554444", "succeeded", None, None),
        ("4000000000000002", "declined", "card_declined", "generic_decline"),
        ("4000000000009995", "declined", "card_declined", "insufficient_funds"),
        ("4000002760003184", "requires_action", None, None),
    ],
)
def test_outcomes(number: str, kind: str, code: str | None, decline_code: str | None) -> None:
    card, _ = cards.validate_card(number, "12/34", "123", TODAY)
    assert card is not None
    outcome = cards.outcome_for(card)
    assert (outcome.kind, outcome.code, outcome.decline_code) == (kind, code, decline_code)


def test_signature_header_is_accepted_by_the_sdk() -> None:
    import time

    payload = b'{"id": "evt_1", "object": "event", "type": "x", "data": {"object": {}}}'
    header = signature_header(payload, "whsec_abc", int(time.time()))
    event = stripe.Webhook.construct_event(payload, header, "whsec_abc")
    assert event.id == "evt_1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, header, "whsec_other")
