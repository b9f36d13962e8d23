"""Signing in to the workspace: argon2 hashes, hashed session tokens, expiry, sign-out, throttling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from booking.accounts import sessions
from booking.accounts.throttle import throttle_for
from booking.accounts.users import SIGN_IN_FAILED, SIGN_IN_THROTTLED, change_password, sign_in
from booking.core.db import session_scope
from booking.core.models import AuthSession, UserAccount, UserRole, utcnow
from booking_ui import routes
from booking_ui.admin.base import SESSION_COOKIE, AdminState
from booking_ui.admin.login import LoginState
from tests.factories import make_builder
from tests.support.admin_states import (
    PASSWORD,
    auth_client,
    call,
    http_sign_in,
    make_user,
    redirect_path,
    state_of,
    token_for,
)
from tests.support.throttles import THROTTLE_KEY, fresh_throttle


@pytest.fixture
def builder_user(engine):
    with session_scope(engine) as session:
        builder_id = make_builder(session, slug="ada-s").id
    return make_user(engine, email="ada@example.test", builder_id=builder_id)


def _sign_in(engine, email, password, ip="10.0.0.1", throttle=None, now=None):
    throttle = throttle or throttle_for(None, 5, 20, key=THROTTLE_KEY)
    with session_scope(engine) as session:
        return sign_in(session=session, email=email, password=password, client_ip=ip, throttle=throttle,
                       idle_minutes=120, max_hours=72, now=now)


def test_password_is_stored_as_an_argon2_hash(engine, builder_user):
    with session_scope(engine) as session:
        user = session.get(UserAccount, builder_user)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_sign_in_stores_only_the_hash_of_a_random_token(engine, builder_user):
    result = _sign_in(engine, "ADA@example.test ", PASSWORD)
    assert result.token and len(result.token) >= 40
    with session_scope(engine) as session:
        rows = session.exec(select(AuthSession)).all()
    assert [row.token_hash for row in rows] == [sessions.token_hash(result.token)]
    assert result.token not in rows[0].token_hash


def test_unknown_email_and_wrong_password_get_the_same_message(engine, builder_user):
    assert _sign_in(engine, "nobody@example.test", PASSWORD).error == SIGN_IN_FAILED
    assert _sign_in(engine, "ada@example.test", "wrong-password").error == SIGN_IN_FAILED


def test_failed_sign_ins_are_throttled_per_account_even_with_the_right_password(engine, builder_user):
    throttle = fresh_throttle(3, 100)
    for _ in range(3):
        assert _sign_in(engine, "ada@example.test", "wrong-password", ip="1.1.1.1", throttle=throttle).token is None
    assert _sign_in(engine, "ada@example.test", PASSWORD, ip="1.1.1.1", throttle=throttle).error == SIGN_IN_THROTTLED


def test_a_strangers_wrong_guesses_lock_the_stranger_out_not_the_owner(engine, builder_user):
    throttle = fresh_throttle(5, 20)
    for _ in range(5):
        assert _sign_in(engine, "ada@example.test", "wrong-password", ip="6.6.6.6", throttle=throttle).error \
            == SIGN_IN_FAILED
    assert _sign_in(engine, "ada@example.test", PASSWORD, ip="6.6.6.6", throttle=throttle).error == SIGN_IN_THROTTLED
    assert _sign_in(engine, "ada@example.test", PASSWORD, ip="10.0.0.1", throttle=throttle).token
    # The owner's success forgives nothing of the stranger's.
    assert _sign_in(engine, "ada@example.test", PASSWORD, ip="6.6.6.6", throttle=throttle).error == SIGN_IN_THROTTLED


def test_many_addresses_guessing_one_account_hit_its_ceiling_but_the_owners_known_address_gets_in(
        engine, builder_user):
    throttle = fresh_throttle(5, 20, account_ceiling=12)
    assert _sign_in(engine, "ada@example.test", PASSWORD, ip="10.0.0.1", throttle=throttle).token  # known address
    for n in range(12):  # three guesses each from four addresses: no address reaches its own limit
        assert _sign_in(engine, "ada@example.test", "wrong-password", ip=f"7.7.7.{n % 4}",
                        throttle=throttle).error == SIGN_IN_FAILED
    assert _sign_in(engine, "ada@example.test", PASSWORD, ip="7.7.7.200", throttle=throttle).error \
        == SIGN_IN_THROTTLED
    assert _sign_in(engine, "ada@example.test", PASSWORD, ip="7.7.7.0", throttle=throttle).error == SIGN_IN_THROTTLED
    assert _sign_in(engine, "ada@example.test", PASSWORD, ip="10.0.0.1", throttle=throttle).token


def test_failed_sign_ins_are_throttled_per_ip_across_accounts(engine, builder_user):
    throttle = fresh_throttle(100, 4)
    for n in range(4):
        _sign_in(engine, f"guess{n}@example.test", "wrong-password", ip="9.9.9.9", throttle=throttle)
    assert _sign_in(engine, "ada@example.test", PASSWORD, ip="9.9.9.9", throttle=throttle).error == SIGN_IN_THROTTLED
    assert _sign_in(engine, "ada@example.test", PASSWORD, ip="8.8.8.8", throttle=throttle).token


def test_sessions_expire_when_idle_and_at_their_absolute_limit(engine, builder_user):
    start = utcnow()
    token = _sign_in(engine, "ada@example.test", PASSWORD, now=start).token
    with session_scope(engine) as session:
        assert sessions.resolve(session=session, token=token, idle_minutes=120, now=start + timedelta(minutes=119))
        assert sessions.resolve(session=session, token=token, idle_minutes=120,
                                now=start + timedelta(minutes=119 + 121)) is None
    token = _sign_in(engine, "ada@example.test", PASSWORD, now=start).token
    moment = start
    with session_scope(engine) as session:
        for _ in range(80):  # active all the time, but 72 hours is the end
            moment += timedelta(hours=1)
            alive = sessions.resolve(session=session, token=token, idle_minutes=120, now=moment)
            if moment - start >= timedelta(hours=72):
                assert alive is None
                break
            assert alive is not None


def test_a_password_change_ends_every_session(engine, builder_user):
    token = _sign_in(engine, "ada@example.test", PASSWORD).token
    with session_scope(engine) as session:
        change_password(session=session, user_id=builder_user, new_password="another-long-password")
    with session_scope(engine) as session:
        assert sessions.resolve(session=session, token=token, idle_minutes=120) is None
    assert _sign_in(engine, "ada@example.test", "another-long-password").token


def test_login_page_signs_in_and_sign_out_kills_the_token_on_the_server(engine, builder_user):
    with auth_client(ip="192.0.2.31") as client:
        signed_in = http_sign_in(client, "ada@example.test")
        assert signed_in.status_code == 303 and signed_in.headers["location"] == routes.ADMIN
        token = signed_in.cookies[SESSION_COOKIE]
        admin = state_of(AdminState, token)
        assert call(admin, "guard") is None and admin.signed_in_email == "ada@example.test"
        signed_out = client.post(routes.API_AUTH_SIGN_OUT)
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith(routes.ADMIN_LOGIN)
    stale = state_of(AdminState, token)  # a copy of the cookie kept elsewhere
    assert redirect_path(call(stale, "guard")) == routes.ADMIN_LOGIN


def test_login_page_shows_one_message_and_keeps_nobody_signed_in(engine, builder_user):
    with auth_client(ip="192.0.2.32") as client:
        refused = http_sign_in(client, "ada@example.test", "nope-nope-nope")
    assert refused.status_code == 303 and SESSION_COOKIE not in refused.cookies
    login = state_of(LoginState, router_data={"asPath": refused.headers["location"]})
    assert call(login, "load") is None
    assert login.error == SIGN_IN_FAILED


def test_admin_role_needs_no_builder(engine):
    user_id = make_user(engine, email="root@example.test", role=UserRole.ADMIN)
    admin = state_of(AdminState, token_for(engine, user_id))
    call(admin, "guard")
    assert admin.is_platform_admin


@pytest.mark.parametrize("live_base", ["https://API.Stripe.com", "https://api.stripe.com:443/",
                                       "https://api.stripe.com."])
def test_demo_sign_ins_are_switched_off_with_a_real_stripe_however_it_is_spelled(engine, monkeypatch, live_base):
    from typer.testing import CliRunner

    from booking.core.config import get_settings
    from booking.ops.cli import cli
    from booking.ops.demo import DEMO_PASSWORD

    def seed(api_base: str) -> str:
        monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_emulator")
        monkeypatch.setenv("STRIPE_API_BASE", api_base)
        get_settings.cache_clear()
        done = CliRunner().invoke(cli, ["seed-demo"])
        assert done.exit_code == 0, done.output
        return done.output

    assert "demo sign-ins (password" in seed("http://127.0.0.1:12111")
    assert _sign_in(engine, "admin@demo.test", DEMO_PASSWORD, throttle=fresh_throttle(5, 20)).token
    assert "no demo sign-ins (4 switched off)" in seed(live_base)
    assert _sign_in(engine, "admin@demo.test", DEMO_PASSWORD, throttle=fresh_throttle(5, 20)).error == SIGN_IN_FAILED
