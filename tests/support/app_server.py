"""The production build of the app on a free port, from a copy of the sources.

The copy keeps a developer's own `.web/` (and a running `make run`) untouched.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from booking.core.migrations import PROJECT_ROOT
from tests.support.processes import ServerProcess

APP_SOURCES = ["rxconfig.py", "booking", "booking_ui", "assets", "alembic", "alembic.ini",
               "reflex.lock", "requirements.txt"]


@dataclass
class AppServer:
    url: str
    port: int
    database_url: str
    process: ServerProcess


def copy_app(destination: Path) -> Path:
    destination.mkdir(parents=True, exist_ok=True)
    for name in APP_SOURCES:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, destination / name)
    return destination


def app_environment(**settings: str) -> dict[str, str]:
    # Also Reflex's internal switches (e.g. __REFLEX_SKIP_COMPILE, set in-process by ASGI tests): a
    # child server that inherits them would skip installing the frontend and fail to build.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("STRIPE_", "DATABASE_URL", "PUBLIC_URL", "NEXT_PUBLIC_URL", "SMTP_URL", "REDIS_URL",
                                "MAIL_DIR", "__REFLEX"))}
    bun_bin = PROJECT_ROOT / ".tools" / "bun" / "node_modules" / ".bin"
    venv_bin = PROJECT_ROOT / ".venv" / "bin"
    env["PATH"] = f"{venv_bin}:{bun_bin}:{env.get('PATH', '')}"
    env["REFLEX_USE_SYSTEM_BUN"] = "1"
    env["REFLEX_TELEMETRY_ENABLED"] = "false"
    env.update(settings)
    return env


def start_app(workdir: Path, *, port: int, settings: dict[str, str], timeout: float = 240) -> AppServer:
    app_dir = copy_app(workdir / "app")
    reflex = PROJECT_ROOT / ".venv" / "bin" / "reflex"
    process = ServerProcess(
        [str(reflex), "run", "--env", "prod", "--frontend-port", str(port), "--backend-port", str(port),
         "--backend-host", "127.0.0.1"],
        cwd=app_dir,
        env=app_environment(**settings),
        log_path=workdir / "app.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_ready(f"{url}/api/health", timeout=timeout)
        process.wait_ready(f"{url}/", timeout=timeout)
    except BaseException:
        process.stop()
        raise
    return AppServer(url=url, port=port, database_url=settings["DATABASE_URL"], process=process)
