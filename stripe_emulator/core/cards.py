"""Test-card logic: validating what a payer typed and deciding what the card network says.

Card numbers follow https://docs.stripe.com/testing; spaces and dashes are ignored.
Nothing here touches state: the emulator turns an `Outcome` into objects and events.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date

DECLINED = "Your card was declined."
INSUFFICIENT_FUNDS = "Your card has insufficient funds."
INVALID_NUMBER = "Your card number is invalid."
INCOMPLETE_NUMBER = "Your card number is incomplete."
AUTHENTICATION_FAILED = (
    "We are unable to authenticate your payment method. "
    "Please choose a different payment method and try again."
)


@dataclass(frozen=True)
class Card:
    number: str
    brand: str
    exp_month: int
    exp_year: int
    funding: str = "credit"
    country: str = "US"

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.number)


@dataclass(frozen=True)
class Outcome:
    """What happens when the card is charged."""

    kind: str  # "succeeded" | "declined" | "requires_action"
    code: str | None = None
    decline_code: str | None = None
    message: str | None = None
    # For 3D Secure cards: the outcome once the payer completes authentication.
    after_authentication: Outcome | None = None
    # Radar blocked it before it reached the card network (`outcome.type=blocked`).
    blocked: bool = False

    @property
    def succeeded(self) -> bool:
        return self.kind == "succeeded"


SUCCESS = Outcome("succeeded")


def _decline(decline_code: str, message: str = DECLINED, code: str = "card_declined") -> Outcome:
    return Outcome("declined", code=code, decline_code=decline_code, message=message)


def _three_d_secure(after: Outcome = SUCCESS) -> Outcome:
    return Outcome("requires_action", after_authentication=after)


TEST_CARD_OUTCOMES: dict[str, Outcome] = {
    "4000000000000002": _decline("generic_decline"),
    "4000000000009995": _decline("insufficient_funds", INSUFFICIENT_FUNDS),
    "4000000000009987": _decline("lost_card"),
    "4000000000009979": _decline("stolen_card"),
    # "Results in a charge with a risk level of highest, and is always blocked regardless of your rules."
    "4100000000000019": Outcome(
        "declined", code="card_declined", decline_code="fraudulent", message=DECLINED, blocked=True
    ),
    # "Attaching this card to a Customer object succeeds, but attempts to charge the customer fail."
    "4000000000000341": _decline("generic_decline"),
    "4000000000000069": _decline("expired_card", "Your card has expired.", code="expired_card"),
    "4000000000000127": _decline(
        "incorrect_cvc", "Your card's security code is incorrect.", code="incorrect_cvc"
    ),
    "4000000000000119": _decline(
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
        code="processing_error",
    ),
    "4000002760003184": _three_d_secure(),
    "4000002500003155": _three_d_secure(),
    "4000000000003220": _three_d_secure(),
    "4000000000003063": _three_d_secure(),
    "4000008260003178": _three_d_secure(_decline("insufficient_funds", INSUFFICIENT_FUNDS)),
}

# Cards that succeed and then open a dispute (https://docs.stripe.com/testing#disputes):
# number -> (reason, inquiry). An inquiry (`warning_*` statuses) withdraws no funds.
DISPUTE_CARDS: dict[str, tuple[str, bool]] = {
    "4000000000000259": ("fraudulent", False),
    "4000000000002685": ("product_not_received", True),
    "4000000000001976": ("product_not_received", False),
}

DEBIT_CARDS = frozenset({"4000056655665556", "5200828282828210"})


# Stripe.js error codes for what the payer typed, keyed by message.
VALIDATION_CODES = {
    INVALID_NUMBER: "invalid_number",
    INCOMPLETE_NUMBER: "incomplete_number",
    "Your card's expiration date is incomplete.": "incomplete_expiry",
    "Your card's expiration month is invalid.": "invalid_expiry_month",
    "Your card's expiration year is in the past.": "invalid_expiry_year_past",
    "Your card's expiration date is in the past.": "invalid_expiry_month_past",
    "Your card's expiration year is invalid.": "invalid_expiry_year",
    "Your card's security code is incomplete.": "incomplete_cvc",
    "Your card's security code is invalid.": "invalid_cvc",
}


def digits_only(number: str) -> str:
    return re.sub(r"[\s-]", "", number or "")


def luhn_valid(number: str) -> bool:
    if not number.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def brand_for(number: str) -> str:
    if number.startswith(("34", "37")):
        return "amex"
    if number.startswith("4"):
        return "visa"
    if re.match(r"^(5[1-5]|222[1-9]|22[3-9]\d|2[3-6]\d\d|27[01]\d|2720)", number):
        return "mastercard"
    if number.startswith(("6011", "65", "644", "645", "646", "647", "648", "649")):
        return "discover"
    if number.startswith(("300", "301", "302", "303", "304", "305", "36", "38")):
        return "diners"
    if number.startswith("35"):
        return "jcb"
    if number.startswith("62"):
        return "unionpay"
    return "unknown"


def check_number(raw: str) -> tuple[str | None, str | None]:
    """(digits, None) when usable, else (None, message)."""
    number = digits_only(raw)
    if not number:
        return None, INCOMPLETE_NUMBER
    if not number.isdigit() or not 12 <= len(number) <= 19 or not luhn_valid(number):
        return None, INVALID_NUMBER
    return number, None


def parse_expiry(raw: str, today: date) -> tuple[tuple[int, int] | None, str | None]:
    """'12 / 34', '12/34', '1234', '12/2034' -> ((12, 2034), None) or (None, message)."""
    text = re.sub(r"\s", "", raw or "")
    if not text:
        return None, "Your card's expiration date is incomplete."
    match = re.fullmatch(r"(\d{1,2})/(\d{2}|\d{4})", text) or re.fullmatch(r"(\d{2})(\d{2})", text)
    if not match:
        return None, "Your card's expiration date is incomplete."
    month, year = int(match.group(1)), int(match.group(2))
    if year < 100:
        year += 2000
    if not 1 <= month <= 12:
        return None, "Your card's expiration month is invalid."
    if (year, month) < (today.year, today.month):
        if year < today.year:
            return None, "Your card's expiration year is in the past."
        return None, "Your card's expiration date is in the past."
    if year > today.year + 50:
        return None, "Your card's expiration year is invalid."
    return (month, year), None


def check_cvc(raw: str, brand: str | None) -> str | None:
    cvc = (raw or "").strip()
    expected = 4 if brand == "amex" else 3
    if not cvc:
        return "Your card's security code is incomplete."
    if not cvc.isdigit():
        return "Your card's security code is invalid."
    if len(cvc) < expected:
        return "Your card's security code is incomplete."
    if len(cvc) > expected:
        return "Your card's security code is invalid."
    return None


def validate_card(
    number: str, expiry: str, cvc: str, today: date
) -> tuple[Card | None, dict[str, str]]:
    """Returns the card, or field -> message for each problem (fields: number, expiry, cvc)."""
    problems: dict[str, str] = {}
    digits, number_error = check_number(number)
    if number_error:
        problems["number"] = number_error
    brand = brand_for(digits) if digits else None
    parsed_expiry, expiry_error = parse_expiry(expiry, today)
    if expiry_error:
        problems["expiry"] = expiry_error
    cvc_error = check_cvc(cvc, brand)
    if cvc_error:
        problems["cvc"] = cvc_error
    if problems or digits is None or parsed_expiry is None:
        return None, problems
    return (
        Card(
            number=digits,
            brand=brand or "unknown",
            exp_month=parsed_expiry[0],
            exp_year=parsed_expiry[1],
            funding="debit" if digits in DEBIT_CARDS else "credit",
        ),
        {},
    )


def outcome_for(card: Card) -> Outcome:
    """Documented test cards behave as documented; any other valid number succeeds."""
    return TEST_CARD_OUTCOMES.get(card.number, SUCCESS)


# Off-session payments (a saved card charged without the cardholder): https://docs.stripe.com/testing#regulatory-cards
# 4000 0025 0000 3155 needs authentication unless it was set up (a SetupIntent, Checkout in setup mode):
# once set up, off-session payments succeed. Every other 3D Secure card needs it every time, so an
# off-session payment fails with `authentication_required` (the PaymentIntent waits in `requires_action`).
SET_UP_ONCE = frozenset({"4000002500003155"})
AUTHENTICATION_REQUIRED = "Your card was declined. This transaction requires authentication."


def off_session_outcome(card: Card, *, set_up: bool) -> Outcome:
    """What a saved card's issuer says to a payment made without the cardholder (`off_session=true`)."""
    outcome = outcome_for(card)
    if outcome.kind != "requires_action":
        return outcome
    if set_up and card.number in SET_UP_ONCE:
        return outcome.after_authentication or SUCCESS
    return Outcome("requires_action", code="authentication_required", decline_code="authentication_required",
                   message=AUTHENTICATION_REQUIRED)


