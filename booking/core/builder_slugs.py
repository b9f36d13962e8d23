"""Which builder a public address names: their slug, or one they had before (old addresses keep working)."""

from __future__ import annotations

from sqlmodel import Session, select

from booking.core.models import Builder, BuilderSlugHistory


def builder_by_slug(*, session: Session, slug: object) -> tuple[Builder | None, bool]:
    """The builder whose slug (any case) is `slug`, else whose old slug it was; and whether it was an old one
    (the caller redirects to the current address). (None, False) for no builder, or for text no slug can be
    (PostgreSQL refuses NUL in text)."""
    if not isinstance(slug, str) or not 0 < len(slug) <= 80 or not slug.isprintable():
        return None, False
    wanted = slug.lower()
    builder = session.exec(select(Builder).where(Builder.slug == wanted)).first()
    if builder is not None:
        return builder, False
    moved = session.exec(select(BuilderSlugHistory.builder_id).where(BuilderSlugHistory.old_slug == wanted)).first()
    return (session.get(Builder, moved), True) if moved is not None else (None, False)
