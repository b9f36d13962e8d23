"""Versions that let slot search keep a builder's schedule and bookings between searches.

- `builder.schedule_version`: set to a fresh random number by triggers whenever one of the builder's
  weekly hours, date overrides or session types' own hours is inserted, changed or deleted. Random
  rather than counted, so a rolled-back change never hands its number to a later one.
- `booking.busy_tag`: a fresh number on every insert and update of a booking, set by a trigger
  (PostgreSQL: a sequence, never reused; SQLite: a random 40-bit number, as SQLite has no sequences
  that survive a rollback). Slot search keys its cached bookings by the count and the sum of the tags
  of the bookings in its window, an index-only aggregate: any change in the window changes it.

Whatever writes the tables (the app, a script, psql), the versions follow: triggers, not application code.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, how a row names its builder)
_SCHEDULE_TABLES = (
    ("availability_rule", "{row}.builder_id"),
    ("availability_override", "{row}.builder_id"),
    ("session_type_availability_rule", "(SELECT builder_id FROM session_type WHERE id = {row}.session_type_id)"),
)
_KEY_INDEX = ("ix_booking_busy_key", ["builder_id", "start_time", "end_time", "status", "busy_tag"])


def _postgresql_upgrade() -> None:
    op.execute("""
        CREATE FUNCTION schedule_version_bump(owner_id integer) RETURNS void AS $$
        BEGIN
            UPDATE builder SET schedule_version = floor(random() * 9007199254740991)::bigint WHERE id = owner_id;
        END $$ LANGUAGE plpgsql
    """)
    for table, builder in _SCHEDULE_TABLES:
        op.execute(f"""
            CREATE FUNCTION {table}_schedule_version() RETURNS trigger AS $$
            BEGIN
                IF TG_OP <> 'INSERT' THEN PERFORM schedule_version_bump({builder.format(row="OLD")}); END IF;
                IF TG_OP <> 'DELETE' THEN PERFORM schedule_version_bump({builder.format(row="NEW")}); END IF;
                RETURN NULL;
            END $$ LANGUAGE plpgsql
        """)
        op.execute(f"CREATE TRIGGER {table}_schedule_version AFTER INSERT OR UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {table}_schedule_version()")
    op.execute("CREATE SEQUENCE booking_busy_tag_seq")
    op.execute("""
        CREATE FUNCTION booking_busy_tag() RETURNS trigger AS $$
        BEGIN
            NEW.busy_tag := nextval('booking_busy_tag_seq');
            RETURN NEW;
        END $$ LANGUAGE plpgsql
    """)
    op.execute("CREATE TRIGGER booking_busy_tag BEFORE INSERT OR UPDATE ON booking "
               "FOR EACH ROW EXECUTE FUNCTION booking_busy_tag()")


def _sqlite_upgrade() -> None:
    bump = "UPDATE builder SET schedule_version = random() WHERE id = {builder};"
    for table, builder in _SCHEDULE_TABLES:
        for event, rows in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")), ("DELETE", ("OLD",))):
            body = " ".join(bump.format(builder=builder.format(row=row)) for row in rows)
            op.execute(f"CREATE TRIGGER {table}_schedule_version_{event.lower()} AFTER {event} ON {table} "
                       f"BEGIN {body} END")
    # A trigger may not set NEW in SQLite: it updates the row it follows. Its own update does not fire
    # it again (the WHEN sees the tag changed; SQLite's recursive triggers are off besides).
    tag = "UPDATE booking SET busy_tag = random() & 1099511627775 WHERE id = NEW.id;"
    op.execute(f"CREATE TRIGGER booking_busy_tag_insert AFTER INSERT ON booking BEGIN {tag} END")
    op.execute(f"CREATE TRIGGER booking_busy_tag_update AFTER UPDATE ON booking "
               f"WHEN NEW.busy_tag = OLD.busy_tag BEGIN {tag} END")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    # Plain ALTERs (no batch copy on SQLite: that would drop the booking triggers).
    op.add_column("builder", sa.Column("schedule_version", sa.BigInteger(), nullable=False, server_default="0"))
    op.add_column("booking", sa.Column("busy_tag", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_index(_KEY_INDEX[0], "booking", _KEY_INDEX[1])
    if dialect == "postgresql":
        _postgresql_upgrade()
    elif dialect == "sqlite":
        _sqlite_upgrade()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER booking_busy_tag ON booking")
        op.execute("DROP FUNCTION booking_busy_tag()")
        op.execute("DROP SEQUENCE booking_busy_tag_seq")
        for table, _builder in _SCHEDULE_TABLES:
            op.execute(f"DROP TRIGGER {table}_schedule_version ON {table}")
            op.execute(f"DROP FUNCTION {table}_schedule_version()")
        op.execute("DROP FUNCTION schedule_version_bump(integer)")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER booking_busy_tag_insert")
        op.execute("DROP TRIGGER booking_busy_tag_update")
        for table, _builder in _SCHEDULE_TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_schedule_version_{event}")
    op.drop_index(_KEY_INDEX[0], table_name="booking")
    # Plain SQL: a batch copy on SQLite would lose the booking triggers.
    op.execute("ALTER TABLE booking DROP COLUMN busy_tag")
    op.execute("ALTER TABLE builder DROP COLUMN schedule_version")
