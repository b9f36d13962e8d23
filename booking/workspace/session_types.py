"""Session types in the workspace: the form's rules, and the flows that keep each type a Stripe Product
with exactly one active Price.

No Stripe call runs while a database transaction is open:
- create: txn 1 inserts the row as an inactive draft (the Product's metadata and the idempotency keys
  need its id); Stripe creates the Product and its Price; txn 2 stores their ids, activates the row and
  audits. If Stripe fails, the draft is deleted and the database is as it was.
- edit / deactivate / reactivate: read the row and its revision n; Stripe writes keyed by revision n+1;
  one txn compare-and-swaps on n, stores the answer and audits. A replaced Price is deactivated only
  after that commit, so the database never names an inactive Price.
- sync_catalog: the same shape per type, for types made before this existed (or drifted at Stripe).

Idempotency keys: `session-type-<id>-<created µs>-rev-<n>-<step>-<digest of the parameters>`. The creation
stamp keeps keys apart when ids start again (an emptied database, SQLite reusing a deleted draft's id);
the digest gives a retry with other values a new key instead of Stripe's idempotency_error, while a
double click or a retry with the same values replays Stripe's first answer.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.accounts import audit, authz
from booking.accounts.authz import Actor
from booking.core.currencies import charge_problem
from booking.core.db import session_scope
from booking.core.models import Builder, PriceOption, SessionType, utcnow
from booking.core.money import decimals, to_major_units
from booking.core.time import format_money
from booking.payments import price_options, pricing, stripe_prices
from booking.payments.gateway import PaymentGateway, PaymentProviderError, StripePrice, StripeProduct
from booking.workspace.type_settings import ensure_slug

log = logging.getLogger(__name__)

# --- the form's rules ----------------------------------------------------------------------------------

# Currencies a builder can price in: two-, zero- and three-decimal. A three-decimal amount must end in 0
# (Stripe's rule for cards), which `parse_price` checks with Stripe's minimums (booking.core.currencies).
SUPPORTED_CURRENCIES = ("gbp", "eur", "usd", "jpy", "aud", "cad", "nzd", "chf", "sek", "inr", "brl", "krw", "cny",
                        "bhd", "kwd")
MAX_UNIT_AMOUNT = 99_999_999  # Stripe's largest unit_amount, in minor units
MIN_DURATION_MINUTES, MAX_DURATION_MINUTES = 5, 480
NAME_MAX, DESCRIPTION_MAX, LOCATION_MAX = 120, 2000, 500
PAGE_SIZE = 50

FORM_FIELDS = ("name", "description", "duration_minutes", "price", "currency", "other_prices", "location")
MAX_PRICE_OPTIONS = 10
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
_WHOLE = re.compile(r"[0-9]+", re.ASCII)
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):(?=\S)")


class InvalidSessionType(ValueError):
    """The form has problems; `errors` maps each form field to its message. Nothing was saved."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


class SessionTypeConflict(RuntimeError):
    """The row changed since it was read (another save won the compare-and-swap)."""


@dataclass(frozen=True)
class SessionTypeInput:
    name: str
    description: str
    duration_minutes: int
    price_amount: int  # minor units
    currency: str
    location: str
    # The same session in other currencies: ((currency, minor units), ...), sorted by currency.
    price_options: tuple[tuple[str, int], ...] = ()


def parse_price(text: object, currency: str) -> int:
    """'50.00' GBP -> 5000; '5000' JPY -> 5000. Raises ValueError with a message for the form."""
    raw = str(text if text is not None else "").strip()
    code = currency.upper()
    places = decimals(currency)
    example = "5000" if places == 0 else "50.00"
    if not raw:
        raise ValueError("Enter a price.")
    if raw.startswith("-"):
        raise ValueError("The price can't be negative.")
    if len(raw) > 20:
        raise ValueError(f"The price can be at most {format_money(MAX_UNIT_AMOUNT, currency)}.")
    if not _DECIMAL.fullmatch(raw):
        raise ValueError(f"Enter the price in digits, such as {example}.")
    whole, _, fraction = raw.partition(".")
    if places == 0 and fraction:
        raise ValueError(f"{code} has no decimal places: enter a whole number, such as {example}.")
    if len(fraction) > places:
        raise ValueError(f"{code} allows at most {places} decimal places.")
    amount = int(whole) * 10**places + int(fraction.ljust(places, "0") or "0")
    if amount == 0:
        raise ValueError("The price must be more than zero.")
    if amount > MAX_UNIT_AMOUNT:
        raise ValueError(f"The price can be at most {format_money(MAX_UNIT_AMOUNT, currency)}.")
    problem = charge_problem(amount, currency)
    if problem:  # Stripe would refuse it at checkout: say so now
        raise ValueError(problem)
    return amount


