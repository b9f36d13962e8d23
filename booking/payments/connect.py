"""Stripe Connect: builders get paid.

Each builder may have a connected Express account. `start_onboarding` creates it (once: the idempotency
key comes from the builder) and an onboarding Account Link; Stripe sends the builder back to our return
page (`sync_account` re-reads the account) or, when the link went stale, to our refresh page (a new
link). `account.updated` keeps the account's state in the Builder row whatever the order of events.

Charging (`charge_plan`): a builder whose payouts are enabled gets a destination charge, paid to their
account less the platform fee (`booking.payments.pricing`); a builder without payouts is bookable with the money
held by the platform, unless REQUIRE_PAYOUTS is on, when they are not bookable at all.

The payouts view (`payouts_view`, `refresh_money`): the account's balance and payouts as Stripe reports
them, the payouts kept from `payout.*` events, the transfer of each paid booking; and for the platform
admin, fees collected per month and currency (`fee_report`).

Flows (`start_onboarding`, `sync_account`, `login_link`, `refresh_money`) take an engine and never hold
a transaction open across a Stripe call; the webhook handlers run in the dispatcher's transaction.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.accounts import audit
from booking.accounts.authz import Actor, Forbidden, NotFound
from booking.core.db import session_scope
from booking.core.models import (
    Booking,
    Builder,
    MoneyMovement,
    MovementKind,
    Party,
    Payment,
    PaymentStatus,
    Payout,
    PayoutStatus,
    PromotionRedemption,
    RedemptionStatus,
    Refund,
    utcnow,
)
from booking.core.time import format_datetime, format_money
from booking.notifications import outbox as notifications
from booking.payments import ledger as payment_records
from booking.payments import movements, pricing, release, sales
from booking.payments.gateway import (
    ConnectedAccount,
    ConnectedBalance,
    PaymentGateway,
    PaymentProviderError,
    StripePayout,
)
from booking.payments.ledger import SETTLED_STATES, StripeRef, UnknownBooking, locate
from booking.scheduling.availability import load_zone

log = logging.getLogger(__name__)

PAGE_SIZE = 50
RECENT_PAYOUTS = 20
FEE_REPORT_MONTHS = 12
# Paid destination charges whose transfer we have not recorded yet, looked up per page view.
TRANSFER_LOOKUPS_PER_VIEW = 20
_ACCOUNT_FIELDS = ("stripe_account_id", "charges_enabled", "payouts_enabled", "details_submitted",
                   "requirements_due")


# --- charging --------------------------------------------------------------------------------------------


class PayoutsNotReady(RuntimeError):
    """REQUIRE_PAYOUTS is on and this builder can't be paid yet: not bookable."""


@dataclass(frozen=True)
class ChargePlan:
    destination_account_id: str | None  # None: the platform holds the money
    application_fee_amount: int | None  # the platform fee of a destination charge (minor units)


def payouts_ready(builder: Builder) -> bool:
    return bool(builder.stripe_account_id) and builder.payouts_enabled


def is_bookable(builder: Builder, settings: Any) -> bool:
    """Whether clients may book this builder (the public page and the API ask)."""
    return payouts_ready(builder) or not settings.require_payouts


def not_bookable_message(builder: Builder) -> str:
    return f"{builder.name} can't take bookings yet: they are still setting up how they get paid."


def charge_plan(*, builder: Builder, quote: pricing.Quote, settings: Any) -> ChargePlan:
    """Where a client's payment (priced by `pricing.quote`, with its fee) goes. Raises PayoutsNotReady
    (REQUIRE_PAYOUTS on, payouts not enabled)."""
    if payouts_ready(builder):
        return ChargePlan(destination_account_id=builder.stripe_account_id, application_fee_amount=quote.platform_fee)
    if settings.require_payouts:
        raise PayoutsNotReady(not_bookable_message(builder))
    return ChargePlan(destination_account_id=None, application_fee_amount=None)


# --- the account's state --------------------------------------------------------------------------------


class AccountState(StrEnum):
    NOT_STARTED = "not_started"  # no connected account yet
    INCOMPLETE = "incomplete"  # onboarding not finished
    RESTRICTED = "restricted"  # onboarded, but Stripe paused payouts: the builder is flagged
    ENABLED = "enabled"


STATE_LABELS = {
    AccountState.NOT_STARTED: "Not set up",
    AccountState.INCOMPLETE: "Onboarding not finished",
    AccountState.RESTRICTED: "Payouts paused",
    AccountState.ENABLED: "Payouts enabled",
}

# Stripe's requirement names in words (the most specific prefix wins; "person_" covers person_xxx.*).
_REQUIREMENT_WORDS: tuple[tuple[str, str], ...] = (
    ("external_account", "A bank account for payouts"),
    ("tos_acceptance", "Accepting Stripe's services agreement"),
    ("business_profile.mcc", "Your business category"),
    ("business_profile.url", "Your website (or a description of your work)"),
    ("business_profile.product_description", "A description of what you sell"),
    ("business_profile", "Details about your business"),
    ("business_type", "Whether you work as an individual or a company"),
    ("individual.verification", "An identity document"),
    ("individual.dob", "Your date of birth"),
    ("individual.address", "Your home address"),
    ("individual.first_name", "Your legal name"),
    ("individual.last_name", "Your legal name"),
    ("individual.email", "Your email address"),
    ("individual.phone", "Your phone number"),
    ("individual.id_number", "Your national ID number"),
    ("individual.ssn_last_4", "The last 4 digits of your Social Security number"),
    ("individual", "Your personal details"),
    ("company.verification", "A document verifying your company"),
    ("company.address", "Your company's address"),
    ("company.tax_id", "Your company's tax ID"),
    ("company.name", "Your company's legal name"),
    ("company.phone", "Your company's phone number"),
    ("company", "Details about your company"),
    ("representative", "Details about your company's representative"),
    ("owners", "Details about your company's owners"),
    ("directors", "Details about your company's directors"),
    ("executives", "Details about your company's executives"),
    ("person_", "Details about a person on your account"),
    ("settings.payments.statement_descriptor", "The name shown on clients' card statements"),
)


def requirement_label(requirement: str) -> str:
    for prefix, words in _REQUIREMENT_WORDS:
        if requirement == prefix or requirement.startswith(prefix if prefix.endswith("_") else prefix + "."):
            return words
    return requirement.replace(".", " ").replace("_", " ").strip().capitalize() or requirement


