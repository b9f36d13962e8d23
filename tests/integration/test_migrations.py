"""The Alembic migrations: they build exactly the models' schema, and they can be undone."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import booking.core.models  # noqa: F401 - registers every table on SQLModel.metadata
from booking.core import migrations
from booking.core.db import make_engine
from tests.support.databases import POSTGRES_ADMIN_URL, backends, drop_later

MODEL_TABLES = frozenset(SQLModel.metadata.tables)


@contextmanager
def empty_database(backend: str, directory: Path) -> Iterator[str]:
    """A database with nothing in it (not even alembic_version), dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / f'empty-{secrets.token_hex(4)}.db'}"
        return
    name = f"booking_migrations_{os.getpid()}_{secrets.token_hex(4)}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        admin.dispose()
        drop_later(name)


@contextmanager
def connected(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def table_names(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(migrations.alembic_config(url)).get_current_head()


@pytest.fixture(params=backends())
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with empty_database(request.param, tmp_path) as url:
        yield url


def test_upgrade_downgrade_upgrade_round_trip(empty_url: str) -> None:
    migrations.upgrade(empty_url)
    with connected(empty_url) as engine:
        assert table_names(engine) == MODEL_TABLES | {"alembic_version"}
        assert current_revision(engine) == head_revision(empty_url)

    migrations.downgrade(empty_url, "base")
    with connected(empty_url) as engine:
        assert table_names(engine) == {"alembic_version"}
        assert current_revision(engine) is None
        if engine.dialect.name == "sqlite":
            with engine.connect() as connection:
                leftovers = connection.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'"
                ).scalars().all()
            assert leftovers == []

    migrations.upgrade(empty_url)
    with connected(empty_url) as engine:
        assert table_names(engine) == MODEL_TABLES | {"alembic_version"}
        assert current_revision(engine) == head_revision(empty_url)


def test_models_and_migrations_agree(database_url: str) -> None:
    """Autogenerate against a migrated database proposes nothing: no migration is missing."""
    with connected(database_url) as engine, engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)

    assert differences == []


def test_database_is_at_the_newest_revision(database_url: str) -> None:
    with connected(database_url) as engine:
        assert current_revision(engine) == head_revision(database_url)


def test_booking_overlap_guard_exists(database_url: str) -> None:
    with connected(database_url) as engine, engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            row = connection.execute(
                sa.text(
                    "SELECT contype, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conname = 'ex_booking_no_overlap' AND conrelid = 'booking'::regclass"
                )
            ).one()
            kind, definition = row
            assert kind == "x"  # an exclusion constraint
            assert "gist" in definition.lower()
            assert "&&" in definition
            assert "pending" in definition and "confirmed" in definition
        else:
            definition = connection.execute(
                sa.text(
                    "SELECT sql FROM sqlite_master "
                    "WHERE type = 'index' AND name = 'uq_booking_active_seat' AND tbl_name = 'booking'"
                )
            ).scalar_one()
            assert "UNIQUE" in definition.upper()
            assert "WHERE" in definition.upper()
            assert "'pending'" in definition and "'confirmed'" in definition

        indexes = {index["name"]: index for index in sa.inspect(connection).get_indexes("booking")}
    # Seats (0020): a start takes one booking per seat number.
    assert indexes["uq_booking_active_seat"]["unique"]
    assert indexes["uq_booking_active_seat"]["column_names"] == ["builder_id", "start_time", "seat_no"]


