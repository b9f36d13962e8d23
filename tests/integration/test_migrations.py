"""The Alembic migrations: they build exactly the models' schema, and they can be undone."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import booking.models  # noqa: F401 - registers every table on SQLModel.metadata
from booking import migrations
from booking.db import make_engine
from tests.support.databases import POSTGRES_ADMIN_URL, backends

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
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


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
                    "WHERE type = 'index' AND name = 'uq_booking_active_start' AND tbl_name = 'booking'"
                )
            ).scalar_one()
            assert "UNIQUE" in definition.upper()
            assert "WHERE" in definition.upper()
            assert "'pending'" in definition and "'confirmed'" in definition

        indexes = {index["name"]: index for index in sa.inspect(connection).get_indexes("booking")}
    assert indexes["uq_booking_active_start"]["unique"]
    assert indexes["uq_booking_active_start"]["column_names"] == ["builder_id", "start_time"]
