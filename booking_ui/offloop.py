"""Keep Reflex's event loop free: database queries and password hashing run in a worker thread.

One Reflex worker serves every browser connected to it from one asyncio loop, so a handler that
blocks (a query, an argon2 hash) stalls them all. Two tools, used at the seams (the admin guard
decorators in `booking_ui.admin.base`, `@db_event` on the client states):

- `await run_db(fn, *args, **kwargs)`: one blocking call in a worker thread (the context, e.g. the
  admin guard's current actor, goes with it).
- `@db_event` / `await off_loop(self.method, *args)`: a synchronous handler (or helper method) runs in
  a worker thread against a *draft* of its state. The draft reads the state's values as they were
  when the handler started (the state is locked for this client meanwhile, so nothing else changes
  them) and records what the body assigns; back on the loop, those assignments are applied to the
  real state. So Reflex state is only ever *changed* on the loop, and the handler's code stays plain
  synchronous Python. Mutable values are copied on first read, so changing one in place (`rows.append`)
  changes the draft's copy and is applied like an assignment.

Inside a background handler (`@rx.event(background=True)`), call `off_loop` inside `async with self`:
the lock is then held across the thread's work, exactly as for a normal handler.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import dataclasses
import enum
import functools
import inspect
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any, TypeVar

from reflex_base.vars.base import ComputedVar

T = TypeVar("T")

_IMMUTABLE = (str, bytes, int, float, bool, type(None), Decimal, date, datetime, time, timedelta, tzinfo, enum.Enum)


# Few threads on purpose: each one that runs Python competes with the loop for the GIL (and for the
# cores), and the loop waits up to a switch interval (5 ms) per competitor whenever it wants the GIL
# back. Blocking work beyond these queues in the pool, where it delays only the browsers that asked for
# it; more capacity comes from more worker processes (WORKERS). In benchmarks/event_loop.py on 2 cores,
# 4 threads gave a client's events a longer tail than 2 (p99 40-120 ms against 25-80 ms), for the same
# builders' throughput.
THREADS = 2
_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="offloop")
    return _executor


def set_threads(count: int) -> None:
    """How many worker threads run the blocking work (the next call starts a new pool)."""
    global THREADS, _executor
    if _executor is not None:
        _executor.shutdown(wait=False)  # what it is running finishes; new work goes to the new pool
    THREADS, _executor = max(1, count), None


async def run_db(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run one blocking call (database work, password hashing) in a worker thread and await it. The
    caller's context (e.g. the admin guard's current actor) goes with it, as with `asyncio.to_thread`."""
    context = contextvars.copy_context()
    call = functools.partial(context.run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_pool(), call)


def _immutable(value: Any) -> bool:
    if isinstance(value, _IMMUTABLE):
        return True
    if isinstance(value, tuple):
        return all(_immutable(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type) and value.__dataclass_params__.frozen:
        return all(_immutable(getattr(value, f.name)) for f in dataclasses.fields(value))
    return False


class StateDraft:
    """Stands in for a Reflex state while a handler body runs off the loop (see the module docstring).

    Fields read the values the state had when the draft was made; methods, properties and computed
    vars of the state's class run against the draft; assignments are kept until `apply`."""

    __slots__ = ("_draft_cls", "_draft_raw", "_draft_values", "_draft_assigned")

    def __init__(self, state: Any) -> None:
        real = getattr(state, "__wrapped__", state)  # a StateProxy (inside `async with self`) wraps it
        cls = type(real)
        object.__setattr__(self, "_draft_cls", cls)
        # References only (cheap, on the loop); copies are made in the thread when a value is read.
        object.__setattr__(self, "_draft_raw", {name: field._get_raw(real) for name, field in cls.__fields__.items()})
        object.__setattr__(self, "_draft_values", {})
        object.__setattr__(self, "_draft_assigned", set())

    def __getattr__(self, name: str) -> Any:
        values = self._draft_values
        if name in values:
            return values[name]
        raw = self._draft_raw
        if name in raw:
            value = raw[name]
            if not _immutable(value):
                value = copy.deepcopy(value)
            values[name] = value
            return value
        try:
            attr = inspect.getattr_static(self._draft_cls, name)
        except AttributeError:
            raise AttributeError(f"{self._draft_cls.__name__} has no attribute {name!r}") from None
        if isinstance(attr, ComputedVar):
            return attr.fget(self)
        if isinstance(attr, property):
            return attr.fget(self)
        if isinstance(attr, (staticmethod, classmethod)):
            return attr.__get__(None, self._draft_cls)
        if inspect.isfunction(attr):
            return attr.__get__(self, self._draft_cls)
        return getattr(self._draft_cls, name)  # constants, event handlers (to return as the next event)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._draft_raw:
            raise AttributeError(f"{self._draft_cls.__name__} has no state var {name!r} to set")
        self._draft_values[name] = value
        self._draft_assigned.add(name)

    def apply(self, state: Any) -> None:
        """On the loop: assign to `state` what the body assigned or changed in place."""
        raw = self._draft_raw
        for name, value in self._draft_values.items():
            if name in self._draft_assigned or value is not raw[name] and value != raw[name]:
                setattr(state, name, value)


async def off_loop(method: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`await off_loop(self.method, ...)`: run a state's synchronous method in a worker thread against a
    draft, then apply its assignments to the state on the loop. Its return value is passed through."""
    state, fn = method.__self__, method.__func__  # type: ignore[attr-defined]
    if isinstance(state, StateDraft):  # already off the loop (an off-loop body calling another one)
        return fn(state, *args, **kwargs)
    draft = StateDraft(state)
    try:
        return await run_db(fn, draft, *args, **kwargs)
    finally:
        draft.apply(state)  # what the body changed before an error stays changed, as in a plain handler


def db_event(fn: Callable | None = None, **event_kwargs: Any) -> Any:
    """`@db_event` in place of `@rx.event` on a synchronous handler that reads or writes the database:
    the body runs in a worker thread (see `off_loop`)."""
    import reflex as rx

    def wrap(handler: Callable) -> Any:
        return rx.event(off_loop_handler(handler), **event_kwargs)

    return wrap(fn) if fn is not None else wrap


def off_loop_handler(fn: Callable) -> Callable:
    """The async handler that runs the synchronous `fn` off the loop (without registering it as an event)."""
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):
        raise TypeError(f"{fn.__qualname__}: only a plain synchronous handler can run off the loop")

    @functools.wraps(fn)
    async def handler(self, *args, **kwargs):
        return await off_loop(fn.__get__(self, type(self)), *args, **kwargs)

    return handler
