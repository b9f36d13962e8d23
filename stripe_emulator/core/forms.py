"""Decoding Stripe's form encoding: `a[b][0][c]=1&expand[]=x` into nested dicts and lists.

The SDK sends `line_items[0][price_data][unit_amount]=5000`, `metadata[booking_id]=7`,
`expand[0]=payment_intent`; curl users often write `expand[]=payment_intent`.
All leaves stay strings; typed access lives in `params.py`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

# Values under these names are hashes even when their keys look like indexes.
HASH_PARAMS = frozenset({"metadata"})

_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT_RE = re.compile(r"\[([^\[\]]*)\]")
_APPEND = object()


class FormDecodeError(ValueError):
    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


def split_key(key: str) -> list[str]:
    """'a[b][0][]' -> ['a', 'b', '0', '']"""
    match = _KEY_RE.match(key)
    if not match:
        raise FormDecodeError(f"Invalid parameter name: {key}", key)
    return [match.group(1), *_SEGMENT_RE.findall(match.group(2))]


def decode_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Build the nested structure; later duplicates of a scalar key win."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = split_key(key)
        _insert(root, parts, value, key)
    return _finalize(root, None)


def decode_query(query: str | bytes) -> dict[str, Any]:
    if isinstance(query, bytes):
        query = query.decode("utf-8", errors="replace")
    return decode_pairs(parse_qsl(query, keep_blank_values=True))


def _insert(node: dict[str, Any], parts: list[str], value: str, full_key: str) -> None:
    head, rest = parts[0], parts[1:]
    if head == "":
        head = str(_next_index(node))
    if not rest:
        if isinstance(node.get(head), dict):
            raise FormDecodeError(f"Invalid hash: {full_key} is both a value and a hash", full_key)
        node[head] = value
        return
    child = node.get(head)
    if child is None:
        child = node[head] = {}
    elif not isinstance(child, dict):
        raise FormDecodeError(f"Invalid hash: {full_key} is both a value and a hash", full_key)
    _insert(child, rest, value, full_key)


def _next_index(node: dict[str, Any]) -> int:
    indexes = [int(key) for key in node if key.isdigit()]
    return max(indexes) + 1 if indexes else 0


def _finalize(node: Any, name: str | None) -> Any:
    if not isinstance(node, dict):
        return node
    finalized = {key: _finalize(value, key) for key, value in node.items()}
    if name not in HASH_PARAMS and finalized and all(key.isdigit() for key in finalized):
        return [finalized[key] for key in sorted(finalized, key=int)]
    return finalized


def decode_flat(body: bytes | str) -> dict[str, str]:
    """A plain HTML form body (no brackets): name -> value, later duplicates win."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


def encode_pairs(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """The inverse, used by tests and the control API helper: nested -> bracket pairs."""
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        full = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, dict):
            pairs.extend(encode_pairs(value, full))
        elif isinstance(value, (list, tuple)):
            pairs.extend(encode_pairs({str(i): item for i, item in enumerate(value)}, full))
        elif isinstance(value, bool):
            pairs.append((full, "true" if value else "false"))
        elif value is None:
            continue
        else:
            pairs.append((full, str(value)))
    return pairs
