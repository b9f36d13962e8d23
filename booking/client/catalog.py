"""Read models for the public pages and the JSON API: builders and their active session types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from booking.core.models import Builder, BuilderPhoto, BuilderSlugHistory, SessionType
from booking.core.time import format_money
from booking.payments import connect, price_options, pricing


@dataclass(frozen=True)
class PriceView:
    amount: int
    currency: str
    display: str


@dataclass(frozen=True)
class BuilderSummary:
    id: str
    name: str
    slug: str
    time_zone: str


@dataclass(frozen=True)
class SessionTypeView:
    id: str
    name: str
    description: str
    duration_minutes: int
    price: PriceView  # in the viewer's currency when the type is sold in it (their locale), else its own
    builder: BuilderSummary
    # REQUIRE_PAYOUTS on and the builder's payouts not enabled: shown before anyone picks a time.
    bookable: bool = True
    not_bookable_reason: str = ""
    # Every currency it is sold in, its own first (a Checkout's `currency` may be any of them).
    prices: list[PriceView] = field(default_factory=list)


@dataclass(frozen=True)
class BuilderView:
    id: str
    name: str
    slug: str
    time_zone: str
    bio: str
    session_types: list[SessionTypeView] = field(default_factory=list)
    bookable: bool = True
    not_bookable_reason: str = ""
    photo_version: str = ""  # "" without a photo; else /api/builders/<slug>/photo?v=<this>


def _summary(builder: Builder) -> BuilderSummary:
    return BuilderSummary(
        id=str(builder.id), name=builder.name, slug=builder.slug, time_zone=builder.time_zone
    )


def _settings(settings: Any) -> Any:
    if settings is not None:
        return settings
    from booking.core.config import get_settings  # read when asked, never at import

    return get_settings()


def _bookable(builder: Builder, settings: Any) -> tuple[bool, str]:
    if connect.is_bookable(builder, _settings(settings)):
        return True, ""
    return False, connect.not_bookable_message(builder)


def session_type_view(session_type: SessionType, builder: Builder, settings: Any = None,
                      locale: str | None = None, options: dict[str, int] | None = None) -> SessionTypeView:
    bookable, reason = _bookable(builder, settings)
    settings = _settings(settings)
    prices = []
    for currency, amount in price_options.all_prices(session_type, options or {}).items():
        price = pricing.quote(amount, currency, settings)  # what the client pays
        prices.append(PriceView(amount=price.amount, currency=price.currency,
                                display=format_money(price.amount, price.currency, locale=locale)))
    preferred = price_options.preferred_currency([p.currency for p in prices], locale=locale) if options else None
    return SessionTypeView(
        id=str(session_type.id),
        name=session_type.name,
        description=session_type.description,
        duration_minutes=session_type.duration_minutes,
        price=next((p for p in prices if p.currency == preferred), prices[0]),
        builder=_summary(builder),
        bookable=bookable,
        not_bookable_reason=reason,
        prices=prices,
    )


def list_active_session_types(*, session: Session, settings: Any = None,
                              locale: str | None = None) -> list[SessionTypeView]:
    rows = session.exec(
        select(SessionType, Builder)
        .join(Builder, SessionType.builder_id == Builder.id)
        .where(SessionType.active == True)  # noqa: E712 - SQL expression
        .order_by(Builder.name, SessionType.price_amount, SessionType.id)
    ).all()
    settings = _settings(settings)
    options = price_options.options_by_offer(session=session, session_type_ids=[row.id for row, _ in rows])
    return [session_type_view(session_type, builder, settings, locale, options[session_type.id])
            for session_type, builder in rows]


def list_builders(*, session: Session, settings: Any = None, locale: str | None = None) -> list[BuilderView]:
    """Every builder with their active session types, for the home page."""
    settings = _settings(settings)
    by_builder: dict[str, list[SessionTypeView]] = {}
    for view in list_active_session_types(session=session, settings=settings, locale=locale):
        by_builder.setdefault(view.builder.id, []).append(view)
    builders = session.exec(select(Builder).order_by(Builder.name)).all()
    photos = dict(session.exec(select(BuilderPhoto.builder_id, BuilderPhoto.version)).all())
    return [_builder_view(builder, by_builder.get(str(builder.id), []), settings, photos.get(builder.id, ""))
            for builder in builders]


def get_builder(*, session: Session, slug: str, settings: Any = None,
                locale: str | None = None) -> BuilderView | None:
    """The builder at /b/<slug>. An old slug finds the builder too: the view's `slug` is then the current
    one, and the page redirects there."""
    if not isinstance(slug, str) or not slug.isprintable():  # PostgreSQL refuses NUL in text
        return None
    builder = session.exec(select(Builder).where(Builder.slug == slug)).first()
    if builder is None:
        moved = session.exec(select(BuilderSlugHistory.builder_id).where(BuilderSlugHistory.old_slug == slug)).first()
        builder = session.get(Builder, moved) if moved is not None else None
    if builder is None:
        return None
    types = session.exec(
        select(SessionType)
        .where(SessionType.builder_id == builder.id, SessionType.active == True)  # noqa: E712
        .order_by(SessionType.price_amount, SessionType.id)
    ).all()
    settings = _settings(settings)
    photo = session.exec(select(BuilderPhoto.version).where(BuilderPhoto.builder_id == builder.id)).first()
    options = price_options.options_by_offer(session=session, session_type_ids=[t.id for t in types])
    return _builder_view(builder, [session_type_view(t, builder, settings, locale, options[t.id]) for t in types],
                         settings, photo or "")


def get_session_type(*, session: Session, session_type_id: int, settings: Any = None) -> SessionTypeView | None:
    row = session.exec(
        select(SessionType, Builder)
        .join(Builder, SessionType.builder_id == Builder.id)
        .where(SessionType.id == session_type_id)
    ).first()
    if not row:
        return None
    return session_type_view(*row, settings, options=price_options.options_of(session=session,
                                                                            session_type_id=session_type_id))


def _builder_view(builder: Builder, session_types: list[SessionTypeView], settings: Any = None,
                  photo_version: str = "") -> BuilderView:
    bookable, reason = _bookable(builder, settings)
    return BuilderView(
        id=str(builder.id),
        name=builder.name,
        slug=builder.slug,
        time_zone=builder.time_zone,
        bio=builder.bio,
        session_types=session_types,
        bookable=bookable,
        not_bookable_reason=reason,
        photo_version=photo_version,
    )
