"""A fresh, migrated database per test run: a SQLite file, or a new PostgreSQL database."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import SQLModel

from booking.core import migrations
from booking.core.db import engine_for

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "")


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if POSTGRES_ADMIN_URL else ["sqlite"]


@contextmanager
def temporary_database(backend: str, directory: Path) -> Iterator[str]:
    """Create an empty database, migrate it to head, yield its URL, drop it afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{directory / f'booking-{secrets.token_hex(4)}.db'}"
        migrations.upgrade(url)
        try:
            yield url
        finally:
            engine_for(url).dispose()
        return
    name = f"booking_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        migrations.upgrade(url)
        yield url
    finally:
        engine_for(url).dispose()
        admin.dispose()
        drop_later(name)


# PostgreSQL checkpoints for every DROP DATABASE; on a busy machine one took 50 s. The drops go to one
# background thread, and the run waits for them at its end (`finish_drops`, from tests/conftest.py).
_dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drop-database")
_drops: list[Future] = []


def _drop(name: str) -> None:
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def drop_later(name: str) -> None:
    """Drop the PostgreSQL database `name` in the background (its connections are closed by FORCE)."""
    _drops.append(_dropper.submit(_drop, name))


def finish_drops() -> None:
    """Wait for every database dropped in the background; a failed drop fails loudly here."""
    for drop in _drops:
        drop.result()
    _drops.clear()


def empty_all_tables(url: str) -> None:
    """Per-test isolation that still lets a test use many connections (concurrency tests).

    Only the tables a test wrote to are emptied, and their ids restarted: on PostgreSQL one TRUNCATE of every
    table made new files for each table and index and took 0.6-1.4 s a test, where these DELETEs take a few ms."""
    engine = engine_for(url)
    tables = [table.name for table in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            used = set(connection.exec_driver_sql(" UNION ALL ".join(
                f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables)).scalars())
            for table in (t for t in tables if t in used):
                connection.exec_driver_sql(f'DELETE FROM "{table}"')
            if used:  # the id sequences those tables own (serial or identity columns)
                connection.exec_driver_sql(
                    "SELECT setval(s.oid, 1, false) FROM pg_class s JOIN pg_depend d ON d.objid = s.oid "
                    "JOIN pg_class t ON t.oid = d.refobjid WHERE s.relkind = 'S' AND d.deptype IN ('a', 'i') "
                    "AND t.relname = ANY(%s)", (sorted(used),))
        else:
            for table in tables:
                connection.exec_driver_sql(f'DELETE FROM "{table}"')
