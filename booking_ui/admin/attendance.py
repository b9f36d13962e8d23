"""Attended / no-show, in a booking's detail (routes.ADMIN_BOOKINGS): after the start the builder marks the
session; a no-show of a booking that kept a card is charged its fee within the window.

Thin: `booking.lifecycle.mark_attended` / `mark_no_show` decide and act (Stripe is called off the event loop,
in a background handler); this shows the buttons and the outcome, then reloads the booking's detail.
"""

from __future__ import annotations

import asyncio

import reflex as rx

from booking.core import get_settings
from booking.lifecycle import NoShowRefused, NoShowState, mark_attended, mark_no_show
from booking.payments import PaymentProviderError
from booking_ui import deps
from booking_ui.admin.base import AdminState, admin_background, current_actor


class AttendanceState(AdminState):
    busy: bool = False
    ok: bool = False
    result: str = ""
    booking_id: str = ""  # the booking the result is about

    async def _run(self, booking_id: str, no_show: bool):
        actor = current_actor()
        async with self:
            if self.busy:
                return None
            self.busy, self.result, self.booking_id = True, "", booking_id
        ok, message = False, ""
        try:
            if no_show:
                outcome = await asyncio.to_thread(mark_no_show, engine=deps.engine(), gateway=deps.gateway(),
                                                  settings=get_settings(), actor=actor, booking_id=booking_id)
            else:
                outcome = await asyncio.to_thread(mark_attended, engine=deps.engine(), actor=actor,
                                                  booking_id=booking_id)
            ok, message = outcome.state in (NoShowState.MARKED, NoShowState.CHARGED), outcome.message
        except NoShowRefused as exc:
            message = str(exc)
        except PaymentProviderError as exc:
            message = f"Stripe is not available: {exc}. Marked as a no-show; try again to charge the fee."
        finally:
            async with self:
                self.busy = False
        async with self:
            self.ok, self.result = ok, message
        # The detail it sits in, reloaded (imported here: that page imports this module).
        from booking_ui.admin.bookings import BookingsState

        return BookingsState.open_booking(booking_id)

    @admin_background
    async def attended(self, booking_id: str):
        return await self._run(booking_id, no_show=False)

    @admin_background
    async def no_show(self, booking_id: str):
        return await self._run(booking_id, no_show=True)


def attendance_panel(detail) -> rx.Component:
    """The marks of an open booking (`detail`: the bookings page's BookingDetail var)."""
    S = AttendanceState
    result = rx.cond((S.result != "") & (S.booking_id == detail.id), rx.callout(
        S.result, icon=rx.cond(S.ok, "check", "triangle_alert"), color_scheme=rx.cond(S.ok, "green", "red"),
        role="status", data_testid="attendance-result"))
    buttons = rx.hstack(
        rx.button("Mark attended", variant="soft", on_click=S.attended(detail.id), loading=S.busy,
                  disabled=S.busy, data_testid="mark-attended"),
        rx.button(rx.cond(detail.no_show_fee != "", "Mark no-show and charge " + detail.no_show_fee,
                          "Mark no-show"),
                  color_scheme="orange", on_click=S.no_show(detail.id), loading=S.busy, disabled=S.busy,
                  data_testid="mark-no-show"),
        spacing="3", wrap="wrap",
    )
    return rx.vstack(
        rx.cond(detail.attendance != "",
                rx.text("Attendance: ", rx.text.strong(detail.attendance), size="2", data_testid="attendance")),
        rx.cond(detail.can_mark_attendance, buttons),
        result,
        spacing="2",
        width="100%",
    )
