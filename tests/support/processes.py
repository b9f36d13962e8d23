"""Start a server process for a test and wait on a condition (never a fixed sleep)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx


def wait_until(condition: Callable[[], bool], *, timeout: float, interval: float = 0.1,
               message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {message}")


def http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    return check


class ServerProcess:
    """A child process in its own process group, its output in a log file."""

    def __init__(self, args: list[str], *, cwd: Path, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, url: str, *, timeout: float) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early; log:\n{self.log()[-4000:]}")
            return http_ok(url)()

        try:
            wait_until(ready, timeout=timeout, interval=0.25, message=url)
        except TimeoutError:
            raise TimeoutError(f"{url} not ready in {timeout}s; log:\n{self.log()[-4000:]}") from None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()
