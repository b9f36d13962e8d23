"""No raw secret in Reflex state (issue #14, item 3): with REDIS_URL every state is pickled into Redis, so
after a builder signs in, or a client opens their manage page, every state class's serialised fields (what
Redis would store) are dumped and searched for the raw session token and the raw manage token."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone

import pytest
import reflex as rx
from reflex.istate.data import RouterData
from sqlmodel import Session

from booking.client import receipts
from booking.core.config import load_settings
from booking.core.models import Booking
from booking.lifecycle import checkout as payments
from booking.notifications import manage_links
from booking_ui.admin.base import SESSION_COOKIE, SessionCookieShield
from tests.factories import make_builder, make_session_type
from tests.support.admin_states import auth_client, call, http_sign_in, make_user
from tests.support.fake_gateway import FakeGateway

START = (datetime.now(timezone.utc) + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
# Reflex's own record of the connection and the page's address (the root state's router fields). The manage
# token is in the address the client opened, so Reflex's copy of the URL holds it: see the README's Security.
ROUTER_FIELDS = {"router_data", "rx_router_session", "rx_router_headers", "rx_router_page", "rx_router_url",
                 "rx_router_route_id"}


def every_state(root: rx.State) -> list[rx.State]:
    found, todo = [], [root]
    while todo:
        state = todo.pop()
        found.append(state)
        todo.extend(state.substates.values())
    return found


def stored(state: rx.State, skip: set[str] = frozenset()) -> dict[str, bytes]:
    """Each field as the Redis state manager would store it (pickled, backend `_vars` included)."""
    fields = state.__getstate__()
    return {name: pickle.dumps(value) for name, value in fields.items() if name not in skip}


def leaks(root: rx.State, secret: str, skip_router: bool) -> list[str]:
    needles = (secret.encode(), pickle.dumps(secret))
    found = []
    for state in every_state(root):
        skip = ROUTER_FIELDS if skip_router and state.parent_state is None else set()
        found += [f"{type(state).__name__}.{name}" for name, blob in stored(state, skip).items()
                  if any(needle in blob for needle in needles)]
        assert secret.encode() not in state._serialize() or (skip_router and state.parent_state is None), \
            type(state).__name__
    return found


def websocket_headers_for(cookie_header: str) -> dict[str, str]:
    """The headers Reflex would record for the websocket: passed through the app's SessionCookieShield."""
    seen: dict[str, str] = {}

    async def reflex_socket(scope, receive, send):
        seen.update({k.decode(): v.decode() for k, v in scope["headers"]})

    import asyncio

    scope = {"type": "websocket", "path": "/_event/", "headers": [(b"cookie", cookie_header.encode()),
                                                                   (b"origin", b"http://localhost:3000")]}
    asyncio.run(SessionCookieShield(reflex_socket)(scope, None, None))
    return seen


def browser_tab(path: str, headers: dict[str, str]) -> rx.State:
    import booking_ui.booking_ui  # noqa: F401 - registers every page and state

    root = rx.State(_reflex_internal_init=True)
    data = {"pathname": path, "asPath": path, "query": {}, "headers": headers}
    root.router_data = data
    root.router = RouterData.from_router_data(data)
    return root


def substate(root: rx.State, cls):
    return root.get_substate(cls.get_full_name().split(".")[1:])


def test_no_state_holds_the_session_token_after_sign_in(engine):
    from booking_ui.admin.account import AccountState
    from booking_ui.admin.base import AdminState
    from booking_ui.admin.login import LoginState

    with Session(engine) as session:
        builder_id = make_builder(session, slug="ada-secret").id
        session.commit()
    make_user(engine, email="ada@secret.test", builder_id=builder_id)
    with auth_client(ip="192.0.2.77") as client:
        token = http_sign_in(client, "ada@secret.test").cookies[SESSION_COOKIE]

    root = browser_tab("/admin/account", websocket_headers_for(f"theme=dark; {SESSION_COOKIE}={token}"))
    call(substate(root, AdminState), "guard")
    call(substate(root, AccountState), "load")
    call(substate(root, LoginState), "load")  # a signed-in browser on the sign-in page: sent on

    assert substate(root, AdminState).signed_in_email == "ada@secret.test"  # the connection is signed in
    assert leaks(root, token, skip_router=False) == []  # not even Reflex's copy of the headers


@pytest.fixture
def gateway(monkeypatch) -> FakeGateway:
    from booking_ui import deps

    fake = FakeGateway()
    monkeypatch.setattr(deps, "gateway", lambda: fake)
    return fake


def test_no_state_field_holds_the_manage_token(engine, gateway):
    from booking_ui.state.manage import ManageState

    with Session(engine) as session:
        builder = make_builder(session, time_zone="UTC")
        session_type = make_session_type(session, builder, price_amount=5000, currency="gbp")
        session.commit()
        session_type_id = session_type.id
    started = payments.begin_checkout(engine=engine, gateway=gateway,
                                      settings=load_settings(PUBLIC_URL="https://book.example", HOLD_MINUTES=30),
                                      session_type_id=session_type_id, start_time=START, client_name="Ann",
                                      client_email="ann@example.com", browser_hold_key="k" * 43)
    gateway.pay(started.checkout_session_id)
    receipts.confirm_from_success_page(engine=engine, gateway=gateway, checkout_session_id=started.checkout_session_id)
    with Session(engine) as session:
        token = manage_links.issue(session=session, booking=session.get(Booking, started.booking_id))
        session.commit()

    root = browser_tab(f"/manage/{token}", {"origin": "http://localhost:3000"})
    manage = substate(root, ManageState)
    call(manage, "load")
    call(manage, "next_month")

    assert manage.view is not None and manage.cancel_action == f"/api/manage/{token}/cancel"  # the page works
    assert manage.invite_url.endswith(f"/{token}/invite.ics")
    assert leaks(root, token, skip_router=True) == []


def test_the_success_page_shows_the_payer_its_manage_link_without_storing_it(engine, gateway):
    from booking_ui.state.book import BookState
    from booking_ui.state.payment import SuccessState

    with Session(engine) as session:
        builder = make_builder(session, time_zone="UTC")
        session_type = make_session_type(session, builder, price_amount=5000, currency="gbp")
        session.commit()
        session_type_id = session_type.id
    hold_key = "k" * 43
    started = payments.begin_checkout(engine=engine, gateway=gateway,
                                      settings=load_settings(PUBLIC_URL="https://book.example", HOLD_MINUTES=30),
                                      session_type_id=session_type_id, start_time=START, client_name="Ann",
                                      client_email="ann@example.com", browser_hold_key=hold_key)
    gateway.pay(started.checkout_session_id)

    root = browser_tab("/payment/success", {"origin": "http://localhost:3000"})
    root.router = RouterData.from_router_data({
        "pathname": "/payment/success", "asPath": f"/payment/success?session_id={started.checkout_session_id}",
        "query": {"session_id": started.checkout_session_id}, "headers": {"origin": "http://localhost:3000"}})
    substate(root, BookState).hold_key = hold_key
    success = substate(root, SuccessState)
    call(success, "load")

    token = success.manage_path.rsplit("/", 1)[-1]
    assert success.own and success.manage_path.startswith("/manage/") and len(token) > 20  # the payer sees it
    assert leaks(root, token, skip_router=True) == []
