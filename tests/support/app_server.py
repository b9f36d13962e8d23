"""The production build of the app on a free port, from a copy of the sources, with its job worker
(`python -m booking.worker`: the sweeper, the outbox, stored webhooks) beside it, as `make run` serves it.

The copy keeps a developer's own `.web/` (and a running `make run`) untouched.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
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
    job_workers: list[ServerProcess] = field(default_factory=list)

    def stop(self) -> None:
        """The web server, then its job workers (each ends its tick and exits on SIGTERM)."""
        self.process.stop()
        for worker in self.job_workers:
            worker.stop()


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


def start_job_worker(app_dir: Path, *, settings: dict[str, str], log_path: Path) -> ServerProcess:
    python = PROJECT_ROOT / ".venv" / "bin" / "python"
    return ServerProcess([str(python), "-m", "booking.worker"], cwd=app_dir, env=app_environment(**settings),
                         log_path=log_path)


def start_app(workdir: Path, *, port: int, settings: dict[str, str], timeout: float = 240,
              job_workers: int = 1) -> AppServer:
    app_dir = copy_app(workdir / "app")
    reflex = PROJECT_ROOT / ".venv" / "bin" / "reflex"
    workers = [start_job_worker(app_dir, settings=settings, log_path=workdir / f"job-worker-{n}.log")
               for n in range(job_workers)]
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
        for worker in workers:
            worker.stop()
        raise
    return AppServer(url=url, port=port, database_url=settings["DATABASE_URL"], process=process,
                     job_workers=workers)
