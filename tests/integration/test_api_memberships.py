"""Memberships through the JSON API, against the Stripe emulator on SQLite and PostgreSQL: a builder's plans are
listed with their price and the session types their credits buy; subscribing returns Stripe's Checkout address,
and once the client pays there the month's credits are granted; a refusal (unknown or stopped plan, bad details,
another currency, a builder who can't be paid, too many attempts) says why and saves nothing."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from booking.accounts.authz import Actor
from booking.core.config import get_settings
from booking.core.models import (
    BuilderSlugHistory,
    CreditGrant,
    Membership,
    MembershipPlan,
    MembershipStatus,
    UnusedCredits,
    UserAccount,
)
from booking.payments import memberships
from booking.payments.gateway import StripeGateway
from booking.payments.memberships import PlanInput
from booking_ui import api, deps
from tests.factories import make_builder, make_session_type
from tests.support.admin_states import make_user
from tests.support.deliveries import Deliveries, control

SUBSCRIBE = "/api/memberships/create-checkout-session"


@pytest.fixture
def app_gateway(gateway: StripeGateway, monkeypatch) -> StripeGateway:
    monkeypatch.setattr(deps, "gateway", lambda: gateway)
    return gateway


@pytest.fixture
def deliveries(engine, gateway, emulator) -> Deliveries:
    return Deliveries(engine, gateway, emulator)


@pytest.fixture
def configure(engine, monkeypatch):
    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    return apply


@pytest.fixture
def http(engine, app_gateway) -> TestClient:
    return TestClient(api.build_api(), client=("203.0.113.7", 50000))


@pytest.fixture
def ada(engine, session: Session) -> dict:
    builder = make_builder(session, name="Ada", slug="ada", email="ada@example.test")
    consult = make_session_type(session, builder, name="Consult", price_amount=5000, currency="gbp")
    review = make_session_type(session, builder, name="Review", price_amount=7000, currency="gbp")
    make_session_type(session, builder, name="Retired", active=False)
    session.commit()
    user_id = make_user(engine, email="ada-user@example.test", builder_id=builder.id)
    with Session(engine) as s:
        actor = Actor.of(s.get(UserAccount, user_id))
    return {"builder_id": builder.id, "actor": actor, "types": [consult.id, review.id]}


def make_plan(engine, gateway, ada, *, name="Monthly four", amount=4000, sessions=4,
              unused=UnusedCredits.LAPSE) -> int:
    return memberships.create_plan(engine=engine, gateway=gateway, actor=ada["actor"], data=PlanInput(
        name=name, sessions_per_period=sessions, amount=amount, currency="gbp", unused_credits=unused))


def stop(engine, plan_id: int) -> None:
    with Session(engine) as s:
        plan = s.get(MembershipPlan, plan_id)
        plan.active = False
        s.add(plan)
        s.commit()


def memberships_saved(engine) -> int:
    with Session(engine) as s:
        return len(s.exec(select(Membership)).all())


def body(plan_id: object, **extra: object) -> dict:
    return {"plan_id": plan_id, "client_name": "Cleo", "client_email": "cleo@example.com", **extra}


def test_the_plans_of_a_builder_with_price_and_what_the_credits_buy(engine, gateway, http, ada) -> None:
    dearer = make_plan(engine, gateway, ada, name="Weekly", amount=9000, sessions=8, unused=UnusedCredits.ROLL_OVER)
    cheaper = make_plan(engine, gateway, ada)
    stop(engine, make_plan(engine, gateway, ada, name="Old offer", amount=1000))

    listed = http.get("/api/builders/ada/plans")

    assert listed.status_code == 200
    covered = [{"id": str(ada["types"][0]), "name": "Consult"}, {"id": str(ada["types"][1]), "name": "Review"}]
    gbp = {"amount": 4000, "currency": "gbp", "display": "£40.00"}
    assert listed.json() == [
        {"id": str(cheaper), "name": "Monthly four", "sessions_per_month": 4, "price": gbp, "prices": [gbp],
         "unused_credits": "lapse", "session_types": covered},
        {"id": str(dearer), "name": "Weekly", "sessions_per_month": 8,
         "price": {"amount": 9000, "currency": "gbp", "display": "£90.00"},
         "prices": [{"amount": 9000, "currency": "gbp", "display": "£90.00"}],
         "unused_credits": "roll_over", "session_types": covered},
    ]
    assert http.get("/api/builders/nobody/plans").json()["error"]["code"] == "builder_not_found"
    assert http.get("/api/builders/nobody/plans").status_code == 404


def test_an_old_address_or_capitals_still_list_the_builders_plans(engine, gateway, http, ada) -> None:
    plan = make_plan(engine, gateway, ada)
    with Session(engine) as s:
        s.add(BuilderSlugHistory(builder_id=ada["builder_id"], old_slug="ada-old"))
        s.commit()

    for address in ("ada-old", "ADA"):
        listed = http.get(f"/api/builders/{address}/plans")
        assert listed.status_code == 200 and [p["id"] for p in listed.json()] == [str(plan)], address


def test_subscribing_through_the_api_then_paying_grants_the_months_credits(engine, gateway, emulator, deliveries,
                                                                           http, ada) -> None:
    plan_id = make_plan(engine, gateway, ada)

    started = http.post(SUBSCRIBE, json=body(int(plan_id), client_email="Cleo@Example.com", currency="GBP",
                                             client_locale="fr_fr", client_time_zone="America/New_York"))

    assert started.status_code == 201, started.text
    answer = started.json()
    assert answer["checkout_url"].startswith(emulator.url)
    paid = control(emulator, f"checkout/sessions/{answer['checkout_session_id']}/complete", card="4242424242424242")
    assert paid["status"] == "succeeded", paid
    assert "invoice paid; 4 credits granted" in deliveries.flush()
    with Session(engine) as s:
        membership = s.get(Membership, int(answer["membership_id"]))
        [grant] = s.exec(select(CreditGrant)).all()
    assert membership.status == MembershipStatus.ACTIVE and membership.client_email == "cleo@example.com"
    assert membership.client_locale == "fr-FR"  # the member's emails are written the French way
    assert membership.client_time_zone == "America/New_York"  # and tell the renewal on New York's clock
    assert grant.quantity == 4 and grant.client_email == "cleo@example.com"


def test_an_unknown_or_stopped_plan_is_404(engine, gateway, http, ada) -> None:
    stopped = make_plan(engine, gateway, ada)
    stop(engine, stopped)

    answers = [http.post(SUBSCRIBE, json=body(plan_id)) for plan_id in (stopped, "999999", "²", "99999999999")]

    assert [(a.status_code, a.json()["error"]["code"]) for a in answers] == [(404, "plan_not_found")] * 4
    assert memberships_saved(engine) == 0


@pytest.mark.parametrize(("change", "field"), [
    ({"client_email": "not-an-address"}, "client_email"),
    ({"client_name": "   "}, "client_name"),
    ({"client_name": "x" * 121}, "client_name"),
    ({"client_email": None}, "client_email"),
    ({"client_name": "Cle\x00o"}, "client_name"),
    ({"currency": "eur"}, "currency"),
    ({"currency": "euro"}, "currency"),
    ({"plan_id": True}, "plan_id"),
    ({"client_time_zone": "Mars/Olympus_Mons"}, "client_time_zone"),
    ({"client_time_zone": "Europe/Lon\x00don"}, "client_time_zone"),
    ({"client_time_zone": 5}, "client_time_zone"),
])
def test_bad_details_are_422_naming_the_field(engine, gateway, http, ada, change, field) -> None:
    plan_id = make_plan(engine, gateway, ada)

    refused = http.post(SUBSCRIBE, json={**body(str(plan_id)), **change})

    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "invalid_request" and refused.json()["error"]["field"] == field
    assert memberships_saved(engine) == 0


def test_a_builder_who_cannot_be_paid_yet_is_409(engine, gateway, http, ada, configure) -> None:
    plan_id = make_plan(engine, gateway, ada)
    configure(REQUIRE_PAYOUTS="true")  # and Ada has not set up her payouts

    refused = http.post(SUBSCRIBE, json=body(plan_id))

    assert refused.status_code == 409 and refused.json()["error"]["code"] == "builder_not_payable"
    assert memberships_saved(engine) == 0


def test_only_json_is_accepted(engine, gateway, http, ada) -> None:
    plan_id = make_plan(engine, gateway, ada)

    refused = http.post(SUBSCRIBE, content=f"plan_id={plan_id}", headers={"Content-Type": "text/plain"})

    assert refused.status_code == 415 and memberships_saved(engine) == 0


def test_attempts_count_against_the_checkout_rate_limit(engine, gateway, http, ada, configure) -> None:
    plan_id = make_plan(engine, gateway, ada)
    configure(CHECKOUT_RATE_LIMIT="2/minute")

    answers = [http.post(SUBSCRIBE, json=body(plan_id, client_email=f"c{n}@example.com")) for n in range(3)]

    assert [a.status_code for a in answers] == [201, 201, 429]
    assert answers[2].json()["error"]["code"] == "rate_limited" and int(answers[2].headers["Retry-After"]) > 0
    assert memberships_saved(engine) == 2


def builder_page_memberships():
    """The builder page's memberships state for /b/ada, as a browser at 203.0.113.7 has it."""
    import reflex as rx
    from reflex.istate.data import RouterData

    import booking_ui.booking_ui  # noqa: F401 - registers the pages
    from booking_ui.state.memberships import MembershipOffersState

    root = rx.State(_reflex_internal_init=True)
    root.router = RouterData.from_router_data({
        "pathname": "/b/[builder_slug]", "asPath": "/b/ada", "ip": "203.0.113.7",
        "query": {"builder_slug": "ada"},
        "headers": {"origin": "http://localhost:3000", "asgi-scope-client": "203.0.113.7"}})
    return root.get_substate(MembershipOffersState.get_full_name().split(".")[1:])


