"""Engines and transactions. The caller of a service owns the transaction (`session_scope`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session


def make_engine(url: str) -> Engine:
    # hide_parameters: a database error's message never carries the statement's values (names, emails)
    # into a log or a traceback stored on a failed webhook event.
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30, "isolation_level": None},
            hide_parameters=True,
        )
        _serialise_sqlite_writers(engine)
        return engine
    engine = sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True)
    _withhold_error_details(engine)
    return engine


def _withhold_error_details(engine: Engine) -> None:
    """PostgreSQL's DETAIL line quotes the row ("Key (email)=(ann@example.com) already exists", "Failing row
    contains (...)"): an error keeps only its primary message, so no name or email reaches a log."""

    @sa.event.listens_for(engine, "handle_error")
    def _redact(context):
        original = context.original_exception
        diag = getattr(original, "diag", None)
        if diag is None or not diag.message_detail:
            return
        safe = f"{diag.message_primary} (detail withheld: it may quote row values)"
        original.args = (safe,)
        wrapped = context.sqlalchemy_exception
        if wrapped is not None and wrapped.args:
            wrapped.args = (f"({type(original).__module__}.{type(original).__name__}) {safe}", *wrapped.args[1:])


def _serialise_sqlite_writers(engine: Engine) -> None:
    """SQLite has no row locks: every transaction takes the write lock up front (BEGIN IMMEDIATE).

    This is the "per-builder serialisation" on SQLite: two holds for one slot can never both read
    "free" and then both insert. WAL keeps readers outside transactions unblocked.
    """

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per URL per process (after a fork call `engine.dispose(close=False)`)."""
    return make_engine(url)


def get_engine() -> Engine:
    from booking.core.config import get_settings

    return engine_for(get_settings().database_url)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """Commit on success, roll back on error."""
    session = Session(engine or get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def database_reachable(engine: Engine | None = None) -> bool:
    try:
        with (engine or get_engine()).connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        return True
    except Exception:
        return False


def utc_of_computed(moment: datetime | str) -> datetime:
    """A timestamp read through COALESCE or a UNION, as an aware UTC datetime: SQLite loses the column's type
    there and hands back the stored text (naive UTC); PostgreSQL gives an aware datetime."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
