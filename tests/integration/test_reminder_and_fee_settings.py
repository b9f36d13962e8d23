"""The workspace settings for reminders and no-show fees: checked, saved with an audit entry, the builder's
own only."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from booking.accounts.authz import Actor, NotFound
from booking.core.models import AuditEntry, Builder, SessionType, UserRole
from booking.workspace import (
    InvalidNoShowFee,
    InvalidReminderTimes,
    no_show_fee_rows,
    save_no_show_fee,
    save_reminder_times,
)
from tests.factories import make_builder, make_session_type


def actor_of(builder: Builder) -> Actor:
    return Actor(user_id=None, email="ada@builder.test", role=UserRole.BUILDER, builder_id=builder.id)


def test_reminder_times_are_saved_checked_and_audited(engine, session: Session):
    builder = make_builder(session)
    session.commit()
    assert builder.reminder_offsets == "1440,60"
    with Session(engine) as s:
        assert save_reminder_times(session=s, actor=actor_of(builder), builder_id=builder.id, text="30, 120") == "120,30"
        s.commit()
    with Session(engine) as s:
        assert s.get(Builder, builder.id).reminder_offsets == "120,30"
        assert s.exec(select(AuditEntry).where(AuditEntry.action == "reminders.update")).one()
        with pytest.raises(InvalidReminderTimes):
            save_reminder_times(session=s, actor=actor_of(builder), builder_id=builder.id, text="soon")


def test_a_no_show_fee_is_saved_in_the_currency_and_can_be_turned_off(engine, session: Session):
    builder = make_builder(session)
    session_type = make_session_type(session, builder, currency="jpy", price_amount=5000)
    session.commit()
    actor = actor_of(builder)
    with Session(engine) as s:
        row = save_no_show_fee(session=s, actor=actor, session_type_id=session_type.id, fee="3000", window_hours="48")
        s.commit()
    assert (row.fee, row.window_hours) == ("3000", "48") and "¥3,000" in row.summary
    with Session(engine) as s:
        saved = s.get(SessionType, session_type.id)
        assert (saved.no_show_fee_amount, saved.no_show_window_hours) == (3000, 48)
        for fee, window in (("-5", "24"), ("abc", "24"), ("100", "0"), ("100", "1000")):
            with pytest.raises(InvalidNoShowFee):
                save_no_show_fee(session=s, actor=actor, session_type_id=session_type.id, fee=fee, window_hours=window)
        save_no_show_fee(session=s, actor=actor, session_type_id=session_type.id, fee="", window_hours="24")
        s.commit()
    with Session(engine) as s:
        assert s.get(SessionType, session_type.id).no_show_fee_amount is None
        assert [r.summary for r in no_show_fee_rows(session=s, actor=actor, builder_id=builder.id)] == ["Paid when booking"]


def test_a_no_show_fee_below_stripes_minimum_charge_is_refused_and_nothing_changes(engine, session: Session):
    builder = make_builder(session)
    session_type = make_session_type(session, builder, currency="jpy", price_amount=5000)
    session.commit()
    actor = actor_of(builder)
    with Session(engine) as s:
        save_no_show_fee(session=s, actor=actor, session_type_id=session_type.id, fee="1000", window_hours="24")
        s.commit()
    with Session(engine) as s:
        with pytest.raises(InvalidNoShowFee, match="Stripe's minimum charge in JPY is ¥50"):
            save_no_show_fee(session=s, actor=actor, session_type_id=session_type.id, fee="49", window_hours="48")
        s.commit()
    with Session(engine) as s:
        saved = s.get(SessionType, session_type.id)
        assert (saved.no_show_fee_amount, saved.no_show_window_hours) == (1000, 24)
        assert len(s.exec(select(AuditEntry).where(AuditEntry.action == "no_show_fee.update")).all()) == 1
        row = save_no_show_fee(session=s, actor=actor, session_type_id=session_type.id, fee="50", window_hours="24")
    assert "¥50" in row.summary  # the minimum itself is accepted


def test_a_no_show_fee_above_stripes_largest_charge_is_refused_and_nothing_changes(engine, session: Session):
    builder = make_builder(session)
    session_type = make_session_type(session, builder, currency="gbp", price_amount=5000)
    session.commit()
    actor = actor_of(builder)
    with Session(engine) as s:
        save_no_show_fee(session=s, actor=actor, session_type_id=session_type.id, fee="25", window_hours="24")
        s.commit()
    with Session(engine) as s:
        with pytest.raises(InvalidNoShowFee, match="The fee can be at most £999,999.99"):
            save_no_show_fee(session=s, actor=actor, session_type_id=session_type.id, fee="1000000",
                             window_hours="48")
        s.commit()
    with Session(engine) as s:
        saved = s.get(SessionType, session_type.id)
        assert (saved.no_show_fee_amount, saved.no_show_window_hours) == (2500, 24)
        assert len(s.exec(select(AuditEntry).where(AuditEntry.action == "no_show_fee.update")).all()) == 1
        row = save_no_show_fee(session=s, actor=actor, session_type_id=session_type.id, fee="999999.99",
                               window_hours="24")
    assert "£999,999.99" in row.summary  # the maximum itself is accepted


def test_another_builder_cannot_change_them(engine, session: Session):
    owner, stranger = make_builder(session), make_builder(session)
    session_type = make_session_type(session, owner)
    session.commit()
    with Session(engine) as s:
        with pytest.raises(NotFound):
            save_no_show_fee(session=s, actor=actor_of(stranger), session_type_id=session_type.id, fee="10",
                             window_hours="24")
        with pytest.raises(NotFound):
            save_reminder_times(session=s, actor=actor_of(stranger), builder_id=owner.id, text="60")
