"""The authorisation walk: every admin event handler and admin HTTP route, enumerated from the code,
called signed out, as another builder, as the owner and as a platform admin.

A new handler can't be forgotten: it is found by walking the AdminState tree, it must be declared
with the guard (or be on the short public list below, with a reason), and it is then called with
arguments synthesised from its parameter names — against the owner's rows — by each kind of caller.
"""

from __future__ import annotations

import inspect
import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel
from starlette.testclient import TestClient

from booking.core.config import get_settings
from booking.core.db import session_scope
from booking.core.models import (
    AvailabilityOverride,
    Booking,
    BookingStatus,
    CreditGrant,
    CreditPackage,
    CreditSourceKind,
    Dispute,
    DisputeStatus,
    Notification,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    StripeEvent,
    UserRole,
    utcnow,
)
from booking_ui import routes
from booking_ui.admin import pages as admin_pages
from booking_ui.admin.base import SESSION_COOKIE, AdminState
from stripe_emulator.server import EmulatorServer
from tests.factories import make_builder, make_client, make_session_type
from tests.support.admin_states import PASSWORD, call, make_user, redirect_path, state_of, token_for
from tests.support.stripe_events import WEBHOOK_SECRET

# Handlers that must work signed out, and why.
PUBLIC_HANDLERS = {
    ("AdminState", "guard"): "the page guard itself: resolves the session or redirects to sign-in",
    ("LoginState", "load"): "the sign-in page (signing in and out are HTTP POSTs: booking_ui.api)",
    ("RecoveryState", "load_forgot"): "the forgot-password page",
    ("RecoveryState", "ask"): "asking for a reset link (throttled; one answer for every address)",
    ("RecoveryState", "load_reset"): "the emailed reset link's page (the token is the credential)",
    ("RecoveryState", "set_new_password"): "setting a password through the reset link (the token is the credential)",
    ("RecoveryState", "load_invite"): "the emailed invite link's page (the token is the credential)",
    ("RecoveryState", "accept"): "setting a first password through the invite link (the token is the credential)",
}
# Pages for people who can't sign in (yet): the sign-in page, "Forgot password?" and the emailed links.
SIGNED_OUT_ROUTES = {"admin/login", "admin/forgot", "admin/reset", "admin/invite"}
# Reflex's generic setter only calls the state's own set_<var> handlers, which are walked themselves.
FRAMEWORK_HANDLERS = {"setvar"}

OWNER_MARKERS = ("owner-client@walk.test", "Owner walk type", "Owner Walker")
MAX_FORM: dict[str, Any] = {
    "name": "Walk test", "description": "walked", "duration_minutes": "30", "duration": "30",
    "price": "12.00", "currency": "gbp", "location": "https://meet.example/walk", "amount": "1.00",
    "reason": "requested_by_customer", "refund": "full", "refund_choice": "full", "refund_kind": "full",
    "email": "walker@walk.test", "password": PASSWORD, "current_password": PASSWORD,
    "new_password": "walk-new-password-1", "confirm_password": "walk-new-password-1",
    "time_zone": "Europe/Paris", "buffer_minutes": "10", "min_notice_minutes": "0", "horizon_days": "30",
    "slot_step_minutes": "30", "status": "confirmed", "search": "owner", "day": "2030-01-07",
    "start": "09:00", "end": "10:00", "closed": "on",
}


def all_admin_states() -> list[type[AdminState]]:
    found, todo = [], [AdminState]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def walked_handlers() -> list[tuple[type[AdminState], str]]:
    assert admin_pages.ADMIN_PAGE_MODULES  # importing the pages registers every admin state
    pairs = []
    for cls in all_admin_states():
        own = {name for name, handler in cls.event_handlers.items()
               if handler.fn.__qualname__.split(".")[0] == cls.__name__}
        pairs.extend((cls, name) for name in sorted(own))
    return pairs


HANDLERS = walked_handlers()


def test_the_walk_finds_every_admin_area():
    classes = {cls.__name__ for cls, _ in HANDLERS}
    for module in admin_pages.ADMIN_PAGE_MODULES:
        assert any(name.lower().startswith(module.__name__.rsplit(".", 1)[1].replace("_", ""))
                   for name in classes), module.__name__
    assert len(HANDLERS) >= 20


