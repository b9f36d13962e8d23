"""Public addresses: /<builder slug>/<session type slug> (e.g. /ada/pairing) and /b/<builder slug>.

One rule for both kinds of slug: lower-case letters, digits and single hyphens. A builder's slug is the
first segment of a root path, so it can never be one of the app's own first segments (RESERVED). A
session type's slug is never all digits: `/ada/7` is how a type without a slug yet is addressed.
"""

from __future__ import annotations

import re
import unicodedata

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_TYPE_SLUG = 60
# The app's own first path segments (booking_ui.routes, Reflex's and the static build's): never a builder.
RESERVED = frozenset({
    "admin", "api", "b", "book", "manage", "payment", "calendar", "embed", "static", "assets", "favicon-ico",
    "robots-txt", "sitemap-xml", "health", "login", "logout", "404", "_event", "_upload", "_health", "_next",
})


def slugify(name: str, *, fallback: str = "session") -> str:
    """'Pair programming (1 h)' -> 'pair-programming-1-h'; accents dropped; never all digits or empty."""
    text = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:MAX_TYPE_SLUG].strip("-")
    if not slug:
        return fallback
    return f"{fallback}-{slug}" if slug.isdigit() else slug


def is_type_slug(value: str) -> bool:
    return (isinstance(value, str) and 1 <= len(value) <= MAX_TYPE_SLUG and bool(SLUG_PATTERN.fullmatch(value))
            and not value.isdigit())


def is_reserved(builder_slug: str) -> bool:
    return builder_slug in RESERVED


def type_path(builder_slug: str, type_slug: str | None, type_id: int | str) -> str:
    """The session type's public path: /ada/pairing (or /ada/7 for a type without a slug yet)."""
    return f"/{builder_slug}/{type_slug or type_id}"
