"""Hostile values to every admin event handler: a browser can send any JSON to any handler, so each one,
called with each value below as every argument (and as every field of a form), answers with a message or
ignores the value — never with an unhandled exception (a 500 and a stuck page in the browser).

The handlers are found by the authorisation walk; the caller is the owner, so every body runs.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import pytest

from tests.integration.admin.test_authorisation_walk import (  # noqa: F401 - fixtures, used by name
    FRAMEWORK_HANDLERS,
    HANDLERS,
    MAX_FORM,
    aim_at_owner,
    world,
)
from tests.support.admin_states import call, state_of, token_for

HOSTILE: dict[str, Any] = {
    "none": None,
    "negative": -1,
    "huge_int": 2**64,
    "enormous_int": 10**4000,
    "nan": math.nan,
    "inf": math.inf,
    "minus_inf": -math.inf,
    "huge_float": 1e308,
    "huge_text": "9" * 1_000_000,
    "nul": "a\x00b",
    "list": [1, [2]],
    "dict": {"a": {"b": [None]}},
    "exponent": "1E+500000",
}

WITH_ARGUMENTS = [(cls, name) for cls, name in HANDLERS if name not in FRAMEWORK_HANDLERS
                  and len(inspect.signature(cls.event_handlers[name].fn).parameters) > 1]


def hostile_arguments(fn, value: Any) -> list[Any]:
    args = []
    for parameter in list(inspect.signature(fn).parameters.values())[1:]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        args.append(value)
    return args


def hostile_forms(value: Any) -> dict[str, Any]:
    return {key: value for key in [*MAX_FORM, "session_type_id", "booking_id", "builder_id", "refund_id"]}


def test_the_walk_covers_the_handlers_that_take_values():
    names = {name for _cls, name in WITH_ARGUMENTS}
    assert {"choose_builder", "go_to_page", "save", "refund"} <= names
    assert len(WITH_ARGUMENTS) >= 50


@pytest.mark.parametrize(("cls", "name"), WITH_ARGUMENTS, ids=[f"{c.__name__}.{n}" for c, n in WITH_ARGUMENTS])
def test_hostile_values_get_a_message_never_an_exception(engine, world, cls, name):  # noqa: F811
    ids, users = world
    token = token_for(engine, users["owner"])
    fn = cls.event_handlers[name].fn
    takes_form = any(p.annotation in ("dict", dict) for p in inspect.signature(fn).parameters.values())
    raised = []
    for label, value in HOSTILE.items():
        calls = [hostile_arguments(fn, value)]
        if takes_form:
            calls.append([hostile_forms(value) if p.annotation in ("dict", dict) else value
                          for p in list(inspect.signature(fn).parameters.values())[1:]])
        for args in calls:
            state = state_of(cls, token)
            aim_at_owner(state, ids)
            try:
                call(state, name, *args)
            except Exception as exc:
                raised.append(f"{label}: {type(exc).__name__}: {str(exc)[:120]}")
    assert not raised, f"{cls.__name__}.{name} raised on hostile values:\n" + "\n".join(raised)


@pytest.mark.parametrize(("handler", "value"), [("choose_builder", ["1"]), ("go_to_page", 10**4000),
                                                ("choose_builder", "1\x00")], ids=["list", "huge", "nul"])
def test_a_value_of_the_wrong_kind_is_answered_with_a_message(engine, world, handler, value):  # noqa: F811
    ids, users = world
    [(cls, name)] = [(c, n) for c, n in WITH_ARGUMENTS if n == handler][:1]
    state = state_of(cls, token_for(engine, users["owner"]))

    call(state, name, value)

    assert "isn't valid" in state.admin_error


@pytest.mark.parametrize("form", [
    {"data": {"email": ["a@b.c", "d@e.f"], "password": "x"}},  # a field sent twice
    {"files": {"email": ("email.txt", b"a@b.c")}, "data": {"password": "x"}},  # a file for a text field
    {"data": {"email": "a\x00b@c.d", "password": "p\x00", "next": "/admin\x00"}},
    {"data": {"email": "9" * 3000, "password": "9" * 1000}},
    {"data": {}},
], ids=["twice", "file", "nul", "long", "empty"])
def test_the_sign_in_form_answers_a_hostile_value_on_its_own_page(engine, world, form, monkeypatch):  # noqa: F811
    """Signing in is an HTTP form POST (booking_ui.api): odd values get the sign-in page's one message."""
    from booking_ui import api, routes
    from tests.support.admin_states import auth_client
    from tests.support.throttles import fresh_throttle

    throttle = fresh_throttle(5, 20)
    monkeypatch.setattr(api, "throttle_from_settings", lambda _settings: throttle)

    with auth_client(ip="192.0.2.99") as client:
        response = client.post(routes.API_AUTH_SIGN_IN, **form)

    assert response.status_code in (303, 413), response.text
    if response.status_code == 303:
        assert response.headers["location"] == routes.ADMIN_LOGIN + "?error=failed"
        assert "set-cookie" not in response.headers
