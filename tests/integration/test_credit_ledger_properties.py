"""Credits never go negative and are never spent twice, whatever the order of the ledger's steps
(a hypothesis state machine against the real database, SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.core.db import session_scope
from booking.core.models import CreditEntry, CreditEntryKind, CreditGrant
from booking.payments import credits
from tests.support.credits import NOW, booking_for, grant_for, setup
from tests.support.databases import empty_all_tables


def test_credits_never_go_negative_nor_are_spent_twice(engine: Engine, database_url: str) -> None:
    class CreditMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            empty_all_tables(database_url)
            self.now = NOW
            self.bookings: list[str] = []
            with session_scope(engine) as session:
                self.builder, self.session_type, self.client = setup(session)
                self.ids = (self.builder.id, self.session_type.id, self.client.email)

        def step(self, action) -> None:
            try:
                with session_scope(engine) as session:
                    action(session)
            except credits.CreditError:
                pass  # refused: nothing changed (checked by the invariants)

        @rule(quantity=st.integers(1, 3), days=st.integers(1, 20))
        def grant(self, quantity: int, days: int) -> None:
            self.step(lambda s: grant_for(s, builder=s.get(type(self.builder), self.ids[0]),
                                          session_type=s.get(type(self.session_type), self.ids[1]),
                                          email=self.ids[2], quantity=quantity, now=self.now, days=days))

        @rule()
        def hold_a_slot_with_a_credit(self) -> None:
            with session_scope(engine) as session:  # the hold's booking, then its credit (may be refused)
                booking_id = booking_for(session, builder=session.get(type(self.builder), self.ids[0]),
                                         session_type=session.get(type(self.session_type), self.ids[1]),
                                         client=session.get(type(self.client), self.client.id),
                                         hours_ahead=2 * len(self.bookings)).id
            self.bookings.append(booking_id)
            self.step(lambda s: credits.reserve(session=s, booking_id=booking_id, builder_id=self.ids[0],
                                                client_email=self.ids[2], session_type_id=self.ids[1], now=self.now))

        @rule(pick=st.integers(0, 50), action=st.sampled_from(["redeem", "release", "return", "reserve again"]))
        def act_on_a_booking(self, pick: int, action: str) -> None:
            if not self.bookings:
                return
            booking_id = self.bookings[pick % len(self.bookings)]
            steps = {
                "redeem": lambda s: credits.redeem(session=s, booking_id=booking_id, now=self.now),
                "release": lambda s: credits.release_reservation(session=s, booking_id=booking_id, now=self.now),
                "return": lambda s: credits.return_credit(session=s, booking_id=booking_id, now=self.now),
                "reserve again": lambda s: credits.reserve(
                    session=s, booking_id=booking_id, builder_id=self.ids[0], client_email=self.ids[2],
                    session_type_id=self.ids[1], now=self.now),
            }
            self.step(steps[action])

        @rule(days=st.integers(1, 15))
        def time_passes_and_credits_expire(self, days: int) -> None:
            self.now += timedelta(days=days)
            self.step(lambda s: credits.expire_due(session=s, now=self.now))

        @rule(quantity=st.one_of(st.none(), st.integers(1, 3)), key=st.integers(0, 3))
        def builder_refunds_unused(self, quantity: int | None, key: int) -> None:
            def act(session: Session) -> None:
                for grant_id in session.exec(select(CreditGrant.id)).all():
                    credits.refund_unused(session=session, grant_id=grant_id, request_key=f"{grant_id}-{key}",
                                          quantity=quantity, now=self.now)
            self.step(act)

        @invariant()
        def nothing_negative_nothing_twice(self) -> None:
            with Session(engine) as session:
                for grant_id in session.exec(select(CreditGrant.id)).all():
                    numbers = credits.grant_balance(session=session, grant_id=grant_id, now=self.now).tally
                    assert numbers.available >= 0 and numbers.held >= 0 and numbers.spent >= 0
                    assert numbers.held + numbers.spent + numbers.expired + numbers.refunded <= numbers.granted
                lines = session.exec(select(CreditEntry).where(CreditEntry.booking_id.is_not(None))).all()
                by_booking: dict[str, list[CreditEntryKind]] = {}
                for line in sorted(lines, key=lambda entry: entry.id):
                    by_booking.setdefault(line.booking_id, []).append(CreditEntryKind(line.kind))
                for kinds in by_booking.values():  # one credit per booking, each step once, in order
                    assert kinds in ([CreditEntryKind.RESERVED],
                                     [CreditEntryKind.RESERVED, CreditEntryKind.REDEEMED],
                                     [CreditEntryKind.RESERVED, CreditEntryKind.RETURNED],
                                     [CreditEntryKind.RESERVED, CreditEntryKind.REDEEMED, CreditEntryKind.RETURNED])
                assert credits.balance(session=session, client_email=self.ids[2], now=self.now).available >= 0

    run_state_machine_as_test(CreditMachine, settings=settings(
        max_examples=15, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