@pytest.mark.parametrize(("cls", "name"), HANDLERS, ids=[f"{c.__name__}.{n}" for c, n in HANDLERS])
def test_every_admin_handler_is_guarded_or_public_on_purpose(cls, name):
    fn = cls.event_handlers[name].fn
    if name in FRAMEWORK_HANDLERS:
        return
    if getattr(fn, "__admin_public__", False):
        assert (cls.__name__, name) in PUBLIC_HANDLERS, f"{cls.__name__}.{name} is public but not listed"
        return
    assert getattr(fn, "__admin_guarded__", False), (
        f"{cls.__name__}.{name} is not declared with @admin_event / @admin_background")


def test_every_admin_page_runs_the_guard_on_load():
    from booking_ui.booking_ui import app

    admin_routes = {route: page for route, page in app._unevaluated_pages.items() if route.startswith("admin")}
    assert len(admin_routes) >= 10
    for route, page in admin_routes.items():
        handlers = page.on_load if isinstance(page.on_load, list) else [page.on_load]
        names = {handler.fn.__qualname__ for handler in handlers}
        assert "AdminState.guard" in names or route in SIGNED_OUT_ROUTES, route


# --- the world: an owner, another builder, a platform admin ----------------------------------------


@pytest.fixture(scope="module")
def emulator():
    with EmulatorServer(webhook_url=None, webhook_secret=WEBHOOK_SECRET) as server:
        yield server