def test_upgrade_carries_existing_bookings_over_to_payment_and_refund_rows(empty_url: str) -> None:
    """Bookings written before payment records existed get their Payment (and Refund) rows."""
    from datetime import datetime, timedelta, timezone

    from sqlmodel.sql.sqltypes import UTCDateTime

    migrations.upgrade(empty_url, "0002")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    start = now + timedelta(days=3)
    moments = {name: sa.bindparam(name, type_=UTCDateTime()) for name in ("now", "start", "end", "hold")}
    with connected(empty_url) as engine, engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO builder (id, name, slug, email, time_zone, bio, buffer_minutes, min_notice_minutes,"
            " horizon_days, slot_step_minutes, created_at)"
            " VALUES (1, 'Ada', 'ada', 'ada@example.com', 'Europe/London', '', 0, 0, 60, 30, :now)"
        ).bindparams(moments["now"]), {"now": now})
        connection.execute(sa.text(
            "INSERT INTO client (id, name, email, created_at) VALUES (1, 'Ann', 'ann@example.com', :now)"
        ).bindparams(moments["now"]), {"now": now})
        connection.execute(sa.text(
            "INSERT INTO session_type (id, builder_id, name, description, duration_minutes, price_amount, currency,"
            " active, created_at) VALUES (1, 1, 'Consult', '', 60, 5000, 'gbp', TRUE, :now)"
        ).bindparams(moments["now"]), {"now": now})
        insert_booking = sa.text(
            "INSERT INTO booking (id, client_id, builder_id, session_type_id, start_time, end_time, status,"
            " payment_status, payment_intent_id, checkout_session_id, checkout_attempts, amount, currency,"
            " amount_refunded, client_time_zone, hold_expires_at, confirmed_at, created_at, updated_at)"
            " VALUES (:id, 1, 1, 1, :start, :end, :status, :payment_status, :pi, :cs, :attempts, 5000, 'gbp',"
            " :refunded, 'UTC', :hold, :confirmed, :now, :now)"
        ).bindparams(*moments.values(), sa.bindparam("confirmed", type_=UTCDateTime()))
        connection.execute(insert_booking, {
            "id": "paid-partly-refunded", "start": start, "end": start + timedelta(hours=1), "status": "confirmed",
            "payment_status": "partially_refunded", "pi": "pi_old", "cs": "cs_old_2", "attempts": 2,
            "refunded": 1500, "hold": None, "confirmed": now, "now": now})
        connection.execute(insert_booking, {
            "id": "still-pending", "start": start + timedelta(hours=2), "end": start + timedelta(hours=3),
            "status": "pending", "payment_status": "unpaid", "pi": None, "cs": "cs_pending", "attempts": 1,
            "refunded": 0, "hold": now + timedelta(minutes=30), "confirmed": None, "now": now})

    migrations.upgrade(empty_url)

    with connected(empty_url) as engine, engine.connect() as connection:
        payments = connection.execute(sa.text(
            "SELECT booking_id, attempt, checkout_session_id, payment_intent_id, amount, currency, status,"
            " amount_refunded, paid_at IS NOT NULL FROM payment ORDER BY booking_id")).all()
        refunds = connection.execute(sa.text(
            "SELECT booking_id, amount, currency, status, requested_by, stripe_refund_id FROM refund")).all()
        seats = connection.execute(sa.text("SELECT seat_no, seat_capacity FROM booking")).all()
        type_seats = connection.execute(sa.text("SELECT seats FROM session_type")).scalars().all()
    assert [tuple(row) for row in seats] == [(0, 1), (0, 1)] and type_seats == [1]  # 0020: one seat each
    assert [tuple(row) for row in payments] == [
        ("paid-partly-refunded", 2, "cs_old_2", "pi_old", 5000, "gbp", "partially_refunded", 1500, True),
        ("still-pending", 1, "cs_pending", None, 5000, "gbp", "open", 0, False),
    ]
    assert [tuple(row) for row in refunds] == [("paid-partly-refunded", 1500, "gbp", "succeeded", "stripe", None)]


