"""The workspace's Calendars page, as its services answer it: a builder adds a feed, sees "Not yet" until the
worker syncs it, then when it synced (in their zone) and its last error; the audit log keeps the host, never
the feed's secret address; another builder can't touch it."""

from __future__ import annotations

import pytest
from sqlmodel import select

from booking.accounts.authz import Actor, NotFound
from booking.core.db import session_scope
from booking.core.models import AuditEntry, UserRole
from booking.scheduling import CalendarInputError
from booking.scheduling.external_calendars import sync_calendar_now
from booking.scheduling.safe_fetch import FetchPolicy
from booking.workspace import add_builder_calendar, calendar_rows, remove_builder_calendar, sync_soon
from tests.factories import make_builder
from tests.support.admin_states import make_user

SECRET_FEED = "http://127.0.0.1:9/private/0123456789abcdef/basic.ics"  # nothing listens on port 9


@pytest.fixture
def builders(engine):
    with session_scope(engine) as session:
        ada, bob = make_builder(session, time_zone="Europe/Paris"), make_builder(session)
        ada_id, bob_id = ada.id, bob.id
    return (Actor(user_id=make_user(engine, email="ada@example.com", builder_id=ada_id), email="ada@example.com",
                  role=UserRole.BUILDER, builder_id=ada_id),
            Actor(user_id=make_user(engine, email="bob@example.com", builder_id=bob_id), email="bob@example.com",
                  role=UserRole.BUILDER, builder_id=bob_id))


def test_a_builder_adds_a_feed_and_sees_its_sync_state(engine, builders):
    ada, _bob = builders
    with session_scope(engine) as session:
        calendar_id = add_builder_calendar(session=session, actor=ada, builder_id=ada.builder_id,
                                           form={"kind": "ics", "url": SECRET_FEED, "name": "Personal"}).id
    with session_scope(engine) as session:
        _builder, (row,) = calendar_rows(session=session, actor=ada, builder_id=ada.builder_id)
        assert (row.name, row.kind, row.last_synced, row.last_error) == ("Personal", "ICS feed", "Not yet", "")
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "calendar.added")).one()
        assert "0123456789abcdef" not in (entry.after or "") and "127.0.0.1" in entry.after

    sync_calendar_now(engine=engine, calendar_id=calendar_id, policy=FetchPolicy(allow_private_networks=True,
                                                                                 timeout_seconds=2))
    with session_scope(engine) as session:
        _builder, (row,) = calendar_rows(session=session, actor=ada, builder_id=ada.builder_id)
    assert row.last_synced == "Not yet" and "could not be reached" in row.last_error


def test_another_builder_can_neither_see_nor_change_it(engine, builders):
    ada, bob = builders
    with session_scope(engine) as session:
        calendar_id = add_builder_calendar(session=session, actor=ada, builder_id=ada.builder_id,
                                           form={"kind": "ics", "url": SECRET_FEED}).id
    with session_scope(engine) as session:
        with pytest.raises(NotFound):
            calendar_rows(session=session, actor=bob, builder_id=ada.builder_id)
        with pytest.raises(NotFound):
            remove_builder_calendar(session=session, actor=bob, calendar_id=calendar_id)
        with pytest.raises(NotFound):
            sync_soon(session=session, actor=bob, calendar_id=calendar_id)
    with session_scope(engine) as session:
        assert remove_builder_calendar(session=session, actor=ada, calendar_id=calendar_id)


def test_a_bad_form_names_its_field(engine, builders):
    ada, _ = builders
    with session_scope(engine) as session, pytest.raises(CalendarInputError) as refused:
        add_builder_calendar(session=session, actor=ada, builder_id=ada.builder_id,
                             form={"kind": "caldav", "url": "https://dav.example.com/", "username": ""})
    assert refused.value.field == "username"
