"""Signing in and out over HTTP: the session cookie is set and cleared by the server's answers (HttpOnly,
SameSite, Secure under https), the forms must come from our own pages, the throttle still applies, sign-out
and a password change end sessions on the server, and `next` only ever leads back into the workspace."""

from __future__ import annotations

import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from booking.accounts import sessions
from booking.core.db import session_scope
from booking.core.models import AuthSession
from booking_ui import api, routes
from booking_ui.admin.base import SESSION_COOKIE, AdminState, safe_next
from booking_ui.admin.login import LoginState
from tests.factories import make_builder
from tests.support.admin_states import (
    ORIGIN,
    auth_client,
    call,
    http_sign_in,
    make_user,
    redirect_path,
    state_of,
)
from tests.support.throttles import fresh_throttle

EMAIL = "ada@http.test"
MAX_AGE = 72 * 3600


@pytest.fixture
def ada(engine):
    with session_scope(engine) as session:
        builder_id = make_builder(session, slug="ada-http").id
    return make_user(engine, email=EMAIL, builder_id=builder_id)


@pytest.fixture
def throttle(monkeypatch):
    """A fresh sign-in throttle for this test (5 failures per account and address, 20 per address)."""
    fresh = fresh_throttle(5, 20)
    monkeypatch.setattr(api, "throttle_from_settings", lambda _settings: fresh)
    return fresh


def alive(engine, token: str) -> bool:
    with session_scope(engine) as session:
        return sessions.resolve(session=session, token=token, idle_minutes=120) is not None


def cookie_attributes(response) -> dict[str, str]:
    """The session cookie's Set-Cookie attributes, lower-cased names ("" for flags)."""
    (header,) = [value for value in response.headers.get_list("set-cookie") if value.startswith(SESSION_COOKIE + "=")]
    first, *rest = [part.strip() for part in header.split(";")]
    attributes = {"value": first.split("=", 1)[1]}
    for part in rest:
        name, _, value = part.partition("=")
        attributes[name.lower()] = value
    return attributes


# --- the cookie --------------------------------------------------------------------------------------------


def test_sign_in_sets_an_http_only_strict_cookie_and_returns_to_the_dashboard(engine, ada, throttle):
    with auth_client() as client:
        response = http_sign_in(client, EMAIL)

    assert response.status_code == 303 and response.headers["location"] == routes.ADMIN
    cookie = cookie_attributes(response)
    assert "httponly" in cookie and cookie["samesite"].lower() == "strict" and cookie["path"] == "/"
    assert cookie["max-age"] == str(MAX_AGE)
    assert "secure" not in cookie  # plain http (a local run): a Secure cookie would never come back
    assert alive(engine, cookie["value"])
    assert response.headers["cache-control"] == "no-store"


def test_the_cookie_is_secure_under_https(engine, ada, throttle):
    with auth_client(base_url="https://localhost:3000") as client:
        response = http_sign_in(client, EMAIL)

    assert "secure" in cookie_attributes(response)


def test_the_cookie_is_secure_behind_a_trusted_proxy_that_says_https(engine, ada, throttle, monkeypatch):
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.9.0.0/16")
    from booking.core.config import get_settings

    get_settings.cache_clear()
    with auth_client(ip="10.9.0.2", headers={"X-Forwarded-Proto": "https",
                                             "X-Forwarded-For": "198.51.100.7"}) as client:
        behind_proxy = http_sign_in(client, EMAIL)
    with auth_client(ip="198.51.100.8", headers={"X-Forwarded-Proto": "https"}) as client:
        not_a_proxy = http_sign_in(client, EMAIL)  # anyone can write the header: not believed

    assert "secure" in cookie_attributes(behind_proxy)
    assert "secure" not in cookie_attributes(not_a_proxy)


def test_unknown_email_and_wrong_password_get_the_same_answer_and_no_cookie(engine, ada, throttle):
    with auth_client() as client:
        unknown = http_sign_in(client, "nobody@http.test")
        wrong = http_sign_in(client, EMAIL, "wrong-password-here")

    assert unknown.status_code == wrong.status_code == 303
    assert unknown.headers["location"] == wrong.headers["location"] == routes.ADMIN_LOGIN + "?error=failed"
    assert "set-cookie" not in unknown.headers and "set-cookie" not in wrong.headers


