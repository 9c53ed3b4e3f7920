"""Lists of the brand API: paged with `limit` and `offset`, answered as `{count, next, previous,
results}`. One paginator for every list, the API's default (REST_FRAMEWORK's
DEFAULT_PAGINATION_CLASS): a generic list view pages with it by itself, an APIView mixes in
`PagedApi`; either way the schema documents the envelope. A view allows pages larger than 200
with `page_max_limit`."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer


class BrandPagination(LimitOffsetPagination):
    """`limit`: PAGE_SIZE (50) unless given, at most the view's `page_max_limit` (200 unless it
    says; more is read as the most); `offset`: from 0 (past the end: an empty page, no query)."""

    max_limit = 200

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list | None:
        self.max_limit = _max_limit(view, default=self.max_limit)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["description"] = (
                    f"how many results the page holds: {self.default_limit} unless given, at most "
                    f"{_max_limit(view, default=self.max_limit)} (a larger limit gives that many)"
                )
            elif parameter["name"] == self.offset_query_param:
                parameter["description"] = "how many results to skip, from the first (0 unless given)"
        return parameters


def _max_limit(view: Any, *, default: int) -> int:
    return getattr(view, "page_max_limit", default)


class PagedApi:
    """Mixed into an APIView whose lists are paged (a generic ListAPIView pages by itself): its
    list answers are the envelope, in the schema too."""

    pagination_class = BrandPagination

    def paginated(
        self, request: Request, queryset: QuerySet, serializer_class: type[BaseSerializer], **context: Any
    ) -> Response:
        """The page of `queryset` the request asks for, each item by `serializer_class` (with the
        request and `context` in its context)."""
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        data = serializer_class(page, many=True, context={"request": request, **context}).data
        return paginator.get_paginated_response(data)
