"""What each payment sold, to whom, for which builder: a booking's session, a package of credits, or a
membership's monthly invoice. One read of the ledger shared by the platform's fee report, the builder's
payouts page and the dashboard, so they count the same sales.

`with_sale(query)` joins a query over Payment to what it sold (outer joins: one of the three applies);
`builder_of_payment()`, `client_of_payment()`, `item_of_payment()` and `sale_kind_of_payment()` are then
columns of it. `SaleCounts` says how many of each were sold, in words.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from booking.core.models import (
    Booking,
    Client,
    CreditPackage,
    Membership,
    MembershipInvoice,
    MembershipPlan,
    PackagePurchase,
    Payment,
    PaymentKind,
    SessionType,
)


class SaleKind(StrEnum):
    """What a payment sold (append new kinds at the end)."""

    SESSION = "session"  # a booking's Checkout
    PACKAGE = "package"  # a package of prepaid sessions (Payment.package_purchase_id)
    MEMBERSHIP = "membership"  # a membership's monthly invoice (Payment.kind MEMBERSHIP)


# The fee report's "Sold" column.
SALE_KIND_LABELS = {SaleKind.SESSION: "Sessions", SaleKind.PACKAGE: "Packages", SaleKind.MEMBERSHIP: "Memberships"}
# One sale of each kind, as a row of the builder's payouts page says it.
SALE_LABELS = {SaleKind.SESSION: "Session", SaleKind.PACKAGE: "Package", SaleKind.MEMBERSHIP: "Membership payment"}


def _literal(value: str) -> Any:
    # Literal columns, not bound parameters: the same SQL text in SELECT and GROUP BY (PostgreSQL compares it).
    return sa.literal_column(f"'{value}'")


def sale_kind_of_payment() -> Any:
    """SQL: the SaleKind of a Payment row (needs no join)."""
    return sa.case((Payment.package_purchase_id.is_not(None), _literal(SaleKind.PACKAGE.value)),
                   (Payment.kind == _literal(PaymentKind.MEMBERSHIP.value), _literal(SaleKind.MEMBERSHIP.value)),
                   else_=_literal(SaleKind.SESSION.value))


def with_sale(query: sa.Select) -> sa.Select:
    """`query`, selecting from Payment, joined to what each payment sold: its booking (client, session type),
    package purchase (package) or membership invoice (membership, plan)."""
    return (query
            .outerjoin(Booking, Booking.id == Payment.booking_id)
            .outerjoin(Client, Client.id == Booking.client_id)
            .outerjoin(SessionType, SessionType.id == Booking.session_type_id)
            .outerjoin(PackagePurchase, PackagePurchase.id == Payment.package_purchase_id)
            .outerjoin(CreditPackage, CreditPackage.id == PackagePurchase.package_id)
            .outerjoin(MembershipInvoice, MembershipInvoice.payment_id == Payment.id)
            .outerjoin(Membership, Membership.id == MembershipInvoice.membership_id)
            .outerjoin(MembershipPlan, MembershipPlan.id == Membership.plan_id))


def builder_of_payment() -> Any:
    """SQL (over `with_sale`): the builder who sold it."""
    return sa.func.coalesce(Booking.builder_id, PackagePurchase.builder_id, Membership.builder_id)


def sold_by(builder_id: int) -> Any:
    """SQL: the Payment is one of `builder_id`'s sales. Three indexed look-ups (their bookings, package
    purchases and memberships' invoices) rather than `builder_of_payment() == builder_id`, which no index
    serves: a builder's pages stay fast however many payments the platform holds."""
    return Payment.id.in_(sa.union_all(
        sa.select(Payment.id).join(Booking, Booking.id == Payment.booking_id).where(Booking.builder_id == builder_id),
        sa.select(Payment.id).join(PackagePurchase, PackagePurchase.id == Payment.package_purchase_id)
        .where(PackagePurchase.builder_id == builder_id),
        sa.select(MembershipInvoice.payment_id).join(Membership, Membership.id == MembershipInvoice.membership_id)
        .where(Membership.builder_id == builder_id, MembershipInvoice.payment_id.is_not(None)),
    ))


def client_of_payment() -> Any:
    """SQL (over `with_sale`): the client's name as they gave it (a member without one: their email)."""
    return sa.func.coalesce(sa.func.nullif(Booking.client_name, ""), Client.name, PackagePurchase.client_name,
                            sa.func.nullif(Membership.client_name, ""), Membership.client_email)


def item_of_payment() -> Any:
    """SQL (over `with_sale`): what was sold by name: the session type, the package or the membership plan."""
    return sa.func.coalesce(SessionType.name, CreditPackage.name, MembershipPlan.name)


@dataclass(frozen=True)
class SaleCounts:
    """How many sales of each kind."""

    sessions: int = 0
    packages: int = 0
    memberships: int = 0

    @classmethod
    def of(cls, counts: dict[SaleKind, int]) -> SaleCounts:
        return cls(sessions=counts.get(SaleKind.SESSION, 0), packages=counts.get(SaleKind.PACKAGE, 0),
                   memberships=counts.get(SaleKind.MEMBERSHIP, 0))

    def __add__(self, other: SaleCounts) -> SaleCounts:
        return SaleCounts(self.sessions + other.sessions, self.packages + other.packages,
                          self.memberships + other.memberships)

    @property
    def total(self) -> int:
        return self.sessions + self.packages + self.memberships

    def in_words(self) -> str:
        """"3 bookings, 1 package, 2 membership payments" (kinds with none left out; "0 bookings" when none)."""
        parts = [_count(self.sessions, "booking")] if self.sessions or not self.total else []
        if self.packages:
            parts.append(_count(self.packages, "package"))
        if self.memberships:
            parts.append(_count(self.memberships, "membership payment"))
        return ", ".join(parts)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
