"""One shape for every error of the brand API, including authentication, throttling and parsing:

    {"error": {"field": "occurred_at", "message": "occurred_at: ...", "code": "invalid",
               "details": {"occurred_at": ["..."]}}}

`field` names the first offending field (a dotted path such as `events[3].occurred_at`, or a
header such as `Idempotency-Key`), or is null when no field is at fault (throttling); `details`
lists every field's messages when validation found several.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response

from core.errors import Conflict, DomainError, InvalidInput, NotFound, Refused

STATUS_CODES = {
    400: "invalid",
    401: "not_authenticated",
    404: "not_found",
    409: "conflict",
    413: "too_large",
    422: "unprocessable",
}


class ApiError(exceptions.APIException):
    """An error about one field (or header), with the HTTP status to answer."""

    wait: int | None = None  # seconds: the Retry-After of a refusal to retry later

    def __init__(
        self, *, field: str | None, message: str, status_code: int = 400, code: str | None = None
    ) -> None:
        self.code = code or STATUS_CODES.get(status_code, "error")
        super().__init__(detail=message, code=self.code)
        self.status_code = status_code
        self.field = field
        self.message = message


def errors_from_dict(errors: dict[str, list[str]], *, status_code: int = 400) -> exceptions.APIException:
    """A services' `errors` mapping (field -> messages), as an API error."""
    if not errors:
        return ApiError(field=None, message="invalid input", status_code=status_code)
    validation = exceptions.ValidationError({field: list(messages) for field, messages in errors.items()})
    validation.status_code = status_code
    return validation


# The status of each kind of domain error (core.errors); a refusal of a well-formed request is 422.
DOMAIN_STATUS: list[tuple[type[DomainError], int]] = [
    (InvalidInput, 400),
    (NotFound, 404),
    (Conflict, 409),
    (Refused, 422),
]


def domain_error_as_api(exc: DomainError) -> exceptions.APIException:
    """A domain error as the API error it answers: a mapping of messages per field answers as a
    validation does (every field in `details`), an error about one input names that field."""
    status_code = domain_error_status(exc)
    if exc.by_field:
        return errors_from_dict(exc.errors, status_code=status_code)
    return ApiError(field=exc.field, message=exc.message, status_code=status_code, code=exc.code)


def domain_error_status(exc: DomainError) -> int:
    """The HTTP status a domain error answers (`DOMAIN_STATUS`)."""
    return next((code for kind, code in DOMAIN_STATUS if isinstance(exc, kind)), 400)


def domain_error_body(exc: DomainError) -> dict:
    """A domain error in the one error shape, as the exception handler answers it, for an answer
    that holds several errors (a batch's items, whose view places each one's status)."""
    if not exc.by_field:
        return error_body(field=exc.field, message=exc.message, code=exc.code)
    details = {field or "body": list(texts) for field, texts in exc.errors.items()}
    if not details:
        return error_body(field=None, message="invalid input", code="invalid")
    field, texts = next(iter(details.items()))
    return error_body(field=field, message=texts[0], code="invalid", details=details)


def _flatten(detail: Any, prefix: str = "") -> list[tuple[str, str, str]]:
    """(field path, message, code) for every message in a DRF error detail, in order."""
    if isinstance(detail, dict):
        found = []
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__"):
                path = prefix
            elif isinstance(key, int):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            found += _flatten(value, path)
        return found
    if isinstance(detail, list):
        if any(isinstance(item, (dict, list)) for item in detail):
            found = []
            for index, item in enumerate(detail):
                if item:
                    found += _flatten(
                        item if isinstance(item, (dict, list)) else [item], f"{prefix}[{index}]"
                    )
            return found
        return [(prefix, str(item), getattr(item, "code", "invalid")) for item in detail]
    return [(prefix, str(detail), getattr(detail, "code", "invalid"))]


def _auth_field(exc: exceptions.APIException) -> str | None:
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        return "Authorization"
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return "Content-Type"
    if isinstance(exc, exceptions.ParseError):
        return "body"
    return None


def error_body(*, field: str | None, message: str, code: str, details: dict | None = None) -> dict:
    """The one error shape (above): every error answer of the API is built here."""
    if field and not message.startswith(f"{field}:"):
        message = f"{field}: {message}"
    error: dict[str, Any] = {"field": field, "message": message, "code": code}
    if details:
        error["details"] = details
    return {"error": error}


def error_response(*, status: int, message: str, code: str, field: str | None = None) -> JsonResponse:
    """An error of the API answered outside DRF's views, in the one shape: unknown paths, Django's
    own error pages (core.api.middleware), the routing's unknown host and suspended brand
    (tenants.middleware)."""
    return JsonResponse(error_body(field=field, message=message, code=code), status=status)


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's exception handler, answering every API error in the one shape above."""
    # Imported here: rest_framework.views loads the authentication classes of the settings, which
    # import this module (the API-key authentication raises ApiError).
    from rest_framework.views import set_rollback

    if isinstance(exc, DomainError):
        exc = domain_error_as_api(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, RequestDataTooBig):  # raised by Django when DRF reads the body, unread
        exc = ApiError(
            field="body", message=f"at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes", status_code=413
        )
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's 500 handling (logged), never dressed up as a client error

    headers = {}
    if auth_header := getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = auth_header
    if wait := getattr(exc, "wait", None):
        headers["Retry-After"] = str(math.ceil(wait))

    if isinstance(exc, exceptions.NotAuthenticated):
        exc = ApiError(
            field="Authorization",
            message="an 'Api-Key <key>' header of this brand is required",
            status_code=exc.status_code,
            code="not_authenticated",
        )
    elif isinstance(exc, exceptions.Throttled):
        exc = ApiError(
            field=None,
            message=f"this API key is over its rate limit; retry in {headers.get('Retry-After', 60)} s",
            status_code=exc.status_code,
            code="throttled",
        )
    if isinstance(exc, ApiError):
        body = error_body(field=exc.field, message=exc.message, code=exc.code)
    else:
        messages = _flatten(exc.detail)
        field: str | None
        field, message, code = messages[0] if messages else ("", str(exc.detail), "error")
        field = field or _auth_field(exc) or ("body" if isinstance(exc, exceptions.ValidationError) else None)
        details: dict[str | None, list[str]] | None = None
        if isinstance(exc, exceptions.ValidationError):
            details = {}
            for path, text, _code in messages:
                details.setdefault(path or field, []).append(text)
        body = error_body(field=field, message=message, code=code, details=details)
    set_rollback()
    return Response(body, status=exc.status_code, headers=headers)


@csrf_exempt  # a POST to an unknown path is a 404 too, not Django's HTML page for a missing CSRF token
def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Unknown paths under /api/v1/ answer in the API's error shape, not with the HTML 404 page."""
    return error_response(status=404, message=f"no API endpoint at {request.path}", code="not_found")
