"""SEPA Direct Debit (EUR) and Bacs Direct Debit (GBP): delayed payment methods.

Paying a session with a bank account creates a `processing` PaymentIntent, a `pending` charge and a
mandate, and completes the session with `payment_status=unpaid`:

    payment_intent.created, charge.pending, payment_intent.processing, checkout.session.completed

The debit then succeeds or fails on the emulator's clock (`settle_due`, a clock job), as Stripe's
test accounts say (docs.stripe.com/payments/sepa-debit and /payments/payment-methods/bacs-debit,
"Test your integration"):

    succeeded: charge.succeeded, payment_intent.succeeded, checkout.session.async_payment_succeeded
    failed:    charge.failed, payment_intent.payment_failed, checkout.session.async_payment_failed

Any other well-formed account succeeds like the first test number.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stripe_emulator.core import connect_money, discounts, ids, objects, payment_engine
from stripe_emulator.core.context import AUTOMATIC
from stripe_emulator.core.payment_engine import PaymentResult

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

# Stripe's test mode settles the "immediate" numbers within moments and the others after about
# three minutes. On the emulator's clock: a few seconds, and three minutes.
SOON = 5
LATER = 3 * 60

FAILURE_MESSAGE = "The customer's bank account could not be debited."


@dataclass(frozen=True)
class DebitOutcome:
    succeeds: bool
    delay: int  # seconds on the emulator's clock
    failure_code: str = "insufficient_funds"


SUCCEEDS = DebitOutcome(True, SOON)

SEPA_TEST_IBANS: dict[str, DebitOutcome] = {
    "AT611904300234573201": DebitOutcome(True, SOON),
    "AT321904300235473204": DebitOutcome(True, LATER),
    "AT861904300235473202": DebitOutcome(False, SOON),
    "AT051904300235473205": DebitOutcome(False, LATER),
}
BACS_SORT_CODE = "108800"
BACS_TEST_ACCOUNTS: dict[str, DebitOutcome] = {
    "00012345": DebitOutcome(True, SOON),
    "90012345": DebitOutcome(True, LATER),
    "33333335": DebitOutcome(False, SOON),
    "93333335": DebitOutcome(False, LATER),
    "22222227": DebitOutcome(False, SOON, "debit_not_authorized"),
    "92222227": DebitOutcome(False, LATER, "debit_not_authorized"),
}

_PENDING = "bank_debits:pending"  # private: [{"payment_intent", "due", "succeeds", "failure_code"}]


def _fingerprint(value: str) -> str:
    return hashlib.sha256(("emulator:" + value).encode()).hexdigest()[:16]


def iban_valid(iban: str) -> bool:
    """ISO 13616: two letters, two check digits, up to 30 alphanumerics, mod 97 == 1."""
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", iban):
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in moved)) % 97 == 1


def check_sepa(raw_iban: str) -> tuple[str | None, str | None]:
    iban = re.sub(r"\s", "", raw_iban or "").upper()
    if not iban:
        return None, "Your IBAN is incomplete."
    if not iban_valid(iban):
        return None, "Your IBAN is invalid."
    return iban, None


def check_bacs(raw_sort_code: str, raw_account: str) -> tuple[tuple[str, str] | None, dict[str, str]]:
    sort_code = re.sub(r"[\s-]", "", raw_sort_code or "")
    account = re.sub(r"\s", "", raw_account or "")
    problems = {}
    if not re.fullmatch(r"\d{6}", sort_code):
        problems["sort_code"] = "Your sort code is invalid." if sort_code else "Your sort code is incomplete."
    if not re.fullmatch(r"\d{8}", account):
        problems["account_number"] = (
            "Your account number is invalid." if account else "Your account number is incomplete."
        )
    return (None if problems else (sort_code, account)), problems


def outcome_for(method: str, details: dict[str, str]) -> DebitOutcome:
    if method == "sepa_debit":
        return SEPA_TEST_IBANS.get(details["iban"], SUCCEEDS)
    if details["sort_code"] == BACS_SORT_CODE:
        return BACS_TEST_ACCOUNTS.get(details["account_number"], SUCCEEDS)
    return SUCCEEDS


def payment_method(method: str, details: dict[str, str], *, created: int, email: str, name: str) -> dict[str, Any]:
    pm = objects.build("payment_method", id=ids.new_id("pm"), created=created, type=method)
    pm["billing_details"].update(email=email, name=name)
    if method == "sepa_debit":
        iban = details["iban"]
        pm["sepa_debit"] = {
            "bank_code": iban[4:9],
            "branch_code": "",
            "country": iban[:2],
            "fingerprint": _fingerprint(iban),
            "generated_from": {"charge": None, "setup_attempt": None},
            "last4": iban[-4:],
        }
    else:
        pm["bacs_debit"] = {
            "fingerprint": _fingerprint(details["sort_code"] + details["account_number"]),
            "last4": details["account_number"][-4:],
            "sort_code": details["sort_code"],
        }
    return pm


def charge_details(pm: dict[str, Any], mandate_id: str) -> dict[str, Any]:
    method = pm["type"]
    source = pm[method]
    if method == "sepa_debit":
        details = {
            "bank_code": source["bank_code"],
            "branch_code": source["branch_code"],
            "country": source["country"],
            "fingerprint": source["fingerprint"],
            "last4": source["last4"],
            "mandate": mandate_id,
        }
    else:
        details = {
            "expected_debit_date": None,
            "fingerprint": source["fingerprint"],
            "last4": source["last4"],
            "mandate": mandate_id,
            "sort_code": source["sort_code"],
        }
    return {"type": method, method: details}


def start(
    emu: Engine,
    session: dict[str, Any],
    pi: dict[str, Any],
    pm: dict[str, Any],
    outcome: DebitOutcome,
    email: str,
    name: str,
) -> dict[str, Any]:
    """The payer accepted the mandate: the debit is submitted and the session completes unpaid.
    Returns the pending charge."""
    now = emu.clock.now()
    owner = emu.store.owner(session["id"])
    method = pm["type"]
    mandate_id = ids.new_id("mandate")
    emu.store.put_private(
        f"mandate:{mandate_id}",
        {
            "id": mandate_id,
            "object": "mandate",
            "customer_acceptance": {"accepted_at": now, "online": {"ip_address": "127.0.0.1",
                                                                   "user_agent": "emulator"},
                                    "type": "online"},
            "payment_method": pm["id"],
            "payment_method_details": {"type": method, method: {"reference": mandate_id.upper()[-16:]}},
            "status": "active",
            "type": "single_use",
        },
    )
    charge_id = ids.new_id("py")  # Stripe's ids of non-card charges start with py_
    charge = objects.build(
        "charge",
        id=charge_id,
        amount=pi["amount"],
        created=now,
        currency=pi["currency"],
        description=pi["description"],
        metadata=dict(pi["metadata"]),
        payment_intent=pi["id"],
        payment_method=pm["id"],
        payment_method_details=charge_details(pm, mandate_id),
        receipt_email=pi["receipt_email"],
        statement_descriptor=pi["statement_descriptor"],
        statement_descriptor_suffix=pi["statement_descriptor_suffix"],
        status="pending",
        refunds=objects.list_object([], f"/v1/charges/{charge_id}/refunds"),
    )
    charge["billing_details"].update(email=email, name=name)
    emu.store.put(charge, account=owner)
    pi.update(
        status="processing",
        latest_charge=charge_id,
        payment_method=pm["id"],
        payment_method_types=list(session["payment_method_types"]),
        last_payment_error=None,
        next_action=None,
    )
    emu.store.put(pi)
    session.update(
        status="complete",
        payment_status="unpaid",
        payment_intent=pi["id"],
        url=None,
        customer_details=customer_details(email, name, pm),
    )
    discounts.redeem(emu, session)
    emu.store.put(session)
    pending = emu.store.get_private(_PENDING) or []
    pending.append(
        {
            "payment_intent": pi["id"],
            "session": session["id"],
            "due": now + outcome.delay,
            "succeeds": outcome.succeeds,
            "failure_code": outcome.failure_code,
        }
    )
    emu.store.put_private(_PENDING, pending)
    key = session["id"]
    emu.emit("charge.pending", charge, AUTOMATIC, key)
    emu.emit("payment_intent.processing", pi, AUTOMATIC, key)
    emu.emit("checkout.session.completed", session, AUTOMATIC, key)
    return charge


def customer_details(email: str, name: str, pm: dict[str, Any]) -> dict[str, Any]:
    country = (pm.get("sepa_debit") or {}).get("country") or ("GB" if pm["type"] == "bacs_debit" else None)
    return {
        "address": {"city": None, "country": country, "line1": None, "line2": None,
                    "postal_code": None, "state": None},
        "business_name": None,
        "email": email,
        "individual_name": None,
        "name": name,
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }


def settle_due(emu: Engine) -> list[str]:
    """Clock job: every debit whose time has come succeeds or fails. Returns the PaymentIntent ids."""
    with emu.tx():
        pending = emu.store.get_private(_PENDING) or []
        now = emu.clock.now()
        due = sorted((entry for entry in pending if entry["due"] <= now), key=lambda entry: entry["due"])
        if not due:
            return []
        emu.store.put_private(_PENDING, [entry for entry in pending if entry["due"] > now])
        for entry in due:
            _settle(emu, entry)
        return [entry["payment_intent"] for entry in due]


def pending_debits(emu: Engine) -> list[dict[str, Any]]:
    return list(emu.store.get_private(_PENDING) or [])


def _settle(emu: Engine, entry: dict[str, Any]) -> None:
    pi = emu.store.get("payment_intent", entry["payment_intent"])
    session = emu.store.get("checkout.session", entry["session"])
    if pi is None or session is None or pi["status"] != "processing":
        return
    charge = emu.store.get("charge", pi["latest_charge"])
    if charge is None:
        return
    owner = emu.store.owner(session["id"])
    key = session["id"]
    if entry["succeeds"]:
        connect_events = connect_money.settle(emu, pi, charge, owner)
        charge.update(
            status="succeeded",
            paid=True,
            captured=True,
            amount_captured=pi["amount"],
            receipt_url=f"{emu.config.base_url}/receipts/{charge['id']}",
            outcome={
                "advice_code": None, "network_advice_code": None, "network_decline_code": None,
                "network_status": "approved_by_network", "reason": None, "risk_level": "not_assessed",
                "seller_message": "Payment complete.", "type": "authorized",
            },
        )
        emu.store.put(charge)
        pi.update(status="succeeded", amount_received=pi["amount"])
        emu.store.put(pi)
        session["payment_status"] = "paid"
        emu.store.put(session)
        emu.emit("charge.succeeded", charge, AUTOMATIC, key)
        emu.emit("payment_intent.succeeded", pi, AUTOMATIC, key)
        emu.emit("checkout.session.async_payment_succeeded", session, AUTOMATIC, key)
        for event_type, obj in connect_events:
            emu.emit(event_type, obj, AUTOMATIC, key)
        return
    code = entry["failure_code"]
    charge.update(
        status="failed",
        failure_code=code,
        failure_message=FAILURE_MESSAGE,
        outcome={
            "advice_code": None, "network_advice_code": None, "network_decline_code": None,
            "network_status": "declined_by_network", "reason": code, "risk_level": "not_assessed",
            "seller_message": "The bank returned the failure code `" + code + "`.", "type": "issuer_declined",
        },
    )
    emu.store.put(charge)
    pm = emu.store.get("payment_method", pi["payment_method"])
    pi.update(
        status="requires_payment_method",
        payment_method=None,
        last_payment_error={
            "charge": charge["id"],
            "code": code,
            "decline_code": None,
            "doc_url": f"https://docs.stripe.com/error-codes#{code.replace('_', '-')}",
            "message": FAILURE_MESSAGE,
            "payment_method": pm,
            "payment_method_type": charge["payment_method_details"]["type"],
            "type": "card_error" if code == "insufficient_funds" else "invalid_request_error",
        },
    )
    emu.store.put(pi)
    emu.emit("charge.failed", charge, AUTOMATIC, key)
    emu.emit("payment_intent.payment_failed", pi, AUTOMATIC, key)
    emu.emit("checkout.session.async_payment_failed", session, AUTOMATIC, key)


def pay(emu: Engine, session: dict[str, Any], intent_data: dict[str, Any], *, method: str, email: str,
        name: str, iban: str = "", sort_code: str = "", account_number: str = "") -> PaymentResult:
    """One attempt with a bank account: validated like Stripe's form, then submitted (processing)."""
    with emu.tx():
        email, name = (email or "").strip(), (name or "").strip()
        problems: dict[str, str] = {}
        if not email:
            problems["email"] = "Your email address is incomplete."
        elif not payment_engine.EMAIL_RE.match(email):
            problems["email"] = "Your email address is invalid."
        if not name:
            problems["name"] = "Your full name is incomplete."
        details: dict[str, str] = {}
        if method == "sepa_debit":
            checked, problem = check_sepa(iban)
            if problem:
                problems["iban"] = problem
            else:
                details["iban"] = checked or ""
        else:
            account, bacs_problems = check_bacs(sort_code, account_number)
            problems.update(bacs_problems)
            if account:
                details.update(sort_code=account[0], account_number=account[1])
        if problems:
            first = next(iter(problems.values()))
            return PaymentResult("invalid", session, field_errors=problems,
                                 error={"type": "validation_error", "code": "validation_error", "message": first})
        pi = payment_engine._ensure_payment_intent(emu, session, intent_data)
        pm = payment_method(method, details, created=emu.clock.now(), email=email, name=name)
        emu.store.put(pm, account=emu.store.owner(session["id"]))
        charge = start(emu, session, pi, pm, outcome_for(method, details), email, name)
        return PaymentResult("processing", session, payment_intent=pi, charge=charge,
                             next_url=payment_engine.success_redirect(session))