def test_0006_turns_the_free_text_reasons_into_end_causes_and_back(empty_url: str) -> None:
    """Every text the code wrote maps to its cause; any other text was the builder's message (kept as the
    note); the downgrade writes the texts back."""
    from datetime import datetime, timedelta, timezone

    from sqlmodel.sql.sqltypes import UTCDateTime

    migrations.upgrade(empty_url, "0005")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    reasons = {  # booking id: (status, cancellation_reason) -> (end_cause, end_note)
        "replaced": ("cancelled", "replaced by a new hold from the same browser", "replaced", None),
        "expired": ("expired", "hold expired", "expired", None),
        "expired-silent": ("expired", None, "expired", None),
        "released": ("cancelled", "released by client", "released_by_client", None),
        "failed": ("cancelled", "payment failed", "payment_failed", None),
        "unreachable": ("cancelled", "the payment provider could not be reached", "provider_unreachable", None),
        "repaired": ("cancelled", "checkout interrupted; repaired by reconcile", "repaired_by_reconcile", None),
        "builder": ("cancelled", "Cancelled by the builder", "cancelled_by_builder", None),
        "builder-note": ("cancelled", "Ill, sorry", "cancelled_by_builder", "Ill, sorry"),
        "client": ("cancelled", "Cancelled by the client", "cancelled_by_client", None),
        "refunded": ("cancelled", "refunded", "refunded", None),
        "revived": ("confirmed", None, None, None),
    }
    stamp = sa.bindparam("now", type_=UTCDateTime())
    with connected(empty_url) as engine, engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO builder (id, name, slug, email, time_zone, bio, buffer_minutes, min_notice_minutes,"
            " horizon_days, slot_step_minutes, created_at)"
            " VALUES (1, 'Ada', 'ada', 'ada@example.com', 'Europe/London', '', 0, 0, 60, 30, :now)"
        ).bindparams(stamp), {"now": now})
        connection.execute(sa.text(
            "INSERT INTO client (id, name, email, created_at) VALUES (1, 'Ann', 'ann@example.com', :now)"
        ).bindparams(stamp), {"now": now})
        connection.execute(sa.text(
            "INSERT INTO session_type (id, builder_id, name, description, duration_minutes, price_amount, currency,"
            " active, created_at) VALUES (1, 1, 'Consult', '', 60, 5000, 'gbp', TRUE, :now)"
        ).bindparams(stamp), {"now": now})
        insert = sa.text(
            "INSERT INTO booking (id, client_id, builder_id, session_type_id, start_time, end_time, status,"
            " payment_status, checkout_attempts, amount, currency, amount_refunded, client_time_zone,"
            " cancellation_reason, created_at, updated_at)"
            " VALUES (:id, 1, 1, 1, :start, :end, :status, 'unpaid', 1, 5000, 'gbp', 0, 'UTC', :reason, :now, :now)"
        ).bindparams(stamp, sa.bindparam("start", type_=UTCDateTime()), sa.bindparam("end", type_=UTCDateTime()))
        for hours, (booking_id, (status, reason, _cause, _note)) in enumerate(reasons.items()):
            start = now + timedelta(days=3, hours=hours)
            connection.execute(insert, {"id": booking_id, "start": start, "end": start + timedelta(minutes=30),
                                        "status": status, "reason": reason, "now": now})

    migrations.upgrade(empty_url)

    with connected(empty_url) as engine:
        with engine.connect() as connection:
            ended = {row[0]: (row[1], row[2]) for row in connection.execute(
                sa.text("SELECT id, end_cause, end_note FROM booking"))}
        assert ended == {booking_id: (cause, note) for booking_id, (_s, _r, cause, note) in reasons.items()}
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:  # a cause outside the enum
            connection.execute(sa.text("UPDATE booking SET end_cause = 'gone' WHERE id = 'replaced'"))

    migrations.downgrade(empty_url, "0005")

    with connected(empty_url) as engine, engine.connect() as connection:
        texts = {row[0]: row[1] for row in connection.execute(sa.text("SELECT id, cancellation_reason FROM booking"))}
    assert texts == {booking_id: reason for booking_id, (_s, reason, _c, _n) in reasons.items()} | {
        "expired-silent": "hold expired"}


