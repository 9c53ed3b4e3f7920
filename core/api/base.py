"""What every view of a brand API shares: JSON only (bodies Python and PostgreSQL can take), the one
error shape, the idempotency header."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from rest_framework.exceptions import ParseError

# get_encoding (text charsets only) is DRF 3.18's: the 3.16 stubs, the last for Django 5.2, lack it.
from rest_framework.parsers import JSONParser, get_encoding  # type: ignore[attr-defined]
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.json import strict_constant
from rest_framework.views import APIView

from core.api.errors import ApiError
from core.limits import IDEMPOTENCY_KEY_MAX_LENGTH
from core.text import MAX_JSON_DEPTH, NUL, NUL_MESSAGE, json_too_deep, nul_path

T = TypeVar("T")
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"  # Stripe's convention, on the answer to a replayed request
_TOO_DEEP = f"nested deeper than {MAX_JSON_DEPTH} levels of arrays and objects"


class ApiJSONParser(JSONParser):
    """JSON bodies of the API, refused when Python or PostgreSQL could not take them: nested deeper
    than MAX_JSON_DEPTH (or so deep that Python's parser gives up), NaN or Infinity, a NUL character
    anywhere (named by its path). Each a 400 in the API's error shape. (A body over
    DATA_UPLOAD_MAX_MEMORY_SIZE is refused before, unread: `RequestDataTooBig`, a 413.)"""

    item_checks = False  # True: depth and NUL are checked per item by the service (a batch)

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            text = stream.read().decode(get_encoding(parser_context or {}))
            data = json.loads(text, parse_constant=strict_constant)
        except RecursionError:
            raise ApiError(field="body", message=_TOO_DEEP) from None
        except ValueError as error:  # UnicodeDecodeError and JSONDecodeError included
            raise ParseError(f"JSON parse error - {error}") from None
        if self.item_checks:
            return data
        if json_too_deep(text, limit=MAX_JSON_DEPTH):
            raise ApiError(field="body", message=_TOO_DEEP)
        if "\\u0000" in text:
            path = nul_path(data, path="")
            if path is not None:
                raise ApiError(field=path or "body", message=NUL_MESSAGE)
        return data


class BrandApi(APIView):
    """Mixed into every API view (before the DRF view class)."""

    # The area of the API the view belongs to (`core.models.apikeys.API_SCOPE_AREAS`): a key needs
    # `<area>:read` to read it, `<area>:write` for any other method (`core.api.auth.HasApiKey`).
    api_scope: str = ""
    parser_classes = [ApiJSONParser]
    renderer_classes = [JSONRenderer]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """After authentication: the values in the path (`/members/a%00b`) are text PostgreSQL takes."""
        super().initial(request, *args, **kwargs)
        for name, value in kwargs.items():
            if isinstance(value, str) and NUL in value:
                raise ApiError(field=name, message=NUL_MESSAGE)


def idempotency_key_get(request: Request, *, required: bool) -> str | None:
    """The request's `Idempotency-Key` header, checked."""
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key:
        if required:
            raise ApiError(
                field=IDEMPOTENCY_HEADER,
                message="this header is required: a key unique to this event, sent again on retries",
            )
        return None
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise ApiError(field=IDEMPOTENCY_HEADER, message=f"at most {IDEMPOTENCY_KEY_MAX_LENGTH} characters")
    if not key.isascii():
        raise ApiError(field=IDEMPOTENCY_HEADER, message="ASCII only")
    if not key.isprintable():
        raise ApiError(field=IDEMPOTENCY_HEADER, message="printable ASCII only, no control characters")
    return key


def replayable_response(data: Any, *, status_code: int, replayed: bool) -> Response:
    """The answer to a request that honours an `Idempotency-Key`: a replay answers the original
    status and body, with `Idempotent-Replayed: true` (the API description says so)."""
    response = Response(data, status=status_code)
    if replayed:
        response[REPLAYED_HEADER] = "true"
    return response


def found_or_404(value: T | None, *, field: str, message: str) -> T:
    """`value`, or the API's 404 naming the path's `field` when the lookup found nothing."""
    if value is None:
        raise ApiError(field=field, message=message, status_code=404)
    return value
