"""One money ledger: Booking's 8 money columns move to the Payment and Refund rows, and are dropped.

Before the columns go, every booking's money is carried over (existing databases may hold bookings whose
Payment row is missing or behind, as the runtime carry-over used to repair them on first touch):
- the current attempt's Payment row (attempt = checkout_attempts) is made when missing, from the
  booking's columns, with the amount, currency, session, payment intent, Checkout URL and status;
- an existing row is completed: blank session / payment intent / Checkout URL filled in, its status moved
  forward to what the booking says (never back), its refund total raised to the booking's;
- a refunded amount no Refund row accounts for gets a `succeeded` Refund row (as 0003 did).
`checkout_url` joins `payment`. The downgrade adds the columns back and fills them from the ledger.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE_SQL = "status IN ('pending', 'confirmed')"
_SETTLED = ("paid", "partially_refunded", "refunded")
# Forward order of a Payment's status: a carried-over status only ever moves a row forward.
_RANK = {"creating": 0, "open": 1, "failed": 2, "expired": 2, "processing": 3, "paid": 4,
         "partially_refunded": 5, "refunded": 6}
_OLD_PAYMENT_STATUSES = ("unpaid", "processing", "failed", "paid", "partially_refunded", "refunded")

# Moments go through the models' own type (UTC text on SQLite, timestamptz on PostgreSQL).
_MOMENT = sqlmodel.sql.sqltypes.UTCDateTime()

booking_t = sa.table(
    "booking", sa.column("id"), sa.column("session_type_id"), sa.column("status"), sa.column("payment_status"),
    sa.column("payment_intent_id"), sa.column("checkout_session_id"), sa.column("checkout_url"),
    sa.column("checkout_attempts"), sa.column("amount"), sa.column("currency"), sa.column("amount_refunded"),
    sa.column("confirmed_at", _MOMENT), sa.column("created_at", _MOMENT), sa.column("updated_at", _MOMENT),
)
payment_t = sa.table(
    "payment", sa.column("id"), sa.column("booking_id"), sa.column("attempt"), sa.column("checkout_session_id"),
    sa.column("checkout_url"), sa.column("payment_intent_id"), sa.column("amount"), sa.column("currency"),
    sa.column("status"), sa.column("amount_refunded"), sa.column("application_fee_amount"),
    sa.column("created_at", _MOMENT), sa.column("updated_at", _MOMENT), sa.column("paid_at", _MOMENT),
)
refund_t = sa.table(
    "refund", sa.column("id"), sa.column("payment_id"), sa.column("booking_id"), sa.column("amount"),
    sa.column("currency"), sa.column("status"), sa.column("requested_by"), sa.column("reverse_transfer"),
    sa.column("application_fee_refunded"), sa.column("created_at", _MOMENT), sa.column("updated_at", _MOMENT),
)
session_type_t = sa.table("session_type", sa.column("id"), sa.column("price_amount"), sa.column("currency"))


def upgrade() -> None:
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checkout_url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True))
    _carry_over(op.get_bind())
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:  # the table is copied: its partial index and overlap triggers are made again after
        _drop_sqlite_guards()
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.drop_constraint("ck_booking_amount", type_="check")
        batch_op.drop_constraint("payment_status", type_="check")
        if sqlite:
            batch_op.drop_constraint("end_cause", type_="check")  # made again inline, as 0006 has it
        for name in ("amount_refunded", "currency", "amount", "checkout_attempts", "checkout_url",
                     "checkout_session_id", "payment_intent_id", "payment_status"):
            batch_op.drop_column(name)
    if sqlite:
        _create_sqlite_guards()
        _inline_end_cause_check()


def _carry_over(bind: sa.engine.Connection) -> None:
    now = datetime.now(timezone.utc)
    bookings = bind.execute(sa.select(booking_t).order_by(booking_t.c.created_at, booking_t.c.id)).mappings().all()
    for booking in bookings:
        rows = bind.execute(sa.select(payment_t).where(payment_t.c.booking_id == booking["id"])
                            .order_by(payment_t.c.attempt)).mappings().all()
        attempt = max(booking["checkout_attempts"] or 0, 1)
        current = next((row for row in rows if row["attempt"] == attempt), None)
        if current is None and booking["checkout_session_id"]:
            current = next((row for row in rows if row["checkout_session_id"] == booking["checkout_session_id"]),
                           None)
        if current is None:
            current = _insert_current(bind, booking, attempt, now)
        else:
            _complete(bind, booking, current, now)
        # The booking's own status and refund total belong to the payment its payment intent names.
        paid = next((row for row in rows if booking["payment_intent_id"]
                     and row["payment_intent_id"] == booking["payment_intent_id"]), None)
        if paid is not None and paid["id"] != current["id"]:
            _complete(bind, booking, paid, now)
            current = paid
        _account_for_refunds(bind, booking, current["id"], now)


def _taken(bind: sa.engine.Connection, column: sa.ColumnClause, value: str | None, booking_id: str) -> bool:
    """A payment row already holds this session or payment intent id (they are unique)."""
    return bool(value) and bind.execute(sa.select(payment_t.c.id).where(column == value)).first() is not None


def _old_status(booking: sa.RowMapping) -> str:
    if booking["payment_status"] in (*_SETTLED, "processing", "failed"):
        return booking["payment_status"]
    return "open" if booking["status"] == "pending" else "expired"


def _insert_current(bind: sa.engine.Connection, booking: sa.RowMapping, attempt: int,
                    now: datetime) -> sa.RowMapping:
    status = _old_status(booking)
    values = dict(
        booking_id=booking["id"], attempt=attempt,
        checkout_session_id=None if _taken(bind, payment_t.c.checkout_session_id, booking["checkout_session_id"],
                                           booking["id"]) else booking["checkout_session_id"],
        checkout_url=booking["checkout_url"],
        payment_intent_id=None if _taken(bind, payment_t.c.payment_intent_id, booking["payment_intent_id"],
                                         booking["id"]) else booking["payment_intent_id"],
        amount=booking["amount"], currency=booking["currency"], status=status,
        amount_refunded=min(booking["amount_refunded"] or 0, booking["amount"]), application_fee_amount=0,
        created_at=booking["created_at"] or now, updated_at=booking["updated_at"] or now,
        paid_at=(booking["confirmed_at"] or booking["updated_at"] or now) if status in _SETTLED else None,
    )
    bind.execute(sa.insert(payment_t).values(**values))
    return bind.execute(sa.select(payment_t).where(payment_t.c.booking_id == booking["id"],
                                                   payment_t.c.attempt == attempt)).mappings().one()


def _complete(bind: sa.engine.Connection, booking: sa.RowMapping, row: sa.RowMapping, now: datetime) -> None:
    """Fill what the row lacks and move it forward to what the booking says."""
    values: dict[str, object] = {}
    if row["checkout_session_id"] is None and booking["checkout_session_id"] and not _taken(
            bind, payment_t.c.checkout_session_id, booking["checkout_session_id"], booking["id"]):
        values["checkout_session_id"] = booking["checkout_session_id"]
    session_id = values.get("checkout_session_id", row["checkout_session_id"])
    if row["checkout_url"] is None and booking["checkout_url"] and session_id == booking["checkout_session_id"]:
        values["checkout_url"] = booking["checkout_url"]
    if row["payment_intent_id"] is None and booking["payment_intent_id"] and not _taken(
            bind, payment_t.c.payment_intent_id, booking["payment_intent_id"], booking["id"]):
        values["payment_intent_id"] = booking["payment_intent_id"]
    said = booking["payment_status"]
    if said in (*_SETTLED, "processing", "failed") and _RANK[said] > _RANK.get(row["status"], 0):
        values["status"] = said
        if said in _SETTLED and row["paid_at"] is None:
            values["paid_at"] = booking["confirmed_at"] or booking["updated_at"] or now
    refunded = min(booking["amount_refunded"] or 0, row["amount"])
    if refunded > (row["amount_refunded"] or 0):
        values["amount_refunded"] = refunded
    if values:
        values["updated_at"] = now
        bind.execute(sa.update(payment_t).where(payment_t.c.id == row["id"]).values(**values))


def _account_for_refunds(bind: sa.engine.Connection, booking: sa.RowMapping, payment_id: int, now: datetime) -> None:
    """A refunded amount that no accepted Refund row accounts for gets one (Stripe's id unknown)."""
    row = bind.execute(sa.select(payment_t).where(payment_t.c.id == payment_id)).mappings().one()
    accepted = bind.execute(
        sa.select(sa.func.coalesce(sa.func.sum(refund_t.c.amount), 0))
        .where(refund_t.c.payment_id == payment_id, refund_t.c.status.in_(("pending", "succeeded")))
    ).scalar_one()
    missing = (row["amount_refunded"] or 0) - int(accepted)
    if missing > 0:
        bind.execute(sa.insert(refund_t).values(
            payment_id=payment_id, booking_id=booking["id"], amount=missing, currency=row["currency"],
            status="succeeded", requested_by="stripe", reverse_transfer=False, application_fee_refunded=0,
            created_at=row["updated_at"] or now, updated_at=row["updated_at"] or now))


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_status", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("payment_intent_id", sqlmodel.sql.sqltypes.AutoString(length=255),
                                      nullable=True))
        batch_op.add_column(sa.Column("checkout_session_id", sqlmodel.sql.sqltypes.AutoString(length=255),
                                      nullable=True))
        batch_op.add_column(sa.Column("checkout_url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True))
        batch_op.add_column(sa.Column("checkout_attempts", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("amount", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True))
        batch_op.add_column(sa.Column("amount_refunded", sa.Integer(), nullable=True))
    _fill_back(op.get_bind())
    if sqlite:
        _drop_sqlite_guards()
    with op.batch_alter_table("booking", schema=None) as batch_op:
        if sqlite:
            batch_op.drop_constraint("end_cause", type_="check")  # made again inline, as 0006 has it
        batch_op.alter_column("payment_status", existing_type=sa.String(length=20),
                              type_=sa.Enum(*_OLD_PAYMENT_STATUSES, name="payment_status", native_enum=False,
                                            create_constraint=True, length=20), nullable=False)
        for name in ("checkout_attempts", "amount", "amount_refunded"):
            batch_op.alter_column(name, existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("currency", existing_type=sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False)
        batch_op.create_check_constraint("ck_booking_amount", "amount >= 0")
        batch_op.create_unique_constraint("booking_checkout_session_id_key", ["checkout_session_id"])
        batch_op.create_unique_constraint("booking_payment_intent_id_key", ["payment_intent_id"])
    if sqlite:
        _create_sqlite_guards()
        _inline_end_cause_check()
    op.drop_column("payment", "checkout_url")  # no constraint names it: SQLite drops it in place


def _fill_back(bind: sa.engine.Connection) -> None:
    prices = {row.id: (row.price_amount, row.currency) for row in bind.execute(sa.select(session_type_t))}
    booking_ids = bind.execute(sa.select(booking_t.c.id, booking_t.c.session_type_id)).all()
    for booking_id, session_type_id in booking_ids:
        rows = bind.execute(sa.select(payment_t).where(payment_t.c.booking_id == booking_id)
                            .order_by(payment_t.c.attempt)).mappings().all()
        latest = rows[-1] if rows else None
        settled = [row for row in rows if row["status"] in _SETTLED]
        payment = settled[-1] if settled else latest
        if payment is None:
            amount, currency = prices.get(session_type_id, (0, "gbp"))
            values = dict(payment_status="unpaid", payment_intent_id=None, checkout_session_id=None,
                          checkout_url=None, checkout_attempts=0, amount=amount, currency=currency, amount_refunded=0)
        else:
            status = payment["status"] if payment["status"] in _OLD_PAYMENT_STATUSES else "unpaid"
            values = dict(payment_status=status, payment_intent_id=payment["payment_intent_id"],
                          checkout_session_id=latest["checkout_session_id"], checkout_url=latest["checkout_url"],
                          checkout_attempts=latest["attempt"], amount=payment["amount"], currency=payment["currency"],
                          amount_refunded=payment["amount_refunded"] or 0)
        bind.execute(sa.update(booking_t).where(booking_t.c.id == booking_id).values(**values))


# --- SQLite: copying the booking table drops its partial unique index and overlap triggers (0001, 0002) ---

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


_END_CAUSES = ("replaced", "expired", "released_by_client", "payment_failed", "provider_unreachable",
               "repaired_by_reconcile", "cancelled_by_builder", "cancelled_by_client", "refunded")


def _inline_end_cause_check() -> None:
    """Copying the table turns 0006's column CHECK on end_cause into a table CHECK, which would keep SQLite
    from dropping the column in place (0006's downgrade): the column is made again with its CHECK inline."""
    check = "end_cause IN (" + ", ".join(f"'{cause}'" for cause in _END_CAUSES) + ")"
    op.execute("ALTER TABLE booking ADD COLUMN end_cause_carried VARCHAR(30)")
    op.execute("UPDATE booking SET end_cause_carried = end_cause")
    op.execute("ALTER TABLE booking DROP COLUMN end_cause")
    op.execute(f"ALTER TABLE booking ADD COLUMN end_cause VARCHAR(30) CONSTRAINT end_cause CHECK ({check})")
    op.execute("UPDATE booking SET end_cause = end_cause_carried")
    op.execute("ALTER TABLE booking DROP COLUMN end_cause_carried")


def _drop_sqlite_guards() -> None:
    op.execute("DROP TRIGGER IF EXISTS ex_booking_no_overlap_update")
    op.execute("DROP TRIGGER IF EXISTS ex_booking_no_overlap_insert")
    op.execute("DROP INDEX IF EXISTS uq_booking_active_start")


def _create_sqlite_guards() -> None:
    op.create_index("uq_booking_active_start", "booking", ["builder_id", "start_time"], unique=True,
                    sqlite_where=sa.text(_ACTIVE_SQL))
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
