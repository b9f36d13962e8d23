"""The builder's public profile (/admin/profile): name, bio, photo, public slug and time zone.

- The photo is checked and made safe with Pillow before anything is stored (`process_photo`): only real
  JPEG, PNG or WebP files, at most MAX_PHOTO_BYTES and MAX_PHOTO_PIXELS (a decompression-bomb guard);
  turned upright by its EXIF orientation, cropped to a square, resized to PHOTO_SIZE and re-encoded as
  WebP from the bare pixels, so no EXIF (GPS included), XMP or ICC data survives. The processed bytes live
  in the database (`BuilderPhoto`), so every web worker serves the same photo.
- The slug is the public address /b/<slug>: lower-case letters, digits and single hyphens. A changed
  slug is kept in `BuilderSlugHistory`: the old address redirects to the new one, and no one else can
  take it.

Services take keyword-only arguments and an explicit session, never commit, load the builder through
`authz.load_owned`, and record an audit entry for every change, in the caller's transaction.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlmodel import Session, select

from booking.accounts import audit, authz
from booking.accounts.authz import Actor
from booking.core.builder_slugs import builder_by_slug
from booking.core.models import Builder, BuilderPhoto, BuilderSlugHistory, utcnow
from booking.core.slugs import is_reserved
from booking.core.time import canonical_zone

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTO_PIXELS = 40_000_000  # e.g. 8000 × 5000; a bigger image is refused before it is decoded
PHOTO_SIZE = 400  # the stored photo is PHOTO_SIZE × PHOTO_SIZE
PHOTO_MEDIA_TYPE = "image/webp"
ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}

MAX_NAME = 120
MAX_BIO = 2000
MIN_SLUG, MAX_SLUG = 3, 60
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_RULES = (f"Use {MIN_SLUG}–{MAX_SLUG} lower-case letters, digits and single hyphens "
              "(not at the start or end), e.g. ada-lovelace.")
_PROFILE_FIELDS = ("name", "slug", "bio", "time_zone")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class InvalidPhoto(ValueError):
    """The upload is not a photo we keep; the message says why, for the person who sent it."""


class InvalidProfile(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class ProcessedPhoto:
    content: bytes
    media_type: str
    width: int
    height: int

    @property
    def version(self) -> str:
        return hashlib.sha256(self.content).hexdigest()[:32]


@dataclass(frozen=True)
class ProfileView:
    builder_id: str = ""
    name: str = ""
    slug: str = ""
    bio: str = ""
    time_zone: str = ""
    photo_version: str = ""  # "" when there is no photo
    old_slugs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StoredPhoto:
    content: bytes
    media_type: str
    version: str


# --- the photo ----------------------------------------------------------------------------------------


def _too_many_pixels(max_pixels: int) -> str:
    return f"The photo has too many pixels (at most {max_pixels / 1_000_000:g} million). Choose a smaller one."


def process_photo(data: bytes, *, max_bytes: int = MAX_PHOTO_BYTES, max_pixels: int = MAX_PHOTO_PIXELS,
                  size: int = PHOTO_SIZE) -> ProcessedPhoto:
    """The uploaded bytes -> a clean square WebP. Raises InvalidPhoto with a message to show."""
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise InvalidPhoto("Choose a photo to upload.")
    if len(data) > max_bytes:
        raise InvalidPhoto(f"The photo is larger than {max_bytes // (1024 * 1024)} MB. Choose a smaller one.")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS))
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise InvalidPhoto(_too_many_pixels(max_pixels)) from exc
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            raise InvalidPhoto("That file is not a JPEG, PNG or WebP image.") from exc
        if image.format not in ACCEPTED_FORMATS:
            raise InvalidPhoto("That file is not a JPEG, PNG or WebP image.")
        width, height = image.size
        if width < 1 or height < 1 or width * height > max_pixels:
            raise InvalidPhoto(_too_many_pixels(max_pixels))
        try:
            image.load()  # decode now: a truncated or corrupt file fails here
            upright = ImageOps.exif_transpose(image)
        except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombWarning,
                Image.DecompressionBombError) as exc:
            raise InvalidPhoto("That image could not be read; it may be damaged.") from exc
    mode = "RGBA" if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info else "RGB"
    square = ImageOps.fit(upright.convert(mode), (size, size), Image.Resampling.LANCZOS)
    # Only the pixels go on: a fresh image carries no EXIF, XMP, ICC profile or comment.
    bare = Image.frombytes(mode, square.size, square.tobytes())
    out = io.BytesIO()
    bare.save(out, format="WEBP", quality=85, method=4)
    return ProcessedPhoto(content=out.getvalue(), media_type=PHOTO_MEDIA_TYPE, width=size, height=size)


# --- the fields ---------------------------------------------------------------------------------------


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def check_slug(raw: object) -> str:
    """The slug as stored, or InvalidProfile({"slug": ...}). Case is folded; nothing else is changed."""
    slug = raw.strip().lower() if isinstance(raw, str) else ""
    if not slug:
        raise InvalidProfile({"slug": "Choose a public address. " + SLUG_RULES})
    if not (MIN_SLUG <= len(slug) <= MAX_SLUG) or not SLUG_PATTERN.fullmatch(slug):
        raise InvalidProfile({"slug": SLUG_RULES})
    if is_reserved(slug):  # /<slug>/<session type> must never shadow one of the app's own addresses
        raise InvalidProfile({"slug": f"“{slug}” is reserved by the site. Choose another address."})
    return slug


def _check(form: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    name = " ".join(_text(form, "name").split())
    if not name:
        errors["name"] = "Enter your name as clients should see it."
    elif len(name) > MAX_NAME:
        errors["name"] = f"The name is at most {MAX_NAME} characters."
    values["name"] = name
    bio = _text(form, "bio").replace("\r\n", "\n").strip()
    if _CONTROL.search(bio):
        errors["bio"] = "The bio contains characters that can't be shown."
    elif len(bio) > MAX_BIO:
        errors["bio"] = f"The bio is at most {MAX_BIO} characters (it has {len(bio)})."
    values["bio"] = bio
    try:
        values["slug"] = check_slug(form.get("slug"))
    except InvalidProfile as exc:
        errors.update(exc.errors)
    raw_zone = _text(form, "time_zone").strip()
    try:
        values["time_zone"] = canonical_zone(raw_zone)
    except Exception:  # UnknownZone (a ValueError) or anything the loader refuses
        errors["time_zone"] = "Pick a time zone from the list."
    if errors:
        raise InvalidProfile(errors)
    return values


def _slug_taken(*, session: Session, slug: str, builder_id: int) -> bool:
    current = session.exec(select(Builder.id).where(Builder.slug == slug, Builder.id != builder_id)).first()
    if current is not None:
        return True
    old = session.exec(select(BuilderSlugHistory.builder_id).where(BuilderSlugHistory.old_slug == slug)).first()
    return old is not None and old != builder_id


def _view(session: Session, builder: Builder) -> ProfileView:
    version = session.exec(select(BuilderPhoto.version).where(BuilderPhoto.builder_id == builder.id)).first()
    old = session.exec(select(BuilderSlugHistory.old_slug).where(BuilderSlugHistory.builder_id == builder.id)
                       .order_by(BuilderSlugHistory.changed_at.desc(), BuilderSlugHistory.id.desc())).all()
    return ProfileView(builder_id=str(builder.id), name=builder.name, slug=builder.slug, bio=builder.bio or "",
                       time_zone=builder.time_zone, photo_version=version or "", old_slugs=list(old))


def load_profile(*, session: Session, actor: Actor, builder_id: object) -> ProfileView:
    builder = authz.load_owned(session=session, actor=actor, model=Builder, object_id=builder_id)
    return _view(session, builder)


def save_profile(*, session: Session, actor: Actor, builder_id: object, form: Mapping[str, Any]) -> ProfileView:
    """Name, bio, slug and time zone. Raises InvalidProfile (nothing saved) or authz.NotFound."""
    builder = authz.load_owned(session=session, actor=actor, model=Builder, object_id=builder_id, for_update=True)
    values = _check(form)
    if values["slug"] != builder.slug and _slug_taken(session=session, slug=values["slug"], builder_id=builder.id):
        raise InvalidProfile({"slug": f"“{values['slug']}” is taken. Choose another address."})
    before = audit.snapshot(builder, _PROFILE_FIELDS)
    old_slug = builder.slug
    for name, value in values.items():
        setattr(builder, name, value)
    after = audit.snapshot(builder, _PROFILE_FIELDS)
    if after == before:
        return _view(session, builder)
    if builder.slug != old_slug:
        # The old address keeps pointing here; taking back an old slug of one's own removes its redirect.
        returning = session.exec(select(BuilderSlugHistory).where(BuilderSlugHistory.old_slug == builder.slug)).first()
        if returning is not None:
            session.delete(returning)
        if session.exec(select(BuilderSlugHistory).where(BuilderSlugHistory.old_slug == old_slug)).first() is None:
            session.add(BuilderSlugHistory(builder_id=builder.id, old_slug=old_slug))
    session.add(builder)
    session.flush()
    audit.record(session=session, actor=actor, action="profile.update", entity_type="builder",
                 entity_id=builder.id, builder_id=builder.id, before=before, after=after)
    return _view(session, builder)


def set_photo(*, session: Session, actor: Actor, builder_id: object, photo: ProcessedPhoto) -> ProfileView:
    """Store a photo made by `process_photo` (process it before opening the transaction: it is slow)."""
    builder = authz.load_owned(session=session, actor=actor, model=Builder, object_id=builder_id, for_update=True)
    row = session.get(BuilderPhoto, builder.id)
    before = {"photo": row.version if row else None}
    if row is None:
        row = BuilderPhoto(builder_id=builder.id, content=photo.content, media_type=photo.media_type,
                           version=photo.version, width=photo.width, height=photo.height)
    else:
        row.content, row.media_type, row.version = photo.content, photo.media_type, photo.version
        row.width, row.height, row.updated_at = photo.width, photo.height, utcnow()
    session.add(row)
    session.flush()
    audit.record(session=session, actor=actor, action="profile.photo_set", entity_type="builder",
                 entity_id=builder.id, builder_id=builder.id, before=before, after={"photo": photo.version})
    return _view(session, builder)


def remove_photo(*, session: Session, actor: Actor, builder_id: object) -> ProfileView:
    builder = authz.load_owned(session=session, actor=actor, model=Builder, object_id=builder_id, for_update=True)
    row = session.get(BuilderPhoto, builder.id)
    if row is not None:
        version = row.version
        session.delete(row)
        session.flush()
        audit.record(session=session, actor=actor, action="profile.photo_removed", entity_type="builder",
                     entity_id=builder.id, builder_id=builder.id, before={"photo": version}, after={"photo": None})
    return _view(session, builder)


# --- public reads -------------------------------------------------------------------------------------


def builder_id_for_slug(*, session: Session, slug: str) -> int | None:
    """The builder at /b/<slug>: the current slug, else an old one (which redirects)."""
    builder, _moved = builder_by_slug(session=session, slug=slug)
    return builder.id if builder is not None else None


def public_photo(*, session: Session, slug: str) -> StoredPhoto | None:
    """The photo served at /api/builders/<slug>/photo (old slugs too), or None."""
    builder_id = builder_id_for_slug(session=session, slug=slug)
    row = session.get(BuilderPhoto, builder_id) if builder_id is not None else None
    return StoredPhoto(content=row.content, media_type=row.media_type, version=row.version) if row else None
