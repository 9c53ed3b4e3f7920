"""The error shape of the catalogue API, the same as the loyalty API's:
`{"error": {"field": ..., "message": ..., "code": ...}}`, and never a 500 for bad input."""

from __future__ import annotations

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from catalog.services import (
    CatalogError,
    CatalogInputError,
    IdempotencyConflict,
    OrderTransitionError,
    RedemptionRefused,
)

# Refusals of well-formed requests (not enough points, out of stock...) are 422; conflicts 409.
CATALOG_STATUS = {
    RedemptionRefused: status.HTTP_422_UNPROCESSABLE_ENTITY,
    IdempotencyConflict: status.HTTP_409_CONFLICT,
    OrderTransitionError: status.HTTP_409_CONFLICT,
    CatalogInputError: status.HTTP_400_BAD_REQUEST,
}


def error_response(*, field: str, message: str, code: str, http_status: int, headers=None) -> Response:
    return Response(
        {"error": {"field": field, "message": message, "code": code}}, status=http_status, headers=headers
    )


def catalog_exception_handler(exc, context) -> Response | None:
    if isinstance(exc, CatalogError):
        http_status = next(
            (code for kind, code in CATALOG_STATUS.items() if isinstance(exc, kind)),
            status.HTTP_400_BAD_REQUEST,
        )
        if exc.code == "not_found" and exc.field in ("member", "order"):
            http_status = status.HTTP_404_NOT_FOUND
        return error_response(field=exc.field, message=exc.message, code=exc.code, http_status=http_status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, exceptions.ValidationError):
        field, message, code = _first_error(exc.detail, "")
        return error_response(field=field or "body", message=message, code=code, http_status=exc.status_code)
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait))
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            headers["WWW-Authenticate"] = "Api-Key"
            field = "Authorization"
        elif isinstance(exc, exceptions.ParseError | exceptions.UnsupportedMediaType):
            field = "body"
        else:
            field = ""
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        return error_response(
            field=field, message=str(detail), code=code, http_status=exc.status_code, headers=headers
        )
    return None


def _first_error(detail, path: str) -> tuple[str, str, str]:
    """The first error of a DRF error tree, with its path written `items[0].quantity`."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__"):
                sub = path
            elif isinstance(key, int):
                sub = f"{path}[{key}]"
            else:
                sub = f"{path}.{key}" if path else str(key)
            return _first_error(value, sub)
    if isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                if value:
                    return _first_error(value, f"{path}[{index}]")
                continue
            return path, str(value), getattr(value, "code", "invalid")
    return path, str(detail), getattr(detail, "code", "invalid")
