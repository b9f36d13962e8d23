"""A connected account's state that several resources change: its bank accounts (payout
destinations, and what happens when a payout to one fails), its requirements, and
`account.updated` with what changed.

Bank accounts use Stripe's test numbers: `000123456789` pays out, `000111111116` fails with
`no_account`, `000111111113` with `account_closed` (see `PAYOUT_FAILURES`).
"""

from __future__ import annotations

import copy
import hashlib
from typing import TYPE_CHECKING, Any

from stripe_emulator.core import errors, ids, objects
from stripe_emulator.core.context import AUTOMATIC, RequestContext
from stripe_emulator.core.objects import list_object

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

DEFAULT_BANK_ACCOUNT = "000123456789"

# Stripe's test bank account numbers: None pays out, otherwise the payout failure code.
PAYOUT_FAILURES: dict[str, str | None] = {
    "000123456789": None,
    "000111111116": "no_account",
    "000111111113": "account_closed",
    "000222222227": "insufficient_funds",
    "000333333335": "debit_not_authorized",
    "000444444440": "invalid_currency",
}
FAILURE_MESSAGES = {
    "no_account": "The bank account details on file are probably incorrect. No bank account "
    "could be located with those details.",
    "account_closed": "The bank account has been closed.",
    "insufficient_funds": "Your Stripe account has insufficient funds to cover the payout.",
    "debit_not_authorized": "Debit transactions are not approved on the bank account.",
    "invalid_currency": "The bank was unable to process this payout because of its currency.",
}


def add_bank_account(
    emu: Engine, account: dict[str, Any], details: dict[str, Any], path: str = "external_account"
) -> dict[str, Any]:
    """Attach a test bank account as the account's payout destination (replacing the old one)."""
    number = str(details.get("account_number") or "").strip()
    if number not in PAYOUT_FAILURES:
        raise errors.invalid(
            f"{path}[account_number]",
            "You must use a test bank account number in test mode. Try 000123456789 (pays out), "
            "000111111116 (fails with no_account) or 000111111113 (fails with account_closed).",
            "account_number_invalid",
        )
    country = str(details.get("country") or account["country"]).upper()
    bank_id = ids.new_id("ba")
    bank = objects.build(
        "bank_account",
        id=bank_id,
        account=account["id"],
        account_holder_name=details.get("account_holder_name"),
        account_holder_type=details.get("account_holder_type"),
        country=country,
        currency=str(details.get("currency") or account["default_currency"]).lower(),
        fingerprint=hashlib.sha256(f"bank:{number}".encode()).hexdigest()[:16],
        last4=number[-4:],
        routing_number=details.get("routing_number") or "110000000",
    )
    for old in account["external_accounts"]["data"]:
        emu.store.delete(old["id"])
    emu.store.put(bank, account=account["id"])
    emu.store.put_private(f"bank:{bank_id}", {"account_number": number})
    account["external_accounts"] = list_object([bank], f"/v1/accounts/{account['id']}/external_accounts")
    drop_requirement(account, "external_account")
    return bank


def payout_failure(emu: Engine, bank_account_id: str | None) -> str | None:
    """The failure code a payout to this bank account gets (None: it is paid)."""
    if not bank_account_id:
        return "no_account"
    details = emu.store.get_private(f"bank:{bank_account_id}") or {}
    return PAYOUT_FAILURES.get(details.get("account_number", ""))


def payout_destination(account: dict[str, Any], currency: str) -> dict[str, Any] | None:
    """The usable bank account for payouts in `currency` (errored ones are not used)."""
    for bank in account["external_accounts"]["data"]:
        if bank["currency"] == currency and bank["status"] != "errored":
            return bank
    return None


def requirements(due: list[str]) -> dict[str, Any]:
    return {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": list(due),
        "disabled_reason": "requirements.past_due" if due else None,
        "errors": [],
        "eventually_due": list(due),
        "past_due": list(due),
        "pending_verification": [],
    }


def drop_requirement(account: dict[str, Any], name: str) -> None:
    due = [item for item in account["requirements"]["currently_due"] if item != name]
    account["requirements"] = requirements(due)


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {key: before.get(key) for key in after if after[key] != before.get(key)}


def save_and_announce(
    emu: Engine, account: dict[str, Any], before: dict[str, Any], ctx: RequestContext
) -> dict[str, Any]:
    """Store the account and send `account.updated` (with what changed) if anything did, and
    `capability.updated` for each capability whose status changed (as Stripe does)."""
    emu.store.put(account)
    previous = changes(before, account)
    if previous:
        emu.emit("account.updated", account, ctx, account["id"], previous_attributes=previous)
    announce_capabilities(emu, account, before, ctx)
    return account


def capability(account: dict[str, Any], name: str) -> dict[str, Any]:
    """Stripe's Capability object for one of the account's capabilities."""
    status = (account.get("capabilities") or {}).get(name) or "inactive"
    due = [] if status == "active" else list((account.get("requirements") or {}).get("currently_due") or [])
    return {
        "id": name,
        "object": "capability",
        "account": account["id"],
        "future_requirements": requirements([]) | {"disabled_reason": None, "past_due": []},
        "requested": True,
        "requested_at": account.get("created"),
        "requirements": requirements(due),
        "status": status,
    }


def announce_capabilities(
    emu: Engine, account: dict[str, Any], before: dict[str, Any], ctx: RequestContext
) -> None:
    old = before.get("capabilities") or {}
    for name, status in sorted((account.get("capabilities") or {}).items()):
        if old.get(name) != status:
            emu.emit(
                "capability.updated",
                capability(account, name),
                ctx,
                account["id"],
                previous_attributes={"status": old.get(name) or "inactive"},
                account=account["id"],
            )


def bank_account_failed(emu: Engine, account_id: str, bank_account_id: str | None) -> None:
    """After a payout fails on a bank account: it is errored, and payouts stop until a new
    `external_account` is provided (what Stripe does with a closed or unknown account)."""
    account = emu.store.get("account", account_id)
    if account is None:
        return
    before = copy.deepcopy(account)
    for bank in account["external_accounts"]["data"]:
        if bank["id"] == bank_account_id:
            bank["status"] = "errored"
            stored = emu.store.get("bank_account", bank["id"])
            if stored is not None:
                stored["status"] = "errored"
                emu.store.put(stored)
    due = list(account["requirements"]["currently_due"])
    if "external_account" not in due:
        due.append("external_account")
    account["requirements"] = requirements(due)
    account["payouts_enabled"] = False
    save_and_announce(emu, account, before, AUTOMATIC)
