"""Fixtures shared by every test tier."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import hypothesis
import pytest
from playwright.sync_api import Browser, Page

from tests.browser import launched_chromium
from tests.support.databases import finish_drops
from tests.support.kept import close_all, kept

# Timing is not behaviour: on a loaded machine (two test workers on two cores, builds beside them)
# Hypothesis's 200 ms deadline and its slow-generation check fail tests that are right.
hypothesis.settings.register_profile(
    "suite", deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow])
hypothesis.settings.load_profile("suite")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop what the run kept (the browser tests' apps and emulators), then wait for the databases
    dropped in the background."""
    close_all()
    finish_drops()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def browser() -> Browser:
    return kept("chromium", lambda stack: stack.enter_context(launched_chromium()))


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context per test: no cookies or storage leak between tests."""
    context = browser.new_context(timezone_id="Europe/London", locale="en-GB")
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


# --- databases -------------------------------------------------------------------------------
from pathlib import Path  # noqa: E402

from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session  # noqa: E402

from booking.core.config import get_settings  # noqa: E402
from booking.core.db import engine_for  # noqa: E402
from tests.support.databases import backends, empty_all_tables, temporary_database  # noqa: E402


@pytest.fixture(scope="session", params=backends())
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One migrated database per backend per test run, dropped at the end."""
    with temporary_database(request.param, Path(tmp_path_factory.mktemp("db"))) as url:
        yield url


@pytest.fixture
def engine(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The test's database, empty; the app's settings point at it for the test's duration."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield engine_for(database_url)
    empty_all_tables(database_url)
    get_settings.cache_clear()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as db_session:
        yield db_session
        db_session.rollback()


# --- order ------------------------------------------------------------------------------------
_TIER_ORDER = {"unit": 0, "integration": 1, "emulator": 2, "e2e": 3}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fast tiers first; browser tiers last, since Playwright's sync API keeps an event loop
    running in the main thread for the rest of the session (asyncio.run would refuse it)."""

    def tier(item: pytest.Item) -> int:
        parts = item.path.parts
        return next((rank for name, rank in _TIER_ORDER.items() if name in parts), 1)

    items.sort(key=tier)  # stable: keeps file order within a tier


def pytest_itemcollected(item: pytest.Item) -> None:
    """Under `pytest -n` (scripts/test.sh), each database's browser tests run as one group on one
    worker: the production build for that database is made once, and the two builds run side by side."""
    if "e2e" in item.path.parts:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("e2e_database_url", "any") if callspec else "any"
        item.add_marker(pytest.mark.xdist_group(f"e2e-{backend}"))