def test_the_sign_in_throttle_still_applies(engine, ada, throttle):
    with auth_client(ip="192.0.2.50") as guesser:
        for _ in range(5):
            assert http_sign_in(guesser, EMAIL, "wrong-password-here").headers["location"].endswith("error=failed")
        locked = http_sign_in(guesser, EMAIL)  # even the right password, from the guessing address
    with auth_client(ip="192.0.2.51") as owner:
        elsewhere = http_sign_in(owner, EMAIL)  # the owner at their own address still gets in

    assert locked.headers["location"] == routes.ADMIN_LOGIN + "?error=throttled" and "set-cookie" not in locked.headers
    assert elsewhere.headers["location"] == routes.ADMIN and alive(engine, elsewhere.cookies[SESSION_COOKIE])


def test_the_sign_in_page_shows_the_endpoints_messages(engine):
    for code, words in (("failed", "don't match"), ("throttled", "Too many failed sign-ins")):
        login = state_of(LoginState, router_data={"asPath": f"{routes.ADMIN_LOGIN}?error={code}"})
        call(login, "load")
        assert words in login.error


# --- CSRF: the forms must come from our own pages -----------------------------------------------------------


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "null", "Referer": "https://evil.example/login"},
    {"Origin": "http://localhost:3001"},  # another port is another origin
    {"Origin": "https://127.0.0.1:3000"},  # another scheme too
    {"Origin": "http://127.0.0.2:3000"},  # and another address
    {},  # neither Origin nor Referer
])
def test_a_sign_in_from_another_site_is_refused(engine, ada, throttle, headers):
    with TestClient(api.build_api(), base_url=ORIGIN, headers=headers, follow_redirects=False) as client:
        response = http_sign_in(client, EMAIL)

    assert response.status_code == 403 and "set-cookie" not in response.headers
    with session_scope(engine) as session:
        assert not session.exec(select(AuthSession)).all()


def test_the_address_the_run_command_prints_is_the_same_origin_as_localhost(engine, ada, throttle):
    # `make run` prints http://127.0.0.1:3000 while PUBLIC_URL says http://localhost:3000: one machine.
    assert ORIGIN == "http://localhost:3000"
    with TestClient(api.build_api(), base_url=ORIGIN, headers={"Origin": "http://127.0.0.1:3000"},
                    follow_redirects=False) as client:
        assert http_sign_in(client, EMAIL).headers["location"] == routes.ADMIN


def test_a_same_origin_referer_is_enough_when_there_is_no_origin(engine, ada, throttle):
    with TestClient(api.build_api(), base_url=ORIGIN, headers={"Referer": f"{ORIGIN}/admin/login"},
                    follow_redirects=False) as client:
        assert http_sign_in(client, EMAIL).headers["location"] == routes.ADMIN


def test_a_cross_site_sign_out_is_refused_and_the_session_lives(engine, ada, throttle):
    with auth_client() as client:
        token = http_sign_in(client, EMAIL).cookies[SESSION_COOKIE]
    with TestClient(api.build_api(), base_url=ORIGIN, headers={"Origin": "https://evil.example"},
                    cookies={SESSION_COOKIE: token}, follow_redirects=False) as attacker:
        assert attacker.post(routes.API_AUTH_SIGN_OUT).status_code == 403
    assert alive(engine, token)


# --- sign-out and password changes end sessions on the server -----------------------------------------------


def test_sign_out_revokes_the_session_on_the_server_and_clears_the_cookie(engine, ada, throttle):
    with auth_client() as client:
        token = http_sign_in(client, EMAIL).cookies[SESSION_COOKIE]
        client.cookies.set(SESSION_COOKIE, token)
        assert client.get(routes.admin_event_payload("1")).status_code == 404  # signed in: no such event
        signed_out = client.post(routes.API_AUTH_SIGN_OUT)
        cleared = cookie_attributes(signed_out)
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, token)  # the old value, kept by someone who copied it
        replayed = client.get(routes.admin_event_payload("1"))

    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == routes.ADMIN_LOGIN + "?reason=signed-out"
    assert cleared["value"] in ("", '""') and cleared["max-age"] == "0" and "httponly" in cleared
    assert not alive(engine, token)
    assert replayed.status_code == 401
    assert redirect_path(call(state_of(AdminState, token), "guard")) == routes.ADMIN_LOGIN  # the websocket too


