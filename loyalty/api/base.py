"""What every view of the brand API shares: JSON only, the one error shape, the idempotency header."""

from __future__ import annotations

from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from core.api.errors import ApiError
from core.text import NUL, NUL_MESSAGE
from loyalty.api.parsing import MAX_KEY_LENGTH, ApiJSONParser
from loyalty.models import Member
from loyalty.selectors.members import member_get

IDEMPOTENCY_HEADER = "Idempotency-Key"


class BrandApi:
    """Mixed into every API view (before the DRF view class)."""

    parser_classes = [ApiJSONParser]
    renderer_classes = [JSONRenderer]

    def initial(self, request: Request, *args, **kwargs) -> None:
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
    if len(key) > MAX_KEY_LENGTH:
        raise ApiError(field=IDEMPOTENCY_HEADER, message=f"at most {MAX_KEY_LENGTH} characters")
    if not key.isascii():
        raise ApiError(field=IDEMPOTENCY_HEADER, message="ASCII only")
    if not key.isprintable():
        raise ApiError(field=IDEMPOTENCY_HEADER, message="printable ASCII only, no control characters")
    return key


def member_or_404(external_id: str) -> Member:
    member = member_get(external_id=external_id)
    if member is None:
        raise ApiError(
            field="external_id", message=f"no member with external id '{external_id}'", status_code=404
        )
    return member
