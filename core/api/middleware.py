"""Every error answer of the brand API in its one JSON error shape, including those the API's exception
handler does not write: Django's 500 page, the 405 and 404 pages of the schema and docs views."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from core.api.errors import error_response

API_PREFIX = "/api/v1/"  # what is under it is the brand API: its errors are JSON in the one shape
_BODY_HEADERS = ("content-type", "content-length")


class ApiErrorsAsJsonMiddleware:
    """An error (4xx, 5xx) under /api/v1/ that is not JSON is answered again as JSON, same status,
    the error's reason as message (a 500 is logged by Django before it gets here)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path_info.startswith(API_PREFIX)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return _as_json(response, request=request)
        return response


def _as_json(response: HttpResponse, *, request: HttpRequest) -> JsonResponse:
    reason = response.reason_phrase
    message = f"{reason} ({request.method} {request.path_info})"
    answer = error_response(
        status=response.status_code, message=message, code=reason.lower().replace(" ", "_")
    )
    for name, value in response.items():  # Allow, Retry-After, the security headers...
        if name.lower() not in _BODY_HEADERS:
            answer[name] = value
    answer.cookies = response.cookies
    return answer
