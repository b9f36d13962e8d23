"""End-to-end: the production build + the Stripe emulator on free ports, Chromium in front."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from booking import migrations
from booking.db import engine_for
from tests.conftest import free_port
from tests.support.app_server import AppServer, start_app

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def e2e_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(tmp_path_factory.mktemp("e2e"))


@pytest.fixture(scope="session")
def e2e_database_url(e2e_workdir: Path) -> Iterator[str]:
    url = f"sqlite:///{e2e_workdir / 'app.db'}"
    migrations.upgrade(url)
    yield url
    engine_for(url).dispose()


@pytest.fixture(scope="session")
def app_server(e2e_workdir: Path, e2e_database_url: str) -> Iterator[AppServer]:
    port = free_port()
    server = start_app(
        e2e_workdir,
        port=port,
        settings={
            "DATABASE_URL": e2e_database_url,
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "MAIL_DIR": str(e2e_workdir / "mail"),
        },
    )
    yield server
    server.process.stop()


@pytest.fixture
def app_db(e2e_database_url: str) -> Iterator[Session]:
    """Write test data straight into the running app's database (each test makes its own)."""
    engine: Engine = engine_for(e2e_database_url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
