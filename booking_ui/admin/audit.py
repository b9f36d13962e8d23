"""Audit log (routes.ADMIN_AUDIT): who did what and when, with before and after. Platform admins only.

Newest first, 50 a page, filtered by action and entity type (and an exact entity id or actor email).
Every handler re-checks `require_admin()`: a builder who sends the events gets a message, no rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC

import reflex as rx
from sqlmodel import Session, or_, select

from booking.core import AuditEntry, Builder, format_datetime, session_scope
from booking_ui import deps, routes
from booking_ui.admin.base import AdminState, admin_event, current_actor
from booking_ui.admin.components import pager
from booking_ui.admin.layout import admin_layout

TITLE = "Audit log"
PAGE_SIZE = 50
MAX_PAGE = 10_000
MAX_FILTER_CHOICES = 200


@dataclass(frozen=True)
class AuditRow:
    id: str
    when: str
    who: str
    action: str
    entity: str
    builder: str
    before: str  # pretty JSON, "" when none
    after: str


class AuditState(AdminState):
    rows: list[AuditRow] = []
    page: int = 1
    has_next: bool = False
    action: str = ""
    entity: str = ""
    search: str = ""
    actions: list[str] = []
    entities: list[str] = []

    def _refresh(self) -> None:
        current_actor().require_admin()
        with session_scope(deps.engine()) as session:
            self.rows, self.has_next = _page_of_entries(session, action=self.action, entity=self.entity,
                                                        search=self.search, page=self.page)

    @admin_event
    def load(self):
        self.rows, self.has_next = [], False  # a builder's refusal leaves nothing on screen
        current_actor().require_admin()
        self.page = 1
        with session_scope(deps.engine()) as session:
            self.actions = _distinct(session, AuditEntry.action)
            self.entities = _distinct(session, AuditEntry.entity_type)
        self._refresh()
        return None

    @admin_event
    def set_page(self, page: int):
        self.rows, self.has_next = [], False
        try:
            self.page = min(max(int(page), 1), MAX_PAGE)
        except (TypeError, ValueError):
            self.page = 1
        self._refresh()
        return None

    @admin_event
    def set_action(self, value: str):
        self.rows, self.has_next = [], False
        self.action, self.page = str(value or "")[:80], 1
        self._refresh()
        return None

    @admin_event
    def set_entity(self, value: str):
        self.rows, self.has_next = [], False
        self.entity, self.page = str(value or "")[:40], 1
        self._refresh()
        return None

    @admin_event
    def set_search(self, value: str):
        self.rows, self.has_next = [], False
        self.search, self.page = str(value or "").strip()[:254], 1
        self._refresh()
        return None


def _distinct(session: Session, column) -> list[str]:
    return list(session.exec(select(column).distinct().order_by(column).limit(MAX_FILTER_CHOICES)).all())


def _page_of_entries(session: Session, *, action: str, entity: str, search: str,
                     page: int) -> tuple[list[AuditRow], bool]:
    """One page, newest first (on the `at` index); one row more than a page tells whether there is a next."""
    query = select(AuditEntry, Builder.name).outerjoin(Builder, Builder.id == AuditEntry.builder_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if entity:
        query = query.where(AuditEntry.entity_type == entity)
    if search:
        query = query.where(or_(AuditEntry.entity_id == search, AuditEntry.actor_email == search.lower()))
    found = session.exec(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                         .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    return [_row(entry, builder_name) for entry, builder_name in found[:PAGE_SIZE]], len(found) > PAGE_SIZE


def _row(entry: AuditEntry, builder_name: str | None) -> AuditRow:
    at = entry.at if entry.at.utcoffset() is not None else entry.at.replace(tzinfo=UTC)
    return AuditRow(
        id=str(entry.id),
        when=format_datetime(at, zone=UTC, date_style="iso", hour12=False, seconds=True),  # '2026-12-01 14:00:05 UTC'
        who=entry.actor_email,
        action=entry.action,
        entity=f"{entry.entity_type} {entry.entity_id}",
        builder=builder_name or ("—" if entry.builder_id is None else f"#{entry.builder_id}"),
        before=_pretty(entry.before),
        after=_pretty(entry.after),
    )


def _pretty(raw: str | None) -> str:
    if not raw:
        return ""
    try:
        return json.dumps(json.loads(raw), indent=2, sort_keys=True, ensure_ascii=False)
    except ValueError:
        return raw


# --- the page -------------------------------------------------------------------------------------------


def _json_block(label: str, text) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", weight="bold"),
        rx.cond(text != "", rx.el.pre(text, style={"margin": 0, "white_space": "pre-wrap", "font_size": "12px"}),
                rx.text("—", size="1", color_scheme="gray")),
        spacing="1",
        align="start",
    )


def _changes(row: AuditRow) -> rx.Component:
    return rx.cond(
        (row.before != "") | (row.after != ""),
        rx.el.details(
            rx.el.summary("Before / after", style={"cursor": "pointer"}),
            rx.hstack(_json_block("Before", row.before), _json_block("After", row.after), spacing="4",
                      align="start"),
        ),
        rx.text("—", color_scheme="gray"),
    )


def _row_view(row: AuditRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.when, white_space="nowrap")),
        rx.table.cell(row.who),
        rx.table.cell(rx.badge(row.action, variant="soft")),
        rx.table.cell(row.entity),
        rx.table.cell(row.builder),
        rx.table.cell(_changes(row)),
        data_testid="audit-row",
    )


def _select(label: str, field_id: str, value, choices, on_change) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=field_id),
        rx.el.select(
            rx.el.option("All", value=""),
            rx.foreach(choices, lambda choice: rx.el.option(choice, value=choice)),
            id=field_id, value=value, on_change=on_change,
        ),
        spacing="1",
    )


def _filters() -> rx.Component:
    return rx.hstack(
        _select("Action", "audit-action", AuditState.action, AuditState.actions, AuditState.set_action),
        _select("Entity", "audit-entity", AuditState.entity, AuditState.entities, AuditState.set_entity),
        rx.vstack(
            rx.el.label("Entity id or email", html_for="audit-search"),
            rx.input(id="audit-search", default_value=AuditState.search, on_blur=AuditState.set_search,
                     placeholder="exact match", max_length=254),
            spacing="1",
        ),
        spacing="4",
        align="end",
        wrap="wrap",
    )


def _pager() -> rx.Component:
    return pager(page=AuditState.page, has_next=AuditState.has_next, on_page=AuditState.set_page,
                 label="entries")


def _log() -> rx.Component:
    return rx.vstack(
        _filters(),
        rx.cond(
            AuditState.rows.length() > 0,
            rx.table.root(
                rx.table.header(rx.table.row(
                    *[rx.table.column_header_cell(name) for name in
                      ("When", "Who", "Action", "Entity", "Builder", "Changes")])),
                rx.table.body(rx.foreach(AuditState.rows, _row_view)),
                width="100%",
                variant="surface",
            ),
            rx.text("No entries.", color_scheme="gray"),
        ),
        _pager(),
        spacing="4",
        width="100%",
    )


def page() -> rx.Component:
    return admin_layout(rx.cond(AuditState.is_platform_admin, _log(), rx.fragment()), title=TITLE)


def register(app: rx.App) -> None:
    app.add_page(page, route=routes.ADMIN_AUDIT, title=TITLE + " · Workspace", on_load=[AdminState.guard, AuditState.load])
