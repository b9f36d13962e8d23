"""Connected accounts (Connect Express), their bank accounts, and onboarding outcomes.

An account starts with requirements due and charges/payouts disabled. The hosted onboarding
page (see `connect_pages.py`) either completes it (capabilities active, requirements cleared,
a test bank account attached) or leaves it incomplete (`external_account` and
`individual.verification.document` due); both send `account.updated`.

Bank accounts use Stripe's test numbers: `000123456789` pays out, `000111111116` fails with
`no_account`, `000111111113` with `account_closed` (see `PAYOUT_FAILURES`).
"""

from __future__ import annotations

import copy
import hashlib
from typing import TYPE_CHECKING, Any

from stripe_emulator import errors, resources
from stripe_emulator.context import AUTOMATIC, RequestContext
from stripe_emulator.listing import list_endpoint
from stripe_emulator.money import KNOWN_CURRENCIES
from stripe_emulator.resources import clean_metadata, list_object, merge_metadata
from stripe_emulator.spec import (
    EXPAND,
    RETRIEVE,
    Boolean,
    Either,
    Email,
    Endpoint,
    Hash,
    Integer,
    Metadata,
    Param,
    String,
    Url,
)

if TYPE_CHECKING:
    from stripe_emulator.emulator import Emulator

PLATFORM_ACCOUNT_ID = "acct_1EmulatorPlatform"
DEFAULT_BANK_ACCOUNT = "000123456789"
EURO_COUNTRIES = (
    "AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU", "LV", "MT",
    "NL", "PT", "SI", "SK",
)
COUNTRY_CURRENCIES = {
    "US": "usd", "GB": "gbp", "CA": "cad", "AU": "aud", "NZ": "nzd", "JP": "jpy", "SG": "sgd",
    "HK": "hkd", "CH": "chf", "SE": "sek", "NO": "nok", "DK": "dkk", "PL": "pln", "CZ": "czk",
    "MX": "mxn", "BR": "brl", **{country: "eur" for country in EURO_COUNTRIES},
}
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
# What a new Express account still has to provide (Stripe asks for these in onboarding).
INITIAL_REQUIREMENTS = [
    "business_profile.mcc",
    "business_profile.url",
    "external_account",
    "individual.address.city",
    "individual.address.line1",
    "individual.address.postal_code",
    "individual.address.state",
    "individual.dob.day",
    "individual.dob.month",
    "individual.dob.year",
    "individual.email",
    "individual.first_name",
    "individual.last_name",
    "individual.phone",
    "tos_acceptance.date",
    "tos_acceptance.ip",
]
INCOMPLETE_REQUIREMENTS = ["external_account", "individual.verification.document"]
CAPABILITY_NAMES = ("card_payments", "transfers")


def _check_country(value: str, path: str) -> None:
    if value.upper() not in COUNTRY_CURRENCIES:
        raise errors.invalid(
            path,
            f"Country '{value}' is unknown or not supported by the emulator. Try one of "
            + ", ".join(sorted(COUNTRY_CURRENCIES)) + ".",
        )


def _check_currency(value: str, path: str) -> None:
    if value.lower() not in KNOWN_CURRENCIES:
        raise errors.invalid(path, f"Invalid currency: {value}.")


def _no_tokens(value: str, path: str) -> None:
    raise errors.not_implemented(
        path, "bank account tokens (pass the bank details as a hash: external_account[object]=bank_account, ...)"
    )


class DelayDays(Param):
    """`settings[payouts][schedule][delay_days]`: a number of days or `minimum` (2 here)."""

    def convert(self, value: Any, path: str) -> int:
        if value == "minimum":
            return 2
        return int(Integer(minimum=0, maximum=365).convert(value, path))


CAPABILITY = Hash(requested=Boolean())
CAPABILITIES = Hash({name: CAPABILITY for name in CAPABILITY_NAMES})
BANK_ACCOUNT = Hash(
    object=String(required=True, choices=("bank_account",)),
    country=String(required=True, max_length=2, check=_check_country),
    currency=String(required=True, max_length=3, check=_check_currency),
    account_holder_name=String(),
    account_holder_type=String(choices=("company", "individual")),
    routing_number=String(),
    account_number=String(required=True),
)
EXTERNAL_ACCOUNT = Either(String(check=_no_tokens), BANK_ACCOUNT)
BUSINESS_PROFILE = Hash(
    mcc=String(max_length=4),
    name=String(),
    product_description=String(max_length=40000),
    support_email=Email(),
    support_phone=String(),
    support_url=Url(),
    url=Url(),
)
SETTINGS = Hash(
    payouts=Hash(
        schedule=Hash(
            delay_days=DelayDays(),
            interval=String(
                choices=("daily", "manual", "monthly", "weekly"), supported=("daily", "manual")
            ),
        ),
        statement_descriptor=String(max_length=22),
    ),
)
CONTROLLER = Hash(
    fees=Hash(payer=String(choices=("account", "application"), supported=("application",))),
    losses=Hash(payments=String(choices=("application", "stripe"), supported=("application",))),
    requirement_collection=String(choices=("application", "stripe"), supported=("stripe",)),
    stripe_dashboard=Hash(
        type=String(required=True, choices=("express", "full", "none"), supported=("express",))
    ),
)
BUSINESS_TYPES = ("company", "government_entity", "individual", "non_profit")
CREATE = Hash(
    business_profile=BUSINESS_PROFILE,
    business_type=String(choices=BUSINESS_TYPES),
    capabilities=CAPABILITIES,
    controller=CONTROLLER,
    country=String(max_length=2, check=_check_country),
    default_currency=String(max_length=3, check=_check_currency),
    email=Email(),
    expand=EXPAND,
    external_account=EXTERNAL_ACCOUNT,
    metadata=Metadata(),
    settings=SETTINGS,
    type=String(choices=("custom", "express", "standard"), supported=("express",)),
)
UPDATE = Hash(
    business_profile=BUSINESS_PROFILE,
    business_type=String(choices=BUSINESS_TYPES),
    capabilities=CAPABILITIES,
    default_currency=String(max_length=3, check=_check_currency),
    email=Email(),
    expand=EXPAND,
    external_account=EXTERNAL_ACCOUNT,
    metadata=Metadata(),
    settings=SETTINGS,
)


