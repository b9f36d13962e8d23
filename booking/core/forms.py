"""Reading submitted forms: what a browser and a JSON/API client send for the same field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_TICKED = frozenset({"on", "true", "1", "yes"})


def checked(form: Mapping[str, Any], key: str) -> bool:
    """Whether the checkbox `key` is ticked. A browser sends "on" (or the box's own value, "yes" here) and
    leaves an unticked box out; an API client may send true, "true" or "1". Any case, spaces around."""
    value = form.get(key)
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in _TICKED