def test_0007_carries_booking_money_over_to_the_ledger_and_the_downgrade_brings_it_back(empty_url: str) -> None:
    """Booking's money columns go: each booking's Payment row is made or completed from them first (and a
    refunded amount no Refund row accounts for gets one); the downgrade fills the columns back."""
    from datetime import datetime, timedelta, timezone

    from sqlmodel.sql.sqltypes import UTCDateTime

    migrations.upgrade(empty_url, "0006")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    start = now + timedelta(days=3)
    moment = {name: sa.bindparam(name, type_=UTCDateTime()) for name in ("now", "start", "end", "hold", "confirmed")}
    with connected(empty_url) as engine, engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO builder (id, name, slug, email, time_zone, bio, buffer_minutes, min_notice_minutes,"
            " horizon_days, slot_step_minutes, created_at)"
            " VALUES (1, 'Ada', 'ada', 'ada@example.com', 'Europe/London', '', 0, 0, 60, 30, :now)"
        ).bindparams(moment["now"]), {"now": now})
        connection.execute(sa.text(
            "INSERT INTO client (id, name, email, created_at) VALUES (1, 'Ann', 'ann@example.com', :now)"
        ).bindparams(moment["now"]), {"now": now})
        connection.execute(sa.text(
            "INSERT INTO session_type (id, builder_id, name, description, duration_minutes, price_amount, currency,"
            " active, created_at, updated_at) VALUES (1, 1, 'Consult', '', 60, 5000, 'gbp', TRUE, :now, :now)"
        ).bindparams(moment["now"]), {"now": now})
        insert_booking = sa.text(
            "INSERT INTO booking (id, client_id, builder_id, session_type_id, start_time, end_time, status,"
            " payment_status, payment_intent_id, checkout_session_id, checkout_url, checkout_attempts, amount,"
            " currency, amount_refunded, client_time_zone, hold_expires_at, confirmed_at, created_at, updated_at)"
            " VALUES (:id, 1, 1, 1, :start, :end, :status, :payment_status, :pi, :cs, :url, :attempts, 5000, 'gbp',"
            " :refunded, 'UTC', :hold, :confirmed, :now, :now)"
        ).bindparams(*moment.values())
        insert_payment = sa.text(
            "INSERT INTO payment (booking_id, attempt, checkout_session_id, payment_intent_id, amount, currency,"
            " status, amount_refunded, created_at, updated_at) VALUES (:booking, :attempt, :cs, :pi, 5000, 'gbp',"
            " :status, 0, :now, :now)"
        ).bindparams(moment["now"])
        hour = iter(start + timedelta(hours=2 * n) for n in range(10))

        def booking(booking_id, **values):
            begin = next(hour)
            row = {"id": booking_id, "start": begin, "end": begin + timedelta(hours=1), "status": "confirmed",
                   "payment_status": "paid", "pi": None, "cs": None, "url": None, "attempts": 1, "refunded": 0,
                   "hold": None, "confirmed": now, "now": now}
            connection.execute(insert_booking, {**row, **values})

        # No Payment row at all (the runtime carry-over used to make it on first touch).
        booking("hold-without-row", status="pending", payment_status="unpaid", cs="cs_hold",
                url="https://checkout.example/cs_hold", hold=now + timedelta(minutes=30), confirmed=None)
        # A row left behind: open, no payment intent, while the booking says paid.
        booking("paid-stale-row", pi="pi_paid", cs="cs_paid")
        connection.execute(insert_payment, {"booking": "paid-stale-row", "attempt": 1, "cs": "cs_paid", "pi": None,
                                            "status": "open", "now": now})
        # Refunded 1500 by the booking's count, no Refund row for it; its second attempt's row is missing.
        booking("refunded-second-attempt", payment_status="partially_refunded", pi="pi_refunded",
                cs="cs_refunded_2", attempts=2, refunded=1500)
        connection.execute(insert_payment, {"booking": "refunded-second-attempt", "attempt": 1, "cs": "cs_refunded_1",
                                            "pi": None, "status": "expired", "now": now})
        # Never reached Checkout (Stripe could not be reached): no session, no attempt counted.
        booking("never-checked-out", status="cancelled", payment_status="unpaid", attempts=0, confirmed=None)

    migrations.upgrade(empty_url)

    with connected(empty_url) as engine, engine.connect() as connection:
        booking_columns = {column["name"] for column in sa.inspect(connection).get_columns("booking")}
        payments = connection.execute(sa.text(
            "SELECT booking_id, attempt, checkout_session_id, payment_intent_id, checkout_url, amount, currency,"
            " status, amount_refunded, paid_at IS NOT NULL FROM payment ORDER BY booking_id, attempt")).all()
        refunds = connection.execute(sa.text(
            "SELECT booking_id, amount, currency, status, requested_by FROM refund ORDER BY booking_id")).all()
    assert not booking_columns & {"payment_status", "payment_intent_id", "checkout_session_id", "checkout_url",
                                  "checkout_attempts", "amount", "currency", "amount_refunded"}
    assert [tuple(row) for row in payments] == [
        ("hold-without-row", 1, "cs_hold", None, "https://checkout.example/cs_hold", 5000, "gbp", "open", 0, False),
        ("never-checked-out", 1, None, None, None, 5000, "gbp", "expired", 0, False),
        ("paid-stale-row", 1, "cs_paid", "pi_paid", None, 5000, "gbp", "paid", 0, True),
        ("refunded-second-attempt", 1, "cs_refunded_1", None, None, 5000, "gbp", "expired", 0, False),
        ("refunded-second-attempt", 2, "cs_refunded_2", "pi_refunded", None, 5000, "gbp", "partially_refunded",
         1500, True),
    ]
    assert [tuple(row) for row in refunds] == [("refunded-second-attempt", 1500, "gbp", "succeeded", "stripe")]

    migrations.downgrade(empty_url, "0006")

    with connected(empty_url) as engine, engine.connect() as connection:
        bookings = connection.execute(sa.text(
            "SELECT id, payment_status, payment_intent_id, checkout_session_id, checkout_url, checkout_attempts,"
            " amount, currency, amount_refunded FROM booking ORDER BY id")).all()
        payment_columns = {column["name"] for column in sa.inspect(connection).get_columns("payment")}
    assert [tuple(row) for row in bookings] == [
        ("hold-without-row", "unpaid", None, "cs_hold", "https://checkout.example/cs_hold", 1, 5000, "gbp", 0),
        ("never-checked-out", "unpaid", None, None, None, 1, 5000, "gbp", 0),
        ("paid-stale-row", "paid", "pi_paid", "cs_paid", None, 1, 5000, "gbp", 0),
        ("refunded-second-attempt", "partially_refunded", "pi_refunded", "cs_refunded_2", None, 2, 5000, "gbp", 1500),
    ]
    assert "checkout_url" not in payment_columns

    migrations.upgrade(empty_url)  # and up again: nothing is carried twice
    with connected(empty_url) as engine, engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM payment")).scalar_one() == 5
        assert connection.execute(sa.text("SELECT count(*) FROM refund")).scalar_one() == 1


