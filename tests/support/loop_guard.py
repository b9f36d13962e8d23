"""A tripwire for blocking work on Reflex's event loop: a database connection, a SQL statement or an
argon2 hash/verify made on a thread whose asyncio loop is running (a worker thread has none).

    with nothing_blocks_the_loop():
        asyncio.run(handler(...))

A statement or a hash on the loop raises `BlockedTheLoop` where it happens, and every sighting is
also recorded and raised again when the block ends, in case the code under test swallowed the first.
"""

from __future__ import annotations

import asyncio
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from pwdlib import PasswordHash
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool


class BlockedTheLoop(AssertionError):
    pass


def on_the_loop() -> bool:
    """True when called synchronously from code running inside an asyncio event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


_lock = threading.Lock()
_active: list[list[str]] = []  # one list of sightings per open `nothing_blocks_the_loop` block


def _sighting(what: str) -> str | None:
    if not _active or not on_the_loop():
        return None
    where = "".join(traceback.format_stack(limit=12)[:-2])
    message = f"{what} on the event loop's thread:\n{where}"
    with _lock:
        for sightings in _active:
            sightings.append(message)
    return message


def _on_connect(*_args) -> None:
    _sighting("a database connection was opened")


def _on_checkout(*_args) -> None:
    _sighting("a database connection was checked out")


def _before_cursor_execute(_conn, _cursor, statement, *_args) -> None:
    message = _sighting(f"SQL ran ({statement.split()[0] if statement else ''})")
    if message:
        raise BlockedTheLoop(message)


def _guarded(method):
    def check(self, *args, **kwargs):
        message = _sighting(f"a password was hashed ({method.__name__})")
        if message:
            raise BlockedTheLoop(message)
        return method(self, *args, **kwargs)

    check.__wrapped_by_loop_guard__ = method
    return check


_HASHER_METHODS = ("hash", "verify", "verify_and_update")


def _install() -> None:
    event.listen(Pool, "connect", _on_connect)
    event.listen(Pool, "checkout", _on_checkout)
    event.listen(Engine, "before_cursor_execute", _before_cursor_execute)
    for name in _HASHER_METHODS:
        setattr(PasswordHash, name, _guarded(getattr(PasswordHash, name)))


def _uninstall() -> None:
    event.remove(Pool, "connect", _on_connect)
    event.remove(Pool, "checkout", _on_checkout)
    event.remove(Engine, "before_cursor_execute", _before_cursor_execute)
    for name in _HASHER_METHODS:
        setattr(PasswordHash, name, getattr(PasswordHash, name).__wrapped_by_loop_guard__)


@contextmanager
def nothing_blocks_the_loop() -> Iterator[list[str]]:
    """Fail if, inside the block, the database or the password hasher is used on a running loop."""
    sightings: list[str] = []
    with _lock:
        if not _active:
            _install()
        _active.append(sightings)
    failure: BaseException | None = None
    try:
        yield sightings
    except BaseException as exc:
        failure = exc
    finally:
        with _lock:
            _active.remove(sightings)
            if not _active:
                _uninstall()
    if sightings and not isinstance(failure, BlockedTheLoop):
        raise BlockedTheLoop(f"{len(sightings)} blocking call(s) on the event loop; the first:\n{sightings[0]}") \
            from failure
    if failure is not None:
        raise failure