@pytest.fixture
def world(engine, emulator, monkeypatch):
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_walk")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("STRIPE_API_BASE", emulator.url)
    get_settings.cache_clear()
    with session_scope(engine) as session:
        owner = make_builder(session, name="Owner Walker", slug="owner-walker")
        other = make_builder(session, name="Other Walker", slug="other-walker")
        session_type = make_session_type(session, owner, name="Owner walk type")
        make_session_type(session, other, name="Other walk type")
        client = make_client(session, email="owner-client@walk.test", name="Owner Client")
        start = (utcnow() + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
        booking = Booking(client_id=client.id, builder_id=owner.id, session_type_id=session_type.id,
                          start_time=start, end_time=start + timedelta(hours=1),
                          status=BookingStatus.CONFIRMED, confirmed_at=utcnow())
        session.add(booking)
        session.flush()
        payment = Payment(booking_id=booking.id, attempt=1, checkout_session_id="cs_walk_owner",
                          payment_intent_id="pi_walk_owner", amount=5000, currency="gbp",
                          status=PaymentStatus.PAID, paid_at=utcnow())
        session.add(payment)
        session.flush()
        refund = Refund(payment_id=payment.id, booking_id=booking.id, amount=100, currency="gbp",
                        status=RefundStatus.FAILED, requested_by="stripe", failure_reason="walk")
        override = AvailabilityOverride(builder_id=owner.id, day=start.date(), closed=True)
        event = StripeEvent(id="evt_walk_owner", type="checkout.session.completed", status="failed",
                            booking_id=booking.id, error="walk", payload=json.dumps({
                                "id": "evt_walk_owner", "type": "checkout.session.completed",
                                "data": {"object": {"id": "cs_walk_owner", "object": "checkout.session",
                                                    "metadata": {"booking_id": booking.id}}}}))
        notification = Notification(dedupe_key="walk-owner", kind="booking_confirmed",
                                    recipient="owner-client@walk.test", booking_id=booking.id,
                                    status="failed", last_error="walk")
        dispute = Dispute(stripe_dispute_id="dp_walk_owner", payment_id=payment.id, booking_id=booking.id,
                          amount=5000, currency="gbp", reason="fraudulent", status=DisputeStatus.NEEDS_RESPONSE,
                          evidence_due_by=start)
        package = CreditPackage(builder_id=owner.id, name="Owner walk package", session_count=3, price_amount=9000,
                                currency="gbp", validity_days=30)
        grant = CreditGrant(builder_id=owner.id, client_email="owner-client@walk.test", quantity=3,
                            expires_at=start + timedelta(days=30), source_kind=CreditSourceKind.PACKAGE_PURCHASE,
                            source_id="walk")
        session.add_all([refund, override, event, notification, dispute, package, grant])
        session.flush()
        ids = {
            "builder": owner.id, "other_builder": other.id, "session_type": session_type.id,
            "booking": booking.id, "payment": payment.id, "refund": refund.id, "override": override.id,
            "event": event.id, "notification": notification.id, "dispute": dispute.id,
            "package": package.id, "grant": grant.id,
        }
        rule_id = session.execute(sa.text("SELECT id FROM availability_rule WHERE builder_id = :b LIMIT 1"),
                                  {"b": owner.id}).scalar()
        ids["rule"] = rule_id
    users = {
        "owner": make_user(engine, email="owner@walk.test", builder_id=ids["builder"]),
        "other": make_user(engine, email="other@walk.test", builder_id=ids["other_builder"]),
        "admin": make_user(engine, email="admin@walk.test", role=UserRole.ADMIN),
    }
    yield ids, users


def walk_upload() -> list[Any]:
    """What Reflex hands an upload handler: a list of UploadFile, here one small real PNG."""
    import io
    from pathlib import Path

    import reflex as rx
    from PIL import Image

    data = io.BytesIO()
    Image.new("RGB", (8, 8), "purple").save(data, format="PNG")
    data.seek(0)
    return [rx.UploadFile(file=data, path=Path("walk.png"), size=len(data.getvalue()))]


def arguments_for(fn, ids: dict[str, Any]) -> list[Any]:
    by_name: dict[str, Any] = {
        "files": walk_upload(),
        "form": {**MAX_FORM, "session_type_id": str(ids["session_type"]), "booking_id": ids["booking"],
                 "builder_id": str(ids["builder"]), "refund_id": str(ids["refund"])},
        "value": str(ids["builder"]), "checked": True, "page": 2, "session_type_id": str(ids["session_type"]),
        "booking_id": ids["booking"], "refund_id": str(ids["refund"]), "event_id": ids["event"],
        "notification_id": str(ids["notification"]), "override_id": str(ids["override"]),
        "rule_id": str(ids["rule"]), "weekday": "0", "index": 0, "status": "confirmed",
        "field": "buffer_minutes", "dispute_id": str(ids["dispute"]),
        "package_id": str(ids["package"]), "grant_id": str(ids["grant"]),
    }
    args = []
    for parameter in list(inspect.signature(fn).parameters.values())[1:]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        assert parameter.name in by_name, (
            f"{fn.__qualname__}: parameter {parameter.name!r} is not one the walk knows; use a name from "
            f"{sorted(by_name)} or teach the walk what to send")
        args.append(by_name[parameter.name])
    return args


def aim_at_owner(state: AdminState, ids: dict[str, Any]) -> None:
    """Point every *_id var of the state at the owner's rows, as a hostile browser could."""
    targets = [("session_type", ids["session_type"]), ("booking", ids["booking"]), ("refund", ids["refund"]),
               ("event", ids["event"]), ("notification", ids["notification"]), ("override", ids["override"]),
               ("rule", ids["rule"]), ("builder", ids["builder"]), ("selected", ids["dispute"])]
    for name in type(state).base_vars:
        if not name.endswith("_id") or name.startswith("_"):
            continue
        current = getattr(state, name)
        for key, value in targets:
            if key in name:
                if isinstance(current, str):
                    setattr(state, name, str(value))
                elif isinstance(current, int) and str(value).isdigit():
                    setattr(state, name, int(value))
                break


_EXCLUDED_TABLES = {"auth_session"}


def rows(engine) -> dict[tuple[str, str], tuple]:
    found = {}
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in _EXCLUDED_TABLES:
                continue
            key_columns = [column.name for column in table.primary_key.columns]
            for row in connection.execute(sa.select(table)).mappings():
                found[(table.name, "|".join(str(row[c]) for c in key_columns))] = tuple(
                    sorted((k, str(v)) for k, v in row.items()))
    return found


def references_owner(row: tuple, ids: dict[str, Any]) -> bool:
    values = dict(row)
    owned = {"builder_id": str(ids["builder"]), "booking_id": ids["booking"], "payment_id": str(ids["payment"]),
             "session_type_id": str(ids["session_type"])}
    return any(values.get(column) == value for column, value in owned.items())


def state_text(state: AdminState) -> str:
    return json.dumps({name: getattr(state, name) for name in type(state).base_vars}, default=str)


def run(cls, name, token, ids):
    state = state_of(cls, token)
    aim_at_owner(state, ids)
    fn = cls.event_handlers[name].fn
    return state, call(state, name, *arguments_for(fn, ids))


GUARDED = [(cls, name) for cls, name in HANDLERS
           if name not in FRAMEWORK_HANDLERS and (cls.__name__, name) not in PUBLIC_HANDLERS]


@pytest.mark.parametrize(("cls", "name"), GUARDED, ids=[f"{c.__name__}.{n}" for c, n in GUARDED])
def test_signed_out_is_sent_to_sign_in_and_changes_nothing(engine, world, cls, name):
    ids, _users = world
    before = rows(engine)
    state, result = run(cls, name, "", ids)
    assert redirect_path(result) == routes.ADMIN_LOGIN
    assert rows(engine) == before
    assert not any(marker in state_text(state) for marker in OWNER_MARKERS)


@pytest.mark.parametrize(("cls", "name"), GUARDED, ids=[f"{c.__name__}.{n}" for c, n in GUARDED])
def test_another_builder_neither_changes_nor_sees_the_owners_rows(engine, world, cls, name):
    ids, users = world
    before = rows(engine)
    state, _result = run(cls, name, token_for(engine, users["other"]), ids)
    after = rows(engine)
    # The caller may change their own rows (their password, their calendar link); never the owner's.
    changed = [key for key, row in before.items() if after.get(key) != row
               and (references_owner(row, ids) or key == ("builder", str(ids["builder"])))]
    assert not changed, f"{cls.__name__}.{name} changed the owner's rows: {changed}"
    added = [key for key, row in after.items() if key not in before and references_owner(row, ids)]
    assert not added, f"{cls.__name__}.{name} wrote rows about the owner: {added}"
    leaked = [marker for marker in OWNER_MARKERS if marker in state_text(state)]
    assert not leaked, f"{cls.__name__}.{name} showed another builder the owner's {leaked}"


@pytest.mark.parametrize("who", ["owner", "admin"])
@pytest.mark.parametrize(("cls", "name"), GUARDED, ids=[f"{c.__name__}.{n}" for c, n in GUARDED])
def test_the_owner_and_a_platform_admin_get_an_answer(engine, world, cls, name, who):
    ids, users = world
    _state, result = run(cls, name, token_for(engine, users[who]), ids)
    assert redirect_path(result) != routes.ADMIN_LOGIN


# --- admin HTTP routes ----------------------------------------------------------------------------------


def admin_http_routes():
    from booking_ui.api import build_api

    return [route for route in build_api().routes if getattr(route, "path", "").startswith("/api/admin")]


def test_admin_http_routes_check_the_session_on_the_server(engine, world):
    ids, users = world
    found = admin_http_routes()
    assert found
    from booking_ui.api import build_api

    client = TestClient(build_api())
    params = {"event_id": ids["event"], "booking_id": ids["booking"], "session_type_id": ids["session_type"],
              "kind": "bookings"}
    for route in found:
        path = route.path.format(**{name: params[name] for name in route.param_convertors})
        assert client.get(path).status_code == 401, path
        client.cookies.set(SESSION_COOKIE, token_for(engine, users["other"]))
        response = client.get(path)
        # An export answers anyone signed in, with only their own rows (tests/integration/test_exports.py).
        expected = 200 if "{kind}" in route.path else 404
        assert response.status_code == expected and not any(m in response.text for m in OWNER_MARKERS), path
        for who in ("owner", "admin"):
            client.cookies.set(SESSION_COOKIE, token_for(engine, users[who]))
            assert client.get(path).status_code == 200, (path, who)
        client.cookies.clear()
