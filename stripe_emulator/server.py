"""Serving the app with uvicorn: on the main thread (CLI) or a background thread (tests)."""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
import time
from types import FrameType
from typing import Any, Self

import uvicorn

from stripe_emulator.app import create_app
from stripe_emulator.core.config import EmulatorConfig
from stripe_emulator.emulator import Emulator
from stripe_emulator.faults import Faults


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind before starting uvicorn so port 0 resolves to a real port we can advertise."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto is
    # TCP, and without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


class _AnnouncingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, announce: str | None) -> None:
        super().__init__(config)
        self._announce = announce

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """SIGTERM/SIGINT: shut down gracefully and exit 0 (uvicorn would re-raise the signal)."""
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True

    async def main_loop(self) -> None:
        # uvicorn polls `should_exit` every 0.1 s; poll faster so tests stop servers quickly.
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            await asyncio.sleep(0.01)
            counter = (counter + 1) % 8_640_000
            should_exit = self.should_exit or (
                counter % 10 == 0 and await self.on_tick(counter // 10)
            )

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._announce:
            print(self._announce, flush=True)


def uvicorn_server(app: Any, *, log_level: str = "warning", access_log: bool = False, announce: str | None = None) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=access_log,
        lifespan="on",
        log_config=None,
        timeout_graceful_shutdown=3,
    )
    return _AnnouncingServer(config, announce)


class EmulatorServer:
    """Run the emulator on a free port in a background thread.

        with EmulatorServer(webhook_url=..., webhook_secret=...) as server:
            client = server.client()          # stripe.StripeClient pointed at it
            server.emulator.advance_clock(60) # direct access to state

    Defaults: in-memory state, test mode on, port chosen by the OS.
    """

    def __init__(self, config: EmulatorConfig | None = None, **overrides: Any) -> None:
        base = config or EmulatorConfig(state_file=":memory:", test_mode=True, port=0)
        for key, value in overrides.items():
            if not hasattr(base, key):
                raise TypeError(f"unknown EmulatorConfig field {key!r}")
            setattr(base, key, value)
        self.config = base
        self.emulator: Emulator | None = None
        self.faults: Faults | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.config.port}"

    def start(self, timeout: float = 15.0) -> EmulatorServer:
        self._socket = bind_socket(self.config.host, self.config.port)
        self.config.port = self._socket.getsockname()[1]
        app = create_app(self.config)
        self.emulator = app.state.emulator
        self.faults = app.state.faults  # fault injection and the request log (stripe_emulator.faults)
        self._server = uvicorn_server(app)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"stripe-emulator-{self.config.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the emulator server thread exited during startup")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("the emulator did not start in time")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 15.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError("the emulator server thread did not stop")
            self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def client(self, api_key: str = "sk_test_123", **kwargs: Any) -> Any:
        import stripe

        kwargs.setdefault("max_network_retries", 0)
        return stripe.StripeClient(api_key, base_addresses={"api": self.url}, **kwargs)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