def dispute_for(card: Card) -> tuple[str, bool] | None:
    """(reason, inquiry) when this test card's payment is disputed after it succeeds."""
    return DISPUTE_CARDS.get(card.number)
# --- refunds of test cards (https://docs.stripe.com/testing#refunds) ----------------------------
# 4000000000007726: the refund starts `pending`, then succeeds (`charge.refund.updated`).
# 4000000000005126: the refund starts `succeeded`, then fails asynchronously.
REFUND_PENDING = "pending"
REFUND_FAILS_LATER = "fails_later"
REFUND_CARDS: dict[str, str] = {
    "4000000000007726": REFUND_PENDING,
    "4000000000005126": REFUND_FAILS_LATER,
}
# How long such a refund stays as it started, on the emulator's clock.
REFUND_SETTLE_SECONDS = 60 * 60


def fingerprint_of(number: str) -> str:
    return hashlib.sha256(("emulator:" + number).encode()).hexdigest()[:16]


_REFUND_BY_FINGERPRINT = {fingerprint_of(number): kind for number, kind in REFUND_CARDS.items()}


def refund_behaviour(fingerprint: str | None) -> str | None:
    """REFUND_PENDING, REFUND_FAILS_LATER or None (refunds succeed at once) for a charged card."""
    return _REFUND_BY_FINGERPRINT.get(fingerprint or "")