# --- bank accounts -----------------------------------------------------------------------------


def add_bank_account(
    emu: Emulator, account: dict[str, Any], details: dict[str, Any], path: str = "external_account"
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
    bank_id = resources.new_id("ba")
    bank = resources.build(
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
    _drop_requirement(account, "external_account")
    return bank


def payout_failure(emu: Emulator, bank_account_id: str | None) -> str | None:
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


# --- requirements and onboarding ---------------------------------------------------------------


def _requirements(due: list[str]) -> dict[str, Any]:
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


def _drop_requirement(account: dict[str, Any], name: str) -> None:
    due = [item for item in account["requirements"]["currently_due"] if item != name]
    account["requirements"] = _requirements(due)


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {key: before.get(key) for key in after if after[key] != before.get(key)}


def save_and_announce(
    emu: Emulator, account: dict[str, Any], before: dict[str, Any], ctx: RequestContext
) -> dict[str, Any]:
    """Store the account and send `account.updated` (with what changed) if anything did."""
    emu.store.put(account)
    previous = _changes(before, account)
    if previous:
        emu.emit("account.updated", account, ctx, account["id"], previous_attributes=previous)
    return account


def complete_onboarding(
    emu: Emulator,
    account_id: str,
    *,
    bank_account_number: str = DEFAULT_BANK_ACCOUNT,
    ip: str | None = None,
    user_agent: str | None = None,
) -> dict[str, Any]:
    """What Stripe's test onboarding does when the user fills everything in."""
    with emu.tx():
        account = emu.get("account", account_id, account=None)
        before = copy.deepcopy(account)
        if not account["external_accounts"]["data"] or bank_account_number != DEFAULT_BANK_ACCOUNT:
            add_bank_account(
                emu,
                account,
                {"account_number": bank_account_number, "currency": account["default_currency"]},
            )
        account["capabilities"] = {name: "active" for name in account["capabilities"]}
        account["requirements"] = _requirements([])
        account["business_type"] = account["business_type"] or "individual"
        account["details_submitted"] = True
        account["charges_enabled"] = account["capabilities"].get("card_payments") == "active"
        account["payouts_enabled"] = True
        account["tos_acceptance"] = {
            "date": emu.clock.now(),
            "ip": ip or "127.0.0.1",
            "user_agent": user_agent,
        }
        return save_and_announce(emu, account, before, AUTOMATIC)


def leave_incomplete(emu: Emulator, account_id: str) -> dict[str, Any]:
    """The user leaves onboarding early: requirements stay due, nothing is enabled."""
    with emu.tx():
        account = emu.get("account", account_id, account=None)
        before = copy.deepcopy(account)
        due = [
            name
            for name in INCOMPLETE_REQUIREMENTS
            if name != "external_account" or not account["external_accounts"]["data"]
        ]
        account["requirements"] = _requirements(due)
        account["capabilities"] = {
            name: "active" if status == "active" else "inactive"
            for name, status in account["capabilities"].items()
        }
        account["charges_enabled"] = False
        account["payouts_enabled"] = False
        return save_and_announce(emu, account, before, AUTOMATIC)


def bank_account_failed(emu: Emulator, account_id: str, bank_account_id: str | None) -> None:
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
    account["requirements"] = _requirements(due)
    account["payouts_enabled"] = False
    save_and_announce(emu, account, before, AUTOMATIC)


# --- API ---------------------------------------------------------------------------------------


def _express_controller() -> dict[str, Any]:
    return copy.deepcopy(resources.build("account")["controller"])


def _apply_settings(account: dict[str, Any], settings: dict[str, Any] | None) -> None:
    payouts = (settings or {}).get("payouts")
    if not payouts:
        return
    target = account["settings"]["payouts"]
    target["schedule"].update(payouts.get("schedule") or {})
    if "statement_descriptor" in payouts:
        target["statement_descriptor"] = payouts["statement_descriptor"]


def _apply_profile(account: dict[str, Any], profile: dict[str, Any] | None) -> None:
    for key, value in (profile or {}).items():
        account["business_profile"][key] = value
        _drop_requirement(account, f"business_profile.{key}")


def _apply_capabilities(account: dict[str, Any], capabilities: dict[str, Any] | None) -> None:
    for name, wanted in (capabilities or {}).items():
        if wanted.get("requested") is True:
            account["capabilities"].setdefault(name, "inactive")
        elif wanted.get("requested") is False:
            account["capabilities"].pop(name, None)


def create_account(emu: Emulator, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    if "type" in args and "controller" in args:
        raise errors.invalid("controller", "You cannot specify both `type` and `controller`.")
    if "type" not in args and "controller" not in args:
        raise errors.not_implemented(
            "type", "accounts other than Express (pass type=express or the Express controller properties)"
        )
    requested = args.get("capabilities") or {}
    if not (requested.get("transfers") or {}).get("requested"):
        raise errors.invalid(
            "capabilities",
            "Express accounts must request the `transfers` capability "
            "(capabilities[transfers][requested]=true).",
        )
    country = (args.get("country") or "US").upper()
    with emu.tx():
        now = emu.clock.now()
        account_id = resources.new_id("acct")
        account = resources.build(
            "account",
            id=account_id,
            business_type=args.get("business_type"),
            controller=_express_controller(),
            country=country,
            created=now,
            default_currency=(args.get("default_currency") or COUNTRY_CURRENCIES[country]).lower(),
            email=args.get("email"),
            external_accounts=list_object([], f"/v1/accounts/{account_id}/external_accounts"),
            metadata=clean_metadata(args.get("metadata")),
            requirements=_requirements(INITIAL_REQUIREMENTS),
            type="express",
        )
        account["future_requirements"] = _requirements([])
        _apply_capabilities(account, requested)
        _apply_profile(account, args.get("business_profile"))
        _apply_settings(account, args.get("settings"))
        if args.get("external_account"):
            add_bank_account(emu, account, args["external_account"])
        emu.store.put(account)
        emu.store.set_meta(f"payouts_run_at:{account_id}", str(now))
        return account


def update_account(emu: Emulator, ctx: RequestContext, args: dict[str, Any], account_id: str) -> dict[str, Any]:
    with emu.tx():
        account = emu.get("account", account_id, account=None)
        before = copy.deepcopy(account)
        for key in ("business_type", "email"):
            if key in args:
                account[key] = args[key]
        if "default_currency" in args:
            account["default_currency"] = args["default_currency"].lower()
        _apply_capabilities(account, args.get("capabilities"))
        _apply_profile(account, args.get("business_profile"))
        _apply_settings(account, args.get("settings"))
        if args.get("external_account"):
            add_bank_account(emu, account, args["external_account"])
            if account["details_submitted"] and not account["requirements"]["currently_due"]:
                account["payouts_enabled"] = True
        account["metadata"] = merge_metadata(account.get("metadata") or {}, args.get("metadata"))
        return save_and_announce(emu, account, before, ctx)


def platform_account(emu: Emulator) -> dict[str, Any]:
    """`GET /v1/account` without Stripe-Account: the platform itself."""
    account = resources.build(
        "account",
        id=PLATFORM_ACCOUNT_ID,
        charges_enabled=True,
        controller={"type": "account"},
        details_submitted=True,
        payouts_enabled=True,
        type="standard",
    )
    account["business_profile"]["name"] = emu.config.business_name
    account["settings"]["dashboard"]["display_name"] = emu.config.business_name
    account["capabilities"] = {"card_payments": "active", "transfers": "active"}
    account["external_accounts"]["url"] = f"/v1/accounts/{PLATFORM_ACCOUNT_ID}/external_accounts"
    return account


def _create(emu: Emulator, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    return create_account(emu, ctx, args)


def _retrieve(emu: Emulator, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.retrieve("account", id, None)


def _update(emu: Emulator, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return update_account(emu, ctx, args, id)


def _delete(emu: Emulator, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    with emu.tx():
        account = emu.get("account", id, account=None)
        for bank in account["external_accounts"]["data"]:
            emu.store.delete(bank["id"])
        emu.store.delete(id)
        return {**resources.build("deleted_account"), "id": id}


def _current(emu: Emulator, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    if ctx.account:
        return emu.retrieve("account", ctx.account, None)
    return platform_account(emu)


ENDPOINTS = [
    Endpoint("POST", "/v1/accounts", CREATE, _create, platform_only=True),
    list_endpoint("/v1/accounts", "account", platform_only=True),
    Endpoint("GET", "/v1/accounts/{id}", RETRIEVE, _retrieve, platform_only=True),
    Endpoint("POST", "/v1/accounts/{id}", UPDATE, _update, platform_only=True),
    Endpoint("DELETE", "/v1/accounts/{id}", Hash(), _delete, platform_only=True),
    Endpoint("GET", "/v1/account", RETRIEVE, _current),
]
