"""Costly things made once per test process and closed when it ends (`close_all`, from tests/conftest.py).

pytest-xdist tears a worker's session fixtures down whenever the worker runs out of queued tests and
waits for more; for the browser tests that meant a new production build and a new Stripe emulator
several times a run (about 30 s each). Fixtures that hand out a kept value are set up again cheaply."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import TypeVar

Value = TypeVar("Value")

_values: dict[str, object] = {}
_stack = ExitStack()


def kept(key: str, make: Callable[[ExitStack], Value]) -> Value:
    """The value under `key`, made by `make(stack)` the first time; `make` registers its clean-up on the
    stack (closed in reverse order: what was made last goes first)."""
    if key not in _values:
        _values[key] = make(_stack)
    return _values[key]  # type: ignore[return-value]


def close_all() -> None:
    _values.clear()
    _stack.close()
