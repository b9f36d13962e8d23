"""Declarative request parameters: each endpoint states what it accepts, and its handler reads
only what the spec parsed.

This is how the emulator refuses what it does not implement. A parameter that is not in an
endpoint's spec gets Stripe's `parameter_unknown` error naming it (at any depth, e.g.
`payment_intent_data[on_behalf_of]`), and a value Stripe accepts but the emulator does not
model (`ui_mode=embedded_page`) gets an `invalid_request_error` naming the parameter. Because the
handler receives the parsed dict and nothing else, the accepted set and the implemented set
are the same list: there is no second, hand-written allow-list to drift.

    CREATE = Hash(name=String(required=True, max_length=250), metadata=Metadata())
    args = CREATE.parse(raw_params)      # {"name": "Room"}; raises StripeError on bad input
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from stripe_emulator.core import errors

_URL_RE = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_INT_RE = re.compile(r"^-?\d+$")

TRUE_VALUES = ("true", "True", "1")
FALSE_VALUES = ("false", "False", "0")


def join(path: str, key: str | int) -> str:
    return f"{path}[{key}]" if path else str(key)


def _show(value: Any) -> str:
    return value if isinstance(value, str) else type(value).__name__


class Param:
    """One parameter. `unsettable`: an empty string means "unset" (None) instead of an error."""

    def __init__(self, *, required: bool = False, unsettable: bool = False) -> None:
        self.required = required
        self.unsettable = unsettable

    def parse(self, value: Any, path: str) -> Any:
        if value == "":
            if self.unsettable and not self.required:
                return None
            raise errors.empty(path)
        return self.convert(value, path)

    def convert(self, value: Any, path: str) -> Any:
        raise NotImplementedError


class String(Param):
    """`choices`: the values Stripe accepts; `supported`: the subset the emulator implements."""

    def __init__(
        self,
        *,
        required: bool = False,
        unsettable: bool = False,
        max_length: int | None = 5000,
        choices: tuple[str, ...] | None = None,
        supported: tuple[str, ...] | None = None,
        check: Callable[[str, str], None] | None = None,
    ) -> None:
        super().__init__(required=required, unsettable=unsettable)
        self.max_length = max_length
        self.choices = choices
        self.supported = supported
        self.check = check

    def convert(self, value: Any, path: str) -> str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)  # JSON bodies (a convenience; Stripe itself takes forms)
        if not isinstance(value, str):
            raise errors.invalid(path, f"Invalid string: {_show(value)}")
        if self.max_length is not None and len(value) > self.max_length:
            raise errors.invalid(
                path, f"Invalid string: {value[:20]}...; must be at most {self.max_length} characters"
            )
        if self.choices is not None and value not in self.choices:
            raise errors.invalid(path, f"Invalid {path}: must be one of {', '.join(self.choices)}")
        if self.supported is not None and value not in self.supported:
            raise errors.not_implemented(
                path, f"{path}={value} (it supports {', '.join(self.supported)})"
            )
        if self.check is not None:
            self.check(value, path)
        return value


def _check_url(value: str, path: str) -> None:
    if not _URL_RE.match(value):
        raise errors.invalid(path, "Not a valid URL", "url_invalid")


def _check_email(value: str, path: str) -> None:
    if not _EMAIL_RE.match(value):
        raise errors.invalid(path, f"Invalid email address: {value}", "email_invalid")


def Url(*, required: bool = False) -> String:
    return String(required=required, max_length=5000, check=_check_url)


def Email(*, required: bool = False, unsettable: bool = False) -> String:
    return String(required=required, unsettable=unsettable, max_length=800, check=_check_email)


class Integer(Param):
    def __init__(
        self,
        *,
        required: bool = False,
        unsettable: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> None:
        super().__init__(required=required, unsettable=unsettable)
        self.minimum = minimum
        self.maximum = maximum

    def convert(self, value: Any, path: str) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not _INT_RE.match(value.strip()):
            raise errors.invalid(
                path, f"Invalid integer: {_show(value)}", "parameter_invalid_integer"
            )
        number = int(value.strip())
        if self.minimum is not None and number < self.minimum:
            raise errors.invalid(
                path,
                f"This value must be greater than or equal to {self.minimum}.",
                "parameter_invalid_integer",
            )
        if self.maximum is not None and number > self.maximum:
            raise errors.invalid(
                path,
                f"This value must be less than or equal to {self.maximum}.",
                "parameter_invalid_integer",
            )
        return number


class Number(Param):
    """A decimal number such as a coupon's `percent_off` (25.5), kept as a float like Stripe's JSON."""

    def __init__(self, *, required: bool = False, minimum: float | None = None, maximum: float | None = None,
                 exclusive_minimum: bool = False) -> None:
        super().__init__(required=required)
        self.minimum = minimum
        self.maximum = maximum
        self.exclusive_minimum = exclusive_minimum

    def convert(self, value: Any, path: str) -> float:
        try:
            number = float(str(value).strip()) if not isinstance(value, bool) else None
        except ValueError:
            number = None
        if number is None or number != number or number in (float("inf"), float("-inf")):
            raise errors.invalid(path, f"Invalid decimal: {_show(value)}", "parameter_invalid_empty"
                                 if value == "" else None)
        too_small = self.minimum is not None and (
            number <= self.minimum if self.exclusive_minimum else number < self.minimum)
        if too_small or (self.maximum is not None and number > self.maximum):
            raise errors.invalid(path, f"Invalid {path}: must be greater than {self.minimum:g} and at most "
                                 f"{self.maximum:g}" if self.maximum is not None else f"Invalid {path}: {number:g}")
        return number


class Boolean(Param):
    """`supported`: the values the emulator implements, e.g. (False,) for a feature it lacks."""

    def __init__(
        self, *, required: bool = False, supported: tuple[bool, ...] | None = None
    ) -> None:
        super().__init__(required=required)
        self.supported = supported

    def convert(self, value: Any, path: str) -> bool:
        if isinstance(value, bool):
            result = value
        elif value in TRUE_VALUES:
            result = True
        elif value in FALSE_VALUES:
            result = False
        else:
            raise errors.invalid(path, f"Invalid boolean: {_show(value)}")
        if self.supported is not None and result not in self.supported:
            raise errors.not_implemented(path, f"{path}={str(result).lower()}")
        return result


class Metadata(Param):
    """Stripe metadata: up to 50 string pairs; '' as a value unsets that key, metadata='' all."""

    def parse(self, value: Any, path: str) -> dict[str, str]:
        return self.convert(value, path)

    def convert(self, value: Any, path: str) -> dict[str, str]:
        if value == "":
            return {}
        if not isinstance(value, dict):
            raise errors.invalid(path, "Invalid object")
        if len(value) > 50:
            raise errors.invalid(path, "Metadata can have at most 50 keys.")
        result: dict[str, str] = {}
        for key, item in value.items():
            item_path = join(path, key)
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                item = str(item)
            if not isinstance(item, str):
                raise errors.invalid(item_path, "Invalid string")
            if len(key) > 40:
                raise errors.invalid(item_path, "Metadata keys can be at most 40 characters long.")
            if len(item) > 500:
                raise errors.invalid(
                    item_path, "Metadata values can be at most 500 characters long."
                )
            result[key] = item
        return result


class List(Param):
    def __init__(
        self, item: Param, *, required: bool = False, unsettable: bool = False, max_items: int | None = None
    ) -> None:
        super().__init__(required=required, unsettable=unsettable)
        self.item = item
        self.max_items = max_items

    def convert(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise errors.invalid(path, "Invalid array")
        if self.max_items is not None and len(value) > self.max_items:
            raise errors.invalid(path, f"You may pass at most {self.max_items} values.")
        return [self.item.parse(item, join(path, index)) for index, item in enumerate(value)]


class Hash(Param):
    """A nested object. Keys outside `fields` are refused with `parameter_unknown`."""

    def __init__(
        self,
        fields: Mapping[str, Param] | None = None,
        *,
        required: bool = False,
        unsettable: bool = False,
        **named: Param,
    ) -> None:
        super().__init__(required=required, unsettable=unsettable)
        self.fields: dict[str, Param] = {**(fields or {}), **named}

    def convert(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise errors.invalid(path or "params", "Invalid object")
        for key in value:
            if key not in self.fields:
                raise errors.unknown_param(join(path, key))
        result: dict[str, Any] = {}
        for key, param in self.fields.items():
            if key in value:
                result[key] = param.parse(value[key], join(path, key))
            elif param.required:
                raise errors.missing(join(path, key))
        return result

    def extend(self, **named: Param) -> Hash:
        return Hash({**self.fields, **named}, required=self.required, unsettable=self.unsettable)

    def walk(self, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Param]]:
        """Every (key chain, param) below this hash: exactly what the endpoint accepts (list
        items share their list's chain: `line_items[0][price]` is ("line_items", "price"))."""
        for key, param in self.fields.items():
            chain = (*path, key)
            yield chain, param
            for inner in _children(param):
                yield from inner.walk(chain)


def _children(param: Param) -> list[Hash]:
    if isinstance(param, Hash):
        return [param]
    if isinstance(param, List) and isinstance(param.item, Hash):
        return [param.item]
    if isinstance(param, Either):
        return [option for option in param.options if isinstance(option, Hash)]
    return []


class Either(Param):
    """A scalar or a hash, chosen by what arrived: `created=123` or `created[gte]=123`."""

    def __init__(self, scalar: Param, mapping: Hash, *, required: bool = False) -> None:
        super().__init__(required=required)
        self.options = (scalar, mapping)

    def parse(self, value: Any, path: str) -> Any:
        scalar, mapping = self.options
        if isinstance(value, dict):
            return mapping.parse(value, path)
        return scalar.parse(value, path)


# --- common fragments ------------------------------------------------------------------------

EXPAND = List(String())
RANGE = Hash(gt=Integer(), gte=Integer(), lt=Integer(), lte=Integer())
CREATED = Either(Integer(), RANGE)
PAGINATION: dict[str, Param] = {
    "limit": Integer(minimum=1, maximum=100),
    "starting_after": String(),
    "ending_before": String(),
}
RETRIEVE = Hash(expand=EXPAND)


def list_spec(**filters: Param) -> Hash:
    return Hash({"expand": EXPAND, **PAGINATION, **filters})


# --- endpoints -------------------------------------------------------------------------------

Handler = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Endpoint:
    """One API operation. The handler is called as handler(emu, ctx, args, **path_params)."""

    method: str
    path: str
    spec: Hash
    handler: Handler
    # Connect operations only a platform may call (refused under a Stripe-Account header).
    platform_only: bool = False