def test_signing_in_again_replaces_the_browsers_old_session(engine, ada, throttle):
    with auth_client() as client:
        first = http_sign_in(client, EMAIL).cookies[SESSION_COOKIE]
        client.cookies.set(SESSION_COOKIE, first)
        second = http_sign_in(client, EMAIL).cookies[SESSION_COOKIE]

    assert second != first and alive(engine, second) and not alive(engine, first)


# --- next: back to the page asked for, on this site only ----------------------------------------------------


@pytest.mark.parametrize("asked", ["/admin/bookings", "/admin/bookings?status=confirmed&page=2", "/admin"])
def test_sign_in_returns_to_the_workspace_page_asked_for(engine, ada, throttle, asked):
    with auth_client() as client:
        response = http_sign_in(client, EMAIL, next=asked)

    assert response.status_code == 303 and response.headers["location"] == asked


@pytest.mark.parametrize("asked", [
    "//evil.example/admin", "https://evil.example/admin", "/\\evil.example", "/admin\\..\\evil",
    "javascript:alert(1)", "http:/admin", "/\t/evil.example", " /admin", "/admin/login", "/admin/login?next=/x",
    "/payment/success", "evil.example", "", "/admin" + "x" * 3000, "/%0d%0aSet-Cookie:x=1",
])
def test_next_never_leads_off_the_workspace(engine, ada, throttle, asked):
    with auth_client() as client:
        response = http_sign_in(client, EMAIL, next=asked)

    assert response.headers["location"] == routes.ADMIN
    assert safe_next(asked) == routes.ADMIN


def test_a_failed_sign_in_keeps_next_for_the_next_try(engine, ada, throttle):
    with auth_client() as client:
        refused = http_sign_in(client, EMAIL, "wrong-password-here", next="/admin/payouts")
        evil = http_sign_in(client, EMAIL, "wrong-password-here", next="//evil.example")

    assert refused.headers["location"] == routes.ADMIN_LOGIN + "?error=failed&next=%2Fadmin%2Fpayouts"
    assert evil.headers["location"] == routes.ADMIN_LOGIN + "?error=failed"


def test_guards_send_a_signed_out_browser_to_sign_in_with_next(engine):
    state = state_of(AdminState, router_data={"asPath": "/admin/bookings?status=confirmed"})

    assert redirect_path(call(state, "guard")) == routes.ADMIN_LOGIN + "?next=%2Fadmin%2Fbookings%3Fstatus%3Dconfirmed"


def test_the_sign_in_page_carries_next_and_a_signed_in_browser_goes_straight_there(engine, ada, throttle):
    page = f"{routes.ADMIN_LOGIN}?next=%2Fadmin%2Fpayouts"
    signed_out = state_of(LoginState, router_data={"asPath": page})
    assert call(signed_out, "load") is None and signed_out.next_path == "/admin/payouts"

    with auth_client() as client:
        token = http_sign_in(client, EMAIL).cookies[SESSION_COOKIE]
    signed_in = state_of(LoginState, token, router_data={"asPath": page})
    assert redirect_path(call(signed_in, "load")) == "/admin/payouts"

    evil = state_of(LoginState, router_data={"asPath": f"{routes.ADMIN_LOGIN}?next=https://evil.example"})
    call(evil, "load")
    assert evil.next_path == routes.ADMIN


# --- the websocket sees only the digest ------------------------------------------------------------------


def test_the_websocket_handshake_carries_the_tokens_digest_not_the_token():
    """Reflex's app is mounted inside build_api()'s Starlette (api_transformer); its /_event sees this."""
    seen: list[str] = []

    async def event_endpoint(request):
        seen.append(request.headers.get("cookie", ""))
        return PlainTextResponse("ok")

    outer = api.build_api()
    outer.mount("", Starlette(routes=[Route("/_event/", event_endpoint)]))
    token = "T" * 43
    with TestClient(outer, cookies={SESSION_COOKIE: token, "other": "kept"}) as client:
        client.get("/_event/")
        client.cookies.set(SESSION_COOKIE, "sha256." + sessions.token_hash(token))  # a digest from a browser
        client.get("/_event/")

    shielded, forged = seen
    assert token not in shielded and f"{SESSION_COOKIE}=sha256.{sessions.token_hash(token)}" in shielded
    assert "other=kept" in shielded
    assert sessions.token_hash(token) not in forged.split("sha256.", 1)[1]  # hashed again: no use
