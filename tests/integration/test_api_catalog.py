"""The public JSON API (health and the session-type catalogue) over the demo data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select
from starlette.testclient import TestClient

from booking.core.config import get_settings
from booking.core.models import AvailabilityRule, Builder, SessionType
from booking.ops.demo import DEMO_BUILDERS, seed_demo
from booking_ui import routes
from booking_ui.api import build_api

UNREACHABLE_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:1/nope"
JANUARY = datetime(2030, 1, 15, 12, 0)


@pytest.fixture
def api(engine: Engine) -> Iterator[TestClient]:
    with TestClient(build_api()) as client:
        yield client


@pytest.fixture
def demo(session: Session) -> Session:
    assert seed_demo(session=session) is True
    session.commit()
    return session


def by_name(payload: list[dict]) -> dict[str, dict]:
    return {item["name"]: item for item in payload}


# --- health -----------------------------------------------------------------------------------


def test_health_is_ok_when_the_database_answers(api: TestClient) -> None:
    response = api.get(routes.API_HEALTH)

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.fixture
def unreachable_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE_POSTGRES)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_health_is_503_when_the_database_is_unreachable(unreachable_database: None) -> None:
    with TestClient(build_api()) as client:
        response = client.get(routes.API_HEALTH)

    assert response.status_code == 503
    assert response.json()["status"] != "ok"


# --- session types ----------------------------------------------------------------------------


def test_session_types_follow_the_contract(api: TestClient, demo: Session) -> None:
    response = api.get(routes.API_SESSION_TYPES)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    payload = response.json()
    assert isinstance(payload, list)
    assert len(payload) == sum(len(spec["session_types"]) for spec in DEMO_BUILDERS)
    for item in payload:
        assert set(item) == {"id", "name", "description", "duration_minutes", "price", "builder", "bookable",
                             "not_bookable_reason", "prices", "url"}
        assert item["url"].startswith(f"/{item['builder']['slug']}/") and "/book/" not in item["url"]
        assert item["bookable"] is True and item["not_bookable_reason"] == ""  # REQUIRE_PAYOUTS off
        assert isinstance(item["id"], str) and item["id"].isdigit()
        assert isinstance(item["name"], str) and item["name"]
        assert isinstance(item["description"], str)
        assert isinstance(item["duration_minutes"], int) and item["duration_minutes"] > 0
        assert set(item["price"]) == {"amount", "currency", "display"}
        assert isinstance(item["price"]["amount"], int)
        assert isinstance(item["price"]["currency"], str)
        assert isinstance(item["price"]["display"], str)
        assert set(item["builder"]) == {"id", "name", "slug", "time_zone"}
        assert isinstance(item["builder"]["id"], str)
        ZoneInfo(item["builder"]["time_zone"])  # a real IANA zone the browser can convert from


def test_session_types_show_prices_in_the_builders_currency(api: TestClient, demo: Session) -> None:
    items = by_name(api.get(routes.API_SESSION_TYPES).json())

    quick = items["Quick consult"]
    assert quick["price"] == {"amount": 5000, "currency": "jpy", "display": "¥5,000"}
    assert quick["duration_minutes"] == 30
    assert quick["builder"]["slug"] == "kenji"
    assert quick["builder"]["time_zone"] == "Asia/Tokyo"

    call = items["1:1 call"]
    assert call["price"] == {"amount": 5000, "currency": "gbp", "display": "£50.00"}
    assert call["builder"] == {
        "id": call["builder"]["id"],
        "name": "Ada Lovelace",
        "slug": "ada",
        "time_zone": "Europe/London",
    }

    assert items["Architecture workshop"]["price"]["display"] == "$300.00"


def test_session_type_ids_identify_rows(api: TestClient, demo: Session) -> None:
    payload = api.get(routes.API_SESSION_TYPES).json()

    for item in payload:
        row = demo.get(SessionType, int(item["id"]))
        assert row is not None
        assert row.name == item["name"]
        assert str(row.builder_id) == item["builder"]["id"]


def test_deactivated_session_type_disappears(api: TestClient, demo: Session) -> None:
    before = by_name(api.get(routes.API_SESSION_TYPES).json())
    assert "Code review" in before

    review = demo.exec(select(SessionType).where(SessionType.name == "Code review")).one()
    review.active = False
    demo.commit()

    after = by_name(api.get(routes.API_SESSION_TYPES).json())
    assert "Code review" not in after
    assert set(after) == set(before) - {"Code review"}


def test_no_session_types_is_an_empty_list(api: TestClient) -> None:
    response = api.get(routes.API_SESSION_TYPES)

    assert response.status_code == 200
    assert response.json() == []


# --- demo data --------------------------------------------------------------------------------


def test_seeding_twice_seeds_once(engine: Engine, session: Session) -> None:
    assert seed_demo(session=session) is True
    session.commit()
    counts = _counts(session)

    assert seed_demo(session=session) is False
    session.commit()

    assert _counts(session) == counts


def test_demo_data_spans_time_zones_and_choices(demo: Session) -> None:
    builders = demo.exec(select(Builder)).all()

    assert len(builders) >= 2
    zones = {builder.time_zone for builder in builders}
    assert len(zones) >= 2
    offsets = {ZoneInfo(zone).utcoffset(JANUARY) for zone in zones}
    assert len(offsets) >= 2  # genuinely different clocks, not two names for one zone
    for builder in builders:
        types = demo.exec(
            select(SessionType).where(SessionType.builder_id == builder.id, SessionType.active == True)  # noqa: E712
        ).all()
        assert len(types) >= 2, builder.slug
        rules = demo.exec(select(AvailabilityRule).where(AvailabilityRule.builder_id == builder.id)).all()
        assert rules, f"{builder.slug} has no open hours, so nothing could be booked"


def test_demo_prices_cover_a_zero_decimal_currency(demo: Session) -> None:
    currencies = set(demo.exec(select(SessionType.currency)).all())

    assert "jpy" in currencies
    assert len(currencies) >= 2


def _counts(session: Session) -> tuple[int, int, int]:
    return (
        session.exec(select(func.count()).select_from(Builder)).one(),
        session.exec(select(func.count()).select_from(SessionType)).one(),
        session.exec(select(func.count()).select_from(AvailabilityRule)).one(),
    )
