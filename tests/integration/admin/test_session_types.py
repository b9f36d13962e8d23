"""/admin/session-types: each session type is a Stripe Product with one active Price, saved through the
workspace state against the emulator over real HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from booking.accounts.authz import Actor
from booking.core.config import get_settings, load_settings
from booking.core.db import session_scope
from booking.core.models import AuditEntry, Builder, SessionType, UserRole
from booking.lifecycle import checkout as payments
from booking.payments.gateway import StripeGateway
from booking.workspace.session_types import SessionTypeConflict, parse_form, sync_catalog, update_session_type
from booking_ui import deps
from booking_ui.admin.base import NOT_FOUND_MESSAGE
from booking_ui.admin.session_types import SessionTypesState
from tests.factories import make_builder, make_session_type
from tests.support.admin_states import call, make_user, state_of, token_for
from tests.support.fake_gateway import FakeGateway
from tests.support.stripe_events import WEBHOOK_SECRET

CHECKOUT_SETTINGS = load_settings(PUBLIC_URL="https://book.example")
FORM = {"name": "1:1 call", "description": "A focused hour.", "duration_minutes": "60", "price": "50.00",
        "currency": "gbp", "location": "https://meet.example/ada"}


@pytest.fixture
def stripe(emulator):
    """A client to look at what the emulator holds (not the app's gateway)."""
    return emulator.client()


def point_app_at(monkeypatch, api_base: str) -> None:
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_session_types")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("STRIPE_API_BASE", api_base)
    get_settings.cache_clear()


@pytest.fixture
def app_on_emulator(engine, emulator, monkeypatch):
    point_app_at(monkeypatch, emulator.url)
    yield


@pytest.fixture
def fake(engine, monkeypatch) -> FakeGateway:
    gateway = FakeGateway()
    monkeypatch.setattr(deps, "gateway", lambda: gateway)
    return gateway


@pytest.fixture
def ada(engine):
    with session_scope(engine) as session:
        builder_id = make_builder(session, name="Ada Lovelace", slug="ada-st").id
    user_id = make_user(engine, email="ada@st.test", builder_id=builder_id)
    return builder_id, token_for(engine, user_id)


@pytest.fixture
def grace(engine):
    with session_scope(engine) as session:
        builder_id = make_builder(session, name="Grace Hopper", slug="grace-st").id
    user_id = make_user(engine, email="grace@st.test", builder_id=builder_id)
    return builder_id, token_for(engine, user_id)


def page_for(token: str) -> SessionTypesState:
    state = state_of(SessionTypesState, token)
    call(state, "load")
    return state


def create(state: SessionTypesState, **changes: str) -> SessionType:
    call(state, "start_new")
    call(state, "save", {**FORM, **changes})
    assert state.field_errors == {} and state.form_error == "", (state.field_errors, state.form_error)
    return only_row(state)


def only_row(state: SessionTypesState) -> SessionType:
    assert len(state.rows) == 1
    return stored(int(state.rows[0].id))


def stored(session_type_id: int) -> SessionType:
    with Session(deps.engine()) as session:
        return session.get(SessionType, session_type_id)


def edit(state: SessionTypesState, row: SessionType, **changes: str) -> None:
    call(state, "edit", str(row.id))
    assert state.form_open and state.form_values["name"] == row.name
    call(state, "save", {**state.form_values, **changes})


def table_rows(engine) -> list[tuple]:
    with Session(engine) as session:
        types = [tuple(sorted(row.model_dump().items())) for row in session.exec(select(SessionType)).all()]
        audits = session.exec(select(AuditEntry.id)).all()
    return types + [("audit", len(audits))]


def next_slot() -> datetime:
    return (datetime.now(timezone.utc) + timedelta(days=2)).replace(hour=11, minute=0, second=0, microsecond=0)


# --- create, edit, deactivate -------------------------------------------------------------------------


def test_create_makes_a_product_with_metadata_and_one_active_price(engine, app_on_emulator, stripe, ada):
    builder_id, token = ada
    state = page_for(token)

    row = create(state)

    assert row.active and row.revision == 1 and (row.price_amount, row.currency) == (5000, "gbp")
    product = stripe.v1.products.retrieve(row.stripe_product_id)
    assert product.active and product.name == "1:1 call" and product.description == "A focused hour."
    assert product.metadata.to_dict() == {"session_type_id": str(row.id), "builder_id": str(builder_id)}
    prices = stripe.v1.prices.list(params={"product": product.id, "active": True}).data
    assert [(p.id, p.unit_amount, p.currency) for p in prices] == [(row.stripe_price_id, 5000, "gbp")]
    # The page: the row with its formatted price and badge, the form closed, a notice, no Stripe ids.
    shown = state.rows[0]
    assert (shown.name, shown.price_display, shown.duration_minutes, shown.active) == ("1:1 call", "£50.00", 60, True)
    assert not state.form_open and "Saved" in state.notice
    assert row.stripe_price_id not in str(state.dict())
    with Session(engine) as session:
        entry = session.exec(select(AuditEntry)).one()
    assert (entry.action, entry.entity_id, entry.actor_email) == ("session_type.create", str(row.id), "ada@st.test")


def test_a_zero_decimal_price_is_typed_and_charged_in_whole_yen(engine, app_on_emulator, stripe, ada):
    _builder_id, token = ada
    state = page_for(token)

    row = create(state, price="5000", currency="jpy")

    assert (row.price_amount, row.currency) == (5000, "jpy") and state.rows[0].price_display == "¥5,000"
    price = stripe.v1.prices.retrieve(row.stripe_price_id)
    assert (price.unit_amount, price.currency) == (5000, "jpy")


def test_a_price_change_makes_a_new_price_retires_the_old_and_checkout_charges_the_new(
        engine, app_on_emulator, emulator, stripe, ada):
    _builder_id, token = ada
    state = page_for(token)
    before = create(state)

    edit(state, before, price="65.00")

    after = stored(before.id)
    assert after.stripe_product_id == before.stripe_product_id
    assert after.stripe_price_id != before.stripe_price_id and after.price_amount == 6500
    assert stripe.v1.prices.retrieve(before.stripe_price_id).active is False
    active = stripe.v1.prices.list(params={"product": after.stripe_product_id, "active": True}).data
    assert [(p.id, p.unit_amount) for p in active] == [(after.stripe_price_id, 6500)]
    assert state.rows[0].price_display == "£65.00" and state.rows[0].revision == 2

    gateway = StripeGateway(secret_key="sk_test_checkout", webhook_secret=WEBHOOK_SECRET, api_base=emulator.url)
    started = payments.begin_checkout(engine=engine, gateway=gateway, settings=CHECKOUT_SETTINGS,
                                      session_type_id=after.id, start_time=next_slot(), client_name="Ann",
                                      client_email="ann@example.com")
    items = stripe.v1.checkout.sessions.line_items.list(started.checkout_session_id).data
    assert [(item.price.id, item.amount_total) for item in items] == [(after.stripe_price_id, 6500)]


def test_a_currency_change_also_replaces_the_price(engine, app_on_emulator, stripe, ada):
    _builder_id, token = ada
    state = page_for(token)
    before = create(state)

    edit(state, before, price="8000", currency="jpy")

    after = stored(before.id)
    price = stripe.v1.prices.retrieve(after.stripe_price_id)
    assert (price.unit_amount, price.currency, price.active) == (8000, "jpy", True)
    assert stripe.v1.prices.retrieve(before.stripe_price_id).active is False


def test_a_name_change_updates_the_product_and_keeps_the_price(engine, app_on_emulator, stripe, ada):
    _builder_id, token = ada
    state = page_for(token)
    before = create(state)

    edit(state, before, name="Pairing hour", description="", location="12 Analytical Row, London")

    after = stored(before.id)
    product = stripe.v1.products.retrieve(after.stripe_product_id)
    assert (product.name, product.description) == ("Pairing hour", None)
    assert after.stripe_price_id == before.stripe_price_id
    assert stripe.v1.prices.retrieve(after.stripe_price_id).active is True
    assert after.location == "12 Analytical Row, London" and not state.rows[0].location_is_link
    with Session(engine) as session:
        actions = session.exec(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["session_type.create", "session_type.update"]


def test_deactivating_archives_the_product_and_reactivating_restores_it(engine, app_on_emulator, stripe, ada):
    _builder_id, token = ada
    state = page_for(token)
    row = create(state)

    call(state, "deactivate", str(row.id))

    assert stored(row.id).active is False and state.rows[0].active is False
    assert stripe.v1.products.retrieve(row.stripe_product_id).active is False
    assert "deactivated" in state.notice and state.busy_session_type_id == ""

    call(state, "reactivate", str(row.id))

    assert stored(row.id).active is True and state.rows[0].active is True
    assert stripe.v1.products.retrieve(row.stripe_product_id).active is True
    assert stored(row.id).stripe_price_id == row.stripe_price_id


def test_saving_without_changes_calls_nothing(engine, fake, ada):
    _builder_id, token = ada
    state = page_for(token)
    row = create(state)
    sent = len(fake.catalog.keys)

    edit(state, row)

    assert len(fake.catalog.keys) == sent and stored(row.id).revision == row.revision
    assert "No changes" in state.notice


# --- failures change nothing ---------------------------------------------------------------------------


def test_stripe_unreachable_on_create_leaves_the_database_unchanged_and_says_so(engine, monkeypatch, ada):
    point_app_at(monkeypatch, "http://127.0.0.1:9")  # nothing listens there
    _builder_id, token = ada
    state = page_for(token)
    call(state, "start_new")
    before = table_rows(engine)

    call(state, "save", dict(FORM))

    assert table_rows(engine) == before == [("audit", 0)]
    assert "Stripe could not create a Product" in state.form_error
    assert state.form_open and not state.saving and state.rows == []


def test_stripe_failing_on_an_edit_leaves_the_row_as_it_was(engine, fake, ada):
    _builder_id, token = ada
    state = page_for(token)
    row = create(state)
    before = table_rows(engine)
    fake.down = True

    edit(state, row, price="65.00", name="Renamed")

    assert table_rows(engine) == before
    assert "Stripe could not" in state.form_error and state.form_open
    assert state.rows[0].price_display == "£50.00"


def test_a_price_failure_after_the_product_was_made_discards_the_draft(engine, fake, monkeypatch, ada):
    _builder_id, token = ada
    state = page_for(token)

    def refuse(**_kwargs):
        raise payments.PaymentProviderError("Stripe could not create a Price (rate_limit)")

    monkeypatch.setattr(fake, "create_price", refuse)
    call(state, "start_new")
    call(state, "save", dict(FORM))

    assert table_rows(engine) == [("audit", 0)]
    assert state.form_error == "Stripe could not create a Price (rate_limit)"
    assert [product.active for product in fake.catalog.products.values()] == [False]  # the orphan is archived


def test_invalid_input_shows_inline_errors_and_saves_nothing(engine, fake, ada):
    _builder_id, token = ada
    state = page_for(token)
    call(state, "start_new")

    call(state, "save", {"name": "", "description": "ok", "duration_minutes": "500", "price": "0.001",
                         "currency": "gbp", "location": "javascript:alert(1)"})

    assert set(state.field_errors) == {"name", "duration_minutes", "price", "location"}
    assert "decimal places" in state.field_errors["price"]
    assert state.form_open and state.form_error == ""
    assert table_rows(engine) == [("audit", 0)] and fake.catalog.keys == []


def test_an_edit_based_on_a_stale_form_is_refused(engine, fake, ada):
    _builder_id, token = ada
    first = page_for(token)
    row = create(first)
    second = page_for(token)
    call(first, "edit", str(row.id))
    call(second, "edit", str(row.id))
    call(first, "save", {**first.form_values, "price": "60.00"})
    sent = len(fake.catalog.keys)

    call(second, "save", {**second.form_values, "price": "70.00"})

    assert "changed this session type meanwhile" in second.form_error
    assert stored(row.id).price_amount == 6000 and len(fake.catalog.keys) == sent


def test_a_lost_compare_and_swap_puts_stripe_back_in_line_with_the_winner(engine, fake, ada):
    builder_id, token = ada
    state = page_for(token)
    row = create(state)
    actor = Actor(user_id=0, email="ada@st.test", role=UserRole.BUILDER, builder_id=builder_id)
    data = parse_form({**FORM, "price": "70.00"})
    winner = fake.create_price

    def race(**kwargs):  # another save commits while ours talks to Stripe
        with session_scope(engine) as session:
            other = session.get(SessionType, row.id)
            other.revision += 1
            session.add(other)
        return winner(**kwargs)

    fake.create_price = race
    with pytest.raises(SessionTypeConflict):
        update_session_type(engine=engine, gateway=fake, actor=actor, session_type_id=str(row.id), data=data)

    fake.create_price = winner
    active = fake.list_active_prices(row.stripe_product_id)
    assert [price.id for price in active] == [stored(row.id).stripe_price_id]


# --- authorisation --------------------------------------------------------------------------------------


def test_another_builders_session_type_is_not_found_and_nothing_changes(engine, fake, ada, grace):
    _ada_id, ada_token = ada
    owner_row = create(page_for(ada_token))
    _grace_id, grace_token = grace
    state = page_for(grace_token)
    before = table_rows(engine)
    sent = len(fake.catalog.keys)

    call(state, "edit", str(owner_row.id))
    assert state.admin_error == NOT_FOUND_MESSAGE and not state.form_open

    state.editing_session_type_id = str(owner_row.id)  # a hostile browser can send any state
    call(state, "save", {**FORM, "name": "Hijacked", "builder_id": str(owner_row.builder_id)})
    assert state.admin_error == NOT_FOUND_MESSAGE and not state.saving

    for handler in ("deactivate", "reactivate"):
        call(state, handler, str(owner_row.id))
        assert state.admin_error == NOT_FOUND_MESSAGE

    assert table_rows(engine) == before and len(fake.catalog.keys) == sent
    assert state.rows == [] and "1:1 call" not in str(state.dict())


def test_a_builder_cannot_create_for_someone_else(engine, fake, ada, grace):
    ada_id, _ada_token = ada
    grace_id, grace_token = grace
    state = page_for(grace_token)
    call(state, "set_builder", str(ada_id))

    row = create(state, builder_id=str(ada_id))

    assert row.builder_id == grace_id and state.builder_id == ""


def test_a_platform_admin_sees_everyone_and_creates_for_a_chosen_builder(engine, fake, ada, grace):
    ada_id, ada_token = ada
    create(page_for(ada_token))
    admin = page_for(token_for(engine, make_user(engine, email="root@st.test", role=UserRole.ADMIN)))
    assert [b.name for b in admin.builders] == ["Ada Lovelace", "Grace Hopper"]

    call(admin, "start_new")
    call(admin, "save", dict(FORM))
    assert admin.field_errors == {"builder_id": "Choose the builder this session type belongs to."}

    grace_id, _ = grace
    call(admin, "set_builder", str(grace_id))
    call(admin, "save", {**FORM, "name": "Debugging"})

    assert [(r.builder_name, r.name) for r in admin.rows] == [("Ada Lovelace", "1:1 call"), ("Grace Hopper", "Debugging")]
    with Session(engine) as session:
        entry = session.exec(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.actor_email, entry.builder_id) == ("root@st.test", grace_id)


def test_the_list_is_paginated(engine, fake, ada):
    builder_id, token = ada
    with session_scope(engine) as session:
        builder = session.get(Builder, builder_id)
        for n in range(52):
            make_session_type(session, builder, name=f"Type {n:02d}")
    state = page_for(token)
    assert len(state.rows) == 50 and state.has_more

    call(state, "go_to_page", 1)

    assert [row.name for row in state.rows] == ["Type 50", "Type 51"] and not state.has_more


# --- sync-stripe-catalog ----------------------------------------------------------------------------------


def test_sync_creates_what_is_missing_once_and_repairs_a_stale_price(engine, emulator, stripe):
    gateway = StripeGateway(secret_key="sk_test_sync", webhook_secret=WEBHOOK_SECRET, api_base=emulator.url)
    with session_scope(engine) as session:
        kenji = make_builder(session, name="Kenji")
        yen = make_session_type(session, kenji, price_amount=5000, currency="jpy", name="Quick consult")
        pounds = make_session_type(session, kenji, price_amount=3500, currency="gbp", name="Review", active=False)
        ids = (yen.id, pounds.id)

    first = sync_catalog(engine=engine, gateway=gateway)
    assert (first.products_created, first.prices_created, first.failed) == (2, 2, [])
    synced = {i: stored(i) for i in ids}
    assert stripe.v1.products.retrieve(synced[pounds.id].stripe_product_id).active is False
    price = stripe.v1.prices.retrieve(synced[yen.id].stripe_price_id)
    assert (price.unit_amount, price.currency, price.active) == (5000, "jpy", True)

    second = sync_catalog(engine=engine, gateway=gateway)
    assert (second.products_created, second.products_updated, second.prices_created, second.prices_retired) == (0,) * 4
    assert {i: stored(i) for i in ids} == synced

    with session_scope(engine) as session:  # changed behind Stripe's back (e.g. by an old script)
        session.get(SessionType, yen.id).price_amount = 6000
    third = sync_catalog(engine=engine, gateway=gateway)
    repaired = stored(yen.id)
    assert (third.prices_created, third.prices_retired) == (1, 1)
    assert stripe.v1.prices.retrieve(repaired.stripe_price_id).unit_amount == 6000
    assert [p.id for p in stripe.v1.prices.list(params={"product": repaired.stripe_product_id,
                                                          "active": True}).data] == [repaired.stripe_price_id]
    fourth = sync_catalog(engine=engine, gateway=gateway)
    assert fourth.summary().startswith("2 session types checked: 0 products created, 0 updated; 0 prices created")


def test_sync_command_prints_one_line_and_is_idempotent(engine, app_on_emulator):
    from booking.ops.cli import cli

    with session_scope(engine) as session:
        make_session_type(session, make_builder(session), name="Intro")
    runner = CliRunner()

    first = runner.invoke(cli, ["sync-stripe-catalog"])
    second = runner.invoke(cli, ["sync-stripe-catalog"])

    assert first.exit_code == 0, first.output
    assert first.output.strip().splitlines() == [
        "1 session types checked: 1 products created, 0 updated; 1 prices created, 0 retired; 0 failed",
        "0 promotion codes synced; 0 failed", "membership plans synced: 0"]
    assert "0 products created, 0 updated; 0 prices created, 0 retired; 0 failed" in second.output


def test_sync_with_stripe_down_reports_each_failure_and_changes_nothing(engine, fake):
    with session_scope(engine) as session:
        make_session_type(session, make_builder(session), name="Intro")
    before = table_rows(engine)
    fake.down = True

    report = sync_catalog(engine=engine, gateway=fake)

    assert report.checked == 1 and len(report.failed) == 1 and table_rows(engine) == before
