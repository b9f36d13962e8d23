"""Your profile (routes.ADMIN_PROFILE): the name, bio, photo, public address (slug) and time zone that
clients see on the builder's page.

Thin over booking.workspace.profile: validation, the photo's processing (Pillow) and the audit entries
are there. Every handler is an `@admin_event`, so the image work and the database run off the event
loop. A builder edits their own profile; a platform admin picks a builder.
"""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from booking.core import ZoneChoice, session_scope, utcnow, zone_choices
from booking.workspace import (
    MAX_BIO,
    MAX_NAME,
    MAX_PHOTO_BYTES,
    MAX_SLUG,
    SLUG_RULES,
    InvalidPhoto,
    InvalidProfile,
    ProfileView,
    builder_choices,
    load_profile,
    process_photo,
    remove_photo,
    save_profile,
    set_photo,
)
from booking_ui import deps, routes
from booking_ui.admin.base import AdminState, admin_event, current_actor
from booking_ui.admin.components import error_callout, success_callout
from booking_ui.admin.layout import admin_layout

TITLE = "Your profile"
UPLOAD_ID = "profile-photo"
_FIELDS = ("name", "slug", "bio", "time_zone")


@dataclass(frozen=True)
class BuilderOption:
    id: str
    name: str


def _read_upload(files: object) -> bytes:
    """The first uploaded file's bytes (at most one byte over the cap, so a huge file is never all read)."""
    if not isinstance(files, list) or not files or not hasattr(files[0], "file"):
        raise InvalidPhoto("Choose a photo to upload.")
    handle = files[0].file
    handle.seek(0)
    return handle.read(MAX_PHOTO_BYTES + 1)


class ProfileState(AdminState):
    builders: list[BuilderOption] = []  # a platform admin's choice of whose profile to edit
    profile_builder_id: str = ""
    values: dict[str, str] = dict.fromkeys(_FIELDS, "")
    saved_slug: str = ""
    errors: dict[str, str] = {}
    notice: str = ""
    photo_version: str = ""
    photo_error: str = ""
    photo_notice: str = ""
    old_slugs: list[str] = []
    zones: list[ZoneChoice] = []
    form_key: str = "0"
    _serial: int = 0

    def _target(self) -> str:
        actor = current_actor()
        return str(actor.builder_id or "") if not actor.is_admin else self.profile_builder_id

    def _show(self, view: ProfileView) -> None:
        self.profile_builder_id = view.builder_id
        self.values = {"name": view.name, "slug": view.slug, "bio": view.bio, "time_zone": view.time_zone}
        self.saved_slug, self.photo_version, self.old_slugs = view.slug, view.photo_version, list(view.old_slugs)
        self.zones = zone_choices(view.time_zone, now=utcnow(), hour12=None, locale=deps.browser_language(self))
        self._serial += 1
        self.form_key = str(self._serial)

    def _reload(self) -> None:
        target = self._target()
        if not target:
            self.values, self.saved_slug, self.photo_version, self.old_slugs = dict.fromkeys(_FIELDS, ""), "", "", []
            return
        with session_scope(deps.engine()) as session:
            view = load_profile(session=session, actor=current_actor(), builder_id=target)
        self._show(view)

    def _clear_messages(self) -> None:
        self.errors, self.notice, self.photo_error, self.photo_notice = {}, "", "", ""

    @admin_event
    def load(self):
        actor = current_actor()
        self._clear_messages()
        if actor.is_admin:
            with session_scope(deps.engine()) as session:
                self.builders = [BuilderOption(id=b_id, name=name)
                                 for b_id, name in builder_choices(session=session, actor=actor)][:500]
            if self.profile_builder_id not in {option.id for option in self.builders}:
                self.profile_builder_id = self.builders[0].id if self.builders else ""
        else:
            self.builders = []
        self._reload()

    @admin_event
    def set_builder(self, value: str):
        """A platform admin picks whose profile to edit (a builder only ever sees their own)."""
        if not current_actor().is_admin:
            return
        with session_scope(deps.engine()) as session:
            view = load_profile(session=session, actor=current_actor(), builder_id=value)
        self._clear_messages()
        self._show(view)

    @admin_event
    def save(self, form: dict):
        """Name, public address, bio and time zone (one audit entry with what changed)."""
        self._clear_messages()
        target = self._target()
        if not target:
            self.errors = {"form": "Choose a builder first."}
            return
        try:
            with session_scope(deps.engine()) as session:
                view = save_profile(session=session, actor=current_actor(), builder_id=target, form=form)
        except InvalidProfile as exc:
            self.values = {name: str(form.get(name) or "") for name in _FIELDS}
            self.errors = exc.errors
            return
        moved = view.slug != self.saved_slug
        self._show(view)
        self.notice = ("Saved. Your page is now at " + routes.builder_page(view.slug)
                       + "; links with the old address redirect there.") if moved else "Saved."

    @admin_event
    def upload_photo(self, files: list[rx.UploadFile]):
        """The photo just chosen: checked, turned upright, cropped square, resized, stripped of EXIF."""
        self._clear_messages()
        target = self._target()
        if not target:
            self.photo_error = "Choose a builder first."
            return rx.clear_selected_files(UPLOAD_ID)
        try:
            photo = process_photo(_read_upload(files))  # before the transaction: it is the slow part
            with session_scope(deps.engine()) as session:
                view = set_photo(session=session, actor=current_actor(), builder_id=target, photo=photo)
        except InvalidPhoto as exc:
            self.photo_error = str(exc)
            return rx.clear_selected_files(UPLOAD_ID)
        self._show(view)
        self.photo_notice = "Photo saved. It shows on your public page."
        return rx.clear_selected_files(UPLOAD_ID)

    @admin_event
    def delete_photo(self):
        self._clear_messages()
        target = self._target()
        if not target:
            return
        with session_scope(deps.engine()) as session:
            view = remove_photo(session=session, actor=current_actor(), builder_id=target)
        self._show(view)
        self.photo_notice = "Photo removed."