def parse_other_prices(text: object, own_currency: str | None) -> tuple[tuple[str, int], ...]:
    """'EUR 45.00, USD 50' -> (('eur', 4500), ('usd', 5000)): the same session in other currencies.

    One "CODE amount" per comma, semicolon or line; each currency once, never the type's own."""
    raw = str(text if text is not None else "").strip()
    if not raw:
        return ()
    found: dict[str, int] = {}
    for entry in (part.strip() for part in re.split(r"[,;\n]", raw)):
        if not entry:
            continue
        code, _, amount = entry.partition(" ")
        try:
            currency = parse_currency(code)
        except ValueError:
            raise ValueError(f"'{entry}': start each price with a listed currency code, such as EUR 45.00.") \
                from None
        if currency == own_currency:
            raise ValueError(f"{currency.upper()} is already the main price's currency.")
        if currency in found:
            raise ValueError(f"{currency.upper()} is listed twice.")
        try:
            found[currency] = parse_price(amount, currency)
        except ValueError as exc:
            raise ValueError(f"{currency.upper()}: {exc}") from None
    if len(found) > MAX_PRICE_OPTIONS:
        raise ValueError(f"At most {MAX_PRICE_OPTIONS} other currencies.")
    return tuple(sorted(found.items()))


def other_prices_input(options: dict[str, int] | tuple[tuple[str, int], ...]) -> str:
    """What the form shows for stored options: 'EUR 45.00, USD 50.00'."""
    items = options.items() if isinstance(options, dict) else options
    return ", ".join(f"{code.upper()} {price_input(amount, code)}" for code, amount in sorted(items))


def price_input(amount: int, currency: str) -> str:
    """What the form shows for a stored price: 5000 GBP -> '50.00'; 5000 JPY -> '5000'."""
    return f"{to_major_units(amount, currency):.{decimals(currency)}f}"


def parse_currency(text: object) -> str:
    code = str(text if text is not None else "").strip().lower()
    if code not in SUPPORTED_CURRENCIES:
        raise ValueError("Choose one of the listed currencies.")
    return code


def parse_duration(text: object) -> int:
    raw = str(text if text is not None else "").strip()
    message = f"Enter a whole number of minutes from {MIN_DURATION_MINUTES} to {MAX_DURATION_MINUTES}."
    if not _WHOLE.fullmatch(raw) or len(raw) > 4:
        raise ValueError(message)
    minutes = int(raw)
    if not MIN_DURATION_MINUTES <= minutes <= MAX_DURATION_MINUTES:
        raise ValueError(message)
    return minutes


def _control_characters(text: str, allowed: str = "") -> bool:
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text)


def parse_name(text: object) -> str:
    name = str(text if text is not None else "").strip()
    if not name:
        raise ValueError("Enter a name.")
    if len(name) > NAME_MAX:
        raise ValueError(f"The name can be at most {NAME_MAX} characters.")
    if _control_characters(name):
        raise ValueError("The name contains characters that aren't allowed.")
    return name


def parse_description(text: object) -> str:
    description = str(text if text is not None else "").strip().replace("\r\n", "\n")
    if len(description) > DESCRIPTION_MAX:
        raise ValueError(f"The description can be at most {DESCRIPTION_MAX} characters.")
    if _control_characters(description, allowed="\n\t"):
        raise ValueError("The description contains characters that aren't allowed.")
    return description


