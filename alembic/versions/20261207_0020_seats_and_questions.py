"""Workshops with seats, and booking questions (issue 17).

Seats. `session_type.seats` (1: a one-to-one session). Each seat is its own booking: `booking.seat_no`
and `booking.seat_capacity` (the type's seats when the hold was taken), with
- CHECK ck_booking_seat: 0 <= seat_no < seat_capacity;
- UNIQUE uq_booking_active_seat (builder_id, start_time, seat_no) over active bookings (it replaces
  uq_booking_active_start): a seat is held once, so a start takes at most `capacity` bookings, whatever
  the concurrency, on both engines;
- the no-overlap rule now lets seats of the same session share their time: overlapping active bookings
  of one builder conflict when their session types differ, or their starts, or their ends. PostgreSQL:
  three exclusion constraints (an exclusion is an AND; three of them make the OR), `<>` from
  btree_gist; SQLite: the two triggers of 0002/0007 with the same condition.

Questions. `booking_question` (a session type's form, at most 10) and `booking_answer` (a booking's
answers, with the question's words as asked).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE_SQL = "status IN ('pending', 'confirmed')"
_RANGE = "tstzrange(start_time, end_time)"
_EXCLUSIONS = (("ex_booking_no_overlap", "session_type_id"), ("ex_booking_no_overlap_start", "start_time"),
               ("ex_booking_no_overlap_end", "end_time"))


def _overlap(seats_share: bool) -> str:
    same_session = """
          AND NOT (other.session_type_id = NEW.session_type_id
                   AND other.start_time = NEW.start_time AND other.end_time = NEW.end_time)""" if seats_share else ""
    return f"""
    NEW.status IN ('pending', 'confirmed') AND EXISTS (
        SELECT 1 FROM booking AS other
        WHERE other.builder_id = NEW.builder_id
          AND other.id != NEW.id
          AND other.status IN ('pending', 'confirmed')
          AND other.start_time < NEW.end_time
          AND other.end_time > NEW.start_time{same_session}
    )
"""


def _sqlite_triggers(seats_share: bool) -> None:
    op.execute("DROP TRIGGER IF EXISTS ex_booking_no_overlap_update")
    op.execute("DROP TRIGGER IF EXISTS ex_booking_no_overlap_insert")
    condition = _overlap(seats_share)
    op.execute(f"""
        CREATE TRIGGER ex_booking_no_overlap_insert BEFORE INSERT ON booking
        WHEN {condition}
        BEGIN SELECT RAISE(ABORT, 'ex_booking_no_overlap: overlapping active booking'); END
    """)
    columns = "status, start_time, end_time, builder_id" + (", session_type_id" if seats_share else "")
    op.execute(f"""
        CREATE TRIGGER ex_booking_no_overlap_update
        BEFORE UPDATE OF {columns} ON booking
        WHEN {condition}
        BEGIN SELECT RAISE(ABORT, 'ex_booking_no_overlap: overlapping active booking'); END
    """)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    # Plain ALTERs (no batch copy on SQLite: that would drop the triggers).
    op.add_column("session_type", sa.Column("seats", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("booking", sa.Column("seat_capacity", sa.Integer(), nullable=False, server_default="1"))
    if dialect == "sqlite":  # SQLite adds a CHECK only with its column
        op.execute("ALTER TABLE booking ADD COLUMN seat_no INTEGER NOT NULL DEFAULT 0 "
                   "CONSTRAINT ck_booking_seat CHECK (seat_no >= 0 AND seat_no < seat_capacity)")
    else:
        op.add_column("booking", sa.Column("seat_no", sa.Integer(), nullable=False, server_default="0"))
        op.create_check_constraint("ck_booking_seat", "booking", "seat_no >= 0 AND seat_no < seat_capacity")
    op.execute("DROP INDEX IF EXISTS uq_booking_active_start")
    op.create_index("uq_booking_active_seat", "booking", ["builder_id", "start_time", "seat_no"], unique=True,
                    sqlite_where=sa.text(_ACTIVE_SQL), postgresql_where=sa.text(_ACTIVE_SQL))
    if dialect == "postgresql":
        op.execute("ALTER TABLE booking DROP CONSTRAINT IF EXISTS ex_booking_no_overlap")
        for name, column in _EXCLUSIONS:
            op.execute(f"ALTER TABLE booking ADD CONSTRAINT {name} EXCLUDE USING gist "
                       f"(builder_id WITH =, {_RANGE} WITH &&, {column} WITH <>) WHERE ({_ACTIVE_SQL})")
    elif dialect == "sqlite":
        _sqlite_triggers(seats_share=True)

    op.create_table(
        "booking_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_type_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("options", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["session_type_id"], ["session_type.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_type_id", "position", name="uq_booking_question_position"),
    )
    op.create_index("ix_booking_question_session_type_id", "booking_question", ["session_type_id"])
    op.create_table(
        "booking_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("booking_id", "position", name="uq_booking_answer_position"),
    )
    op.create_index("ix_booking_answer_booking_id", "booking_answer", ["booking_id"])


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index("ix_booking_answer_booking_id", table_name="booking_answer")
    op.drop_table("booking_answer")
    op.drop_index("ix_booking_question_session_type_id", table_name="booking_question")
    op.drop_table("booking_question")
    # Seats of one session become overlapping bookings again: only one of each start can stay active.
    if dialect == "postgresql":
        for name, _column in _EXCLUSIONS:
            op.execute(f"ALTER TABLE booking DROP CONSTRAINT IF EXISTS {name}")
    op.execute("UPDATE booking SET status = 'cancelled', end_cause = 'cancelled_by_builder' "
               f"WHERE seat_no > 0 AND {_ACTIVE_SQL}")
    if dialect == "postgresql":
        op.execute(f"ALTER TABLE booking ADD CONSTRAINT ex_booking_no_overlap EXCLUDE USING gist "
                   f"(builder_id WITH =, {_RANGE} WITH &&) WHERE ({_ACTIVE_SQL})")
    elif dialect == "sqlite":
        _sqlite_triggers(seats_share=False)
    op.drop_index("uq_booking_active_seat", table_name="booking")
    op.create_index("uq_booking_active_start", "booking", ["builder_id", "start_time"], unique=True,
                    sqlite_where=sa.text(_ACTIVE_SQL), postgresql_where=sa.text(_ACTIVE_SQL))
    if dialect != "sqlite":
        op.drop_constraint("ck_booking_seat", "booking", type_="check")
    op.drop_column("booking", "seat_no")
    op.drop_column("booking", "seat_capacity")
    op.drop_column("session_type", "seats")
