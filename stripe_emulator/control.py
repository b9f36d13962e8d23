"""The test-only control API under /_emulator/ (enabled by --test-mode; 404 otherwise)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from stripe_emulator.core import account_state, errors, methods
from stripe_emulator.core.forms import decode_flat
from stripe_emulator.core.payment_engine import SessionUnavailable
from stripe_emulator.emulator import Emulator
from stripe_emulator.faults import FaultError, Faults
from stripe_emulator.resources import accounts


async def read_body(request: Request) -> dict[str, Any]:
    """JSON or form body, merged over query parameters."""
    data: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if not body:
        return data
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            parsed = json.loads(body)
        except ValueError:
            raise errors.StripeError("Invalid JSON body.") from None
        if not isinstance(parsed, dict):
            raise errors.StripeError("Invalid JSON body: expected an object.")
        data.update(parsed)
    else:
        data.update(decode_flat(body))
    return data


def _error(error: errors.StripeError) -> JSONResponse:
    return JSONResponse(error.to_dict(), status_code=error.status)


def disabled_routes() -> list[Route]:
    async def not_found(request: Request) -> Response:
        return JSONResponse(
            {
                "error": {
                    "type": "invalid_request_error",
                    "message": "The control API is only available when the emulator runs with "
                    "--test-mode.",
                }
            },
            status_code=404,
        )

    return [
        Route("/_emulator", not_found, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/_emulator/{path:path}", not_found, methods=["GET", "POST", "PUT", "DELETE"]),
    ]


def routes(emu: Emulator, faults: Faults | None = None) -> list[Route]:
    faults = faults or Faults()

    async def reset(request: Request) -> Response:
        emu.reset()
        faults.clear()
        return JSONResponse({"ok": True})

    async def arm_fault(request: Request) -> Response:
        try:
            data = await read_body(request)
            fault = faults.arm(data)
        except errors.StripeError as error:
            return _error(error)
        except FaultError as exc:
            return _error(errors.invalid(exc.param, exc.message))
        return JSONResponse({"fault": asdict(fault), "armed": faults.armed()})

    async def list_faults(request: Request) -> Response:
        return JSONResponse({"armed": faults.armed()})

    async def clear_faults(request: Request) -> Response:
        faults.clear()
        return JSONResponse({"ok": True})

    async def requests_log(request: Request) -> Response:
        return JSONResponse({"requests": faults.requests(request.query_params.get("path_prefix") or "")})

    async def deliveries(request: Request) -> Response:
        return JSONResponse(emu.deliveries(request.query_params.get("event_id") or None))

    async def wait_deliveries(request: Request) -> Response:
        try:
            timeout = float(request.query_params.get("timeout", "10"))
        except ValueError:
            return _error(errors.invalid("timeout", "timeout must be a number of seconds"))
        deadline = time.monotonic() + timeout
        while emu.pending_deliveries() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        pending = emu.pending_deliveries()
        return JSONResponse({"idle": pending == 0, "pending": pending})

    async def clock(request: Request) -> Response:
        return JSONResponse({"now": emu.clock.now(), "offset": emu.clock.offset})

    async def advance(request: Request) -> Response:
        try:
            data = await read_body(request)
            if "months" in data:  # like a test clock: to the same day and time next month
                months = data.get("months")
                if not isinstance(months, int) or isinstance(months, bool) or not 0 <= months <= 24:
                    raise errors.invalid("months", "Pass `months`, a whole number from 0 to 24.")
                result = emu.advance_months(months)
                return JSONResponse({"now": emu.clock.now(), "offset": emu.clock.offset, **result})
            try:
                seconds = float(data.get("seconds", ""))
            except (TypeError, ValueError):
                raise errors.invalid("seconds", "Pass `seconds`, a number >= 0 (or `months`).") from None
            if seconds < 0:
                raise errors.invalid("seconds", "The clock only moves forward.")
        except errors.StripeError as error:
            return _error(error)
        result = emu.advance(seconds)
        return JSONResponse({"now": emu.clock.now(), "offset": emu.clock.offset, **result})

    async def rewind(request: Request) -> Response:
        """Back to real time (offset 0), objects kept: a test that advanced the clock hands it back to the
        tests after it (nothing is undone; what became due stays done)."""
        with emu.lock:
            emu.clock.set_offset(0)
            emu.store.set_meta("clock_offset", "0")
        return JSONResponse({"now": emu.clock.now(), "offset": emu.clock.offset})

    async def pay_out(request: Request) -> Response:
        try:
            data = await read_body(request)
            paid = emu.pay_out_now(str(data["account"]) if data.get("account") else None)
        except errors.StripeError as error:
            return _error(error)
        return JSONResponse({"payouts": paid})

    async def onboarding(request: Request) -> Response:
        account_id = request.path_params["account_id"]
        try:
            data = await read_body(request)
            choice = data.get("choice") or "complete"
            if choice == "complete":
                account = accounts.complete_onboarding(
                    emu,
                    account_id,
                    bank_account_number=str(data.get("bank_account") or account_state.DEFAULT_BANK_ACCOUNT),
                )
            elif choice == "incomplete":
                account = accounts.leave_incomplete(emu, account_id)
            else:
                raise errors.invalid("choice", "Use `complete` or `incomplete`.")
        except errors.StripeError as error:
            return _error(error)
        return JSONResponse(account)

    async def complete(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        try:
            data = await read_body(request)
        except errors.StripeError as error:
            return _error(error)
        session = emu.store.get("checkout.session", session_id)
        if session is None:
            return _error(errors.no_such("checkout.session", session_id))
        method = str(data.get("payment_method") or "card")
        if method != "card":
            return _complete_with(session_id, method, data, session)
        card = str(data.get("card") or "4242424242424242")
        year = datetime.fromtimestamp(emu.clock.now(), tz=UTC).year + 5
        form = {
            "number": card,
            "expiry": str(data.get("expiry") or f"12/{year % 100:02d}"),
            "cvc": str(data.get("cvc") or ("1234" if card.replace(" ", "").startswith(("34", "37")) else "123")),
            "email": str(data.get("email") or session.get("customer_email") or "customer@example.com"),
            "name": str(data.get("name") or "Test Customer"),
        }
        three_d_secure = data.get("three_d_secure")
        if three_d_secure not in (None, "", "complete", "fail"):
            return _error(errors.invalid("three_d_secure", "Use `complete` or `fail`."))
        try:
            result = emu.pay(session_id, **form)
            if result.status == "requires_action" and three_d_secure:
                assert result.challenge_id is not None
                result = emu.authenticate(session_id, result.challenge_id, str(three_d_secure))
        except SessionUnavailable as exc:
            return JSONResponse(
                {
                    "ok": False,
                    "status": exc.reason,
                    "error": {
                        "type": "invalid_request_error",
                        "code": f"checkout_session_{exc.reason}",
                        "message": f"This Checkout Session is {exc.reason} and cannot be paid.",
                    },
                    "session": exc.session,
                },
                status_code=409,
            )
        return JSONResponse(result.to_dict())

    def _complete_with(session_id: str, method: str, data: dict[str, Any], session: dict[str, Any]) -> Response:
        """`payment_method`: sepa_debit (`iban`), bacs_debit (`sort_code`, `account_number`), paypal
        (`paypal`: authorize | fail) or apple_pay / google_pay."""
        if method not in (*methods.IMPLEMENTED, *methods.WALLETS):
            return _error(errors.invalid("payment_method", "Use card, sepa_debit, bacs_debit, paypal, apple_pay "
                                         "or google_pay."))
        form = {
            "email": str(data.get("email") or session.get("customer_email") or "customer@example.com"),
            "name": str(data.get("name") or "Test Customer"),
        }
        if method == "sepa_debit":
            form["iban"] = str(data.get("iban") or "AT611904300234573201")
        elif method == "bacs_debit":
            form["sort_code"] = str(data.get("sort_code") or "108800")
            form["account_number"] = str(data.get("account_number") or "00012345")
        elif method == "paypal":
            form.pop("name")
        try:
            result = emu.pay_with(session_id, method, **form)
            if method == "paypal" and result.status == "requires_action":
                assert result.challenge_id is not None
                result = emu.resolve_paypal(session_id, result.challenge_id, str(data.get("paypal") or "authorize"))
        except SessionUnavailable as exc:
            return JSONResponse({"ok": False, "status": exc.reason, "error": {
                "type": "invalid_request_error", "code": f"checkout_session_{exc.reason}",
                "message": f"This Checkout Session cannot be paid ({exc.reason})."}, "session": exc.session},
                status_code=409)
        except ValueError as exc:
            return _error(errors.invalid("paypal", str(exc)))
        return JSONResponse(result.to_dict())

    async def resend(request: Request) -> Response:
        event_id = request.path_params["event_id"]
        try:
            emu.resend_event(event_id)
        except errors.StripeError as error:
            return _error(error)
        return JSONResponse({"ok": True, "event_id": event_id, "queued": True})

    async def state(request: Request) -> Response:
        return JSONResponse(emu.snapshot())

    return [
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/faults", arm_fault, methods=["POST"]),
        Route("/_emulator/faults", list_faults, methods=["GET"]),
        Route("/_emulator/faults", clear_faults, methods=["DELETE"]),
        Route("/_emulator/requests", requests_log, methods=["GET"]),
        Route("/_emulator/deliveries", deliveries, methods=["GET"]),
        Route("/_emulator/deliveries/wait", wait_deliveries, methods=["GET", "POST"]),
        Route("/_emulator/clock", clock, methods=["GET"]),
        Route("/_emulator/clock/advance", advance, methods=["POST"]),
        Route("/_emulator/clock/rewind", rewind, methods=["POST"]),
        Route("/_emulator/checkout/sessions/{session_id}/complete", complete, methods=["POST"]),
        Route("/_emulator/events/{event_id}/resend", resend, methods=["POST"]),
        Route("/_emulator/payouts/run", pay_out, methods=["POST"]),
        Route("/_emulator/accounts/{account_id}/onboarding", onboarding, methods=["POST"]),
        Route("/_emulator/state", state, methods=["GET"]),
    ]
