"""Typed access to decoded request parameters, raising Stripe-shaped errors that name the param."""

from __future__ import annotations

import re
from typing import Any

from stripe_emulator import errors

_URL_RE = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Params:
    """A view on one level of the decoded parameters; `prefix` is the bracketed path so far."""

    def __init__(self, data: Any, prefix: str = "") -> None:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise errors.invalid(prefix or "params", "Invalid object", "parameter_invalid_object")
        self.data: dict[str, Any] = data
        self.prefix = prefix

    def path(self, key: str | int) -> str:
        return f"{self.prefix}[{key}]" if self.prefix else str(key)

    def has(self, key: str) -> bool:
        return key in self.data

    def keys(self) -> list[str]:
        return list(self.data)

    def raw(self, key: str) -> Any:
        return self.data.get(key)

    def reject_unknown(self, allowed: set[str] | frozenset[str]) -> None:
        for key in self.data:
            if key not in allowed:
                raise errors.unknown_param(self.path(key))

    def string(
        self,
        key: str,
        *,
        required: bool = False,
        max_length: int | None = None,
        choices: tuple[str, ...] | None = None,
        allow_empty: bool = False,
    ) -> str | None:
        value = self.data.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if value is None or (value == "" and not allow_empty and not required):
            if required:
                raise errors.missing(self.path(key))
            return None
        if not isinstance(value, str):
            raise errors.invalid(self.path(key), f"Invalid string: {_show(value)}")
        if value == "" and required:
            raise errors.invalid(
                self.path(key),
                f"You passed an empty string for '{self.path(key)}'. We assume empty values are an "
                "attempt to unset a parameter; however '"
                f"{self.path(key)}' cannot be unset. You should remove '{self.path(key)}' from "
                "your request or supply a non-empty value.",
                "parameter_invalid_empty",
            )
        if max_length is not None and len(value) > max_length:
            raise errors.invalid(
                self.path(key),
                f"Invalid string: {value[:20]}...; must be at most {max_length} characters",
                "parameter_invalid_string_too_long",
            )
        if choices is not None and value not in choices:
            raise errors.invalid(
                self.path(key),
                f"Invalid {self.path(key)}: must be one of {', '.join(choices)}",
            )
        return value

    def integer(
        self,
        key: str,
        *,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        value = self.data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # JSON bodies (a convenience; Stripe itself takes forms)
        if value is None or value == "":
            if required:
                raise errors.missing(self.path(key))
            return None
        if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value.strip()):
            raise errors.invalid(
                self.path(key), f"Invalid integer: {_show(value)}", "parameter_invalid_integer"
            )
        number = int(value.strip())
        if minimum is not None and number < minimum:
            raise errors.invalid(
                self.path(key),
                f"This value must be greater than or equal to {minimum}.",
                "parameter_invalid_integer",
            )
        if maximum is not None and number > maximum:
            raise errors.invalid(
                self.path(key),
                f"This value must be less than or equal to {maximum}.",
                "parameter_invalid_integer",
            )
        return number

    def boolean(self, key: str) -> bool | None:
        value = self.data.get(key)
        if isinstance(value, bool):
            return value
        if value is None or value == "":
            return None
        if value in ("true", "True", "1"):
            return True
        if value in ("false", "False", "0"):
            return False
        raise errors.invalid(self.path(key), f"Invalid boolean: {_show(value)}")

    def sub(self, key: str) -> Params:
        value = self.data.get(key)
        if value == "":
            value = None
        if value is not None and not isinstance(value, dict):
            raise errors.invalid(
                self.path(key), "Invalid object", "parameter_invalid_object"
            )
        return Params(value or {}, self.path(key))

    def array(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if value is None or value == "":
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, dict):
            raise errors.invalid(self.path(key), "Invalid array", "parameter_invalid_array")
        return list(value)

    def string_array(self, key: str) -> list[str]:
        values = self.array(key)
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise errors.invalid(f"{self.path(key)}[{index}]", "Invalid string")
        return values

    def metadata(self, key: str = "metadata") -> dict[str, str] | None:
        """Returns None when absent; empty-string values mean 'unset this key' (kept as '')."""
        value = self.data.get(key)
        if value is None:
            return None
        if value == "":
            return {}
        if not isinstance(value, dict):
            raise errors.invalid(self.path(key), "Invalid object", "parameter_invalid_object")
        if len(value) > 50:
            raise errors.invalid(self.path(key), "Metadata can have at most 50 keys.")
        result: dict[str, str] = {}
        for meta_key, meta_value in value.items():
            if not isinstance(meta_value, str):
                raise errors.invalid(f"{self.path(key)}[{meta_key}]", "Invalid string")
            if len(meta_key) > 40:
                raise errors.invalid(
                    f"{self.path(key)}[{meta_key}]",
                    "Metadata keys can be at most 40 characters long.",
                )
            if len(meta_value) > 500:
                raise errors.invalid(
                    f"{self.path(key)}[{meta_key}]",
                    "Metadata values can be at most 500 characters long.",
                )
            result[meta_key] = meta_value
        return result

    def url(self, key: str, *, required: bool = False) -> str | None:
        value = self.string(key, required=required, max_length=5000)
        if value is not None and not _URL_RE.match(value):
            raise errors.invalid(self.path(key), "Not a valid URL", "url_invalid")
        return value

    def email(self, key: str) -> str | None:
        value = self.string(key, max_length=800)
        if value is not None and not _EMAIL_RE.match(value):
            raise errors.invalid(self.path(key), f"Invalid email address: {value}", "email_invalid")
        return value

    def expand(self) -> list[str]:
        return self.string_array("expand")


def merge_metadata(current: dict[str, str], update: dict[str, str] | None) -> dict[str, str]:
    """Stripe semantics: keys set to '' are removed; metadata='' clears everything."""
    if update is None:
        return dict(current)
    if update == {}:
        return {}
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _show(value: Any) -> str:
    return value if isinstance(value, str) else type(value).__name__
