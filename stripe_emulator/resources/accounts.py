"""Connected accounts (Connect Express), their bank accounts, and onboarding outcomes.

An account starts with requirements due and charges/payouts disabled. The hosted onboarding
page (see `pages/connect.py`) either completes it (capabilities active, requirements cleared,
a test bank account attached) or leaves it incomplete (`external_account` and
`individual.verification.document` due); both send `account.updated`.

Bank accounts, requirements and payout failures are in `core/account_state.py` (payouts
change them too).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from stripe_emulator.core import account_state, errors, ids, objects
from stripe_emulator.core.context import AUTOMATIC, RequestContext
from stripe_emulator.core.listing import list_endpoint
from stripe_emulator.core.money import KNOWN_CURRENCIES
from stripe_emulator.core.objects import clean_metadata, list_object, merge_metadata
from stripe_emulator.core.spec import (
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
    from stripe_emulator.core.engine import Engine

PLATFORM_ACCOUNT_ID = "acct_1EmulatorPlatform"
EURO_COUNTRIES = (
    "AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU", "LV", "MT",
    "NL", "PT", "SI", "SK",
)
COUNTRY_CURRENCIES = {
    "US": "usd", "GB": "gbp", "CA": "cad", "AU": "aud", "NZ": "nzd", "JP": "jpy", "SG": "sgd",
    "HK": "hkd", "CH": "chf", "SE": "sek", "NO": "nok", "DK": "dkk", "PL": "pln", "CZ": "czk",
    "MX": "mxn", "BR": "brl", **{country: "eur" for country in EURO_COUNTRIES},
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


# --- requirements and onboarding ---------------------------------------------------------------


def complete_onboarding(
    emu: Engine,
    account_id: str,
    *,
    bank_account_number: str = account_state.DEFAULT_BANK_ACCOUNT,
    ip: str | None = None,
    user_agent: str | None = None,
) -> dict[str, Any]:
    """What Stripe's test onboarding does when the user fills everything in."""
    with emu.tx():
        account = emu.get("account", account_id, account=None)
        before = copy.deepcopy(account)
        if not account["external_accounts"]["data"] or bank_account_number != account_state.DEFAULT_BANK_ACCOUNT:
            account_state.add_bank_account(
                emu,
                account,
                {"account_number": bank_account_number, "currency": account["default_currency"]},
            )
        account["capabilities"] = {name: "active" for name in account["capabilities"]}
        account["requirements"] = account_state.requirements([])
        account["business_type"] = account["business_type"] or "individual"
        account["details_submitted"] = True
        account["charges_enabled"] = account["capabilities"].get("card_payments") == "active"
        account["payouts_enabled"] = True
        account["tos_acceptance"] = {
            "date": emu.clock.now(),
            "ip": ip or "127.0.0.1",
            "user_agent": user_agent,
        }
        return account_state.save_and_announce(emu, account, before, AUTOMATIC)


def leave_incomplete(emu: Engine, account_id: str) -> dict[str, Any]:
    """The user leaves onboarding early: requirements stay due, nothing is enabled."""
    with emu.tx():
        account = emu.get("account", account_id, account=None)
        before = copy.deepcopy(account)
        due = [
            name
            for name in INCOMPLETE_REQUIREMENTS
            if name != "external_account" or not account["external_accounts"]["data"]
        ]
        account["requirements"] = account_state.requirements(due)
        account["capabilities"] = {
            name: "active" if status == "active" else "inactive"
            for name, status in account["capabilities"].items()
        }
        account["charges_enabled"] = False
        account["payouts_enabled"] = False
        return account_state.save_and_announce(emu, account, before, AUTOMATIC)


# --- API ---------------------------------------------------------------------------------------


def _express_controller() -> dict[str, Any]:
    return copy.deepcopy(objects.build("account")["controller"])


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
        account_state.drop_requirement(account, f"business_profile.{key}")


def _apply_capabilities(account: dict[str, Any], capabilities: dict[str, Any] | None) -> None:
    for name, wanted in (capabilities or {}).items():
        if wanted.get("requested") is True:
            account["capabilities"].setdefault(name, "inactive")
        elif wanted.get("requested") is False:
            account["capabilities"].pop(name, None)


def create_account(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
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
        account_id = ids.new_id("acct")
        account = objects.build(
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
            requirements=account_state.requirements(INITIAL_REQUIREMENTS),
            type="express",
        )
        account["future_requirements"] = account_state.requirements([])
        _apply_capabilities(account, requested)
        _apply_profile(account, args.get("business_profile"))
        _apply_settings(account, args.get("settings"))
        if args.get("external_account"):
            account_state.add_bank_account(emu, account, args["external_account"])
        emu.store.put(account)
        emu.store.set_meta(f"payouts_run_at:{account_id}", str(now))
        return account


def update_account(emu: Engine, ctx: RequestContext, args: dict[str, Any], account_id: str) -> dict[str, Any]:
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
            account_state.add_bank_account(emu, account, args["external_account"])
            if account["details_submitted"] and not account["requirements"]["currently_due"]:
                account["payouts_enabled"] = True
        account["metadata"] = merge_metadata(account.get("metadata") or {}, args.get("metadata"))
        return account_state.save_and_announce(emu, account, before, ctx)


def platform_account(emu: Engine) -> dict[str, Any]:
    """`GET /v1/account` without Stripe-Account: the platform itself."""
    account = objects.build(
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


def _create(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    return create_account(emu, ctx, args)


def _retrieve(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.retrieve("account", id, None)


def _update(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return update_account(emu, ctx, args, id)


def _delete(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    with emu.tx():
        account = emu.get("account", id, account=None)
        for bank in account["external_accounts"]["data"]:
            emu.store.delete(bank["id"])
        emu.store.delete(id)
        return {**objects.build("deleted_account"), "id": id}


def _current(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
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
