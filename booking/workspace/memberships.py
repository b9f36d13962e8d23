"""Memberships in the workspace: the plan form's rules (the same price and currency rules as session types), and
the plans and subscribers the builder sees (a platform admin sees every builder's). The flows and read models
live in booking.payments.memberships; this module is the form's face."""

from __future__ import annotations

from booking.core.models import UnusedCredits
from booking.payments.memberships import (
    MAX_SESSIONS_PER_PERIOD,
    NAME_MAX,
    InvalidPlan,
    PlanInput,
    PlanView,
    SubscriberView,
    create_plan,
    subscribers,
    workspace_plans,
)
from booking.workspace.session_types import SUPPORTED_CURRENCIES, parse_currency, parse_price

__all__ = ["UNUSED_CREDIT_CHOICES", "InvalidPlan", "PlanView", "SubscriberView", "create_plan", "parse_plan",
           "subscribers", "workspace_plans", "SUPPORTED_CURRENCIES"]

UNUSED_CREDIT_CHOICES = (
    (UnusedCredits.LAPSE.value, "Unused credits lapse at the end of each month"),
    (UnusedCredits.ROLL_OVER.value, "Unused credits roll over"),
)


def parse_plan(*, name: object, sessions_per_period: object, price: object, currency: object,
               unused_credits: object) -> PlanInput:
    """The plan form's values, checked; raises InvalidPlan naming each bad field. Nothing is saved."""
    errors: dict[str, str] = {}
    clean_name = str(name or "").strip()
    if not clean_name:
        errors["name"] = "Enter a name."
    elif len(clean_name) > NAME_MAX:
        errors["name"] = f"At most {NAME_MAX} characters."
    count = 0
    raw_count = str(sessions_per_period or "").strip()
    if raw_count.isdigit() and 1 <= int(raw_count) <= MAX_SESSIONS_PER_PERIOD:
        count = int(raw_count)
    else:
        errors["sessions_per_period"] = f"Enter a whole number of sessions from 1 to {MAX_SESSIONS_PER_PERIOD}."
    code = ""
    try:
        code = parse_currency(currency)
    except ValueError as exc:
        errors["currency"] = str(exc)
    amount = 0
    if code:
        try:
            amount = parse_price(price, code)
        except ValueError as exc:
            errors["price"] = str(exc)
    try:
        policy = UnusedCredits(str(unused_credits or UnusedCredits.LAPSE.value))
    except ValueError:
        errors["unused_credits"] = "Choose whether unused credits roll over or lapse."
        policy = UnusedCredits.LAPSE
    if errors:
        raise InvalidPlan(errors)
    return PlanInput(name=clean_name, sessions_per_period=count, amount=amount, currency=code, unused_credits=policy)