def requirement_labels(requirements: list[str]) -> list[str]:
    """Human wording, each once, in Stripe's order."""
    return list(dict.fromkeys(requirement_label(item) for item in requirements))


def requirements_of(builder: Builder) -> list[str]:
    try:
        due = json.loads(builder.requirements_due or "[]")
    except ValueError:
        return []
    return [str(item) for item in due] if isinstance(due, list) else []


def account_state(builder: Builder) -> AccountState:
    if not builder.stripe_account_id:
        return AccountState.NOT_STARTED
    if builder.payouts_enabled:
        return AccountState.ENABLED
    if builder.details_submitted:
        return AccountState.RESTRICTED
    return AccountState.INCOMPLETE


def builder_of_account(*, session: Session, account_id: str) -> Builder | None:
    return session.exec(select(Builder).where(Builder.stripe_account_id == account_id).with_for_update()).first()


def is_stale(builder: Builder, seen_at: datetime) -> bool:
    """An event no newer than what the builder row already reflects (Stripe's `created` has whole
    seconds, so a tie is ambiguous too): its payload may be out of date."""
    last = _aware(builder.account_updated_at)
    return last is not None and seen_at <= last


def apply_account(*, session: Session, account: ConnectedAccount, seen_at: datetime) -> Builder | None:
    """Keep a connected account's state on its builder: `account` is the newest view (an API read, or an
    event newer than the last one applied). Returns the builder, or None when no builder has it."""
    builder = builder_of_account(session=session, account_id=account.id)
    if builder is None:
        return None
    last = _aware(builder.account_updated_at)
    builder.charges_enabled = account.charges_enabled
    builder.payouts_enabled = account.payouts_enabled
    builder.details_submitted = account.details_submitted
    builder.requirements_due = json.dumps(account.requirements_due)
    builder.account_updated_at = max(last, seen_at) if last is not None else seen_at
    session.add(builder)
    session.flush()
    return builder


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.utcoffset() is None else moment


