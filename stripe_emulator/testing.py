"""Helpers for test suites: run the emulator in-process or as a subprocess on a free port.

    from stripe_emulator.testing import EmulatorServer, EmulatorProcess

    with EmulatorServer(webhook_url=url, webhook_secret="whsec_x") as server:   # thread
        client = server.client()

    with EmulatorProcess(webhook_url=url, webhook_secret="whsec_x") as proc:     # subprocess
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": proc.url})
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from typing import IO, Any, Self

from stripe_emulator.server import EmulatorServer

__all__ = ["EmulatorProcess", "EmulatorServer"]

_LISTENING = re.compile(r"Stripe emulator listening on (http://\S+)")


class EmulatorProcess:
    """`python -m stripe_emulator ...` in a subprocess; `url` is known once started.

    Port 0 (the default) lets the emulator pick a free port and report it on stdout.
    stop() sends SIGTERM and waits for a clean exit (returncode 0).
    """

    def __init__(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        webhook_url: str | None = None,
        webhook_secret: str = "whsec_test_secret",
        connect_webhook_url: str | None = None,
        connect_webhook_secret: str = "whsec_test_connect_secret",
        state_file: str = ":memory:",
        test_mode: bool = True,
        retry_schedule: str | None = None,
        expiry_interval: float | None = None,
        public_url: str | None = None,
        business_name: str | None = None,
        extra_args: Sequence[str] = (),
        python: str = sys.executable,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        stderr: int | IO[Any] | None = None,
    ) -> None:
        args = [python, "-m", "stripe_emulator", "--host", host, "--port", str(port)]
        args += ["--state-file", state_file]
        if webhook_url:
            args += ["--webhook-url", webhook_url]
        if connect_webhook_url:
            args += ["--connect-webhook-url", connect_webhook_url]
        if test_mode:
            args.append("--test-mode")
        if retry_schedule is not None:
            args += ["--retry-schedule", retry_schedule]
        if expiry_interval is not None:
            args += ["--expiry-interval", str(expiry_interval)]
        if public_url:
            args += ["--public-url", public_url]
        if business_name:
            args += ["--business-name", business_name]
        args += list(extra_args)
        self.args = args
        self.cwd = cwd or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.env = env
        self.connect_webhook_secret = connect_webhook_secret
        self.webhook_secret = webhook_secret  # passed in the environment: `ps` shows arguments
        self.stderr = stderr
        self.url: str | None = None
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._pump_thread: threading.Thread | None = None

    def start(self, timeout: float = 20.0) -> EmulatorProcess:
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        env["STRIPE_WEBHOOK_SECRET"] = self.webhook_secret
        env["STRIPE_CONNECT_WEBHOOK_SECRET"] = self.connect_webhook_secret
        self.process = subprocess.Popen(
            self.args,
            cwd=self.cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()
        deadline = time.monotonic() + timeout
        while self.url is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise TimeoutError("the emulator process did not report that it is listening")
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(
                    f"the emulator exited early with code {self.process.wait()}: {self.output}"
                )
            match = _LISTENING.search(line)
            if match:
                self.url = match.group(1)
        return self

    def _pump(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call the control API, e.g. control("POST", "/_emulator/clock/advance", {"seconds": 60})."""
        assert self.url is not None
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self._pump_thread is not None:
            self._pump_thread.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
