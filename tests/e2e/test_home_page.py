import pytest
from playwright.sync_api import Page, expect

from booking.ops.demo import add_demo_builders

pytestmark = pytest.mark.e2e


def test_home_page_lists_demo_builders_with_prices_in_their_currency(app_server, app_db, page: Page):
    add_demo_builders(session=app_db)
    app_db.commit()

    page.goto(app_server.url + "/")

    builders = page.get_by_test_id("builder")
    expect(builders.filter(has_text="Ada Lovelace")).to_contain_text("£50.00")
    expect(builders.filter(has_text="Grace Hopper")).to_contain_text("$75.00")
    expect(builders.filter(has_text="Kenji Sato")).to_contain_text("¥5,000")
    expect(builders.filter(has_text="Kenji Sato")).to_contain_text("Asia/Tokyo")


def test_builder_page_shows_their_session_types(app_server, app_db, page: Page):
    add_demo_builders(session=app_db)
    app_db.commit()

    page.goto(app_server.url + "/b/grace")

    expect(page.get_by_role("heading", name="Grace Hopper")).to_be_visible()
    expect(page.get_by_test_id("session-type").filter(has_text="Architecture workshop")).to_contain_text("$300.00")
    expect(page.get_by_test_id("session-type")).to_have_count(2)


def test_unknown_builder_page_says_so(app_server, page: Page):
    page.goto(app_server.url + "/b/nobody-here")

    expect(page.get_by_text("We could not find that builder.")).to_be_visible()


def test_health_route_through_the_production_server(app_server, page: Page):
    response = page.request.get(app_server.url + "/api/health")

    assert response.status == 200
    assert response.json()["status"] == "ok"
