"""The /v1 HTTP API: authentication, parameter decoding, idempotency, expansion, errors."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from stripe_emulator.core import errors, idempotency
from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.engine import Engine
from stripe_emulator.core.forms import FormDecodeError, decode_query
from stripe_emulator.core.ids import new_id
from stripe_emulator.core.spec import Endpoint
from stripe_emulator.resources import (
    account_links,
    accounts,
    application_fees,
    balance,
    billing_portal,
    catalog,
    charges,
    checkout,
    coupons,
    customers,
    disputes,
    events,
    intents,
    invoices,
    login_links,
    payouts,
    promotion_codes,
    refunds,
    setup_intents,
    subscriptions,
    transfers,
)

# One module per resource; each declares its endpoints (`ENDPOINTS`) with their parameters.
RESOURCES = (
    checkout,
    intents,
    charges,
    refunds,
    catalog,
    events,
    accounts,
    account_links,
    login_links,
    transfers,
    application_fees,
    balance,
    payouts,
    disputes,
    invoices,
    coupons,
    promotion_codes,
    subscriptions,
    billing_portal,
    customers,
    setup_intents,
)

logger = logging.getLogger("stripe_emulator.api")

def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(body, indent=2),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def error_response(error: errors.StripeError, request_id: str, version: str) -> Response:
    headers = {"Request-Id": request_id, "Stripe-Version": version}
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="Stripe"'
    return json_response(error.to_dict(), error.status, headers)


def mask_key(key: str) -> str:
    if len(key) <= 12:
        return key[:8] + "*" * max(len(key) - 8, 0)
    return key[:8] + "*" * (len(key) - 12) + key[-4:]


def check_api_key(request: Request, configured: str | None) -> None:
    header = request.headers.get("authorization", "").strip()
    if not header:
        raise errors.authentication(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
            "or we can help at https://support.stripe.com/."
        )
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        key = value
    elif scheme.lower() == "basic":
        try:
            key = base64.b64decode(value).decode().split(":", 1)[0]
        except (binascii.Error, UnicodeDecodeError):
            key = ""
    else:
        raise errors.authentication(
            "Invalid Authorization header; use 'Authorization: Bearer sk_test_...'."
        )
    if configured:
        valid = hmac.compare_digest(key.encode(), configured.encode())
    else:
        valid = key.startswith(("sk_test_", "rk_test_")) and len(key) > len("sk_test_")
    if not valid:
        raise errors.authentication(f"Invalid API Key provided: {mask_key(key)}")


async def read_params(request: Request) -> dict[str, Any]:
    try:
        params = decode_query(request.url.query)
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            body = await request.body()
            content_type = request.headers.get("content-type", "")
            if body and content_type.startswith("application/json"):
                try:
                    data = json.loads(body)
                except ValueError:
                    raise errors.StripeError("Invalid JSON body.") from None
                if not isinstance(data, dict):
                    raise errors.StripeError("Invalid JSON body: expected an object.")
                params.update(data)
            elif body:
                params.update(decode_query(body))
        return params
    except FormDecodeError as exc:
        raise errors.StripeError(str(exc), param=exc.param) from None


def all_endpoints() -> list[Endpoint]:
    """Every /v1 operation, declared by its resource module."""
    return [endpoint for module in RESOURCES for endpoint in module.ENDPOINTS]


class Api:
    def __init__(self, emulator: Engine) -> None:
        self.emu = emulator

    def route(self, endpoint: Endpoint) -> Route:
        async def handle(request: Request) -> Response:
            return await self.dispatch(request, endpoint)

        return Route(endpoint.path, handle, methods=[endpoint.method], name=f"{endpoint.method} {endpoint.path}")

    def connected_account(self, request: Request) -> str | None:
        """The `Stripe-Account` header: a connected account of this platform, or an error."""
        account = request.headers.get("stripe-account", "").strip()
        if not account or account == accounts.PLATFORM_ACCOUNT_ID:
            return None
        with self.emu.lock:
            found = self.emu.store.get("account", account, None)
        if found is None:
            raise errors.StripeError(
                "The provided key does not have access to account "
                f"'{account}' (or that account does not exist). Application access may have been "
                "revoked.",
                code="account_invalid",
                status=403,
            )
        return account

    async def dispatch(self, request: Request, endpoint: Endpoint) -> Response:
        """Validate (errors here are never saved), then execute (results, errors included, are
        saved under the idempotency key and replayed, as Stripe does)."""
        request_id = new_id("req")
        version = request.headers.get("stripe-version") or self.emu.config.api_version
        try:
            check_api_key(request, self.emu.config.api_key)
            params = await read_params(request)
            account = self.connected_account(request)
            if endpoint.platform_only and account:
                raise errors.StripeError(
                    "Only Stripe Connect platforms can work with other accounts; this request "
                    f"was made on behalf of the connected account '{account}'.",
                    code="platform_account_required",
                )
            args = endpoint.spec.parse(params, "")
            key = request.headers.get("idempotency-key") if request.method == "POST" else None
            if key is not None and len(key) > 255:
                raise errors.StripeError(
                    "Idempotency-Key must be at most 255 characters long.", param="Idempotency-Key"
                )
            ctx = RequestContext(request_id=request_id, idempotency_key=key, account=account)
            path_params = dict(request.path_params)
            if not key:
                status, body = self._run(endpoint, ctx, args, path_params)
                return self._respond(status, body, request_id, version, None, False)
            stored_key = idempotency.scoped_key(key, account)
            route = f"{request.method} {request.url.path}"
            digest = idempotency.fingerprint(route, params)
            with self.emu.lock:
                saved = idempotency.replay(self.emu.store, stored_key, key, route, digest)
                if saved is not None:
                    return self._respond(
                        saved["status"], saved["body"], saved["request_id"], version, key, True
                    )
                status, body = self._run(endpoint, ctx, args, path_params)
                idempotency.save(
                    self.emu.store, stored_key, route, digest, status, body, request_id, self.emu.clock.now()
                )
            return self._respond(status, body, request_id, version, key, False)
        except errors.StripeError as error:
            return error_response(error, request_id, version)

    def _run(
        self,
        endpoint: Endpoint,
        ctx: RequestContext,
        args: dict[str, Any],
        path_params: dict[str, str],
    ) -> tuple[int, str]:
        """Execute the handler; a Stripe error becomes the (status, body) answer."""
        try:
            obj = endpoint.handler(self.emu, ctx, args, **path_params)
            obj = self.emu.expand(obj, args.get("expand") or [])
            return 200, json.dumps(obj, indent=2)
        except errors.StripeError as error:
            return error.status, json.dumps(error.to_dict(), indent=2)
        except Exception:
            logger.exception("unexpected error handling request %s", ctx.request_id)
            error = errors.StripeError(
                "An unknown error occurred in the emulator; see its log.",
                status=500,
                type="api_error",
            )
            return error.status, json.dumps(error.to_dict(), indent=2)

    @staticmethod
    def _respond(
        status: int, body: str, request_id: str, version: str, key: str | None, replayed: bool
    ) -> Response:
        headers = {"Request-Id": request_id, "Stripe-Version": version}
        if key:
            headers["Idempotency-Key"] = key
        if replayed:
            headers["Idempotent-Replayed"] = "true"
            headers["Original-Request"] = request_id
        return Response(body, status_code=status, media_type="application/json", headers=headers)


def routes(emu: Engine) -> list[Route]:
    api = Api(emu)
    return [
        *(api.route(endpoint) for endpoint in all_endpoints()),
        Route(
            "/v1/{path:path}",
            _unrecognized(emu),
            methods=["GET", "POST", "DELETE", "PUT", "PATCH"],
        ),
    ]


def _unrecognized(emu: Engine) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        return error_response(
            errors.unrecognized_url(request.method, request.url.path),
            new_id("req"),
            emu.config.api_version,
        )

    return endpoint
