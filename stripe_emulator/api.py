"""The /v1 HTTP API: authentication, parameter decoding, idempotency, expansion, errors."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from stripe_emulator import errors
from stripe_emulator.context import RequestContext
from stripe_emulator.emulator import Emulator
from stripe_emulator.forms import FormDecodeError, decode_query
from stripe_emulator.params import Params
from stripe_emulator.resources import new_id

logger = logging.getLogger("stripe_emulator.api")

IDEMPOTENCY_TTL = 24 * 60 * 60
Handler = Callable[..., dict[str, Any]]


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
        if request.method in ("POST", "PUT", "PATCH"):
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


class Api:
    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    def route(self, path: str, method: str, handler: Handler, *, retrieve: bool = False) -> Route:
        async def endpoint(request: Request) -> Response:
            return await self.dispatch(request, handler, retrieve)

        return Route(path, endpoint, methods=[method], name=f"{method} {path}")

    async def dispatch(self, request: Request, handler: Handler, retrieve: bool) -> Response:
        request_id = new_id("req")
        version = request.headers.get("stripe-version") or self.emu.config.api_version
        try:
            check_api_key(request, self.emu.config.api_key)
            params = await read_params(request)
            if retrieve:
                Params(params).reject_unknown({"expand"})
            key = request.headers.get("idempotency-key") if request.method == "POST" else None
            if key is not None and len(key) > 255:
                raise errors.StripeError(
                    "Idempotency-Key must be at most 255 characters long.", param="Idempotency-Key"
                )
            ctx = RequestContext(request_id=request_id, idempotency_key=key)
            path_params = dict(request.path_params)
            if not key:
                status, body = self._run(handler, ctx, params, path_params)
                return self._respond(status, body, request_id, version, None, False)
            endpoint = f"{request.method} {request.url.path}"
            fingerprint = hashlib.sha256(
                json.dumps([endpoint, params], sort_keys=True).encode()
            ).hexdigest()
            with self.emu.lock:
                saved = self.emu.store.idempotent_response(key)
                if saved is not None:
                    if saved["endpoint"] != endpoint:
                        raise errors.idempotency(
                            "Keys for idempotent requests can only be used for the same endpoint "
                            f"they were first used for ('{saved['endpoint']}' vs '{endpoint}'). "
                            f"Try using a key other than '{key}' if you meant to execute a "
                            "different request."
                        )
                    if saved["fingerprint"] != fingerprint:
                        raise errors.idempotency(
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with. Try using a key other than "
                            f"'{key}' if you meant to execute a different request."
                        )
                    return self._respond(
                        saved["status"], saved["body"], saved["request_id"], version, key, True
                    )
                status, body = self._run(handler, ctx, params, path_params)
                if status < 400:
                    now = self.emu.clock.now()
                    self.emu.store.prune_idempotency(now - IDEMPOTENCY_TTL)
                    self.emu.store.save_idempotent_response(
                        key, fingerprint, endpoint, status, body, request_id, now
                    )
            return self._respond(status, body, request_id, version, key, False)
        except errors.StripeError as error:
            return error_response(error, request_id, version)

    def _run(
        self,
        handler: Handler,
        ctx: RequestContext,
        params: dict[str, Any],
        path_params: dict[str, str],
    ) -> tuple[int, str]:
        try:
            obj = handler(ctx=ctx, params=params, **path_params)
            obj = self.emu.expand(obj, Params(params).expand())
            return 200, json.dumps(obj, indent=2)
        except errors.StripeError:
            raise
        except Exception:
            logger.exception("unexpected error handling request %s", ctx.request_id)
            raise errors.StripeError(
                "An unknown error occurred in the emulator; see its log.",
                status=500,
                type="api_error",
            ) from None

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


def routes(emu: Emulator) -> list[Route]:
    api = Api(emu)

    def retrieve(object_type: str) -> Handler:
        return lambda ctx, params, id: emu.retrieve(object_type, id)

    def lister(object_type: str, url: str, filters: dict[str, str] | None = None) -> Handler:
        return lambda ctx, params: emu.list_objects(object_type, params, url, filters)

    def metadata_update(object_type: str, allowed: set[str] | None = None) -> Handler:
        return lambda ctx, params, id: emu.update_metadata(object_type, id, params, allowed)

    def charge_refunds(ctx: RequestContext, params: dict[str, Any], id: str) -> dict[str, Any]:
        emu.retrieve("charge", id)
        return emu.list_objects(
            "refund", {**params, "charge": id}, f"/v1/charges/{id}/refunds", {"charge": "charge"}
        )

    session_filters = {
        "payment_intent": "payment_intent",
        "status": "status",
        "customer": "customer",
        "customer_details": "customer_details",
        "payment_link": "payment_link",
        "subscription": "subscription",
        "client_reference_id": "client_reference_id",
    }
    return [
        api.route(
            "/v1/checkout/sessions",
            "POST",
            lambda ctx, params: emu.create_checkout_session(params, ctx),
        ),
        api.route(
            "/v1/checkout/sessions",
            "GET",
            lister("checkout.session", "/v1/checkout/sessions", session_filters),
        ),
        api.route("/v1/checkout/sessions/{id}", "GET", retrieve("checkout.session"), retrieve=True),
        api.route("/v1/checkout/sessions/{id}", "POST", metadata_update("checkout.session")),
        api.route(
            "/v1/checkout/sessions/{id}/expire",
            "POST",
            lambda ctx, params, id: emu.expire_checkout_session(id, ctx),
        ),
        api.route(
            "/v1/checkout/sessions/{id}/line_items",
            "GET",
            lambda ctx, params, id: emu.checkout_line_items(id, params),
        ),
        api.route(
            "/v1/payment_intents",
            "GET",
            lister("payment_intent", "/v1/payment_intents", {"customer": "customer", "status": "status"}),
        ),
        api.route("/v1/payment_intents/{id}", "GET", retrieve("payment_intent"), retrieve=True),
        api.route(
            "/v1/payment_intents/{id}",
            "POST",
            metadata_update("payment_intent", {"description"}),
        ),
        api.route(
            "/v1/charges",
            "GET",
            lister("charge", "/v1/charges", {"payment_intent": "payment_intent", "customer": "customer"}),
        ),
        api.route("/v1/charges/{id}", "GET", retrieve("charge"), retrieve=True),
        api.route("/v1/charges/{id}", "POST", metadata_update("charge", {"description"})),
        api.route("/v1/charges/{id}/refunds", "GET", charge_refunds),
        api.route("/v1/refunds", "POST", lambda ctx, params: emu.create_refund(params, ctx)),
        api.route(
            "/v1/refunds",
            "GET",
            lister("refund", "/v1/refunds", {"charge": "charge", "payment_intent": "payment_intent"}),
        ),
        api.route("/v1/refunds/{id}", "GET", retrieve("refund"), retrieve=True),
        api.route("/v1/refunds/{id}", "POST", metadata_update("refund")),
        api.route("/v1/products", "POST", lambda ctx, params: emu.create_product(params, ctx)),
        api.route(
            "/v1/products",
            "GET",
            lister("product", "/v1/products", {"active": "active", "shippable": "shippable", "url": "url"}),
        ),
        api.route("/v1/products/{id}", "GET", retrieve("product"), retrieve=True),
        api.route(
            "/v1/products/{id}",
            "POST",
            lambda ctx, params, id: emu.update_product(id, params, ctx),
        ),
        api.route("/v1/prices", "POST", lambda ctx, params: emu.create_price(params, ctx)),
        api.route(
            "/v1/prices",
            "GET",
            lister(
                "price",
                "/v1/prices",
                {"active": "active", "currency": "currency", "product": "product", "type": "type",
                 "lookup_keys": "lookup_key"},
            ),
        ),
        api.route("/v1/prices/{id}", "GET", retrieve("price"), retrieve=True),
        api.route(
            "/v1/prices/{id}",
            "POST",
            lambda ctx, params, id: emu.update_price(id, params, ctx),
        ),
        api.route("/v1/events", "GET", lambda ctx, params: emu.list_events(params)),
        api.route("/v1/events/{id}", "GET", retrieve("event"), retrieve=True),
        api.route("/v1/payment_methods/{id}", "GET", retrieve("payment_method"), retrieve=True),
        Route(
            "/v1/{path:path}",
            _unrecognized(emu),
            methods=["GET", "POST", "DELETE", "PUT", "PATCH"],
        ),
    ]


def _unrecognized(emu: Emulator) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        return error_response(
            errors.unrecognized_url(request.method, request.url.path),
            new_id("req"),
            emu.config.api_version,
        )

    return endpoint
