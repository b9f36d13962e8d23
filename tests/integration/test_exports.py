"""Exports (issue #15, item 7): bookings, payments and payouts as CSV for a date range in the viewer's
zone, scoped as the workspace pages are, through the authenticated HTTP route; every cell safe from
spreadsheet formulas; money as a decimal string with its currency and as minor units."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from booking.accounts.authz import Actor
from booking.core.config import get_settings
from booking.core.models import Payment, Payout, PayoutStatus, UserRole
from booking.workspace import ExportKind, InvalidExport, export_rows, parse_range
from booking_ui import routes
from booking_ui.admin.base import SESSION_COOKIE
from booking_ui.api import build_api
from tests.factories import make_builder, make_client, make_hold, make_session_type
from tests.support.admin_states import make_user, token_for

# 11:30 UTC on 10 January is 00:30 on 11 January in Auckland (UTC+13 in summer).
ADA_START = datetime(2031, 1, 10, 11, 30, tzinfo=UTC)
BOB_START = datetime(2031, 1, 10, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def app_settings(engine, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "exports-test-secret-" + "s" * 40)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def world(engine, session: Session):
    ada = make_builder(session, name="Ada", slug="ada-exports", time_zone="Pacific/Auckland")
    bob = make_builder(session, name="Bob", slug="bob-exports", time_zone="Europe/London")
    ada_type = make_session_type(session, ada, name="Ada's consult", price_amount=12345, currency="gbp")
    bob_type = make_session_type(session, bob, name="Bob's consult", price_amount=990, currency="jpy")
    sly = make_client(session, name="=HYPERLINK(\"http://evil.example\",\"click\")", email="sly@example.com")
    make_hold(session, builder=ada, session_type=ada_type, client=sly, start=ADA_START,
              client_name="=HYPERLINK(\"http://evil.example\",\"click\")", payment_status="paid",
              payment_intent_id="pi_ada_export")
    make_hold(session, builder=bob, session_type=bob_type, client=make_client(session, email="bo@example.com"),
              start=BOB_START, payment_status="paid", payment_intent_id="pi_bob_export")
    for payment in session.exec(select(Payment)).all():  # paid the day before each session
        payment.paid_at = payment.created_at = datetime(2031, 1, 9, 12, tzinfo=UTC)
        session.add(payment)
    session.add_all([
        Payout(builder_id=ada.id, stripe_payout_id="po_ada_export", stripe_account_id="acct_ada", amount=11000,
               currency="gbp", status=PayoutStatus.PAID, created_at=datetime(2031, 1, 10, 12, tzinfo=UTC)),
        Payout(builder_id=bob.id, stripe_payout_id="po_bob_export", stripe_account_id="acct_bob", amount=900,
               currency="jpy", status=PayoutStatus.FAILED, failure_code="no_account",
               created_at=datetime(2031, 1, 10, 12, tzinfo=UTC)),
    ])
    session.commit()
    users = {"ada": make_user(engine, email="ada@exports.test", builder_id=ada.id),
             "bob": make_user(engine, email="bob@exports.test", builder_id=bob.id),
             "admin": make_user(engine, email="admin@exports.test", role=UserRole.ADMIN)}
    return {"ada": ada.id, "bob": bob.id}, users


def download(engine, user_id: int | None, kind: str, **query: str):
    client = TestClient(build_api())
    if user_id is not None:
        client.cookies.set(SESSION_COOKIE, token_for(engine, user_id))
    return client.get(routes.admin_export(kind), params=query)


def rows_of(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


JANUARY = {"from": "2031-01-01", "to": "2031-01-31"}


def test_a_builder_exports_only_their_own_rows_whatever_they_ask(engine, world):
    ids, users = world
    for kind in ("bookings", "payments", "payouts"):
        own = rows_of(download(engine, users["ada"], kind, **JANUARY, builder=str(ids["bob"])))
        assert len(own) == 1, kind
        assert {row.get("builder") for row in own} == {"Ada"}, kind
    bob = rows_of(download(engine, users["bob"], "payouts", **JANUARY))
    assert [row["payout_id"] for row in bob] == ["po_bob_export"]


def test_an_admin_exports_everyone_or_one_builder(engine, world):
    ids, users = world
    everyone = rows_of(download(engine, users["admin"], "bookings", **JANUARY))
    assert sorted(row["builder"] for row in everyone) == ["Ada", "Bob"]
    one = rows_of(download(engine, users["admin"], "payouts", **JANUARY, builder=str(ids["bob"])))
    assert [(row["payout_id"], row["status"], row["failure_code"]) for row in one] == [
        ("po_bob_export", "failed", "no_account")]


def test_money_is_a_decimal_with_its_currency_and_minor_units(engine, world):
    _ids, users = world
    rows = {row["builder"]: row for row in rows_of(download(engine, users["admin"], "payments", **JANUARY))}
    assert (rows["Ada"]["amount"], rows["Ada"]["currency"], rows["Ada"]["amount_minor"]) == ("123.45", "GBP", "12345")
    assert (rows["Bob"]["amount"], rows["Bob"]["currency"], rows["Bob"]["amount_minor"]) == ("990", "JPY", "990")


def test_a_formula_is_written_as_text(engine, world):
    _ids, users = world
    [row] = rows_of(download(engine, users["ada"], "bookings", **JANUARY))
    assert row["client_name"] == "'=HYPERLINK(\"http://evil.example\",\"click\")"
    assert not any(value.startswith(("=", "+", "-", "@")) for value in row.values())


def test_the_date_range_is_read_in_the_viewers_zone(engine, world):
    _ids, users = world
    # Ada's zone (the default for her) puts her session on 11 January.
    [row] = rows_of(download(engine, users["ada"], "bookings", **{"from": "2031-01-11", "to": "2031-01-11"}))
    assert row["start"] == "2031-01-11T00:30:00+13:00"
    assert rows_of(download(engine, users["ada"], "bookings", **{"from": "2031-01-10", "to": "2031-01-10"})) == []
    # In UTC it is on the 10th.
    [row] = rows_of(download(engine, users["ada"], "bookings", tz="UTC", **{"from": "2031-01-10", "to": "2031-01-10"}))
    assert row["start"] == "2031-01-10T11:30:00+00:00"


@pytest.mark.parametrize(("query", "field"), [
    ({"from": "2031-13-01", "to": "2031-01-31"}, "from"),
    ({"from": "2031-01-31", "to": "2031-01-01"}, "from"),
    ({"from": "2029-01-01", "to": "2031-01-31"}, "to"),
    ({"from": "yesterday"}, "from"),
    ({"tz": "Mars/Olympus"}, "tz"),
    ({"builder": "1; DROP TABLE booking"}, "builder"),
])
def test_bad_requests_get_a_clear_error(engine, world, query, field):
    _ids, users = world
    response = download(engine, users["admin"], "bookings", **query)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request" and response.json()["error"]["field"] == field


def test_an_unknown_kind_and_a_signed_out_visitor_are_refused(engine, world):
    _ids, users = world
    assert download(engine, None, "bookings").status_code == 401
    unknown = download(engine, users["admin"], "clients")
    assert unknown.status_code == 400 and unknown.json()["error"]["field"] == "kind"


def test_the_domain_export_streams_a_header_then_rows(session: Session, world):
    ids, _users = world
    actor = Actor(user_id=1, email="ada@exports.test", role=UserRole.BUILDER, builder_id=ids["ada"])
    span = parse_range(from_text="2031-01-01", to_text="2031-01-31", time_zone="UTC")
    rows = list(export_rows(session=session, actor=actor, kind=ExportKind.PAYOUTS, span=span, builder=ids["bob"]))
    assert rows[0][0] == "payout_id" and [row[0] for row in rows[1:]] == ["po_ada_export"]
    with pytest.raises(InvalidExport):
        parse_range(from_text="2031-01-01", to_text="2032-01-02", time_zone="UTC", today=date(2031, 1, 1))
