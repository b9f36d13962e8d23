"""The money ledger: every movement of funds is a balance transaction owned by one account
(None = the platform, `acct_...` = a connected account), and a balance is their sum.

A transaction counts as `pending` until its `available_on` passes on the emulator clock, then
as `available`. Incoming funds (charges, destination payments) wait the account's payout
delay (`settings.payouts.schedule.delay_days`, 2 days for the platform); outgoing ones
(refunds, transfers out, payouts) count at once, as on Stripe.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from stripe_emulator.core import ids, objects
from stripe_emulator.core.context import AUTOMATIC

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

DAY = 24 * 60 * 60
PLATFORM_DELAY_DAYS = 2

REPORTING_CATEGORIES = {
    "charge": "charge",
    "payment": "charge",
    "refund": "refund",
    "payment_refund": "refund",
    "transfer": "transfer",
    "transfer_refund": "transfer_reversal",
    "application_fee": "platform_earning",
    "application_fee_refund": "platform_earning_refund",
    "payout": "payout",
    "payout_failure": "payout_reversal",
}


def delay_seconds(emu: Engine, account: str | None) -> int:
    """How long incoming funds stay pending for this account."""
    if account is None:
        return PLATFORM_DELAY_DAYS * DAY
    acct = emu.store.get("account", account) or {}
    schedule = ((acct.get("settings") or {}).get("payouts") or {}).get("schedule") or {}
    return int(schedule.get("delay_days", PLATFORM_DELAY_DAYS)) * DAY


def record(
    emu: Engine,
    *,
    account: str | None,
    type: str,
    amount: int,
    currency: str,
    source: str | None,
    fee: int = 0,
    fee_details: list[dict[str, Any]] | None = None,
    available_on: int | None = None,
    description: str | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    """Book one movement of `amount` (signed, minor units) on `account`'s balance."""
    now = emu.clock.now()
    created = now if created is None else created
    available_on = created if available_on is None else available_on
    txn = objects.build(
        "balance_transaction",
        id=ids.new_id("txn"),
        amount=amount,
        available_on=available_on,
        created=created,
        currency=currency,
        description=description,
        fee=fee,
        fee_details=fee_details or [],
        net=amount - fee,
        reporting_category=REPORTING_CATEGORIES.get(type, type),
        source=source,
        status="available" if available_on <= now else "pending",
        type=type,
    )
    emu.store.put(txn, account=account)
    return txn


def incoming(
    emu: Engine,
    *,
    account: str | None,
    type: str,
    amount: int,
    currency: str,
    source: str,
    fee: int = 0,
    fee_details: list[dict[str, Any]] | None = None,
    description: str | None = None,
    available_on: int | None = None,
) -> dict[str, Any]:
    """Funds that arrive pending and become available after the account's delay."""
    if available_on is None:
        available_on = emu.clock.now() + delay_seconds(emu, account)
    return record(
        emu,
        account=account,
        type=type,
        amount=amount,
        currency=currency,
        source=source,
        fee=fee,
        fee_details=fee_details,
        available_on=available_on,
        description=description,
    )


def release_due(emu: Engine) -> int:
    """Mark pending transactions whose `available_on` has passed as available."""
    due = emu.store.due("balance_transaction", "pending", "available_on", emu.clock.now())
    accounts: dict[str | None, None] = {}
    for txn in due:
        txn["status"] = "available"
        emu.store.put(txn)
        accounts[emu.store.owner(txn["id"])] = None
    # Stripe sends `balance.available` when an account's available balance grows (for a connected
    # account, to the Connect endpoint with its `account`).
    for account in accounts:
        emu.emit(
            "balance.available",
            balance(emu, account),
            AUTOMATIC,
            f"balance:{account or 'platform'}",
            account=account,
        )
    return len(due)


def totals(emu: Engine, account: str | None, as_of: int | None = None) -> dict[str, dict[str, int]]:
    """{currency: {"available": n, "pending": n}} from the account's transactions."""
    now = emu.clock.now() if as_of is None else as_of
    result: dict[str, dict[str, int]] = defaultdict(lambda: {"available": 0, "pending": 0})
    for txn in emu.store.all("balance_transaction", account):
        if txn["created"] > now:
            continue
        bucket = "available" if txn["available_on"] <= now else "pending"
        result[txn["currency"]][bucket] += txn["net"]
    return dict(result)


def available(emu: Engine, account: str | None, currency: str, as_of: int | None = None) -> int:
    return totals(emu, account, as_of).get(currency, {}).get("available", 0)


def balance(emu: Engine, account: str | None) -> dict[str, Any]:
    """Stripe's Balance object for one account."""
    amounts = totals(emu, account)
    if not amounts:
        default = "usd"
        if account is not None:
            default = (emu.store.get("account", account) or {}).get("default_currency") or "usd"
        amounts = {default: {"available": 0, "pending": 0}}
    obj = objects.build("balance")
    for currency in sorted(amounts):
        for bucket in ("available", "pending"):
            amount = amounts[currency][bucket]
            obj[bucket].append(
                {"amount": amount, "currency": currency, "source_types": {"card": amount}}
            )
        obj["connect_reserved"].append({"amount": 0, "currency": currency})
    return obj
