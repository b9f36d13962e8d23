"""Payouts from connected accounts to their bank accounts, on a schedule the emulator's clock
drives.

Schedule: with `settings.payouts.schedule.interval=daily` (the default), each time the clock
passes midnight UTC (the payout time), an account whose payouts are enabled gets one automatic
payout per currency of its whole available balance. A payout is `in_transit` until the next
midnight (its `arrival_date`), then `paid` (`payout.paid`) or, for Stripe's failing test bank
account numbers, `failed` (`payout.failed`, the money returns to the balance, the bank account
is marked `errored` and payouts are disabled until a new `external_account` is given).
`interval=manual` accounts are paid only through `POST /v1/payouts`. Advancing the clock
(`POST /_emulator/clock/advance`) runs all of this; `POST /_emulator/payouts/run` pays out now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core import account_state, errors, ids, ledger, objects
from stripe_emulator.core.context import AUTOMATIC, RequestContext
from stripe_emulator.core.listing import filtered, paginate, range_filter
from stripe_emulator.core.objects import clean_metadata
from stripe_emulator.core.spec import (
    CREATED,
    EXPAND,
    RANGE,
    RETRIEVE,
    Either,
    Endpoint,
    Hash,
    Integer,
    Metadata,
    String,
    list_spec,
)

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

DAY = 24 * 60 * 60
MAX_CATCH_UP_DAYS = 400  # a clock advanced by years runs at most this many payout days


def next_payout_time(timestamp: int) -> int:
    """The first midnight UTC strictly after `timestamp`."""
    return (timestamp // DAY + 1) * DAY


def payout_times(after: int, until: int) -> list[int]:
    """Midnights UTC in (after, until]."""
    first = next_payout_time(after)
    times = list(range(first, until + 1, DAY))
    return times[-MAX_CATCH_UP_DAYS:]


def create_payout(
    emu: Engine,
    *,
    account: str,
    amount: int,
    currency: str,
    bank: dict[str, Any],
    automatic: bool,
    created: int,
    arrival_date: int,
    ctx: RequestContext = AUTOMATIC,
    description: str | None = "STRIPE PAYOUT",
    metadata: dict[str, str] | None = None,
    statement_descriptor: str | None = None,
) -> dict[str, Any]:
    payout_id = ids.new_id("po")
    txn = ledger.record(
        emu,
        account=account,
        type="payout",
        amount=-amount,
        currency=currency,
        source=payout_id,
        created=created,
        available_on=created,
        description=description,
    )
    payout = objects.build(
        "payout",
        id=payout_id,
        amount=amount,
        arrival_date=arrival_date,
        automatic=automatic,
        balance_transaction=txn["id"],
        created=created,
        currency=currency,
        description=description,
        destination=bank["id"],
        metadata=metadata or {},
        reconciliation_status="in_progress" if automatic else "not_applicable",
        statement_descriptor=statement_descriptor,
        status="in_transit",
    )
    emu.store.put(payout, account=account)
    emu.emit("payout.created", payout, ctx, account)
    return payout


def settle(emu: Engine, payout: dict[str, Any], at: int | None = None) -> dict[str, Any]:
    """The bank answers (at `at`, default now): paid, or failed for the failing test numbers."""
    account = emu.store.owner(payout["id"])
    failure = account_state.payout_failure(emu, payout["destination"])
    if failure is None:
        payout.update(
            status="paid",
            trace_id={"status": "supported", "value": "EMU" + ids.random_token(12).upper()},
            reconciliation_status="completed" if payout["automatic"] else "not_applicable",
        )
        emu.store.put(payout)
        emu.emit("payout.paid", payout, AUTOMATIC, account or payout["id"])
        return payout
    txn = ledger.record(
        emu,
        account=account,
        type="payout_failure",
        amount=payout["amount"],
        currency=payout["currency"],
        source=payout["id"],
        created=at,
    )
    payout.update(
        status="failed",
        failure_balance_transaction=txn["id"],
        failure_code=failure,
        failure_message=account_state.FAILURE_MESSAGES.get(failure),
        trace_id={"status": "unsupported", "value": None},
    )
    emu.store.put(payout)
    emu.emit("payout.failed", payout, AUTOMATIC, account or payout["id"])
    if account:
        account_state.bank_account_failed(emu, account, payout["destination"])
    return payout


def _settle_due(emu: Engine, until: int, account: str | None = None) -> list[str]:
    settled = []
    for payout in emu.store.due("payout", "in_transit", "arrival_date", until):
        if account is not None and emu.store.owner(payout["id"]) != account:
            continue
        settle(emu, payout, at=min(until, emu.clock.now()))
        settled.append(payout["id"])
    return settled


def _pay_out_available(
    emu: Engine, account: dict[str, Any], as_of: int, arrival_date: int
) -> list[dict[str, Any]]:
    """One automatic payout per currency of the whole available balance."""
    if not account["payouts_enabled"]:
        return []
    made = []
    for currency, amounts in sorted(ledger.totals(emu, account["id"], as_of).items()):
        amount = amounts["available"]
        bank = account_state.payout_destination(account, currency)
        if amount <= 0 or bank is None:
            continue
        made.append(
            create_payout(
                emu,
                account=account["id"],
                amount=amount,
                currency=currency,
                bank=bank,
                automatic=True,
                created=as_of,
                arrival_date=arrival_date,
                statement_descriptor=account["settings"]["payouts"]["statement_descriptor"],
            )
        )
    return made


def run_schedules(emu: Engine) -> list[str]:
    """Everything the clock made due since the last run: automatic payouts at each payout
    time, and payouts whose arrival date has come. Returns the payouts touched."""
    now = emu.clock.now()
    touched: list[str] = []
    for account in emu.store.all("account", None):
        key = f"payouts_run_at:{account['id']}"
        last = int(emu.store.get_meta(key) or account["created"])
        if last >= now:
            continue
        for moment in payout_times(last, now):
            touched += _settle_due(emu, moment, account["id"])
            current = emu.store.get("account", account["id"]) or account
            if current["settings"]["payouts"]["schedule"]["interval"] == "daily":
                touched += [p["id"] for p in _pay_out_available(emu, current, moment, moment + DAY)]
        emu.store.set_meta(key, str(now))
    touched += _settle_due(emu, now)
    return list(dict.fromkeys(touched))


def pay_out_now(emu: Engine, account_id: str | None = None) -> list[dict[str, Any]]:
    """Control API: pay each (or one) connected account's available balance out right now and
    let the bank answer at once."""
    with emu.tx():
        emu.tick()
        if account_id is not None:
            targets = [emu.get("account", account_id, account=None)]
        else:
            targets = emu.store.all("account", None)
        now = emu.clock.now()
        results = []
        for account in targets:
            for payout in _pay_out_available(emu, account, now, now):
                results.append(settle(emu, payout))
        return results


# --- endpoints ---------------------------------------------------------------------------------

CREATE = Hash(
    amount=Integer(required=True, minimum=1),
    currency=String(required=True, max_length=3),
    description=String(max_length=5000),
    destination=String(),
    expand=EXPAND,
    metadata=Metadata(),
    method=String(choices=("instant", "standard"), supported=("standard",)),
    source_type=String(choices=("bank_account", "card", "fpx"), supported=("card",)),
    statement_descriptor=String(max_length=22),
)
UPDATE = Hash(expand=EXPAND, metadata=Metadata())
LIST = list_spec(
    arrival_date=Either(Integer(), RANGE),
    created=CREATED,
    destination=String(),
    status=String(choices=("canceled", "failed", "in_transit", "paid", "pending")),
)


def _create(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    currency = args["currency"].lower()
    with emu.tx():
        emu.tick()
        if ctx.account is None:
            raise errors.invalid(
                "currency",
                f"Sorry, you don't have any external accounts in that currency ({currency}).",
            )
        account = emu.get("account", ctx.account, account=None)
        bank = account_state.payout_destination(account, currency)
        if "destination" in args:
            banks = {b["id"]: b for b in account["external_accounts"]["data"]}
            bank = banks.get(args["destination"])
            if bank is None:
                raise errors.no_such("external account", args["destination"], param="destination", status=400)
        if bank is None:
            raise errors.invalid(
                "currency",
                f"Sorry, you don't have any external accounts in that currency ({currency}).",
            )
        if ledger.available(emu, ctx.account, currency) < args["amount"]:
            raise errors.StripeError(
                "You have insufficient funds in your Stripe account for this transfer. Your card "
                "balance is too low. You can use the /v1/balance endpoint to view your Stripe "
                "balance (for more details, see stripe.com/docs/api#balance).",
                param="amount",
                code="balance_insufficient",
            )
        now = emu.clock.now()
        return create_payout(
            emu,
            account=ctx.account,
            amount=args["amount"],
            currency=currency,
            bank=bank,
            automatic=False,
            created=now,
            arrival_date=next_payout_time(now),
            ctx=ctx,
            description=args.get("description"),
            metadata=clean_metadata(args.get("metadata")),
            statement_descriptor=args.get("statement_descriptor"),
        )


def _list(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    arrival_ok = range_filter(args.get("arrival_date"))
    with emu.tx():
        emu.tick_quietly()
        items = filtered(
            emu.store.all("payout", ctx.account), args, {"destination": "destination", "status": "status"}
        )
        items = [payout for payout in items if arrival_ok(payout["arrival_date"])]
        return paginate(items, args, "/v1/payouts", "payout")


def _retrieve(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.retrieve("payout", id, ctx.account)


def _update(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.update_fields("payout", id, args, ctx, event_type="payout.updated")


ENDPOINTS = [
    Endpoint("POST", "/v1/payouts", CREATE, _create),
    Endpoint("GET", "/v1/payouts", LIST, _list),
    Endpoint("GET", "/v1/payouts/{id}", RETRIEVE, _retrieve),
    Endpoint("POST", "/v1/payouts/{id}", UPDATE, _update),
]
