"""Parsers of the catalogue's upload endpoints, beside the API's JSON parser (`core.api.base`), with
its guarantees: a body over its size limit is a 413 before it is read, anything unreadable a 400,
both in the API's error shape and naming the field."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework.parsers import BaseParser, MultiPartParser

from catalog.services import PHOTO_MAX_BYTES
from core.api.errors import ApiError

# What a multipart body holds besides the image: boundaries, headers, alt_text, position.
MULTIPART_OVERHEAD = 64 * 1024


def _content_length(parser_context: dict | None) -> int:
    request = (parser_context or {}).get("request")
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
    except ValueError:
        return 0


class CsvParser(BaseParser):
    """A `text/csv` (or `text/plain`) body, as bytes: at most DATA_UPLOAD_MAX_MEMORY_SIZE (413,
    the JSON bodies' limit)."""

    media_type = "text/*"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and _content_length(parser_context) > limit:
            raise RequestDataTooBig("the body is over DATA_UPLOAD_MAX_MEMORY_SIZE")
        content = stream.read(limit + 1 if limit is not None else -1) if stream is not None else b""
        if limit is not None and len(content) > limit:  # a body sent without its length
            raise RequestDataTooBig("the body is over DATA_UPLOAD_MAX_MEMORY_SIZE")
        return content


class PhotoParser(MultiPartParser):
    """`multipart/form-data` with one image: a body larger than the photo limit allows is refused
    (413, field `image`) before it is read; its other fields are bounded by Django's limits."""

    def parse(self, stream, media_type=None, parser_context=None):
        if _content_length(parser_context) > PHOTO_MAX_BYTES + MULTIPART_OVERHEAD:
            raise photo_too_large()
        return super().parse(stream, media_type, parser_context)


def photo_too_large() -> ApiError:
    return ApiError(
        field="image",
        message=f"at most {PHOTO_MAX_BYTES // 1024 // 1024} MB",
        status_code=413,
        code="too_large",
    )