def _from_unix(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


# --- onboarding flows -----------------------------------------------------------------------------------


def _own_builder(session: Session, actor: Actor) -> Builder:
    if actor.builder_id is None:
        raise Forbidden("Payouts are set up by the builder themselves, from their own sign-in.")
    builder = session.get(Builder, actor.builder_id)
    if builder is None:
        raise NotFound("Builder")
    return builder


# Countries where Stripe offers Express accounts (and so a bank account in the local currency).
EXPRESS_COUNTRIES = frozenset([
    "US", "GB", "CA", "AU", "NZ", "JP", "SG", "HK", "CH", "SE", "NO", "DK", "PL", "CZ", "MX", "BR",
    "AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU", "LV", "MT", "NL",
    "PT", "SI", "SK",
])
_ZONE_TABLES = ("/usr/share/zoneinfo/zone.tab",)


def country_of_zone(time_zone: str) -> str | None:
    """The country of an IANA zone (the tz database's zone.tab), when Stripe offers Express accounts
    there: a builder in Europe/London gets a GB account, paid out in pounds. None: Stripe's default."""
    for text in _zone_tables():
        for line in text.splitlines():
            parts = line.split("\t")
            if len(parts) >= 3 and not line.startswith("#") and parts[2] == time_zone:
                return parts[0] if parts[0] in EXPRESS_COUNTRIES else None
    return None


@lru_cache(maxsize=1)
def _zone_tables() -> tuple[str, ...]:
    found = []
    try:
        from importlib.resources import files

        found.append((files("tzdata") / "zoneinfo" / "zone.tab").read_text())
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        pass
    for path in _ZONE_TABLES:
        try:
            with open(path, encoding="utf-8") as handle:
                found.append(handle.read())
        except OSError:
            continue
    return tuple(found)


def account_idempotency_key(builder: Builder) -> str:
    """One connected account per builder, however often "Set up payouts" is pressed. The creation time
    (to the microsecond) tells apart builders of a fresh database that reuse an id (Stripe keeps keys
    for 24 hours)."""
    created = _aware(builder.created_at)
    return f"connect-account-builder-{builder.id}-{created:%Y%m%d%H%M%S%f}"


def start_onboarding(*, engine: Engine, gateway: PaymentGateway, actor: Actor, return_url: str,
                     refresh_url: str) -> str:
    """The builder's connected account (created on first use) and a fresh onboarding link to send the
    browser to. Raises Forbidden (not a builder) or PaymentProviderError."""
    with session_scope(engine) as session:
        builder = _own_builder(session, actor)
        account_id, email, zone = builder.stripe_account_id, builder.email, builder.time_zone
        key = account_idempotency_key(builder)
        builder_id = builder.id
    if not account_id:
        account = gateway.create_connected_account(
            email=email, country=country_of_zone(zone), metadata={"builder_id": str(builder_id)},
            idempotency_key=key)
        account_id = _remember_account(engine=engine, actor=actor, builder_id=builder_id, account=account)
    return onboarding_link(gateway=gateway, account_id=account_id, return_url=return_url, refresh_url=refresh_url)


def _remember_account(*, engine: Engine, actor: Actor, builder_id: int, account: ConnectedAccount) -> str:
    with session_scope(engine) as session:
        builder = session.get(Builder, builder_id, with_for_update=True)
        if builder.stripe_account_id:  # a concurrent click stored it first (the same account: same key)
            return builder.stripe_account_id
        before = audit.snapshot(builder, _ACCOUNT_FIELDS)
        builder.stripe_account_id = account.id
        session.add(builder)
        session.flush()
        apply_account(session=session, account=account, seen_at=utcnow())
        audit.record(session=session, actor=actor, action="payouts.account_create", entity_type="builder",
                     entity_id=builder.id, builder_id=builder.id, before=before,
                     after=audit.snapshot(builder, _ACCOUNT_FIELDS))
        return account.id


def onboarding_link(*, gateway: PaymentGateway, account_id: str, return_url: str, refresh_url: str) -> str:
    # Account Links are single-use and short-lived: each request is its own (the key guards the SDK's
    # network retries of this one request).
    return gateway.create_account_link(account_id=account_id, return_url=return_url, refresh_url=refresh_url,
                                       idempotency_key=f"account-link-{account_id}-{uuid.uuid4().hex}")


def renew_onboarding_link(*, engine: Engine, gateway: PaymentGateway, actor: Actor, return_url: str,
                          refresh_url: str) -> str:
    """The refresh page: the last link expired or was used; make a new one (or the account, if none)."""
    return start_onboarding(engine=engine, gateway=gateway, actor=actor, return_url=return_url,
                            refresh_url=refresh_url)


def sync_account(*, engine: Engine, gateway: PaymentGateway, actor: Actor,
                 builder_id: int | None = None) -> AccountState:
    """Re-read the connected account from Stripe (the return page; a platform admin for any builder)."""
    with session_scope(engine) as session:
        builder = _viewed_builder(session, actor, builder_id)
        account_id, target = builder.stripe_account_id, builder.id
        if not account_id:
            return AccountState.NOT_STARTED
    account = gateway.retrieve_connected_account(account_id)
    with session_scope(engine) as session:
        builder = session.get(Builder, target)
        before = audit.snapshot(builder, _ACCOUNT_FIELDS)
        apply_account(session=session, account=account, seen_at=utcnow())
        after = audit.snapshot(builder, _ACCOUNT_FIELDS)
        if before != after:
            audit.record(session=session, actor=actor, action="payouts.account_sync", entity_type="builder",
                         entity_id=builder.id, builder_id=builder.id, before=before, after=after)
        return account_state(builder)


def login_link(*, engine: Engine, gateway: PaymentGateway, actor: Actor) -> str:
    """A one-time link into the builder's Stripe Express dashboard."""
    with session_scope(engine) as session:
        builder = _own_builder(session, actor)
        account_id, submitted = builder.stripe_account_id, builder.details_submitted
    if not account_id or not submitted:
        raise PayoutsNotReady("Finish setting up payouts first: the Express dashboard opens once Stripe has "
                              "your details.")
    return gateway.create_login_link(account_id, idempotency_key=f"login-link-{account_id}-{uuid.uuid4().hex}")


def _viewed_builder(session: Session, actor: Actor, builder_id: int | None) -> Builder:
    """A builder sees their own; a platform admin the builder they chose."""
    if not actor.is_admin:
        return _own_builder(session, actor)
    builder = session.get(Builder, builder_id) if builder_id else None
    if builder is None:
        raise NotFound("Builder")
    return builder


# --- payouts -------------------------------------------------------------------------------------------------

_PAYOUT_STATUS = {
    "pending": PayoutStatus.PENDING,
    "in_transit": PayoutStatus.IN_TRANSIT,
    "paid": PayoutStatus.PAID,
    "failed": PayoutStatus.FAILED,
    "canceled": PayoutStatus.CANCELED,
}
# A payout moves forward only; Stripe may fail one it reported paid (the bank bounced it).
_PAYOUT_RANK = {PayoutStatus.PENDING: 0, PayoutStatus.IN_TRANSIT: 1, PayoutStatus.PAID: 2,
                PayoutStatus.FAILED: 3, PayoutStatus.CANCELED: 3}


def record_payout(*, session: Session, account_id: str, payout: StripePayout) -> tuple[Payout, bool]:
    """Upsert the Payout row; True when it has just become failed (so it is announced once)."""
    row = session.exec(select(Payout).where(Payout.stripe_payout_id == payout.id)).first()
    incoming = _PAYOUT_STATUS.get(payout.status, PayoutStatus.PENDING)
    if row is None:
        builder_id = session.exec(select(Builder.id).where(Builder.stripe_account_id == account_id)).first()
        row = Payout(builder_id=builder_id, stripe_payout_id=payout.id, stripe_account_id=account_id,
                     amount=payout.amount, currency=payout.currency, status=PayoutStatus.PENDING,
                     created_at=_from_unix(payout.created) or utcnow())
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except sa.exc.IntegrityError:  # a concurrent event made it first
            row = session.exec(select(Payout).where(Payout.stripe_payout_id == payout.id)).one()
    newly_failed = False
    if _PAYOUT_RANK[incoming] > _PAYOUT_RANK[PayoutStatus(row.status)]:
        newly_failed = incoming == PayoutStatus.FAILED
        row.status = incoming
    row.amount, row.currency = payout.amount, payout.currency
    row.arrival_date = _from_unix(payout.arrival_date) or row.arrival_date
    if row.status == PayoutStatus.FAILED:
        row.failure_code = (payout.failure_code or row.failure_code or "")[:100] or None
        row.failure_message = (payout.failure_message or row.failure_message or "")[:500] or None
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return row, newly_failed


def _announce_failed_payout(session: Session, row: Payout, payouts_url: str = "") -> int:
    builder = session.get(Builder, row.builder_id) if row.builder_id else None
    if builder is None:
        return 0
    return len(notifications.queue_payout_failed(session=session, payout=row, builder=builder,
                                                 payouts_url=payouts_url))


def _payouts_url() -> str:
    from booking.core.config import get_settings  # read when used, never at import

    return f"{get_settings().public_url}/admin/payouts"


# --- webhook handlers (HANDLERS in booking.webhooks) --------------------------------------------------------


class ForeignAccount(Exception):
    """A connected-account event whose sender (`event.account`) is not the owner of its object: it is
    refused and changes nothing (booking.events.webhooks stores it as ignored, with this reason)."""


def on_account_updated(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    """Events arrive in any order: one that may be older than what we hold is not trusted; the account
    is read again from Stripe instead (rare, so the extra call is cheap)."""
    account = ConnectedAccount.from_stripe(event["data"]["object"])
    if event.get("account") != account.id:
        raise ForeignAccount(f"account.updated from account {event.get('account') or 'none'} is about "
                             f"account {account.id}: refused")
    seen_at = _from_unix(event.get("created")) or utcnow()
    builder = builder_of_account(session=session, account_id=account.id)
    if builder is None:
        return f"no builder with account {account.id}"
    if is_stale(builder, seen_at):
        account, seen_at = gateway.retrieve_connected_account(account.id), utcnow()
    builder = apply_account(session=session, account=account, seen_at=seen_at)
    state = account_state(builder)
    return f"account {state.value}" + (" (builder flagged)" if state == AccountState.RESTRICTED else "")


def on_payout_changed(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    """payout.created / updated / paid / failed / canceled, from the builder's connected account."""
    payout = StripePayout.from_stripe(event["data"]["object"])
    account_id = event.get("account")
    if not account_id:
        return "platform payout: not a builder's"
    if builder_of_account(session=session, account_id=account_id) is None:
        raise ForeignAccount(f"payout {payout.id} from account {account_id}, which is no builder's: refused")
    known = session.exec(select(Payout.stripe_account_id).where(Payout.stripe_payout_id == payout.id)).first()
    if known is not None and known != account_id:
        raise ForeignAccount(f"payout {payout.id} belongs to account {known}, not {account_id}: refused")
    row, newly_failed = record_payout(session=session, account_id=account_id, payout=payout)
    if row.status == PayoutStatus.FAILED:
        queued = _announce_failed_payout(session, row, _payouts_url())
        return f"payout failed; {queued} notified" if newly_failed or queued else "payout failed"
    return f"payout {row.status}"


def on_charge_succeeded(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    """A destination charge names its transfer to the builder and the fee Stripe took."""
    charge = event["data"]["object"]
    destination = (charge.get("transfer_data") or {}).get("destination") or charge.get("destination")
    destination = destination.get("id") if isinstance(destination, dict) else destination
    transfer = charge.get("transfer")
    transfer = transfer.get("id") if isinstance(transfer, dict) else transfer
    if not destination and not transfer:
        # Still part of its booking's story in the webhook log, when our rows already tell which.
        known = payment_records.known_booking_id(session=session, ref=StripeRef.of(charge))
        if known:
            session.info[payment_records.LOCATED_BOOKING] = known
        return "not a destination charge"
    located = locate(session=session, ref=StripeRef.of(charge), gateway=gateway)
    recorded = payment_records.record_destination_charge(
        session=session, payment=located.payment, transfer_id=transfer, destination_account_id=destination,
        application_fee_amount=charge.get("application_fee_amount"))
    return "transfer recorded" if recorded else "no change"


def on_transfer_created(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    """The transfer of a destination charge: linked through its transfer group (group_<payment intent>)
    when the charge event has not named it already; else the payouts page looks it up later."""
    transfer = event["data"]["object"]
    if session.exec(select(Payment.id).where(Payment.transfer_id == transfer["id"])).first() is not None:
        return "already recorded"
    group = transfer.get("transfer_group") or ""
    payment_intent = group.removeprefix("group_") if group.startswith("group_pi_") else None
    if not payment_intent:
        return "not linked to a payment"
    try:
        located = locate(session=session, ref=StripeRef(object_id=transfer["id"], payment_intent_id=payment_intent))
    except UnknownBooking:
        return "not linked to a payment"
    destination = transfer.get("destination")
    destination = destination.get("id") if isinstance(destination, dict) else destination
    recorded = payment_records.record_destination_charge(
        session=session, payment=located.payment, transfer_id=transfer["id"], destination_account_id=destination)
    return "transfer recorded" if recorded else "no change"


# --- the builder's money, as Stripe reports it (a flow: Stripe calls outside transactions) ----------------


@dataclass(frozen=True)
class MoneyAtStripe:
    balance: ConnectedBalance | None
    payouts_seen: int
    transfers_recorded: int
    problem: str = ""  # Stripe could not be reached: the page shows what the database knows


def refresh_money(*, engine: Engine, gateway: PaymentGateway, actor: Actor, builder_id: int | None = None,
                  payouts_url: str = "") -> MoneyAtStripe:
    """The connected account's balance and latest payouts from Stripe (kept in Payout rows), and the
    transfers of paid bookings whose events we never saw. Raises NotFound / Forbidden."""
    with session_scope(engine) as session:
        builder = _viewed_builder(session, actor, builder_id)
        account_id, target = builder.stripe_account_id, builder.id
        if not account_id:
            return MoneyAtStripe(balance=None, payouts_seen=0, transfers_recorded=0)
        unlinked = _payments_to_look_up(session, target)
    try:
        balance = gateway.retrieve_balance(account_id)
        payouts = gateway.list_payouts(account_id, limit=RECENT_PAYOUTS)
        charges = {payment_id: gateway.retrieve_destination_charge(intent) for payment_id, intent in unlinked}
    except PaymentProviderError as exc:
        log.warning("payouts view of builder %s: %s", target, exc)
        return MoneyAtStripe(balance=None, payouts_seen=0, transfers_recorded=0, problem=str(exc))
    recorded = 0
    with session_scope(engine) as session:
        for payout in payouts:
            row, _newly_failed = record_payout(session=session, account_id=account_id, payout=payout)
            if row.status == PayoutStatus.FAILED:
                _announce_failed_payout(session, row, payouts_url)
        for payment_id, charge in charges.items():
            payment = session.get(Payment, payment_id)
            changed = payment_records.record_destination_charge(
                session=session, payment=payment, transfer_id=charge.transfer_id,
                destination_account_id=charge.destination_account_id,
                application_fee_amount=charge.application_fee_amount)
            if payment.amount_refunded > 0:  # Stripe's total of the fee given back is the truth
                changed = payment_records.true_up_fee_refunds(session=session, payment=payment,
                                                              stripe_fee_refunded=charge.fee_refunded) or changed
            recorded += int(changed)
        if recorded:
            audit.record(session=session, actor=actor, action="payouts.sync", entity_type="builder",
                         entity_id=target, builder_id=target, after={"transfers_recorded": recorded})
    return MoneyAtStripe(balance=balance, payouts_seen=len(payouts), transfers_recorded=recorded)


def _payments_to_look_up(session: Session, builder_id: int) -> list[tuple[int, str]]:
    """Paid destination charges (bookings, package sales) with no transfer id yet, or refunded ones (to check
    the fee given back)."""
    rows = session.exec(
        sales.with_sale(select(Payment.id, Payment.payment_intent_id))
        .where(sales.sold_by(builder_id), Payment.destination_account_id.is_not(None),
               Payment.payment_intent_id.is_not(None), Payment.status.in_(SETTLED_STATES),
               sa.or_(Payment.transfer_id.is_(None), Payment.amount_refunded > 0))
        .order_by(Payment.transfer_id.is_not(None), Payment.paid_at.desc(), Payment.id.desc())
        .limit(TRANSFER_LOOKUPS_PER_VIEW)
    ).all()
    return [(payment_id, intent) for payment_id, intent in rows]


# --- the read model of the payouts page ---------------------------------------------------------------------


@dataclass(frozen=True)
class AccountView:
    state: str
    label: str
    has_account: bool
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    requirements: list[str]  # in words
    checked_at: str
    fee_rule: str
    bookable: bool


@dataclass(frozen=True)
class TransferRow:
    """One sale and the money of it: a booking, a package sale or a membership invoice."""

    booking_id: str  # "" for a sale that books nothing
    kind: str  # what kind of sale (sales.SALE_LABELS): "Session", "Package", "Membership payment"
    when: str  # a booking's session; otherwise when it was paid
    client: str
    sold: str  # the session type, package or membership plan
    amount: str
    fee: str
    net: str
    refunded: str
    fee_refunded: str
    transfer_id: str
    transfer_note: str  # without a transfer id: why (TRANSFER_NOTES); "" when the platform holds the money
    status: str  # paid | partially_refunded | refunded
    held_by_platform: bool  # taken before the builder's payouts were enabled, not released yet
    released: bool = False  # held, then paid out by a transfer once their payouts were enabled
    released_at: str = ""


@dataclass(frozen=True)
class PayoutRow:
    payout_id: str
    amount: str
    status: str
    arrival: str
    failure: str


@dataclass(frozen=True)
class TotalRow:
    currency: str
    sales: str  # how many of each kind, in words: "3 bookings, 1 package, 2 membership payments"
    gross: str
    fees: str
    net: str
    held: str


@dataclass(frozen=True)
class HeldFunds:
    """What the platform holds for a builder (payments taken before their payouts were enabled): how much
    of it is theirs, why it is held and when it goes out (booking/payments/release.py pays it)."""

    amounts: list[str]  # the builder's share, per currency: "£44.70"
    bookings: int
    reason: str
    when: str


@dataclass(frozen=True)
class PayoutsView:
    builder_id: int
    builder_name: str
    account: AccountView
    transfers: list[TransferRow]
    page: int
    pages: int
    total: int
    payouts: list[PayoutRow]
    totals: list[TotalRow]
    held: HeldFunds | None = None


def account_view(builder: Builder, settings: Any, zone: tzinfo) -> AccountView:
    state = account_state(builder)
    return AccountView(
        state=state.value, label=STATE_LABELS[state], has_account=bool(builder.stripe_account_id),
        charges_enabled=builder.charges_enabled, payouts_enabled=builder.payouts_enabled,
        details_submitted=builder.details_submitted,
        requirements=requirement_labels(requirements_of(builder)) if builder.stripe_account_id else [],
        checked_at=_format_time(builder.account_updated_at, zone), fee_rule=pricing.describe(settings),
        bookable=is_bookable(builder, settings),
    )


def payouts_view(*, session: Session, actor: Actor, settings: Any, builder_id: int | None = None,
                 page: int = 1) -> PayoutsView:
    """The payouts page of one builder (their own; a platform admin's choice). Raises NotFound/Forbidden."""
    builder = _viewed_builder(session, actor, builder_id)
    zone = _zone_of(builder)
    transfers, page, pages, total = _transfers(session, builder.id, zone, page)
    return PayoutsView(builder_id=builder.id, builder_name=builder.name,
                       account=account_view(builder, settings, zone), transfers=transfers, page=page,
                       pages=pages, total=total, payouts=_recent_payouts(session, builder.id, zone),
                       totals=_totals(session, builder.id), held=held_funds(session=session, builder=builder,
                                                                            settings=settings))


HELD_BECAUSE = {
    AccountState.NOT_STARTED: "Payouts aren't set up yet, so Stripe can't pay you.",
    AccountState.INCOMPLETE: "Stripe onboarding isn't finished, so Stripe can't pay you yet.",
    AccountState.RESTRICTED: "Stripe has paused your payouts until it gets the details it asks for.",
    AccountState.ENABLED: "These payments were taken before your payouts were enabled.",
}
HELD_UNTIL = "As soon as your payouts are enabled: usually within a few minutes of finishing Stripe's onboarding."
RELEASING = "Your payouts are enabled: it is being sent to your Stripe account now (usually within a few minutes)."


def held_funds(*, session: Session, builder: Builder, settings: Any) -> HeldFunds | None:
    """The builder's share of what the platform holds for them, why, and when it is released (None: nothing
    held)."""
    held = session.exec(
        sales.with_sale(select(Payment))
        .where(sales.sold_by(builder.id), Payment.destination_account_id.is_(None),
               Payment.release_transfer_id.is_(None),
               Payment.status.in_((PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED)))
    ).all()
    shares: dict[str, int] = {}
    count = 0
    for payment in held:
        share = release.builder_share(amount=payment.amount, refunded=payment.amount_refunded,
                                      currency=payment.currency, settings=settings)
        if share > 0:
            shares[payment.currency] = shares.get(payment.currency, 0) + share
            count += 1
    if not count:
        return None
    state = account_state(builder)
    return HeldFunds(amounts=[format_money(amount, currency) for currency, amount in sorted(shares.items())],
                     bookings=count, reason=HELD_BECAUSE[state],
                     when=RELEASING if state == AccountState.ENABLED else HELD_UNTIL)


def _zone_of(builder: Builder) -> tzinfo:
    try:
        return load_zone(builder.time_zone)
    except ValueError:
        return UTC


def _format_time(moment: datetime | None, zone: tzinfo) -> str:
    moment = _aware(moment)
    return format_datetime(moment, zone=zone, date_style="iso", hour12=False) if moment else ""


# Why a sale's row has no transfer id yet. Stripe transfers a membership invoice's money itself, with the
# invoice's charge: its transfer is never named to us.
TRANSFER_NOTES = {sales.SaleKind.SESSION: "pending", sales.SaleKind.PACKAGE: "pending",
                  sales.SaleKind.MEMBERSHIP: "with the invoice"}


def _paid_payments_of(builder_id: int) -> Any:
    """The builder's settled payments: bookings, package sales and membership invoices, with what each sold."""
    return (
        sales.with_sale(select(Payment, sales.sale_kind_of_payment(), Booking.start_time,
                               sales.client_of_payment(), sales.item_of_payment()))
        .where(sales.sold_by(builder_id), Payment.status.in_(SETTLED_STATES))
    )


def _released_net(session: Session, payment_ids: list[int]) -> dict[int, int]:
    """What the builder has of each released payment: its transfer less reversals (the journal)."""
    if not payment_ids:
        return {}
    signed = sa.case((MoneyMovement.kind == MovementKind.TRANSFER, MoneyMovement.amount),
                     (MoneyMovement.kind == MovementKind.TRANSFER_REVERSAL, -MoneyMovement.amount), else_=0)
    rows = session.exec(select(MoneyMovement.payment_id, sa.func.sum(signed))
                        .where(MoneyMovement.payment_id.in_(payment_ids)).group_by(MoneyMovement.payment_id)).all()
    return {payment_id: int(net or 0) for payment_id, net in rows}


def _transfers(session: Session, builder_id: int, zone: tzinfo, page: int) -> tuple[list[TransferRow], int, int, int]:
    query = _paid_payments_of(builder_id)
    total = session.exec(select(sa.func.count()).select_from(query.subquery())).one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, int(page or 1)), pages)
    found = session.exec(query.order_by(Payment.paid_at.desc(), Payment.id.desc())
                         .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    returned = _fee_refunds(session, [payment.id for payment, *_ in found])
    released_net = _released_net(session, [payment.id for payment, *_ in found if payment.release_transfer_id])
    rows = []
    for payment, sale_kind, start, client, sold in found:
        released = bool(payment.release_transfer_id)
        held = not payment.destination_account_id and not released
        currency, fee_back = payment.currency, returned.get(payment.id, 0)
        if released:
            net = format_money(released_net.get(payment.id, 0), currency)
            fee = format_money(max(payment.amount - payment.amount_refunded - released_net.get(payment.id, 0), 0),
                               currency)
        else:
            net = "" if held or payment.net_amount is None else format_money(payment.net_amount, currency)
            fee = "" if held else format_money(payment.application_fee_amount, currency)
        rows.append(TransferRow(
            booking_id=payment.booking_id or "", kind=sales.SALE_LABELS[sales.SaleKind(sale_kind)],
            when=_format_time(start or payment.paid_at, zone), client=client or "", sold=sold or "",
            amount=format_money(payment.amount, currency), fee=fee, net=net,
            refunded=format_money(payment.amount_refunded, currency) if payment.amount_refunded else "",
            fee_refunded=format_money(fee_back, currency) if fee_back else "",
            transfer_id=payment.transfer_id or payment.release_transfer_id or "",
            transfer_note="" if held else TRANSFER_NOTES[sales.SaleKind(sale_kind)], status=str(payment.status),
            held_by_platform=held, released=released, released_at=_format_time(payment.released_at, zone),
        ))
    return rows, page, pages, total


def _fee_refunds(session: Session, payment_ids: list[int]) -> dict[int, int]:
    if not payment_ids:
        return {}
    rows = session.exec(
        select(Refund.payment_id, sa.func.coalesce(sa.func.sum(Refund.application_fee_refunded), 0))
        .where(Refund.payment_id.in_(payment_ids), Refund.status.in_(payment_records.ACCEPTED_REFUNDS))
        .group_by(Refund.payment_id)
    ).all()
    return {payment_id: int(total) for payment_id, total in rows}


def _recent_payouts(session: Session, builder_id: int, zone: tzinfo) -> list[PayoutRow]:
    rows = session.exec(select(Payout).where(Payout.builder_id == builder_id)
                        .order_by(Payout.created_at.desc(), Payout.id.desc()).limit(RECENT_PAYOUTS)).all()
    return [PayoutRow(payout_id=row.stripe_payout_id, amount=format_money(row.amount, row.currency),
                      status=str(row.status), arrival=_format_time(row.arrival_date, zone)[:10],
                      failure=" — ".join(part for part in (row.failure_code, row.failure_message) if part))
            for row in rows]


def _totals(session: Session, builder_id: int) -> list[TotalRow]:
    """Per currency, over every sale (bookings, package sales, membership invoices): how many of each, what
    clients paid, the fees kept, the builder's net, and what the platform holds for them (sales made before
    payouts were enabled)."""
    fee_back = (select(Refund.payment_id.label("payment_id"),
                       sa.func.sum(Refund.application_fee_refunded).label("fee_back"))
                .where(Refund.status.in_(payment_records.ACCEPTED_REFUNDS)).group_by(Refund.payment_id).subquery())
    signed = sa.case((MoneyMovement.kind == MovementKind.TRANSFER, MoneyMovement.amount),
                     (MoneyMovement.kind == MovementKind.TRANSFER_REVERSAL, -MoneyMovement.amount), else_=0)
    sent = (select(MoneyMovement.payment_id.label("payment_id"), sa.func.sum(signed).label("sent"))
            .group_by(MoneyMovement.payment_id).subquery())
    destination = Payment.destination_account_id.is_not(None)
    released = Payment.release_transfer_id.is_not(None)
    released_net = sa.func.coalesce(sent.c.sent, 0)
    sale_kind = sales.sale_kind_of_payment()  # one expression in SELECT and GROUP BY (PostgreSQL matches them)
    rows = session.exec(
        sales.with_sale(select(Payment.currency, sale_kind, sa.func.count(),
               sa.func.sum(Payment.amount - Payment.amount_refunded),
               sa.func.sum(sa.case((destination, Payment.application_fee_amount - sa.func.coalesce(fee_back.c.fee_back, 0)),
                                   (released, Payment.amount - Payment.amount_refunded - released_net),
                                   else_=0)),
               sa.func.sum(sa.case((destination, sa.func.coalesce(Payment.net_amount, 0)), (released, released_net),
                                   else_=0)),
               sa.func.sum(sa.case((destination, 0), (released, 0), else_=Payment.amount - Payment.amount_refunded))))
        .outerjoin(fee_back, fee_back.c.payment_id == Payment.id)
        .outerjoin(sent, sent.c.payment_id == Payment.id)
        .where(sales.sold_by(builder_id), Payment.status.in_(SETTLED_STATES))
        .group_by(Payment.currency, sale_kind)
    ).all()
    sums: dict[str, tuple[dict[sales.SaleKind, int], list[int]]] = {}
    for currency, kind, count, *amounts in rows:
        counts, totals = sums.setdefault(currency, ({}, [0, 0, 0, 0]))
        counts[sales.SaleKind(kind)] = int(count)
        for index, amount in enumerate(amounts):
            totals[index] += int(amount or 0)
    return [TotalRow(currency=currency.upper(), sales=sales.SaleCounts.of(counts).in_words(),
                     gross=format_money(gross, currency), fees=format_money(fees, currency),
                     net=format_money(net, currency), held=format_money(held, currency))
            for currency, (counts, (gross, fees, net, held)) in sorted(sums.items())]


def balance_lines(balance: ConnectedBalance | None) -> tuple[list[str], list[str]]:
    """("£45.00", "−£63.00", ...) available and pending, for the page (a real minus sign: format_money)."""
    if balance is None:
        return [], []
    return ([format_money(item.amount, item.currency) for item in balance.available],
            [format_money(item.amount, item.currency) for item in balance.pending])


NEGATIVE_BALANCE = ("Refunds after payout: money refunded to clients after it was paid out to you. It is "
                    "recovered from your next payouts (Stripe may debit your bank account if none come).")


def balance_note(balance: ConnectedBalance | None) -> str:
    """Why a balance is below zero, in words ("" when it is not)."""
    if balance is None or not any(item.amount < 0 for item in (*balance.available, *balance.pending)):
        return ""
    return NEGATIVE_BALANCE


# --- the platform admin: fees collected, and accounts needing attention ------------------------------------


@dataclass(frozen=True)
class FeeMonthRow:
    month: str  # 2026-11
    currency: str
    payments: int
    gross: str
    fees: str
    fees_refunded: str
    fees_kept: str  # application fees less fee refunds, and what the platform kept of released payments
    held: str  # paid to the platform for builders without payouts (minus refunds), not released yet
    stripe_fees: str = ""  # Stripe's processing fees of the month's charges (the journal's STRIPE_FEE)
    dispute_fees: str = ""  # Stripe's dispute fees less those given back
    net: str = ""  # the platform's real net: fees kept − Stripe's fees − dispute fees
    net_negative: bool = False
    kind: str = "Sessions"  # what was sold (SALE_KIND_LABELS): each kind has its own rows
    discounted_sales: int = 0  # payments made with a promotion code (the fee was on the discounted amount)
    discounts: str = ""  # what the codes took off those payments


def month_starts(now: datetime, months: int = FEE_REPORT_MONTHS) -> list[datetime]:
    """The first instants (UTC) of the last `months` calendar months, this one included, oldest first."""
    year, month = now.astimezone(UTC).year, now.astimezone(UTC).month
    starts = []
    for _ in range(months):
        starts.append(datetime(year, month, 1, tzinfo=UTC))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(starts))


def fee_report(*, session: Session, actor: Actor, now: datetime | None = None,
               months: int = FEE_REPORT_MONTHS) -> list[FeeMonthRow]:
    """Platform fees collected per month (by when the payment was made) and currency, newest first.
    Platform admins only."""
    actor.require_admin()
    now = now or utcnow()
    starts = month_starts(now, months)
    bounds = starts + [month_starts(starts[-1] + timedelta(days=32), 1)[0]]  # and the next month's start
    month_index = sa.case(*[(Payment.paid_at < bounds[i + 1], i) for i in range(months)], else_=months)
    fee_back = (select(Refund.payment_id.label("payment_id"),
                       sa.func.sum(Refund.application_fee_refunded).label("fee_back"))
                .where(Refund.status.in_(payment_records.ACCEPTED_REFUNDS)).group_by(Refund.payment_id).subquery())
    destination = Payment.destination_account_id.is_not(None)
    released = Payment.release_transfer_id.is_not(None)
    paid = (
        select(month_index.label("month_index"), Payment.currency.label("currency"),
               sales.sale_kind_of_payment().label("sale_kind"),
               (Payment.amount - Payment.amount_refunded).label("gross"),
               sa.case((destination, Payment.application_fee_amount), else_=0).label("fee"),
               sa.case((destination, sa.func.coalesce(fee_back.c.fee_back, 0)), else_=0).label("fee_back"),
               sa.case((destination, 0), (released, 0), else_=Payment.amount - Payment.amount_refunded).label("held"))
        .outerjoin(fee_back, fee_back.c.payment_id == Payment.id)
        .where(Payment.status.in_(SETTLED_STATES), Payment.paid_at.is_not(None), Payment.paid_at >= bounds[0],
               Payment.paid_at < bounds[-1])
        .subquery()
    )
    rows = session.exec(
        select(paid.c.month_index, paid.c.currency, paid.c.sale_kind, sa.func.count(), sa.func.sum(paid.c.gross),
               sa.func.sum(paid.c.fee), sa.func.sum(paid.c.fee_back), sa.func.sum(paid.c.held))
        .group_by(paid.c.month_index, paid.c.currency, paid.c.sale_kind)
    ).all()
    journal = _journal_by_month(session, month_index, bounds)
    discount_kind = sales.sale_kind_of_payment()
    discounted = {(int(index), currency, kind): (int(count), int(total or 0))
                  for index, currency, kind, count, total in session.exec(
        select(month_index, Payment.currency, discount_kind, sa.func.count(),
               sa.func.sum(PromotionRedemption.discount_amount))
        .join(PromotionRedemption, PromotionRedemption.payment_id == Payment.id)
        .where(PromotionRedemption.status == RedemptionStatus.REDEEMED, Payment.status.in_(SETTLED_STATES),
               Payment.paid_at.is_not(None), Payment.paid_at >= bounds[0], Payment.paid_at < bounds[-1])
        .group_by(month_index, Payment.currency, discount_kind)).all()}
    report = []
    for index, currency, sale_kind, count, gross, fee, back, held in rows:
        fee, back = int(fee or 0), int(back or 0)
        sums = journal.get((int(index), currency, sale_kind), {})
        released_kept = sums.get("released_kept", 0)
        kept = pricing.fee_kept(fee=fee, fee_refunded=back) + released_kept
        stripe_fees = sums.get(MovementKind.STRIPE_FEE, 0)
        dispute_fees = sums.get(MovementKind.DISPUTE_FEE, 0) - sums.get(MovementKind.DISPUTE_FEE_RETURN, 0)
        net = kept - stripe_fees - dispute_fees
        report.append((int(index), currency, FeeMonthRow(
            month=starts[int(index)].strftime("%Y-%m") if int(index) < months else "",
            currency=currency.upper(), payments=int(count), gross=format_money(int(gross or 0), currency),
            fees=format_money(fee + released_kept, currency), fees_refunded=format_money(back, currency),
            fees_kept=format_money(kept, currency), held=format_money(int(held or 0), currency),
            stripe_fees=format_money(stripe_fees, currency), dispute_fees=format_money(dispute_fees, currency),
            net=format_money(net, currency), net_negative=net < 0,
            kind=sales.SALE_KIND_LABELS.get(sales.SaleKind(sale_kind), str(sale_kind)),
            discounted_sales=discounted.get((int(index), currency, sale_kind), (0, 0))[0],
            discounts=format_money(discounted.get((int(index), currency, sale_kind), (0, 0))[1], currency))))
    return [row for _index, _currency, row in sorted(report, key=lambda item: (-item[0], item[1], item[2].kind))]


# What the platform keeps of a released payment: what the client paid net, less what the builder still has.
_KEPT_OF_RELEASED = {MovementKind.CHARGE: 1, MovementKind.REFUND: -1, MovementKind.TRANSFER: -1,
                     MovementKind.TRANSFER_REVERSAL: 1}


def _journal_by_month(session: Session, month_index: Any,
                      bounds: list[datetime]) -> dict[tuple[int, str, str], dict]:
    """The journal's totals per (month of payment, currency): Stripe's and dispute fees by kind, and
    "released_kept", the platform's share of released payments."""
    released = Payment.release_transfer_id.is_not(None)
    sale_kind = sales.sale_kind_of_payment()  # one expression in SELECT and GROUP BY: PostgreSQL matches them by identity
    rows = session.exec(
        select(month_index, Payment.currency, sale_kind, released, MoneyMovement.kind,
               sa.func.sum(MoneyMovement.amount))
        .join(MoneyMovement, MoneyMovement.payment_id == Payment.id)
        .where(Payment.status.in_(SETTLED_STATES), Payment.paid_at.is_not(None), Payment.paid_at >= bounds[0],
               Payment.paid_at < bounds[-1])
        .group_by(month_index, Payment.currency, sale_kind, released, MoneyMovement.kind)
    ).all()
    sums: dict[tuple[int, str, str], dict] = {}
    for index, currency, sale_kind, is_released, kind, amount in rows:
        bucket = sums.setdefault((int(index), currency, sale_kind), {})
        kind, amount = MovementKind(kind), int(amount or 0)
        bucket[kind] = bucket.get(kind, 0) + amount
        if is_released and kind in _KEPT_OF_RELEASED:
            bucket["released_kept"] = bucket.get("released_kept", 0) + _KEPT_OF_RELEASED[kind] * amount
    return sums


# --- where every penny of one payment went (the journal, for platform admins) ------------------------------

MOVEMENT_LABELS = {
    MovementKind.CHARGE: "The client paid",
    MovementKind.STRIPE_FEE: "Stripe's processing fee",
    MovementKind.TRANSFER: "Transfer to the builder",
    MovementKind.APPLICATION_FEE: "Platform fee",
    MovementKind.REFUND: "Refund to the client",
    MovementKind.TRANSFER_REVERSAL: "Transfer reversed (a refund)",
    MovementKind.APPLICATION_FEE_REFUND: "Platform fee given back (a refund)",
    MovementKind.DISPUTE_WITHDRAWAL: "Disputed amount withdrawn",
    MovementKind.DISPUTE_FEE: "Stripe's dispute fee",
    MovementKind.DISPUTE_REINSTATEMENT: "Dispute won: funds reinstated",
    MovementKind.DISPUTE_FEE_RETURN: "Dispute fee returned",
    MovementKind.DISPUTE_RECOVERY: "Disputed amount recovered from the builder",
    MovementKind.DISPUTE_RECOVERY_RETURN: "Recovered amount paid back to the builder",
}
PARTY_LABELS = {Party.CLIENT: "Client", Party.PLATFORM: "Platform", Party.BUILDER: "Builder", Party.STRIPE: "Stripe"}


@dataclass(frozen=True)
class MovementLine:
    when: str
    label: str
    source: str
    destination: str
    amount: str
    stripe_object_id: str


@dataclass(frozen=True)
class PartyTotal:
    party: str
    amount: str  # what the party holds of the payment's money; the client's is minus what it paid net
    negative: bool


@dataclass(frozen=True)
class MoneyBreakdown:
    booking_id: str
    title: str
    lines: list[MovementLine]
    parties: list[PartyTotal]
    balanced: bool  # platform + builder + Stripe = what the client paid net


def money_breakdown(*, session: Session, actor: Actor, booking_id: str) -> MoneyBreakdown:
    """Where every penny of a booking's payment went: the journal's movements, and each party's total.
    Platform admins only; raises NotFound."""
    actor.require_admin()
    booking = session.get(Booking, booking_id) if booking_id else None
    payment = payment_records.paid_payment_of(session=session, booking=booking) if booking is not None else None
    if payment is None:
        raise NotFound("Payment")
    rows = movements.movements_of(session=session, payment_id=payment.id)
    currency = payment.currency
    lines = [MovementLine(when=_format_time(row.occurred_at, UTC), label=MOVEMENT_LABELS.get(row.kind, row.kind.value),
                          source=PARTY_LABELS[row.source], destination=PARTY_LABELS[row.destination],
                          amount=format_money(row.amount, currency), stripe_object_id=row.stripe_object_id or "")
             for row in rows]
    held = movements.balances(rows)
    parties = [PartyTotal(party=PARTY_LABELS[party], amount=format_money(amount, currency), negative=amount < 0)
               for party, amount in ((Party.CLIENT, held.client), (Party.PLATFORM, held.platform),
                                     (Party.BUILDER, held.builder), (Party.STRIPE, held.stripe))]
    title = f"{format_money(payment.amount, currency)} paid" + (
        f", {format_money(payment.amount_refunded, currency)} refunded" if payment.amount_refunded else "")
    return MoneyBreakdown(booking_id=booking_id, title=title, lines=lines, parties=parties,
                          balanced=held.platform + held.builder + held.stripe == held.client_paid_net)


@dataclass(frozen=True)
class ConnectedBuilderRow:
    builder_id: str
    name: str
    state: str
    label: str
    requirements: int
    checked_at: str


def connected_builders(*, session: Session, actor: Actor, page: int = 1) -> tuple[list[ConnectedBuilderRow], int, int]:
    """Platform admins: every builder with their payouts state, flagged ones (paused, unfinished) first."""
    actor.require_admin()
    flagged = sa.case((Builder.payouts_enabled.is_(True), 1), else_=0)
    query = select(Builder).where(Builder.stripe_account_id.is_not(None))
    total = session.exec(select(sa.func.count()).select_from(query.subquery())).one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, int(page or 1)), pages)
    found = session.exec(query.order_by(flagged, Builder.name, Builder.id)
                         .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    rows = [ConnectedBuilderRow(builder_id=str(b.id), name=b.name, state=account_state(b).value,
                                label=STATE_LABELS[account_state(b)], requirements=len(requirements_of(b)),
                                checked_at=_format_time(b.account_updated_at, UTC))
            for b in found]
    return rows, page, pages
