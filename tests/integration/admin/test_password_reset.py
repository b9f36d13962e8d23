"""Password reset by email, on a real database: one answer for every address, an emailed one-time link that
expires, works once and is replaced by a newer one, every session ended on use, and throttled requests."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage

import pytest
from limits import storage, strategies
from sqlmodel import select

from booking.accounts import sessions
from booking.accounts.recovery import LINK_PROBLEMS, REQUESTED, THROTTLED, ResetThrottle, reset_password
from booking.accounts.throttle import throttle_for
from booking.accounts.tokens import LinkProblem
from booking.accounts.users import sign_in
from booking.core.db import session_scope
from booking.core.models import AccountToken, AuditEntry, AuthSession, Notification, UserAccount, utcnow
from booking.notifications.outbox import SKIPPED_NO_ACCOUNT, send_due_notifications
from booking.workspace import ask_for_password_reset
from booking_ui import routes
from booking_ui.admin import recovery as recovery_ui
from booking_ui.admin.recovery import RecoveryState
from tests.factories import make_builder
from tests.support.admin_states import PASSWORD, call, make_user, redirect_path, state_of, token_for
from tests.support.throttles import THROTTLE_KEY

NEW_PASSWORD = "a-brand-new-password"
LIFETIME = timedelta(minutes=60)


class RecordingMailer:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


def fresh_reset_throttle(per_account: str = "3/hour", per_ip: str = "10/hour") -> ResetThrottle:
    return ResetThrottle(strategies.MovingWindowRateLimiter(storage.MemoryStorage()), per_account, per_ip,
                         THROTTLE_KEY)


def link_in(message: EmailMessage, page: str = routes.ADMIN_RESET) -> str:
    text = message.get_body(("plain",)).get_content()
    found = re.search(re.escape(page) + r"\?token=([A-Za-z0-9_-]+)", text)
    assert found, text
    return found.group(1)


@pytest.fixture
def ada(engine):
    with session_scope(engine) as session:
        builder_id = make_builder(session, name="Ada Builder", slug="ada-reset").id
    return make_user(engine, email="ada@reset.test", builder_id=builder_id)


def ask(engine, email, *, throttle=None, ip="10.0.0.1"):
    with session_scope(engine) as session:
        return ask_for_password_reset(session=session, email=email, client_ip=ip,
                                      throttle=throttle or fresh_reset_throttle())


def deliver(engine) -> list[EmailMessage]:
    mailer = RecordingMailer()
    send_due_notifications(engine=engine, mailer=mailer, now=utcnow() + timedelta(seconds=1))
    return mailer.sent


def reset(engine, token, password=NEW_PASSWORD, confirm=None, now=None):
    with session_scope(engine) as session:
        return reset_password(session=session, token=token, new_password=password,
                              confirm_password=password if confirm is None else confirm, now=now)


def can_sign_in(engine, email, password) -> bool:
    with session_scope(engine) as session:
        return sign_in(session=session, email=email, password=password, client_ip="10.9.9.9",
                       throttle=throttle_for(None, 50, 50, key=THROTTLE_KEY), idle_minutes=120,
                       max_hours=72).token is not None


def test_an_unknown_address_gets_the_same_answer_and_no_email(engine, ada):
    assert ask(engine, "nobody@reset.test") == REQUESTED
    assert ask(engine, "ADA@reset.test ") == REQUESTED
    with session_scope(engine) as session:  # the request itself does the same work for both addresses
        queued = session.exec(select(Notification).order_by(Notification.id)).all()
        assert [row.recipient for row in queued] == ["nobody@reset.test", "ada@reset.test"]
        assert queued[0].payload == queued[1].payload
        assert session.exec(select(AccountToken)).all() == []
    assert [message["To"].addresses[0].addr_spec for message in deliver(engine)] == ["ada@reset.test"]
    with session_scope(engine) as session:
        unknown = session.exec(select(Notification).where(Notification.recipient == "nobody@reset.test")).one()
        assert unknown.last_error == SKIPPED_NO_ACCOUNT  # settled, never sent
        assert len(session.exec(select(AccountToken)).all()) == 1


def test_an_inactive_account_gets_no_email(engine, ada):
    with session_scope(engine) as session:
        session.get(UserAccount, ada).active = False
    assert ask(engine, "ada@reset.test") == REQUESTED
    assert deliver(engine) == []


def test_the_emailed_link_sets_the_password_ends_every_session_and_is_audited(engine, ada):
    browsers = [token_for(engine, ada) for _ in range(2)]
    ask(engine, "ada@reset.test")
    [message] = deliver(engine)
    assert message["Subject"].startswith("Reset your")
    token = link_in(message)
    with session_scope(engine) as session:  # the database holds the token's hash only
        row = session.exec(select(AccountToken)).one()
        assert row.token_hash == sessions.token_hash(token)
        assert all(token not in (n.payload or "") for n in session.exec(select(Notification)).all())

    assert reset(engine, token).error == ""

    assert can_sign_in(engine, "ada@reset.test", NEW_PASSWORD)
    assert not can_sign_in(engine, "ada@reset.test", PASSWORD)
    with session_scope(engine) as session:
        for browser in browsers:
            assert sessions.resolve(session=session, token=browser, idle_minutes=120) is None
        revoked = session.exec(select(AuthSession).where(AuthSession.token_hash.in_(
            [sessions.token_hash(b) for b in browsers]))).all()
        assert all(row.revoked_at is not None for row in revoked)
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "account.password_reset")).one()
        assert audit.actor_email == "ada@reset.test" and NEW_PASSWORD not in (audit.after or "")
        assert session.exec(select(AccountToken)).one().used_at is not None


def test_a_link_works_once(engine, ada):
    ask(engine, "ada@reset.test")
    token = link_in(deliver(engine)[0])
    assert reset(engine, token).error == ""
    second = reset(engine, token, password="yet-another-password")
    assert second.error == LINK_PROBLEMS[LinkProblem.USED] and second.link_problem
    assert can_sign_in(engine, "ada@reset.test", NEW_PASSWORD)


def test_an_expired_link_changes_nothing(engine, ada):
    ask(engine, "ada@reset.test")
    token = link_in(deliver(engine)[0])
    late = reset(engine, token, now=utcnow() + LIFETIME + timedelta(seconds=5))
    assert late.error == LINK_PROBLEMS[LinkProblem.EXPIRED] and late.link_problem
    assert can_sign_in(engine, "ada@reset.test", PASSWORD)
    assert reset(engine, token).error == ""  # still within the hour: it works


def test_a_newer_link_replaces_the_older_one(engine, ada):
    limits = fresh_reset_throttle()
    ask(engine, "ada@reset.test", throttle=limits)
    old = link_in(deliver(engine)[0])
    ask(engine, "ada@reset.test", throttle=limits)
    new = link_in(deliver(engine)[0])
    assert old != new
    assert reset(engine, old).error == LINK_PROBLEMS[LinkProblem.REPLACED]
    assert reset(engine, new).error == ""


def test_a_bad_token_or_a_weak_password_changes_nothing(engine, ada):
    ask(engine, "ada@reset.test")
    token = link_in(deliver(engine)[0])
    assert reset(engine, "x" * 43).error == LINK_PROBLEMS[LinkProblem.UNKNOWN]
    assert reset(engine, token[:-1] + ("A" if token[-1] != "A" else "B")).link_problem
    assert "at least 10" in reset(engine, token, password="short").error
    assert "don't match" in reset(engine, token, confirm="something-else-entirely").error
    assert can_sign_in(engine, "ada@reset.test", PASSWORD)
    assert reset(engine, token).error == ""  # the link survived the mistakes


def test_requests_are_throttled_per_account_and_per_address(engine, ada):
    limits = fresh_reset_throttle("3/hour", "5/hour")
    answers = [ask(engine, "ada@reset.test", throttle=limits, ip=f"10.0.1.{n}") for n in range(5)]
    assert answers == [REQUESTED] * 3 + [THROTTLED] * 2
    assert len(deliver(engine)) == 3  # no mail-bombing the owner
    # An unknown address is throttled alike, so the limit tells nothing about who has an account.
    assert [ask(engine, "nobody@reset.test", throttle=limits, ip=f"10.0.2.{n}") for n in range(4)] == \
        [REQUESTED] * 3 + [THROTTLED]
    # One client address trying many accounts is stopped too.
    per_ip = fresh_reset_throttle("100/hour", "2/hour")
    assert [ask(engine, f"someone{n}@reset.test", throttle=per_ip, ip="203.0.113.9") for n in range(3)] == \
        [REQUESTED, REQUESTED, THROTTLED]


def test_the_pages_need_no_sign_in_and_send_the_user_to_sign_in(engine, ada, monkeypatch):
    monkeypatch.setattr(recovery_ui, "reset_throttle_from_settings", lambda settings: fresh_reset_throttle())
    forgot = state_of(RecoveryState, router_data={"asPath": routes.ADMIN_FORGOT, "ip": "10.3.3.3"})
    call(forgot, "ask", {"email": "ada@reset.test"})
    assert forgot.recovery_message == REQUESTED
    token = link_in(deliver(engine)[0])

    page = state_of(RecoveryState, router_data={"asPath": f"{routes.ADMIN_RESET}?token={token}"})
    call(page, "load_reset")
    assert page.link_ok and page.link_email == "ada@reset.test"
    assert token not in str({name: getattr(page, name) for name in type(page).base_vars})
    result = call(page, "set_new_password", {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert redirect_path(result).startswith(routes.ADMIN_LOGIN)
    assert can_sign_in(engine, "ada@reset.test", NEW_PASSWORD)

    again = state_of(RecoveryState, router_data={"asPath": f"{routes.ADMIN_RESET}?token={token}"})
    call(again, "load_reset")
    assert not again.link_ok and again.recovery_error == LINK_PROBLEMS[LinkProblem.USED]
