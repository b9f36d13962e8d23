"""Read models for the public pages and the JSON API: builders and their active session types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from booking.core.builder_slugs import builder_by_slug
from booking.core.models import Builder, BuilderPhoto, SessionType, SessionTypeSlugHistory
from booking.core.slugs import is_type_slug, type_path
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
    url: str = ""  # the booking page's path: /<builder slug>/<session type slug>


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
        url=type_path(builder.slug, session_type.slug, session_type.id),
    )


def list_active_session_types(*, session: Session, settings: Any = None,
                              locale: str | None = None) -> list[SessionTypeView]:
    rows = session.exec(
        select(SessionType, Builder)
        .join(Builder, SessionType.builder_id == Builder.id)
        .where(SessionType.active == True, SessionType.secret == False)  # noqa: E712 - SQL expression
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
    builder, _moved = builder_by_slug(session=session, slug=slug)
    if builder is None:
        return None
    types = session.exec(
        select(SessionType)
        .where(SessionType.builder_id == builder.id, SessionType.active == True,  # noqa: E712
               SessionType.secret == False)  # noqa: E712 - a secret type is bookable by its link only
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


# --- public addresses: /<builder>/<session type> ------------------------------------------------------


@dataclass(frozen=True)
class TypeAddress:
    session_type_id: int
    path: str  # the current address
    moved: bool  # asked for by an old address (a slug changed): redirect to `path`


def resolve_type_address(*, session: Session, builder_slug: str, type_slug: str) -> TypeAddress | None:
    """The active session type at /<builder_slug>/<type_slug> (secret ones too: their link is the way in).
    Old slugs of either find it, with `moved`; a type without a slug yet is found by its id."""
    if not all(isinstance(v, str) and 0 < len(v) <= 80 and v.isprintable() for v in (builder_slug, type_slug)):
        return None
    builder, moved = builder_by_slug(session=session, slug=builder_slug)
    if builder is None:
        return None
    wanted = type_slug.lower()
    row = None
    if is_type_slug(wanted):
        row = session.exec(select(SessionType).where(SessionType.builder_id == builder.id,
                                                     SessionType.slug == wanted)).first()
        if row is None:
            old = session.exec(select(SessionTypeSlugHistory.session_type_id).where(
                SessionTypeSlugHistory.builder_id == builder.id, SessionTypeSlugHistory.old_slug == wanted)).first()
            row, moved = (session.get(SessionType, old), True) if old is not None else (None, moved)
    elif wanted.isdigit() and len(wanted) <= 10:
        row = session.get(SessionType, int(wanted))
        if row is not None and row.builder_id == builder.id and row.slug:
            moved = True  # it has a slug now: its readable address is the one to use
    if row is None or row.builder_id != builder.id or not row.active:
        return None
    path = type_path(builder.slug, row.slug, row.id)
    return TypeAddress(session_type_id=row.id, path=path, moved=moved or path != f"/{builder_slug}/{type_slug}")


def type_address_by_id(*, session: Session, session_type_id: int) -> str | None:
    """The current address of an active session type (the old /book/<id> redirects there)."""
    row = session.exec(select(SessionType, Builder).join(Builder, Builder.id == SessionType.builder_id)
                       .where(SessionType.id == session_type_id)).first()
    if row is None or not row[0].active:
        return None
    return type_path(row[1].slug, row[0].slug, row[0].id)
