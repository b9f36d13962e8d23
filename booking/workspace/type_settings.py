"""A session type's public address and booking rules (host tools), and the builder's own limits.

- slug: /<builder>/<slug>; unique per builder, editable. A changed slug is kept in SessionTypeSlugHistory:
  the old address redirects (permanently) to the new one, and no other type of the builder can take it
  (the builder profile's slug rule, booking.workspace.profile, applied to types). Taking back one of the
  type's own old slugs removes that redirect.
- secret: bookable only by its link (left out of the builder page, the home page and the catalogue API).
- daily / weekly limits of the type, and the builder's limits over all their types (booking.scheduling.limits).
- own weekly hours: replace the builder's for this type (the builder's date overrides still apply).

Services: they take the actor and a session, check ownership, never commit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from sqlmodel import Session, delete, select

from booking.accounts import audit, authz
from booking.accounts.authz import Actor
from booking.core.forms import checked
from booking.core.models import Builder, SessionType, SessionTypeAvailabilityRule, SessionTypeSlugHistory, utcnow
from booking.core.slugs import MAX_TYPE_SLUG, is_type_slug, slugify, type_path
from booking.scheduling.limits import InvalidLimit, check_pair, parse_limit

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SLUG_RULES = (f"Use 1–{MAX_TYPE_SLUG} lower-case letters, digits and single hyphens (not only digits), "
              "e.g. pairing.")
HOURS_HELP = "One window per line, in your time zone, e.g. “mon 09:00-12:00”."
_HOURS_LINE = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)\w*\s+(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})$")
MAX_WINDOWS = 28


class InvalidTypeSettings(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class TypeSettings:
    session_type_id: str = ""
    slug: str = ""
    secret: bool = False
    daily_limit: str = ""
    weekly_limit: str = ""
    own_availability: bool = False
    hours: str = ""  # the form's text: one "mon 09:00-12:00" per line
    old_slugs: list[str] = field(default_factory=list)
    name: str = ""
    builder_id: str = ""
    builder_name: str = ""
    path: str = ""  # the booking page: /<builder slug>/<slug>


def _slug_owner(session: Session, builder_id: int, slug: str) -> int | None:
    """The type of this builder that has (or had) `slug`, if any."""
    current = session.exec(select(SessionType.id).where(SessionType.builder_id == builder_id,
                                                        SessionType.slug == slug)).first()
    if current is not None:
        return current
    return session.exec(select(SessionTypeSlugHistory.session_type_id).where(
        SessionTypeSlugHistory.builder_id == builder_id, SessionTypeSlugHistory.old_slug == slug)).first()


def free_slug(*, session: Session, builder_id: int, name: str, session_type_id: int | None = None) -> str:
    """A slug from the name that no other type of the builder has or had: 'pairing', then 'pairing-2'..."""
    base = slugify(name)[:MAX_TYPE_SLUG - 4].strip("-") or "session"
    candidate, n = base, 1
    while (owner := _slug_owner(session, builder_id, candidate)) is not None and owner != session_type_id:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def ensure_slug(*, session: Session, session_type: SessionType) -> str:
    """Give a type without a slug one from its name (new types, demo data)."""
    if not session_type.slug:
        session_type.slug = free_slug(session=session, builder_id=session_type.builder_id, name=session_type.name,
                                      session_type_id=session_type.id)
        session.add(session_type)
        session.flush()
    return session_type.slug


def check_type_slug(raw: object) -> str:
    slug = raw.strip().lower() if isinstance(raw, str) else ""
    if not is_type_slug(slug):
        raise InvalidTypeSettings({"slug": SLUG_RULES})
    return slug


def parse_hours(text: object) -> list[tuple[int, time, time]]:
    """'mon 09:00-12:00' lines -> (weekday, start, end); refuses anything else, naming the line."""
    windows: list[tuple[int, time, time]] = []
    for number, line in enumerate(str(text or "").splitlines(), start=1):
        line = line.strip().lower()
        if not line:
            continue
        match = _HOURS_LINE.match(line)
        if match is None:
            raise InvalidTypeSettings({"hours": f"Line {number} isn't a window. {HOURS_HELP}"})
        day, h1, m1, h2, m2 = match.groups()
        try:
            start, end = time(int(h1), int(m1)), time(int(h2), int(m2))
        except ValueError:
            raise InvalidTypeSettings({"hours": f"Line {number} has a time that doesn't exist."}) from None
        if start >= end:
            raise InvalidTypeSettings({"hours": f"Line {number}: the window must end after it starts."})
        windows.append((WEEKDAYS.index(day[:3]), start, end))
    if len(windows) > MAX_WINDOWS:
        raise InvalidTypeSettings({"hours": f"At most {MAX_WINDOWS} windows."})
    return windows


def _hours_text(rules: list[SessionTypeAvailabilityRule]) -> str:
    ordered = sorted(rules, key=lambda r: (r.weekday, r.start_time))
    return "\n".join(f"{WEEKDAYS[r.weekday]} {r.start_time:%H:%M}-{r.end_time:%H:%M}" for r in ordered)


def load_type_settings(*, session: Session, actor: Actor, session_type_id: object) -> TypeSettings:
    row = authz.load_owned(session=session, actor=actor, model=SessionType, object_id=session_type_id)
    rules = list(session.exec(select(SessionTypeAvailabilityRule).where(
        SessionTypeAvailabilityRule.session_type_id == row.id)).all())
    old = session.exec(select(SessionTypeSlugHistory.old_slug).where(
        SessionTypeSlugHistory.session_type_id == row.id).order_by(SessionTypeSlugHistory.id)).all()
    builder = session.get(Builder, row.builder_id)
    return TypeSettings(session_type_id=str(row.id), slug=row.slug or "", secret=row.secret,
                        daily_limit=str(row.daily_limit or ""), weekly_limit=str(row.weekly_limit or ""),
                        own_availability=row.own_availability, hours=_hours_text(rules), old_slugs=list(old),
                        name=row.name, builder_id=str(builder.id), builder_name=builder.name,
                        path=type_path(builder.slug, row.slug, row.id))


def embed_snippet(*, public_url: str, path: str, title: str) -> str:
    """The inline iframe a builder pastes into their own site (the page allows framing: booking_ui.middleware)."""
    safe_title = title.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return (f'<iframe src="{public_url.rstrip("/")}{path}" title="{safe_title}" width="100%" height="820" '
            'style="border:0;max-width:960px" loading="lazy"></iframe>')


def _limits(form: Mapping[str, Any]) -> tuple[int | None, int | None]:
    try:
        daily = parse_limit(form.get("daily_limit"), "The daily limit")
        weekly = parse_limit(form.get("weekly_limit"), "The weekly limit")
        check_pair(daily, weekly)
    except InvalidLimit as exc:
        raise InvalidTypeSettings({"limits": str(exc)}) from None
    return daily, weekly


_AUDITED = ("slug", "secret", "daily_limit", "weekly_limit", "own_availability")


def save_type_settings(*, session: Session, actor: Actor, session_type_id: object,
                       form: Mapping[str, Any]) -> TypeSettings:
    """Save the form (all fields, or nothing: InvalidTypeSettings names each problem)."""
    row = authz.load_owned(session=session, actor=actor, model=SessionType, object_id=session_type_id,
                           for_update=True)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, parse in (("slug", lambda: check_type_slug(form.get("slug"))), ("limits", lambda: _limits(form)),
                        ("hours", lambda: parse_hours(form.get("hours")))):
        try:
            values[name] = parse()
        except InvalidTypeSettings as exc:
            errors.update(exc.errors)
    own = checked(form, "own_availability")
    if own and not errors.get("hours") and not values.get("hours"):
        errors["hours"] = "Add at least one window, or use your usual hours. " + HOURS_HELP
    slug = values.get("slug")
    if slug and slug != row.slug:
        owner = _slug_owner(session, row.builder_id, slug)
        if owner is not None and owner != row.id:
            errors["slug"] = f"“{slug}” is (or was) the address of another of your session types. Choose another."
    if errors:
        raise InvalidTypeSettings(errors)
    before = audit.snapshot(row, _AUDITED)
    if slug != row.slug:
        _move_slug(session=session, row=row, new_slug=slug)
    row.daily_limit, row.weekly_limit = values["limits"]
    row.secret, row.own_availability = checked(form, "secret"), own
    row.updated_at = utcnow()
    session.add(row)
    session.exec(delete(SessionTypeAvailabilityRule).where(SessionTypeAvailabilityRule.session_type_id == row.id))
    for weekday, start, end in values["hours"]:
        session.add(SessionTypeAvailabilityRule(session_type_id=row.id, weekday=weekday, start_time=start,
                                                end_time=end))
    session.flush()
    audit.record(session=session, actor=actor, action="session_type.host_settings", entity_type="session_type",
                 entity_id=row.id, builder_id=row.builder_id, before=before, after=audit.snapshot(row, _AUDITED))
    return load_type_settings(session=session, actor=actor, session_type_id=row.id)


def _move_slug(*, session: Session, row: SessionType, new_slug: str) -> None:
    """The old slug keeps redirecting here; taking back an old slug of its own removes that redirect."""
    returning = session.exec(select(SessionTypeSlugHistory).where(
        SessionTypeSlugHistory.builder_id == row.builder_id, SessionTypeSlugHistory.old_slug == new_slug)).first()
    if returning is not None:
        session.delete(returning)
        session.flush()
    if row.slug:
        session.add(SessionTypeSlugHistory(builder_id=row.builder_id, session_type_id=row.id, old_slug=row.slug))
    row.slug = new_slug


@dataclass(frozen=True)
class BuilderLimits:
    builder_id: str = ""
    daily_limit: str = ""
    weekly_limit: str = ""


def load_builder_limits(*, session: Session, actor: Actor, builder_id: object = None) -> BuilderLimits:
    owner = builder_id if builder_id not in (None, "") else actor.builder_id
    builder = authz.load_owned(session=session, actor=actor, model=Builder, object_id=owner)
    return BuilderLimits(builder_id=str(builder.id), daily_limit=str(builder.daily_limit or ""),
                         weekly_limit=str(builder.weekly_limit or ""))


def save_builder_limits(*, session: Session, actor: Actor, form: Mapping[str, Any]) -> BuilderLimits:
    owner = form.get("builder_id") or actor.builder_id
    builder = authz.load_owned(session=session, actor=actor, model=Builder, object_id=owner, for_update=True)
    daily, weekly = _limits(form)
    before = audit.snapshot(builder, ("daily_limit", "weekly_limit"))
    builder.daily_limit, builder.weekly_limit = daily, weekly
    session.add(builder)
    session.flush()
    audit.record(session=session, actor=actor, action="builder.limits", entity_type="builder", entity_id=builder.id,
                 builder_id=builder.id, before=before, after=audit.snapshot(builder, ("daily_limit", "weekly_limit")))
    return load_builder_limits(session=session, actor=actor, builder_id=builder.id)
