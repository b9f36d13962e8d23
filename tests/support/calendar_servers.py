"""Calendar servers for tests: an ICS feed served from this process (ETag / If-Modified-Since, request log)
and a real Radicale CalDAV server in a subprocess on 127.0.0.1 (temp storage, htpasswd plain auth)."""

from __future__ import annotations

import hashlib
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from tests.support.processes import ServerProcess

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class IcsFeed:
    """A feed whose body the test sets; answers 304 to a matching If-None-Match / If-Modified-Since."""

    def __init__(self) -> None:
        self.body = b""
        self.status = 200  # set e.g. 500 to make the next fetches fail
        self.last_modified = formatdate(0, usegmt=True)
        self.requests: list[dict[str, str]] = []  # the headers of each request
        self.answers: list[int] = []
        self.redirect_to: str | None = None
        self._server: ThreadingHTTPServer | None = None

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'

    def set_body(self, body: bytes, *, modified_at: float) -> None:
        self.body, self.last_modified = body, formatdate(modified_at, usegmt=True)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://{HOST}:{self._server.server_address[1]}/calendar.ics"

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        self.requests.append(dict(handler.headers.items()))
        if self.redirect_to:
            handler.send_response(302)
            handler.send_header("Location", self.redirect_to)
            handler.end_headers()
            self.answers.append(302)
            return
        if self.status != 200:
            handler.send_response(self.status)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            self.answers.append(self.status)
            return
        if handler.headers.get("If-None-Match") == self.etag or (
                "If-None-Match" not in handler.headers and handler.headers.get("If-Modified-Since") == self.last_modified):
            handler.send_response(304)
            handler.send_header("ETag", self.etag)
            handler.end_headers()
            self.answers.append(304)
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "text/calendar; charset=utf-8")
        handler.send_header("Content-Length", str(len(self.body)))
        handler.send_header("ETag", self.etag)
        handler.send_header("Last-Modified", self.last_modified)
        handler.end_headers()
        handler.wfile.write(self.body)
        self.answers.append(200)

    @contextmanager
    def serving(self, port: int = 0) -> Iterator[IcsFeed]:
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                feed._answer(self)

            def log_message(self, *_args) -> None:
                pass

        self._server = ThreadingHTTPServer((HOST, port), Handler)
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()


class Radicale:
    """A Radicale server (subprocess) with one user; `calendar(name)` makes a calendar and returns its URL."""

    USER, PASSWORD = "ada", "app-password-1"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        (folder / "users").write_text(f"{self.USER}:{self.PASSWORD}\n")
        self.process: ServerProcess | None = None

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        args = [sys.executable, "-m", "radicale", "--server-hosts", f"{HOST}:{self.port}",
                "--storage-filesystem-folder", str(self.folder / "collections"),
                "--auth-type", "htpasswd", "--auth-htpasswd-filename", str(self.folder / "users"),
                "--auth-htpasswd-encryption", "plain", "--rights-type", "owner_only", "--logging-level", "warning"]
        self.process = ServerProcess(args, cwd=self.folder, env={"PATH": "/usr/bin:/bin", "HOME": str(self.folder)},
                                     log_path=self.folder / f"radicale-{self.port}.log")
        self.process.wait_ready(f"{self.base}/.web/", timeout=30)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()  # by its process group id (the PID we started)
            self.process = None

    def _auth(self) -> tuple[str, str]:
        return (self.USER, self.PASSWORD)

    def calendar(self, name: str) -> str:
        url = f"{self.base}/{self.USER}/{name}/"
        body = ('<?xml version="1.0" encoding="utf-8"?><C:mkcalendar xmlns:D="DAV:" '
                'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>'
                f'{name}</D:displayname></D:prop></D:set></C:mkcalendar>')
        response = httpx.request("MKCALENDAR", url, content=body, auth=self._auth(), timeout=10)
        assert response.status_code == 201, response.text
        return url

    def put(self, calendar_url: str, name: str, ical: bytes) -> None:
        response = httpx.put(f"{calendar_url}{name}.ics", content=ical, auth=self._auth(), timeout=10,
                             headers={"Content-Type": "text/calendar"})
        assert response.status_code in (201, 204), response.text

    def get(self, calendar_url: str, name: str) -> bytes | None:
        response = httpx.get(f"{calendar_url}{name}.ics", auth=self._auth(), timeout=10)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.content


@contextmanager
def radicale_server(folder: Path) -> Iterator[Radicale]:
    server = Radicale(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()
