"""Stripe-shaped errors: {"error": {"type", "message", "code", "param", ...}}."""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    status = 400
    type = "invalid_request_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status: int | None = None,
        type: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        if status is not None:
            self.status = status
        if type is not None:
            self.type = type
        self.extra = extra or {}

    def to_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.type}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = doc_url(self.code)
        if self.param:
            error["param"] = self.param
        error.update(self.extra)
        return {"error": error}


def doc_url(code: str) -> str:
    return "https://stripe.com/docs/error-codes/" + code.replace("_", "-")


def missing(param: str) -> StripeError:
    return StripeError(
        f"Missing required param: {param}.", param=param, code="parameter_missing"
    )


def invalid(param: str, message: str, code: str = "parameter_invalid") -> StripeError:
    return StripeError(message, param=param, code=code)


def unknown_param(param: str) -> StripeError:
    return StripeError(
        f"Received unknown parameter: {param}", param=param, code="parameter_unknown"
    )


def no_such(kind: str, object_id: str, param: str = "id", status: int = 404) -> StripeError:
    return StripeError(
        f"No such {kind}: '{object_id}'", param=param, code="resource_missing", status=status
    )


def authentication(message: str) -> StripeError:
    return StripeError(message, status=401)


def idempotency(message: str) -> StripeError:
    return StripeError(message, type="idempotency_error", status=400)


def unrecognized_url(method: str, path: str) -> StripeError:
    return StripeError(
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/.",
        status=404,
    )
