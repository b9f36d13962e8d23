"""A small HTTP/1.1 load generator on asyncio streams (keep-alive connections, pre-built requests).

Lighter than an HTTP client library, so the sender is not what limits the figures on a small machine.
`closed_loop`: N senders, each sends its next request when the previous answer arrives (throughput).
`open_loop`: requests at a fixed rate whatever the answers do; latency is counted from the moment each
request was due, so a slow server can't hide its queue (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


def build_request(method: str, path: str, *, host: str, body: bytes = b"",
                  headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def json_request(method: str, path: str, *, host: str, payload: object,
                 headers: dict[str, str] | None = None) -> bytes:
    return build_request(method, path, host=host, body=json.dumps(payload).encode(),
                         headers={"Content-Type": "application/json", **(headers or {})})


@dataclass
class Answer:
    status: int
    body: bytes
    latency: float  # seconds


@dataclass
class Run:
    answers: list[Answer] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def throughput(self) -> float:
        return len(self.answers) / self.elapsed if self.elapsed else 0.0

    def statuses(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for answer in self.answers:
            counts[answer.status] = counts.get(answer.status, 0) + 1
        return dict(sorted(counts.items()))

    def percentile(self, fraction: float) -> float:
        """Latency in ms at this fraction (0.5 median, 0.99 p99), nearest-rank."""
        ordered = sorted(answer.latency for answer in self.answers)
        if not ordered:
            return float("nan")
        rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
        return ordered[rank - 1] * 1000

    @property
    def median(self) -> float:
        return statistics.median(answer.latency for answer in self.answers) * 1000


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bytes, bool]:
        """Send one request, read its answer: (status, body, keep_alive)."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._chunked()
        else:
            body = await self.reader.read()
        return status, body, headers.get("connection", "").lower() != "close"

    async def _chunked(self) -> bytes:
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    def close(self) -> None:
        self.writer.close()


async def closed_loop(host: str, port: int, requests: Sequence[bytes], *, concurrency: int) -> Run:
    run = Run()
    queue = list(reversed(requests))

    async def sender() -> None:
        connection = await Connection.open(host, port)
        try:
            while queue:
                request = queue.pop()
                started = time.perf_counter()
                status, body, keep_alive = await connection.exchange(request)
                run.answers.append(Answer(status, body, time.perf_counter() - started))
                if not keep_alive:
                    connection.close()
                    connection = await Connection.open(host, port)
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    run.elapsed = time.perf_counter() - started
    return run


async def open_loop(host: str, port: int, requests: Sequence[bytes], *, rate: float) -> Run:
    run = Run()
    idle: list[Connection] = []
    for _ in range(4):
        idle.append(await Connection.open(host, port))

    async def send(request: bytes, due: float) -> None:
        connection = idle.pop() if idle else await Connection.open(host, port)
        status, body, keep_alive = await connection.exchange(request)
        run.answers.append(Answer(status, body, time.perf_counter() - due))
        if keep_alive:
            idle.append(connection)
        else:
            connection.close()

    tasks = []
    started = time.perf_counter()
    for index, request in enumerate(requests):
        due = started + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(request, due)))
    await asyncio.gather(*tasks)
    run.elapsed = time.perf_counter() - started
    for connection in idle:
        connection.close()
    return run
