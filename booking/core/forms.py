"""Reading submitted forms and requests: what a browser and a JSON/API client send for the same field."""

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


MAX_DATABASE_ID = 2**31 - 1  # PostgreSQL `integer`: a larger id can't exist, and looking it up is an error


def database_id(raw: object) -> int | None:
    """A positive database id from a path or a form, or None. ASCII digits only: "²" passes str.isdigit()
    but not int()."""
    text = str(raw)
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_DATABASE_ID else None