def test_0008_keeps_the_uids_calendars_hold_and_the_overlap_guard(empty_url: str) -> None:
    """Existing bookings keep the calendar UID their invites went out with ("booking-<id>"); new ones
    get a random one from the model. The column is added in place: SQLite's overlap triggers stay."""
    from datetime import datetime, timedelta, timezone

    from sqlmodel import Session

    from booking.core.models import Booking
    from booking.notifications.ics import booking_uid

    migrations.upgrade(empty_url, "0007")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with connected(empty_url) as engine, engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO builder (id, name, slug, email, time_zone, bio, buffer_minutes, min_notice_minutes,"
            " horizon_days, slot_step_minutes, created_at)"
            " VALUES (1, 'Ada', 'ada', 'ada@example.com', 'Europe/London', '', 0, 0, 60, 30, :now)"), {"now": now})
        connection.execute(sa.text(
            "INSERT INTO client (id, name, email, created_at) VALUES (1, 'Ann', 'ann@example.com', :now)"),
            {"now": now})
        connection.execute(sa.text(
            "INSERT INTO session_type (id, builder_id, name, description, duration_minutes, price_amount, currency,"
            " active, created_at, updated_at) VALUES (1, 1, 'Consult', '', 60, 5000, 'gbp', TRUE, :now, :now)"),
            {"now": now})
        for n, booking_id in enumerate(("old-one", "old-two")):
            start = now + timedelta(days=3, hours=2 * n)
            connection.execute(sa.text(
                "INSERT INTO booking (id, client_id, builder_id, session_type_id, start_time, end_time, status,"
                " client_time_zone, reschedule_count, invite_sequence, created_at, updated_at)"
                " VALUES (:id, 1, 1, 1, :start, :end, 'confirmed', 'UTC', 0, 0, :now, :now)"),
                {"id": booking_id, "start": start, "end": start + timedelta(hours=1), "now": now})

    migrations.upgrade(empty_url, "head")  # 0008 and any later one: the ORM model is head's

    with connected(empty_url) as engine:
        with Session(engine) as session:
            old = session.get(Booking, "old-one")
            assert booking_uid(old.invite_uid, "book.example") == "booking-old-one@book.example"
            assert session.get(Booking, "old-two").invite_uid == "booking-old-two"
            start = now + timedelta(days=5)
            new = Booking(client_id=1, builder_id=1, session_type_id=1, start_time=start,
                          end_time=start + timedelta(hours=1))
            session.add(new)
            session.commit()
            assert new.invite_uid.startswith("inv-") and new.id not in new.invite_uid
            clash = Booking(client_id=1, builder_id=1, session_type_id=1, start_time=start + timedelta(minutes=30),
                            end_time=start + timedelta(minutes=90))
            session.add(clash)
            with pytest.raises(sa.exc.IntegrityError):  # the overlap guard survived the migration
                session.commit()
    migrations.downgrade(empty_url, "0007")
    with connected(empty_url) as engine:
        assert "invite_uid" not in {c["name"] for c in sa.inspect(engine).get_columns("booking")}