def parse_location(text: object) -> str:
    """A video link (http or https only) or an address; empty is allowed."""
    location = str(text if text is not None else "").strip()
    if len(location) > LOCATION_MAX:
        raise ValueError(f"The location can be at most {LOCATION_MAX} characters.")
    if _control_characters(location):
        raise ValueError("The location contains characters that aren't allowed.")
    scheme = _SCHEME.match(location)
    if scheme:  # it reads as a link: only a web address may be one
        if scheme.group(1).lower() not in ("http", "https"):
            raise ValueError("A link must start with https:// (or http://); otherwise enter an address.")
        parts = urlsplit(location)
        if not parts.hostname or any(ch.isspace() for ch in location):
            raise ValueError("That link isn't a valid web address.")
    return location


def _form_text(form: Mapping[str, Any], key: str) -> str:
    value = form.get(key)
    return "" if value is None else str(value)


def parse_form(form: Mapping[str, Any]) -> SessionTypeInput:
    """Every problem at once, by form field (InvalidSessionType), or the clean values."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    parsers = {"name": parse_name, "description": parse_description, "duration_minutes": parse_duration,
               "currency": parse_currency, "location": parse_location}
    for key, parser in parsers.items():
        try:
            values[key] = parser(_form_text(form, key))
        except ValueError as exc:
            errors[key] = str(exc)
    if "currency" in values:
        try:
            values["price_amount"] = parse_price(_form_text(form, "price"), values["currency"])
        except ValueError as exc:
            errors["price"] = str(exc)
    elif not _form_text(form, "price").strip():
        errors["price"] = "Enter a price."
    try:
        values["price_options"] = parse_other_prices(_form_text(form, "other_prices"), values.get("currency"))
    except ValueError as exc:
        errors["other_prices"] = str(exc)
    if errors:
        raise InvalidSessionType(errors)
    return SessionTypeInput(**values)


# --- reading for the page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionTypeRow:
    """One line of the workspace list (display values only; the Stripe ids stay on the server)."""

    id: str
    builder_id: str
    builder_name: str
    name: str
    description: str
    duration_minutes: int
    price_display: str
    price_input: str
    currency: str
    location: str
    location_is_link: bool
    active: bool
    revision: int
    synced: bool
    other_prices_input: str = ""  # 'EUR 45.00, USD 50.00'
    other_prices_display: str = ""  # '€45.00 · $50.00'


def _row_view(row: SessionType, builder_name: str, options: dict[str, int] | None = None) -> SessionTypeRow:
    options = options or {}
    return SessionTypeRow(
        id=str(row.id), builder_id=str(row.builder_id), builder_name=builder_name, name=row.name,
        description=row.description, duration_minutes=row.duration_minutes,
        price_display=format_money(row.price_amount, row.currency),
        price_input=price_input(row.price_amount, row.currency), currency=row.currency, location=row.location,
        location_is_link=row.location.lower().startswith(("https://", "http://")), active=row.active,
        revision=row.revision, synced=bool(row.stripe_product_id and row.stripe_price_id),
        other_prices_input=other_prices_input(options),
        other_prices_display=" · ".join(format_money(amount, code) for code, amount in options.items()),
    )


def list_session_types(*, session: Session, actor: Actor, builder_id: int | str | None = None,
                       page: int = 0) -> tuple[list[SessionTypeRow], bool]:
    """One page of the actor's session types (an admin: everyone's, or one builder's), and whether more follow."""
    scope = authz.builder_scope(actor, builder_id)
    query = select(SessionType, Builder.name).join(Builder, SessionType.builder_id == Builder.id)
    if scope is not None:
        query = query.where(SessionType.builder_id == scope)
    page = max(0, int(page))
    found = session.exec(query.order_by(Builder.name, Builder.id, SessionType.name, SessionType.id)
                         .offset(page * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    shown = found[:PAGE_SIZE]
    options = price_options.options_by_offer(session=session, session_type_ids=[row.id for row, _ in shown])
    return [_row_view(row, name, options[row.id]) for row, name in shown], len(found) > PAGE_SIZE


def load_session_type(*, session: Session, actor: Actor, session_type_id: object) -> SessionTypeRow:
    row = authz.load_owned(session=session, actor=actor, model=SessionType, object_id=session_type_id)
    builder = session.get(Builder, row.builder_id)
    return _row_view(row, builder.name if builder else "",
                     price_options.options_of(session=session, session_type_id=row.id))


def builder_choices(*, session: Session, actor: Actor) -> list[tuple[str, str]]:
    """(id, name) of every builder, for a platform admin creating a type on someone's behalf."""
    actor.require_admin()
    return [(str(builder_id), name) for builder_id, name in
            session.exec(select(Builder.id, Builder.name).order_by(Builder.name, Builder.id)).all()]


# --- Stripe: the row's state, the wanted state, and the calls between them -----------------------------


@dataclass(frozen=True)
class _Catalogued:
    """What a save needs of a row, read in one transaction and used after it closed."""

    id: int
    builder_id: int
    created_at: datetime
    revision: int
    name: str
    description: str
    duration_minutes: int
    price_amount: int
    currency: str
    location: str
    active: bool
    product_id: str | None
    price_id: str | None
    price_options: tuple[tuple[str, int], ...] = ()

    @property
    def client_pays(self) -> int:
        """The Stripe Price's unit amount: what a client pays for this session type (pricing.quote)."""
        from booking.core.config import get_settings  # read when asked, never at import

        return pricing.quote(self.price_amount, self.currency, get_settings()).amount

    @property
    def currency_options(self) -> dict[str, int]:
        """The Price's other currencies, as clients pay them (pricing.quote), never the type's own."""
        from booking.core.config import get_settings

        return {code: pricing.quote(amount, code, get_settings()).amount
                for code, amount in self.price_options if code != self.currency}

    @classmethod
    def of(cls, row: SessionType, options: Mapping[str, int] | None = None) -> _Catalogued:
        return cls(id=row.id, builder_id=row.builder_id, created_at=row.created_at, revision=row.revision,
                   name=row.name, description=row.description, duration_minutes=row.duration_minutes,
                   price_amount=row.price_amount, currency=row.currency, location=row.location,
                   active=row.active, product_id=row.stripe_product_id, price_id=row.stripe_price_id,
                   price_options=tuple(sorted((options or {}).items())))

    @classmethod
    def read(cls, session: Session, row: SessionType) -> _Catalogued:
        return cls.of(row, price_options.options_of(session=session, session_type_id=row.id))

    @property
    def metadata(self) -> dict[str, str]:
        return {"session_type_id": str(self.id), "builder_id": str(self.builder_id)}

    def product_params(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "active": self.active,
                "metadata": self.metadata}

    def key_prefix(self, revision: int) -> str:
        created = self.created_at if self.created_at.tzinfo else self.created_at.replace(tzinfo=timezone.utc)
        return f"session-type-{self.id}-{(created - _EPOCH) // _MICROSECOND}-rev-{revision}"

    def key(self, revision: int, step: str, params: Mapping[str, Any]) -> str:
        return stripe_prices.key(self.key_prefix(revision), step, params)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = datetime.resolution


def _product_matches(product: StripeProduct, want: _Catalogued) -> bool:
    return ((product.name, product.description, product.active) == (want.name, want.description, want.active)
            and all(product.metadata.get(k) == v for k, v in want.metadata.items()))


def _price_matches(price: StripePrice, product_id: str, want: _Catalogued) -> bool:
    return (price.active and price.product_id == product_id and price.unit_amount == want.client_pays
            and price.currency == want.currency and price.currency_options == want.currency_options)


def _create_price(gateway: PaymentGateway, want: _Catalogued, product_id: str, revision: int, step: str) -> str:
    return stripe_prices.create_price(gateway, key_prefix=want.key_prefix(revision), step=step,
                                      product_id=product_id, unit_amount=want.client_pays, currency=want.currency,
                                      currency_options=want.currency_options, metadata=want.metadata)


def _retire_prices(gateway: PaymentGateway, want: _Catalogued, product_id: str, keep: set[str], revision: int,
                   only: str | None = None) -> int:
    return stripe_prices.retire_prices(gateway, key_prefix=want.key_prefix(revision), product_id=product_id,
                                       keep=keep, only=only)


def _audit_fields(row: SessionType) -> dict[str, Any] | None:
    return audit.snapshot(row, ("name", "description", "duration_minutes", "price_amount", "currency", "location",
                                "active", "stripe_product_id", "stripe_price_id", "revision"))


@dataclass(frozen=True)
class Saved:
    session_type_id: int
    name: str
    changed: bool = True
    warning: str = ""  # saved, but a follow-up at Stripe failed (the next save or a sync repairs it)


# --- create ------------------------------------------------------------------------------------------


def _owner_of_new_type(session: Session, actor: Actor, builder_id: object) -> int:
    if not actor.is_admin:
        if actor.builder_id is None:
            raise authz.Forbidden("This account has no builder.")
        return actor.builder_id
    if builder_id in (None, ""):
        raise InvalidSessionType({"builder_id": "Choose the builder this session type belongs to."})
    return authz.load_owned(session=session, actor=actor, model=Builder, object_id=builder_id).id


def create_session_type(*, engine: Engine, gateway: PaymentGateway, actor: Actor, data: SessionTypeInput,
                        builder_id: object = None) -> Saved:
    """A new type, its Product and its Price. On any failure the database is as before."""
    with session_scope(engine) as session:
        owner = _owner_of_new_type(session, actor, builder_id)
        draft = SessionType(builder_id=owner, name=data.name, description=data.description,
                            duration_minutes=data.duration_minutes, price_amount=data.price_amount,
                            currency=data.currency, location=data.location, active=False, revision=0)
        session.add(draft)
        session.flush()
        price_options.replace_options(session=session, session_type_id=draft.id, options=dict(data.price_options))
        ensure_slug(session=session, session_type=draft)  # its public address /<builder>/<slug>
        want = replace(_Catalogued.of(draft, dict(data.price_options)), active=True)
    revision = 1
    product_id: str | None = None
    try:
        params = want.product_params()
        product_id = gateway.create_product(**params, idempotency_key=want.key(revision, "product", params)).id
        price_id = _create_price(gateway, want, product_id, revision, "price")
        with session_scope(engine) as session:
            row = session.get(SessionType, want.id, with_for_update=True)  # our own draft, not a browser id
            if row is None:
                raise SessionTypeConflict("The new session type disappeared while it was being saved.")
            row.stripe_product_id, row.stripe_price_id = product_id, price_id
            row.active, row.revision, row.updated_at = True, revision, utcnow()
            session.add(row)
            session.flush()
            audit.record(session=session, actor=actor, action="session_type.create", entity_type="session_type",
                         entity_id=row.id, builder_id=row.builder_id, before=None, after=_audit_fields(row))
    except Exception:
        _discard_draft(engine, want.id)
        if product_id is not None:
            _archive_quietly(gateway, want, product_id, revision)
        raise
    return Saved(session_type_id=want.id, name=want.name)


def _discard_draft(engine: Engine, session_type_id: int) -> None:
    try:
        with session_scope(engine) as session:
            draft = sa.select(SessionType.id).where(
                SessionType.id == session_type_id, SessionType.revision == 0,
                SessionType.active == sa.false(), SessionType.stripe_product_id.is_(None))
            session.execute(sa.delete(PriceOption).where(PriceOption.session_type_id.in_(draft)))
            session.execute(sa.delete(SessionType).where(
                SessionType.id == session_type_id, SessionType.revision == 0,
                SessionType.active == sa.false(), SessionType.stripe_product_id.is_(None)))
    except Exception:  # the draft stays inactive; the admin can delete or save it later
        log.exception("could not delete the draft session type %s", session_type_id)


def _archive_quietly(gateway: PaymentGateway, want: _Catalogued, product_id: str, revision: int) -> None:
    """A Product whose type was never saved: archive it so nothing offers it (best effort)."""
    params = {**want.product_params(), "active": False}
    try:
        gateway.update_product(product_id, **params, idempotency_key=want.key(revision, "abandon", params))
    except PaymentProviderError:
        log.warning("left an unused Stripe Product %s active", product_id)


# --- edit, deactivate, reactivate --------------------------------------------------------------------


def update_session_type(*, engine: Engine, gateway: PaymentGateway, actor: Actor, session_type_id: object,
                        data: SessionTypeInput, expected_revision: int | None = None) -> Saved:
    changes = {"name": data.name, "description": data.description, "duration_minutes": data.duration_minutes,
               "price_amount": data.price_amount, "currency": data.currency, "location": data.location,
               "price_options": data.price_options}
    return _change(engine=engine, gateway=gateway, actor=actor, session_type_id=session_type_id,
                   expected_revision=expected_revision, changes=changes, action="session_type.update")


def set_session_type_active(*, engine: Engine, gateway: PaymentGateway, actor: Actor, session_type_id: object,
                            active: bool) -> Saved:
    """Deactivate (archive the Product) or reactivate (unarchive it)."""
    return _change(engine=engine, gateway=gateway, actor=actor, session_type_id=session_type_id,
                   expected_revision=None, changes={"active": bool(active)},
                   action="session_type.reactivate" if active else "session_type.deactivate")


def _change(*, engine: Engine, gateway: PaymentGateway, actor: Actor, session_type_id: object,
            expected_revision: int | None, changes: dict[str, Any], action: str) -> Saved:
    with session_scope(engine) as session:
        row = authz.load_owned(session=session, actor=actor, model=SessionType, object_id=session_type_id)
        if expected_revision is not None and row.revision != expected_revision:
            raise SessionTypeConflict("Someone else changed this session type meanwhile. Open it again to see "
                                      "their changes, then save yours.")
        current = _Catalogued.read(session, row)
    want = replace(current, **changes)
    synced = bool(current.product_id and current.price_id)
    if want == current and synced:
        return Saved(session_type_id=current.id, name=current.name, changed=False)

    revision = current.revision + 1
    # Stripe first: everything the new row will name must exist before the row names it.
    if current.product_id is None:
        params = want.product_params()
        product_id = gateway.create_product(**params, idempotency_key=want.key(revision, "product", params)).id
    else:
        product_id = current.product_id
        if (want.name, want.description, want.active) != (current.name, current.description, current.active):
            params = want.product_params()
            gateway.update_product(product_id, **params,
                                   idempotency_key=want.key(revision, "product-update", params))
    price_id = current.price_id
    if (price_id is None or product_id != current.product_id
            or (want.price_amount, want.currency, want.currency_options)
            != (current.price_amount, current.currency, current.currency_options)):
        price_id = _create_price(gateway, want, product_id, revision, "price")

    try:
        _commit(engine=engine, actor=actor, current=current, want=want, product_id=product_id, price_id=price_id,
                action=action)
    except SessionTypeConflict:
        _converge_quietly(engine, gateway, current.id)  # Stripe back in line with whatever won
        raise

    warning = ""
    if current.price_id and current.price_id != price_id:
        try:
            _retire_prices(gateway, want, product_id, {price_id}, revision, only=current.price_id)
        except PaymentProviderError as exc:
            warning = (f"Saved, but the old price is still active at Stripe ({exc}). Saving again or "
                       "`python -m booking sync-stripe-catalog` retires it.")
    return Saved(session_type_id=current.id, name=want.name, warning=warning)


def _commit(*, engine: Engine, actor: Actor | None, current: _Catalogued, want: _Catalogued, product_id: str,
            price_id: str, action: str, note: str | None = None) -> None:
    """Compare-and-swap on the revision that was read, store Stripe's answer, audit: one transaction."""
    with session_scope(engine) as session:
        before = _audit_fields(session.get(SessionType, current.id))
        if before is not None and (want.price_options or current.price_options):
            before = {**before, "other_prices": other_prices_input(current.price_options)}
        result = session.execute(
            sa.update(SessionType)
            .where(SessionType.id == current.id, SessionType.revision == current.revision)
            .values(name=want.name, description=want.description, duration_minutes=want.duration_minutes,
                    price_amount=want.price_amount, currency=want.currency, location=want.location,
                    active=want.active, stripe_product_id=product_id, stripe_price_id=price_id,
                    revision=current.revision + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise SessionTypeConflict("Someone else changed this session type meanwhile. Open it again to see "
                                      "their changes, then save yours.")
        if want.price_options != current.price_options:
            price_options.replace_options(session=session, session_type_id=current.id,
                                          options=dict(want.price_options))
        row = session.get(SessionType, current.id, populate_existing=True)
        after = _audit_fields(row)
        if want.price_options or current.price_options:
            after = {**(after or {}), "other_prices": other_prices_input(want.price_options)}
        if note:
            after = {**after, "stripe": note}
        audit.record(session=session, actor=actor, action=action, entity_type="session_type", entity_id=row.id,
                     builder_id=row.builder_id, before=before, after=after)


def _converge_quietly(engine: Engine, gateway: PaymentGateway, session_type_id: int) -> None:
    try:
        _sync_one(engine=engine, gateway=gateway, session_type_id=session_type_id, report=SyncReport())
    except Exception:
        log.warning("session type %s: Stripe may differ until the next sync", session_type_id, exc_info=True)


# --- sync-stripe-catalog -----------------------------------------------------------------------------


@dataclass
class SyncReport:
    checked: int = 0
    products_created: int = 0
    products_updated: int = 0
    prices_created: int = 0
    prices_retired: int = 0
    failed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"{self.checked} session types checked: {self.products_created} products created, "
                f"{self.products_updated} updated; {self.prices_created} prices created, "
                f"{self.prices_retired} retired; {len(self.failed)} failed")
        if self.failed:  # the first few reasons; the rest are alike
            text += " (" + "; ".join(self.failed[:3]) + ("; ..." if len(self.failed) > 3 else "") + ")"
        return text


def sync_catalog(*, engine: Engine, gateway: PaymentGateway) -> SyncReport:
    """Make every session type a Product with exactly one active Price matching its amount and currency.

    Idempotent: a second run finds everything in place and writes nothing.
    """
    report = SyncReport()
    with session_scope(engine) as session:
        ids = list(session.exec(select(SessionType.id).order_by(SessionType.id)).all())
    for session_type_id in ids:
        report.checked += 1
        try:
            _sync_one(engine=engine, gateway=gateway, session_type_id=session_type_id, report=report)
        except (PaymentProviderError, SessionTypeConflict) as exc:
            report.failed.append(f"session type {session_type_id}: {exc}")
    return report


def _sync_one(*, engine: Engine, gateway: PaymentGateway, session_type_id: int, report: SyncReport) -> None:
    with session_scope(engine) as session:
        row = session.get(SessionType, session_type_id)  # an id from our own query, not from a browser
        if row is None:
            return
        current = _Catalogued.read(session, row)
    revision = current.revision + 1
    done: list[str] = []

    product = gateway.retrieve_product(current.product_id) if current.product_id else None
    params = current.product_params()
    if product is None:
        product = gateway.create_product(**params, idempotency_key=current.key(revision, "sync-product", params))
        report.products_created += 1
        done.append("product created")
    elif not _product_matches(product, current):
        gateway.update_product(product.id, **params,
                               idempotency_key=current.key(revision, "sync-product-update", params))
        report.products_updated += 1
        done.append("product updated")

    price = gateway.retrieve_price(current.price_id) if current.price_id else None
    replaced = price if price is not None and price.active and price.product_id == product.id else None
    price_id = price.id if price is not None and _price_matches(price, product.id, current) else None
    if price_id is None:
        price_id = _create_price(gateway, current, product.id, revision, "sync-price")
        report.prices_created += 1
        done.append("price created")
    # Strays (an earlier save's leftovers, dashboard edits), but never the Price the row names until it changes.
    strays = _retire_prices(gateway, current, product.id, {price_id, current.price_id or ""}, revision)
    if strays:
        report.prices_retired += strays
        done.append(f"{strays} stray prices retired")

    if not done:
        return
    # Any write at Stripe raises the revision, so later repairs get keys of their own.
    _commit(engine=engine, actor=None, current=current, want=current, product_id=product.id, price_id=price_id,
            action="session_type.stripe_sync", note=", ".join(done))
    if replaced is not None and replaced.id != price_id:  # active but wrong amount or currency
        report.prices_retired += _retire_prices(gateway, current, product.id, {price_id}, revision, only=replaced.id)
