"""SQLite: refuse overlapping active bookings of one builder in the database, as PostgreSQL does.

PostgreSQL has the exclusion constraint ex_booking_no_overlap (0001). SQLite has no range types, so two
triggers raise the same constraint name. Times are stored as UTC text in one fixed format, so text
comparison orders them correctly.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OVERLAP = """
    NEW.status IN ('pending', 'confirmed') AND EXISTS (
        SELECT 1 FROM booking AS other
        WHERE other.builder_id = NEW.builder_id
          AND other.id != NEW.id
          AND other.status IN ('pending', 'confirmed')
          AND other.start_time < NEW.end_time
          AND other.end_time > NEW.start_time
    )
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(f"""
        CREATE TRIGGER ex_booking_no_overlap_insert BEFORE INSERT ON booking
        WHEN {_OVERLAP}
        BEGIN SELECT RAISE(ABORT, 'ex_booking_no_overlap: overlapping active booking'); END
    """)
    op.execute(f"""
        CREATE TRIGGER ex_booking_no_overlap_update
        BEFORE UPDATE OF status, start_time, end_time, builder_id ON booking
        WHEN {_OVERLAP}
        BEGIN SELECT RAISE(ABORT, 'ex_booking_no_overlap: overlapping active booking'); END
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS ex_booking_no_overlap_update")
    op.execute("DROP TRIGGER IF EXISTS ex_booking_no_overlap_insert")
