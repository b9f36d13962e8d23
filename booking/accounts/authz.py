"""Authorisation in one place: who is acting, and the one helper that loads an object *and* checks
that the actor may touch it. A builder reaches only their own builder's rows; an admin reaches all.

Anything not allowed looks exactly like something that does not exist (no probing for ids).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlmodel import Session

from booking.core.models import (
    AvailabilityOverride,
    AvailabilityRule,
    Booking,
    Builder,
    CreditGrant,
    CreditPackage,
    Dispute,
    Notification,
    Payment,
    PaymentMismatch,
    Refund,
    SessionType,
    StripeEvent,
    UserAccount,
    UserRole,
)

T = TypeVar("T")


class NotFound(LookupError):
    """Missing, or not the actor's: the same answer either way."""


class Forbidden(PermissionError):
    """The actor may not do this at all (e.g. a builder asking for a platform-admin page)."""


@dataclass(frozen=True)
class Actor:
    user_id: int
    email: str
    role: UserRole
    builder_id: int | None

    @classmethod
    def of(cls, user: UserAccount) -> Actor:
        return cls(user_id=user.id, email=user.email, role=UserRole(user.role), builder_id=user.builder_id)

    @property
    def is_admin(self) -> bool:
        return self.role == UserRole.ADMIN

    def can_manage(self, builder_id: int | None) -> bool:
        return self.is_admin or (builder_id is not None and builder_id == self.builder_id)

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("Only a platform admin can do that.")


def _via_booking(session: Session, booking_id: str | None) -> int | None:
    booking = session.get(Booking, booking_id) if booking_id else None
    return booking.builder_id if booking else None


# Which builder owns a row of each model. A model missing here cannot be loaded by an admin handler.
OWNER_OF: dict[type, Callable[[Session, Any], int | None]] = {
    Builder: lambda _s, row: row.id,
    SessionType: lambda _s, row: row.builder_id,
    AvailabilityRule: lambda _s, row: row.builder_id,
    AvailabilityOverride: lambda _s, row: row.builder_id,
    Booking: lambda _s, row: row.builder_id,
    Payment: lambda s, row: _via_booking(s, row.booking_id),
    Refund: lambda s, row: _via_booking(s, row.booking_id),
    Notification: lambda s, row: _via_booking(s, row.booking_id),
    StripeEvent: lambda s, row: _via_booking(s, row.booking_id),
    PaymentMismatch: lambda s, row: _via_booking(s, row.booking_id),
    Dispute: lambda s, row: _via_booking(s, row.booking_id),
    CreditPackage: lambda _s, row: row.builder_id,
    CreditGrant: lambda _s, row: row.builder_id,
}


def load_owned(*, session: Session, actor: Actor, model: type[T], object_id: Any, for_update: bool = False) -> T:
    """The row, if it exists and the actor may touch it; NotFound otherwise."""
    if object_id in (None, ""):
        raise NotFound(model.__name__)
    try:
        key = int(object_id) if _int_key(model) else str(object_id)
    except (TypeError, ValueError):
        raise NotFound(model.__name__) from None
    if _int_key(model) and not 0 < key < 2**31:
        raise NotFound(model.__name__)
    row = session.get(model, key, with_for_update=for_update or None)
    if row is None:
        raise NotFound(model.__name__)
    if not actor.is_admin and OWNER_OF[model](session, row) != actor.builder_id:
        raise NotFound(model.__name__)
    return row


def _int_key(model: type) -> bool:
    return model not in (Booking, StripeEvent)


def builder_scope(actor: Actor, requested: int | str | None = None) -> int | None:
    """Whose rows a list shows: a builder always their own; an admin a chosen builder, or everyone (None)."""
    if not actor.is_admin:
        return actor.builder_id
    if requested in (None, "", "all"):
        return None
    try:
        return int(requested)
    except (TypeError, ValueError):
        return None
