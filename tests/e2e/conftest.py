"""End-to-end: the production build + the Stripe emulator on free ports, Chromium in front."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from booking.core.db import engine_for
from booking.core.migrations import PROJECT_ROOT
from tests.conftest import free_port
from tests.support.app_server import AppServer, start_app
from tests.support.databases import backends, temporary_database
from tests.support.kept import kept
from tests.support.processes import ServerProcess

WEBHOOK_SECRET = "whsec_e2e_" + "x" * 24
# The Connect endpoint's own secret: connected accounts' events reach the app signed with it.
CONNECT_WEBHOOK_SECRET = "whsec_e2e_connect_" + "c" * 24


@dataclass
class Emulator:
    url: str
    process: ServerProcess

    def control(self, path: str, **json: object) -> dict:
        response = httpx.post(f"{self.url}/_emulator/{path}", json=json, timeout=10)
        response.raise_for_status()
        return response.json()


# Each value below is kept for the whole test process (tests/support/kept.py): one app and one emulator per
# database, on their own ports, however often pytest-xdist sets the session fixtures up again.


@pytest.fixture(scope="session")
def e2e_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kept("e2e-workdir", lambda _stack: Path(tmp_path_factory.mktemp("e2e")))


@pytest.fixture(scope="session", params=backends())
def e2e_database_url(request: pytest.FixtureRequest, e2e_workdir: Path) -> str:
    """The running app's own database: SQLite, and PostgreSQL too when TEST_POSTGRES_URL is set."""
    return kept(f"e2e-database-{request.param}",
                lambda stack: stack.enter_context(temporary_database(request.param, e2e_workdir)))


def _backend(database_url: str) -> str:
    return database_url.split("://")[0].split("+")[0]


@pytest.fixture(scope="session")
def ports(e2e_database_url: str) -> dict[str, int]:
    return kept(f"e2e-ports-{_backend(e2e_database_url)}", lambda _stack: {"app": free_port(), "emulator": free_port()})


def _start_emulator(stack: ExitStack, workdir: Path, ports: dict[str, int], name: str) -> Emulator:
    url = f"http://127.0.0.1:{ports['emulator']}"
    process = ServerProcess(
        [sys.executable, "-m", "stripe_emulator", "--port", str(ports["emulator"]), "--public-url", url,
         "--webhook-url", f"http://127.0.0.1:{ports['app']}/api/payments/webhook",
         "--connect-webhook-url", f"http://127.0.0.1:{ports['app']}/api/payments/webhook",
         "--state-file", str(workdir / f"{name}.sqlite3"),
         "--test-mode", "--retry-schedule", "0.5,1,2,4", "--business-name", "Book a builder"],
        cwd=PROJECT_ROOT, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT), "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
             "STRIPE_CONNECT_WEBHOOK_SECRET": CONNECT_WEBHOOK_SECRET},
        log_path=workdir / f"{name}.log",
    )
    stack.callback(process.stop)
    process.wait_ready(f"{url}/", timeout=30)
    return Emulator(url=url, process=process)


@pytest.fixture(scope="session")
def emulator(e2e_workdir: Path, e2e_database_url: str, ports: dict[str, int]) -> Emulator:
    name = f"emulator-{_backend(e2e_database_url)}"
    return kept(f"e2e-{name}", lambda stack: _start_emulator(stack, e2e_workdir, ports, name))


@pytest.fixture(scope="session")
def mail_dir(e2e_workdir: Path) -> Path:
    return e2e_workdir / "mail"


def _start_app(stack: ExitStack, e2e_workdir: Path, e2e_database_url: str, ports: dict[str, int],
               emulator: Emulator, mail_dir: Path) -> AppServer:
    workdir = e2e_workdir / _backend(e2e_database_url)
    workdir.mkdir(exist_ok=True)
    server = start_app(
        workdir,
        port=ports["app"],
        settings={
            "DATABASE_URL": e2e_database_url,
            "PUBLIC_URL": f"http://127.0.0.1:{ports['app']}",
            "STRIPE_SECRET_KEY": "sk_test_e2e",
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_CONNECT_WEBHOOK_SECRET": CONNECT_WEBHOOK_SECRET,
            "STRIPE_API_BASE": emulator.url,
            "MAIL_DIR": str(mail_dir),
            "NOTIFICATION_INTERVAL_SECONDS": "0.5",
            "SWEEP_INTERVAL_SECONDS": "1",
            # Every test's browser comes from 127.0.0.1: the per-IP limits would count them all as one client.
            "MAX_HOLDS_PER_IP": "0", "CHECKOUT_RATE_LIMIT": "",
            # External calendars: the tests' feeds and Radicale are on 127.0.0.1; synced every second.
            "CALENDAR_ALLOW_PRIVATE_NETWORKS": "1", "CALENDAR_SYNC_INTERVAL_SECONDS": "1",
            # Reminders and no-show fees move the app's clock (booking/core/clock.py) through this file.
            "APP_CLOCK_FILE": str(e2e_workdir / "app_clock"), "REMINDER_INTERVAL_SECONDS": "0.5",
        },
    )
    stack.callback(server.stop)
    return server


@pytest.fixture(scope="session")
def app_server(e2e_workdir: Path, e2e_database_url: str, ports: dict[str, int], emulator: Emulator,
               mail_dir: Path) -> AppServer:
    return kept(f"e2e-app-{_backend(e2e_database_url)}",
                lambda stack: _start_app(stack, e2e_workdir, e2e_database_url, ports, emulator, mail_dir))


@pytest.fixture
def app_db(e2e_database_url: str) -> Iterator[Session]:
    """Write test data straight into the running app's database (each test makes its own).

    Commit promptly: on SQLite an open transaction holds the app's write lock.
    """
    engine: Engine = engine_for(e2e_database_url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
        session.rollback()