# --- the page -------------------------------------------------------------------------------------

S = ProfileState


def _error(name: str) -> rx.Component:
    return rx.cond(S.errors.contains(name),
                   rx.text(S.errors[name], color_scheme="red", size="2", id=f"profile-{name}-error",
                           data_testid=f"profile-error-{name}"))


def _labelled(label: str, name: str, control: rx.Component, hint: str | rx.Component = "") -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=f"profile-{name}", font_weight="500"),
        control,
        rx.text(hint, size="1", color_scheme="gray", id=f"profile-{name}-hint") if hint else rx.fragment(),
        _error(name),
        spacing="1",
        width="100%",
    )


def _invalid(name: str):
    return rx.cond(S.errors.contains(name), "true", "false")


def _builder_chooser() -> rx.Component:
    return rx.cond(
        S.is_platform_admin,
        rx.hstack(
            rx.el.label("Builder", html_for="profile-builder", font_weight="500"),
            rx.el.select(rx.foreach(S.builders, lambda b: rx.el.option(b.name, value=b.id)),
                         id="profile-builder", value=S.profile_builder_id, on_change=S.set_builder),
            align="center",
            spacing="2",
        ),
    )


def _photo() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Photo", size="4", as_="h2"),
            rx.flex(
                rx.cond(
                    S.photo_version != "",
                    rx.image(src="/api/builders/" + S.saved_slug + "/photo?v=" + S.photo_version,
                             alt="Your photo", width="96px", height="96px", border_radius="50%",
                             object_fit="cover", data_testid="profile-photo-preview"),
                    rx.center(rx.icon("user", size=40), width="96px", height="96px", border_radius="50%",
                              background="var(--gray-a3)", aria_hidden="true"),
                ),
                rx.vstack(
                    rx.upload(
                        rx.vstack(
                            rx.button(rx.cond(S.photo_version != "", "Replace photo", "Choose a photo"),
                                      type="button", variant="soft"),
                            rx.text("or drop one here. JPEG, PNG or WebP, up to "
                                    f"{MAX_PHOTO_BYTES // (1024 * 1024)} MB; it is cropped to a square.",
                                    size="1", color_scheme="gray"),
                            spacing="1",
                            align="start",
                        ),
                        id=UPLOAD_ID,
                        accept={"image/jpeg": [".jpg", ".jpeg"], "image/png": [".png"], "image/webp": [".webp"]},
                        max_files=1,
                        multiple=False,
                        on_drop=S.upload_photo(rx.upload_files(upload_id=UPLOAD_ID)),
                        border="1px dashed var(--gray-a7)",
                        border_radius="var(--radius-3)",
                        padding="0.75em",
                        data_testid="profile-photo-upload",
                    ),
                    rx.cond(S.photo_version != "",
                            rx.button("Remove photo", type="button", variant="soft", color_scheme="red", size="1",
                                      on_click=S.delete_photo, data_testid="profile-photo-remove")),
                    spacing="2",
                    align="start",
                ),
                spacing="4",
                align="center",
                wrap="wrap",
            ),
            rx.cond(S.photo_error != "", error_callout(S.photo_error, data_testid="profile-photo-error")),
            rx.cond(S.photo_notice != "", success_callout(S.photo_notice, data_testid="profile-photo-notice")),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("About you", size="4", as_="h2"),
                rx.cond(S.errors.contains("form"), error_callout(S.errors["form"])),
                _labelled("Name", "name", rx.input(
                    id="profile-name", name="name", default_value=S.values["name"], max_length=MAX_NAME,
                    required=True, aria_invalid=_invalid("name"), width="100%")),
                _labelled("Public address", "slug", rx.hstack(
                    rx.text("/b/", size="2", color_scheme="gray", white_space="nowrap"),
                    rx.input(id="profile-slug", name="slug", default_value=S.values["slug"], max_length=MAX_SLUG,
                             required=True, auto_complete="off", spell_check=False,
                             aria_invalid=_invalid("slug"), aria_describedby="profile-slug-hint", width="100%"),
                    align="center", spacing="1", width="100%",
                ), SLUG_RULES + " Changing it moves your page; links with the old address keep working: "
                   "they redirect to the new one."),
                _labelled("Bio", "bio", rx.text_area(
                    id="profile-bio", name="bio", default_value=S.values["bio"], max_length=MAX_BIO, rows="5",
                    aria_invalid=_invalid("bio"), width="100%"), f"Shown on your page. Up to {MAX_BIO} characters."),
                _labelled("Time zone", "time_zone", rx.el.select(
                    rx.foreach(S.zones, lambda z: rx.el.option(z.label, value=z.value)),
                    id="profile-time_zone", name="time_zone", default_value=S.values["time_zone"],
                    aria_invalid=_invalid("time_zone"),
                ), "Your working hours are read in this zone; clients see times in their own."),
                rx.button("Save profile", type="submit", data_testid="profile-save"),
                spacing="3",
                width="100%",
                max_width="40em",
            ),
            on_submit=S.save,
            reset_on_submit=False,
            key="profile-" + S.form_key,
            data_testid="profile-form",
        ),
        width="100%",
    )


def page() -> rx.Component:
    return admin_layout(
        _builder_chooser(),
        rx.cond(S.saved_slug != "",
                rx.text("Clients see this on ", rx.link("/b/" + S.saved_slug, href="/b/" + S.saved_slug,
                                                       data_testid="profile-public-link"), ".", size="2")),
        rx.cond(S.notice != "", success_callout(S.notice, data_testid="profile-notice")),
        _photo(),
        _form(),
        title=TITLE,
    )


def register(app: rx.App) -> None:
    app.add_page(page, route=routes.ADMIN_PROFILE, title=TITLE + " · Workspace",
                 on_load=[AdminState.guard, ProfileState.load])