def test_the_builder_pages_subscribe_button_shares_the_networks_checkout_limit(engine, gateway, http, ada,
                                                                                configure) -> None:
    """The API's calls and the builder page's Subscribe count against one per-network limit."""
    from tests.support.admin_states import call

    plan_id = make_plan(engine, gateway, ada)
    configure(CHECKOUT_RATE_LIMIT="1/minute")
    assert http.post(SUBSCRIBE, json=body(plan_id, client_email="api@example.com")).status_code == 201

    page = builder_page_memberships()
    call(page, "subscribe", {"plan_id": str(plan_id), "client_name": "Page", "client_email": "page@example.com"})

    assert page.notice == "Too many booking attempts from your network. Please wait a moment and try again."
    assert page.subscribing_plan == "" and memberships_saved(engine) == 1


@pytest.mark.parametrize(("tz", "kept"), [("America/New_York", "America/New_York"), ("Mars/Olympus_Mons", None)])
def test_the_builder_pages_subscribe_keeps_the_browsers_zone_and_ignores_one_it_cannot_load(
        engine, gateway, http, ada, tz, kept) -> None:
    from tests.support.admin_states import call

    plan_id = make_plan(engine, gateway, ada)
    page = builder_page_memberships()
    call(page, "set_browser_preferences", {"tz": tz, "lang": "en-US"})
    call(page, "subscribe", {"plan_id": str(plan_id), "client_name": "Page", "client_email": "page@example.com"})

    assert page.errors == {} and page.notice == ""  # an unknown zone never refuses the Subscribe
    with Session(engine) as s:
        [membership] = s.exec(select(Membership)).all()
    assert membership.client_time_zone == kept  # None: the emails tell UTC