def _insert_an_old_booking(url: str) -> datetime:
    """A builder, a client, a session type and a confirmed booking 'old' three days on; returns its start."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with connected(url) as engine, engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO builder (id, name, slug, email, time_zone, bio, buffer_minutes, min_notice_minutes,"
            " horizon_days, slot_step_minutes, created_at)"
            " VALUES (1, 'Ada', 'ada', 'ada@example.com', 'Europe/London', '', 0, 0, 60, 30, :now)"), {"now": now})
        connection.execute(sa.text(
            "INSERT INTO client (id, name, email, created_at) VALUES (1, 'Ann', 'ann@example.com', :now)"),
            {"now": now})
        connection.execute(sa.text(
            "INSERT INTO session_type (id, builder_id, name, description, duration_minutes, price_amount, currency,"
            " active, created_at, updated_at) VALUES (1, 1, 'Consult', '', 60, 5000, 'gbp', TRUE, :now, :now)"),
            {"now": now})
        start = now + timedelta(days=3)
        connection.execute(sa.text(
            "INSERT INTO booking (id, client_id, builder_id, session_type_id, start_time, end_time, status,"
            " client_time_zone, reschedule_count, invite_sequence, invite_uid, created_at, updated_at)"
            " VALUES ('old', 1, 1, 1, :start, :end, 'confirmed', 'UTC', 0, 0, 'inv-old', :now, :now)"),
            {"start": start, "end": start + timedelta(hours=1), "now": now})
    return start


def test_0013_keeps_the_clients_clock_and_the_overlap_guard(empty_url: str) -> None:
    """`booking.client_hour12` is added in place (SQLite's overlap triggers stay); bookings made before it read
    as before (NULL: a 24-hour clock); the downgrade drops it."""
    from sqlmodel import Session

    from booking.core.models import Booking

    migrations.upgrade(empty_url, "0009")
    start = _insert_an_old_booking(empty_url)

    migrations.upgrade(empty_url, "head")

    with connected(empty_url) as engine, Session(engine) as session:
        assert session.get(Booking, "old").client_hour12 is None
        session.add(Booking(client_id=1, builder_id=1, session_type_id=1, start_time=start + timedelta(minutes=30),
                            end_time=start + timedelta(minutes=90), client_hour12=True))
        with pytest.raises(sa.exc.IntegrityError):  # the overlap guard survived the migration
            session.commit()
    migrations.downgrade(empty_url, "0009")
    with connected(empty_url) as engine:
        assert "client_hour12" not in {c["name"] for c in sa.inspect(engine).get_columns("booking")}
    migrations.upgrade(empty_url, "head")


def test_0028_keeps_the_clients_locale_and_the_overlap_guard(empty_url: str) -> None:
    """`booking.client_locale` is added in place (SQLite's overlap triggers stay); bookings made before it have
    none (the default locale); the downgrade drops it and keeps the triggers."""
    from sqlmodel import Session

    from booking.core.models import Booking

    migrations.upgrade(empty_url, "0027")
    start = _insert_an_old_booking(empty_url)
    migrations.upgrade(empty_url, "head")
    overlapping = dict(client_id=1, builder_id=1, session_type_id=1, start_time=start + timedelta(minutes=30),
                       end_time=start + timedelta(minutes=90))
    with connected(empty_url) as engine, Session(engine) as session:
        assert session.get(Booking, "old").client_locale is None
        session.add(Booking(**overlapping, client_locale="fr-FR"))
        with pytest.raises(sa.exc.IntegrityError):
            session.commit()
    migrations.downgrade(empty_url, "0027")
    with connected(empty_url) as engine:
        assert "client_locale" not in {c["name"] for c in sa.inspect(engine).get_columns("booking")}
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO booking (id, client_id, builder_id, session_type_id, start_time, end_time, status,"
                " client_time_zone, reschedule_count, invite_sequence, invite_uid, created_at, updated_at)"
                " VALUES ('new', 1, 1, 1, :start, :end, 'confirmed', 'UTC', 0, 0, 'inv-new', :start, :start)"),
                {"start": overlapping["start_time"], "end": overlapping["end_time"]})


def test_0029_keeps_the_buyers_locale_on_package_purchases_and_memberships(empty_url: str) -> None:
    """`package_purchase.client_locale` and `membership.client_locale` are added in place; those bought before
    have none (the default locale); the downgrade drops both and keeps the rows."""
    from sqlmodel import Session

    from booking.core.models import Membership, PackagePurchase

    migrations.upgrade(empty_url, "0028")
    now = _insert_an_old_booking(empty_url)  # its builder's; a time to stamp the rows with
    with connected(empty_url) as engine, engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO credit_package (id, builder_id, name, description, session_count, price_amount, currency,"
            " validity_days, active, revision, created_at, updated_at) VALUES (1, 1, 'Three', '', 3, 9000, 'gbp', 60,"
            " :t, 0, :now, :now)"), {"t": True, "now": now})
        connection.execute(sa.text(
            "INSERT INTO package_purchase (id, package_id, builder_id, client_email, client_name, client_time_zone,"
            " session_count, validity_days, created_at) VALUES (1, 1, 1, 'a@example.com', 'Ann', 'UTC', 3, 60,"
            " :now)"), {"now": now})
        connection.execute(sa.text(
            "INSERT INTO membership_plan (id, builder_id, name, sessions_per_period, amount, currency,"
            " unused_credits, active, created_at, updated_at) VALUES (1, 1, 'Monthly', 4, 4000, 'gbp', 'lapse', :t,"
            " :now, :now)"), {"t": True, "now": now})
        connection.execute(sa.text(
            "INSERT INTO membership (id, plan_id, builder_id, client_email, client_name, status,"
            " cancel_at_period_end, created_at, updated_at) VALUES (1, 1, 1, 'a@example.com', 'Ann', 'pending',"
            " :f, :now, :now)"), {"f": False, "now": now})

    migrations.upgrade(empty_url, "head")
    with connected(empty_url) as engine, Session(engine) as session:
        purchase, membership = session.get(PackagePurchase, 1), session.get(Membership, 1)
        assert (purchase.client_locale, membership.client_locale) == (None, None)
        purchase.client_locale = membership.client_locale = "fr-FR"
        session.commit()

    migrations.downgrade(empty_url, "0028")
    with connected(empty_url) as engine:
        inspector = sa.inspect(engine)
        for table in ("package_purchase", "membership"):
            assert "client_locale" not in {c["name"] for c in inspector.get_columns(table)}
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT client_name FROM package_purchase")).scalar_one() == "Ann"
            assert connection.execute(sa.text("SELECT client_name FROM membership")).scalar_one() == "Ann"
    migrations.upgrade(empty_url, "head")
