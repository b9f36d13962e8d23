"""Fixtures shared by every test tier."""

from __future__ import annotations

import re
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


# Browser tests that start their own deployment (its own app, emulator and database): any worker may run them.
_OWN_DEPLOYMENT = ("tests/e2e/test_several_workers.py::", "tests/e2e/test_shared_network.py::")
_BACKEND_ID = re.compile(r"\[(?:[^\]]*-)?(sqlite|postgresql)(?:-[^\]]*)?\]$")


def browser_group(nodeid: str) -> str | None:
    """The group of a browser test that uses the shared app: one per database, so each database's
    production build and emulator are made once, on one worker."""
    if not nodeid.startswith("tests/e2e/") or nodeid.startswith(_OWN_DEPLOYMENT):
        return None
    found = _BACKEND_ID.search(nodeid)
    return f"e2e-{found.group(1) if found else 'any'}"


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Under `pytest -n` (scripts/test.sh): xdist's own `loadgroup` marks a group by rewriting
    `item._nodeid`, which pytest 9 no longer reads, so its groups silently fell apart (every worker
    built and started the app for both databases). The groups are told from the test ids instead."""
    from xdist.scheduler import LoadScopeScheduling

    class BrowserGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return browser_group(nodeid) or nodeid  # every other test is a unit of its own

    return BrowserGroups(config, log)
