"""The cancellation policy as a client sees it before paying: one self-contained block.

`policy_summary()` loads the policy of the session type in the page's route (`/<builder>/<type>`, or the old `/book/<id>`) when it
mounts, so a booking page needs only the one call, whatever its own state looks like.
"""

from __future__ import annotations

import reflex as rx

from booking.client import resolve_type_address
from booking.core import session_scope
from booking.workspace import session_type_policy_lines
from booking_ui import deps
from booking_ui.offloop import db_event


class PolicySummaryState(rx.State):
    policy_lines: list[str] = []

    @db_event
    def load(self):
        raw = str(self.router.url.query_parameters.get("session_type_id", "") or "")
        if not raw:
            parts = [part for part in str(self.router.url.path).split("/") if part]
            raw = parts[1] if len(parts) >= 2 and parts[0] == "book" else ""
            if not raw and len(parts) == 2:  # the readable address /<builder>/<type>
                with session_scope(deps.engine()) as session:
                    address = resolve_type_address(session=session, builder_slug=parts[0], type_slug=parts[1])
                raw = str(address.session_type_id) if address else ""
        if not raw.isdigit() or len(raw) > 10:
            self.policy_lines = []
            return
        with session_scope(deps.engine()) as session:
            self.policy_lines = session_type_policy_lines(session=session, session_type_id=int(raw))


def policy_lines_list(lines) -> rx.Component:
    return rx.el.ul(
        rx.foreach(lines, lambda line: rx.el.li(rx.text(line, size="2"))),
        padding_left="1.2em",
        margin="0",
    )


def policy_summary() -> rx.Component:
    """The session type's cancellation policy (shown before payment)."""
    return rx.box(
        rx.cond(
            PolicySummaryState.policy_lines.length() > 0,
            rx.vstack(
                rx.heading("Cancellation policy", size="3", as_="h2"),
                policy_lines_list(PolicySummaryState.policy_lines),
                spacing="1",
                width="100%",
            ),
        ),
        on_mount=PolicySummaryState.load,
        width="100%",
        data_testid="policy-summary",
    )
