"""The builder's reminder times (minutes before each session) and each session type's no-show fee and
window. Services take an explicit session and never commit; ids from the browser go through
`authz.load_owned`, and every change records an audit entry in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from booking.accounts import audit, authz
from booking.accounts.authz import Actor
from booking.core.currencies import charge_problem
from booking.core.models import Builder, SessionType, utcnow
from booking.core.money import MoneyError, to_major_units, to_minor_units
from booking.core.time import format_money
from booking.notifications.reminders import InvalidReminderTimes, format_offsets, parse_offsets
from booking.workspace.session_types import MAX_UNIT_AMOUNT

MAX_WINDOW_HOURS = 7 * 24


class InvalidNoShowFee(ValueError):
    """The message names the problem; nothing was saved."""


@dataclass(frozen=True)
class NoShowFeeRow:
    session_type_id: str
    name: str
    currency: str
    fee: str  # as typed in the form (major units; "" = no fee, payment up front)
    window_hours: str
    summary: str  # "£25.00 within 24 h of the start" or "Paid when booking"


def _fee_row(row: SessionType) -> NoShowFeeRow:
    fee = row.no_show_fee_amount
    return NoShowFeeRow(
        session_type_id=str(row.id), name=row.name, currency=row.currency,
        fee=str(to_major_units(fee, row.currency)) if fee else "", window_hours=str(row.no_show_window_hours),
        summary=(f"Card kept; {format_money(fee, row.currency)} no-show fee within {row.no_show_window_hours} h "
                 "of the start") if fee else "Paid when booking",
    )


def reminder_times(*, session: Session, actor: Actor, builder_id: object) -> str:
    builder = authz.load_owned(session=session, actor=actor, model=Builder, object_id=builder_id)
    return builder.reminder_offsets


def save_reminder_times(*, session: Session, actor: Actor, builder_id: object, text: object) -> str:
    """'1440, 60' -> stored '1440,60' (bookings confirmed or moved from now on use it). Raises
    InvalidReminderTimes or authz.NotFound."""
    builder = authz.load_owned(session=session, actor=actor, model=Builder, object_id=builder_id, for_update=True)
    value = format_offsets(parse_offsets(str(text if text is not None else "")))
    if value != builder.reminder_offsets:
        before = {"reminder_offsets": builder.reminder_offsets}
        builder.reminder_offsets = value
        session.add(builder)
        session.flush()
        audit.record(session=session, actor=actor, action="reminders.update", entity_type="builder",
                     entity_id=builder.id, builder_id=builder.id, before=before, after={"reminder_offsets": value})
    return value


def no_show_fee_rows(*, session: Session, actor: Actor, builder_id: object) -> list[NoShowFeeRow]:
    builder = authz.load_owned(session=session, actor=actor, model=Builder, object_id=builder_id)
    rows = session.exec(select(SessionType).where(SessionType.builder_id == builder.id)
                        .order_by(SessionType.active.desc(), SessionType.name, SessionType.id).limit(200)).all()
    return [_fee_row(row) for row in rows]


def save_no_show_fee(*, session: Session, actor: Actor, session_type_id: object, fee: object,
                     window_hours: object) -> NoShowFeeRow:
    """A fee (major units, in the session type's currency) turns payment up front into a card kept for
    no-shows; "" turns it back. Raises InvalidNoShowFee or authz.NotFound."""
    session_type = authz.load_owned(session=session, actor=actor, model=SessionType, object_id=session_type_id,
                                    for_update=True)
    fee_text = str(fee if fee is not None else "").strip()
    amount: int | None = None
    if fee_text:
        try:
            amount = to_minor_units(fee_text, session_type.currency)
        except MoneyError:
            raise InvalidNoShowFee("Enter the fee as an amount such as 25.00 (or leave it empty).") from None
        if amount <= 0:
            raise InvalidNoShowFee("The fee must be more than zero (or leave it empty for payment up front).")
        if amount > MAX_UNIT_AMOUNT:  # Stripe's largest charge, as for a price
            raise InvalidNoShowFee(f"The fee can be at most {format_money(MAX_UNIT_AMOUNT, session_type.currency)}.")
        problem = charge_problem(amount, session_type.currency)
        if problem:  # Stripe would refuse the charge at the no-show: say so now
            raise InvalidNoShowFee(problem)
    window_text = str(window_hours if window_hours is not None else "").strip() or "24"
    if not window_text.isdigit() or not 1 <= int(window_text) <= MAX_WINDOW_HOURS:
        raise InvalidNoShowFee(f"The window must be a whole number of hours from 1 to {MAX_WINDOW_HOURS}.")
    before = {"no_show_fee_amount": session_type.no_show_fee_amount,
              "no_show_window_hours": session_type.no_show_window_hours}
    session_type.no_show_fee_amount, session_type.no_show_window_hours = amount, int(window_text)
    after = {"no_show_fee_amount": amount, "no_show_window_hours": int(window_text)}
    if after != before:
        session_type.updated_at = utcnow()
        session.add(session_type)
        session.flush()
        audit.record(session=session, actor=actor, action="no_show_fee.update", entity_type="session_type",
                     entity_id=session_type.id, builder_id=session_type.builder_id, before=before, after=after)
    return _fee_row(session_type)


__all__ = ["InvalidNoShowFee", "InvalidReminderTimes", "NoShowFeeRow", "no_show_fee_rows", "reminder_times",
           "save_no_show_fee", "save_reminder_times"]
