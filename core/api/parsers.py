"""Parsers of upload endpoints, beside the API's JSON parser (`core.api.base`), with its guarantees:
a body over its size limit is a 413 before it is read, anything unreadable a 400, both in the API's
error shape and naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework.parsers import BaseParser, MultiPartParser

from core.api.errors import ApiError

# What a multipart body holds besides the file: boundaries, headers, its other small fields.
MULTIPART_OVERHEAD = 64 * 1024


def content_length(parser_context: Mapping[str, Any] | None) -> int:
    """The request's declared body length (0 when it declares none or nonsense)."""
    request = (parser_context or {}).get("request")
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
    except ValueError:
        return 0


def file_too_large(*, field: str, max_bytes: int) -> ApiError:
    """The 413 of a file over `max_bytes`, naming its field and the limit in words."""
    limit = f"{max_bytes // 1024 // 1024} MB" if max_bytes >= 1024 * 1024 else f"{max_bytes // 1024} KB"
    return ApiError(field=field, message=f"at most {limit}", status_code=413, code="too_large")


class CsvParser(BaseParser):
    """A `text/csv` (or `text/plain`) body, as bytes: at most DATA_UPLOAD_MAX_MEMORY_SIZE (413,
    the JSON bodies' limit)."""

    media_type = "text/*"

    # The stubs want a mapping; DRF hands `request.data` whatever the parser answers (bytes here).
    def parse(  # type: ignore[override]
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and content_length(parser_context) > limit:
            raise RequestDataTooBig("the body is over DATA_UPLOAD_MAX_MEMORY_SIZE")
        content = stream.read(limit + 1 if limit is not None else -1) if stream is not None else b""
        if limit is not None and len(content) > limit:  # a body sent without its length
            raise RequestDataTooBig("the body is over DATA_UPLOAD_MAX_MEMORY_SIZE")
        return content


class FileUploadParser(MultiPartParser):
    """`multipart/form-data` with one file in `field`: a body larger than `max_bytes` allows is
    refused (413) before it is read; its other fields are bounded by Django's limits. Subclasses
    set `field` and `max_bytes`."""

    field = "file"
    max_bytes = 0

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        if content_length(parser_context) > self.max_bytes + MULTIPART_OVERHEAD:
            raise file_too_large(field=self.field, max_bytes=self.max_bytes)
        return super().parse(stream, media_type, parser_context)
