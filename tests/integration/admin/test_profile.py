"""The builder's profile (/admin/profile and booking.workspace.profile) on a real database: saving the fields
with an audit entry, a slug that is taken or malformed, an old slug that redirects and can't be taken by
anyone else, the photo stored once for every worker and served with a version, and removing it."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import reflex as rx
from PIL import Image
from sqlmodel import Session, select
from starlette.testclient import TestClient

from booking.accounts.authz import NotFound
from booking.client import get_builder
from booking.core.db import session_scope
from booking.core.models import AuditEntry, Builder, BuilderPhoto, UserRole
from booking.workspace import InvalidProfile, load_profile, process_photo, remove_photo, save_profile, set_photo
from booking_ui import api, routes
from booking_ui.admin.profile import ProfileState
from tests.factories import make_builder
from tests.support.admin_states import call, make_user, state_of, token_for


@pytest.fixture
def world(engine):
    with session_scope(engine) as session:
        ada = make_builder(session, name="Ada", slug="ada-profile", time_zone="Europe/London")
        grace = make_builder(session, name="Grace", slug="grace-profile", time_zone="Asia/Tokyo")
        ids = {"ada": ada.id, "grace": grace.id}
    ids["ada_user"] = make_user(engine, email="ada@profile.test", builder_id=ids["ada"])
    ids["grace_user"] = make_user(engine, email="grace@profile.test", builder_id=ids["grace"])
    ids["admin_user"] = make_user(engine, email="admin@profile.test", role=UserRole.ADMIN)
    return ids


def form(**changes) -> dict:
    return {"name": "Ada Lovelace", "slug": "ada-profile", "bio": "Engines.", "time_zone": "Europe/London",
            **changes}


def signed_in(engine, user_id) -> ProfileState:
    state = state_of(ProfileState, token_for(engine, user_id))
    call(state, "load")
    return state


def builder_row(engine, builder_id) -> Builder:
    with Session(engine) as s:
        return s.get(Builder, builder_id)


def entries(engine) -> list[tuple[str, dict, dict]]:
    with Session(engine) as s:
        return [(e.action, json.loads(e.before or "{}"), json.loads(e.after or "{}"))
                for e in s.exec(select(AuditEntry).order_by(AuditEntry.id)).all()]


def jpeg_with_gps(width: int = 900, height: int = 600, colour=(10, 120, 200)) -> bytes:
    exif = Image.Exif()
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="JPEG", exif=exif)
    return out.getvalue()


def upload(data: bytes, name: str = "me.jpg") -> list[rx.UploadFile]:
    return [rx.UploadFile(file=io.BytesIO(data), path=Path(name), size=len(data))]


# --- the service ------------------------------------------------------------------------------------


def test_the_page_shows_and_saves_the_builders_own_profile_with_one_audit_entry(engine, world):
    state = signed_in(engine, world["ada_user"])
    assert state.values == {"name": "Ada", "slug": "ada-profile", "bio": state.values["bio"],
                            "time_zone": "Europe/London"}
    assert "Europe/London" in {zone.value for zone in state.zones}

    call(state, "save", form(name="  Ada   Lovelace ", bio="Engines.\r\nAnd poems.", time_zone="Asia/Calcutta"))

    assert state.errors == {} and state.notice == "Saved."
    saved = builder_row(engine, world["ada"])
    assert (saved.name, saved.bio, saved.time_zone) == ("Ada Lovelace", "Engines.\nAnd poems.", "Asia/Kolkata")
    [(action, before, after)] = entries(engine)
    assert action == "profile.update"
    assert before == {"name": "Ada", "bio": before["bio"], "time_zone": "Europe/London"}
    assert after == {"name": "Ada Lovelace", "bio": "Engines.\nAnd poems.", "time_zone": "Asia/Kolkata"}

    call(state, "save", form(name="Ada Lovelace", bio="Engines.\nAnd poems.", time_zone="Asia/Kolkata"))
    assert len(entries(engine)) == 1  # nothing changed: nothing recorded


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"name": "   "}, "name", "Enter your name"),
    ({"name": "x" * 121}, "name", "at most 120"),
    ({"bio": "x" * 2001}, "bio", "at most 2000"),
    ({"bio": "bell\x07"}, "bio", "can't be shown"),
    ({"slug": "Ada Profile!"}, "slug", "lower-case letters"),
    ({"slug": "ab"}, "slug", "lower-case letters"),
    ({"slug": "grace-profile"}, "slug", "is taken"),
    ({"time_zone": "Mars/Olympus"}, "time_zone", "Pick a time zone"),
    ({"time_zone": ""}, "time_zone", "Pick a time zone"),
])
def test_a_bad_field_is_explained_and_nothing_is_saved(engine, world, changes, field, message):
    state = signed_in(engine, world["ada_user"])

    call(state, "save", form(**changes))

    assert message in state.errors[field] and state.notice == ""
    assert builder_row(engine, world["ada"]).name == "Ada" and entries(engine) == []


def test_a_new_slug_keeps_the_old_address_working_and_nobody_else_can_take_it(engine, world):
    state = signed_in(engine, world["ada_user"])

    call(state, "save", form(slug="ada-lovelace"))

    assert "/b/ada-lovelace" in state.notice and "redirect" in state.notice
    assert state.old_slugs == ["ada-profile"]
    grace = _actor(engine, world["grace_user"])
    with session_scope(engine) as session:
        moved = get_builder(session=session, slug="ada-profile")  # the page redirects to moved.slug
        assert (moved.name, moved.slug) == ("Ada Lovelace", "ada-lovelace")
        with pytest.raises(InvalidProfile, match="taken"):
            save_profile(session=session, actor=grace, builder_id=world["grace"],
                         form=form(name="Grace", slug="ada-profile", time_zone="Asia/Tokyo"))
    [(action, before, after)] = entries(engine)
    assert (action, before["slug"], after["slug"]) == ("profile.update", "ada-profile", "ada-lovelace")

    call(state, "save", form(slug="ada-profile"))  # her own old address: hers again, no redirect left
    assert builder_row(engine, world["ada"]).slug == "ada-profile" and state.old_slugs == ["ada-lovelace"]


def _actor(engine, user_id):
    from booking_ui.admin.base import resolve_actor

    return resolve_actor(token_for(engine, user_id))


def test_a_builder_cannot_touch_another_builders_profile(engine, world):
    actor = _actor(engine, world["grace_user"])
    with session_scope(engine) as session:
        for attempt in (lambda: load_profile(session=session, actor=actor, builder_id=world["ada"]),
                        lambda: save_profile(session=session, actor=actor, builder_id=world["ada"], form=form()),
                        lambda: remove_photo(session=session, actor=actor, builder_id=world["ada"])):
            with pytest.raises(NotFound):
                attempt()
    state = signed_in(engine, world["grace_user"])
    state.profile_builder_id = str(world["ada"])  # a hostile browser: the server uses her own builder
    call(state, "save", form(name="Hacked", slug="grace-profile", time_zone="Asia/Tokyo"))
    assert builder_row(engine, world["ada"]).name == "Ada" and builder_row(engine, world["grace"]).name == "Hacked"


def test_a_platform_admin_picks_a_builder(engine, world):
    state = signed_in(engine, world["admin_user"])
    assert {option.name for option in state.builders} >= {"Ada", "Grace"}
    call(state, "set_builder", str(world["grace"]))
    assert state.values["name"] == "Grace"
    call(state, "save", form(name="Grace Hopper", slug="grace-hopper", time_zone="Asia/Tokyo"))
    assert builder_row(engine, world["grace"]).slug == "grace-hopper"


# --- the photo --------------------------------------------------------------------------------------


def test_an_uploaded_photo_is_stored_processed_served_and_removed(engine, world):
    state = signed_in(engine, world["ada_user"])

    call(state, "upload_photo", upload(jpeg_with_gps()))

    assert state.photo_error == "" and state.photo_notice.startswith("Photo saved")
    with Session(engine) as s:
        stored = s.get(BuilderPhoto, world["ada"])
    assert (stored.media_type, stored.width, stored.height, stored.version) == (
        "image/webp", 400, 400, state.photo_version)
    assert not Image.open(io.BytesIO(stored.content)).getexif()

    client = TestClient(api.build_api())
    url = routes.builder_photo("ada-profile", state.photo_version)
    first = client.get(url)
    assert first.status_code == 200 and first.content == stored.content
    assert first.headers["content-type"] == "image/webp"
    assert first.headers["etag"] == f'"{stored.version}"' and "immutable" in first.headers["cache-control"]
    unversioned = client.get(routes.API_BUILDER_PHOTO.format(slug="ada-profile"))
    assert unversioned.status_code == 200 and "immutable" not in unversioned.headers["cache-control"]
    again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    with session_scope(engine) as session:  # the public page knows the version
        assert get_builder(session=session, slug="ada-profile").photo_version == stored.version

    call(state, "delete_photo")

    assert state.photo_version == "" and state.photo_notice == "Photo removed."
    assert client.get(url).status_code == 404
    assert client.get(url).json()["error"]["code"] == "photo_not_found"
    actions = [action for action, _before, _after in entries(engine)]
    assert actions == ["profile.photo_set", "profile.photo_removed"]


def test_a_replaced_photo_gets_a_new_version_and_old_slugs_serve_it(engine, world):
    state = signed_in(engine, world["ada_user"])
    call(state, "upload_photo", upload(jpeg_with_gps()))
    first = state.photo_version
    call(state, "upload_photo", upload(jpeg_with_gps(300, 800, colour=(240, 200, 0))))
    assert state.photo_version and state.photo_version != first
    call(state, "save", form(slug="ada-moved"))
    client = TestClient(api.build_api())
    assert client.get(routes.API_BUILDER_PHOTO.format(slug="ada-profile")).status_code == 200
    assert client.get(routes.API_BUILDER_PHOTO.format(slug="ada-moved")).status_code == 200
    assert [a for a, _b, after in entries(engine) if a == "profile.photo_set"] == ["profile.photo_set"] * 2


@pytest.mark.parametrize(("files", "message"), [
    (lambda: upload(b"%PDF-1.7 definitely not a photo", "cv.jpg"), "not a JPEG, PNG or WebP"),
    (lambda: upload(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "broken.png"), "not a JPEG, PNG or WebP"),
    (lambda: upload(b"x" * (5 * 1024 * 1024 + 10), "huge.jpg"), "larger than 5 MB"),
    (lambda: [], "Choose a photo"),
    (lambda: "not files", "Choose a photo"),
])
def test_a_bad_upload_is_explained_and_nothing_is_stored(engine, world, files, message):
    state = signed_in(engine, world["ada_user"])

    call(state, "upload_photo", files())

    assert message in state.photo_error and state.photo_version == ""
    with Session(engine) as s:
        assert s.exec(select(BuilderPhoto)).all() == []
    assert entries(engine) == []


def test_the_photo_route_answers_404_for_unknown_builders_and_odd_slugs(engine, world):
    client = TestClient(api.build_api())
    for slug in ("nobody-here", "grace-profile", "%00", "x" * 300, "é"):
        response = client.get(routes.API_BUILDER_PHOTO.format(slug=slug))
        assert response.status_code == 404 and response.json()["error"]["code"] == "photo_not_found"


def test_the_service_stores_one_photo_per_builder(engine, world):
    actor = _actor(engine, world["ada_user"])
    photo = process_photo(jpeg_with_gps())
    with session_scope(engine) as session:
        set_photo(session=session, actor=actor, builder_id=world["ada"], photo=photo)
        set_photo(session=session, actor=actor, builder_id=world["ada"], photo=photo)
    with Session(engine) as s:
        assert len(s.exec(select(BuilderPhoto)).all()) == 1
