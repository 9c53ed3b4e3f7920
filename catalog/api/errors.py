"""Catalogue errors in the brand API's one error shape (loyalty.api.errors)."""

from __future__ import annotations

from rest_framework import status

from catalog.services import (
    CatalogError,
    CatalogInputError,
    IdempotencyConflict,
    OrderTransitionError,
    RedemptionRefused,
)
from loyalty.api.errors import ApiError, api_exception_handler

# Refusals of well-formed requests (not enough points, out of stock...) are 422; conflicts 409.
CATALOG_STATUS = [
    (RedemptionRefused, status.HTTP_422_UNPROCESSABLE_ENTITY),
    (IdempotencyConflict, status.HTTP_409_CONFLICT),
    (OrderTransitionError, status.HTTP_409_CONFLICT),
    (CatalogInputError, status.HTTP_400_BAD_REQUEST),
]


def catalog_exception_handler(exc: Exception, context: dict):
    if isinstance(exc, CatalogError):
        http_status = next((code for kind, code in CATALOG_STATUS if isinstance(exc, kind)), 400)
        if exc.code == "not_found" and exc.field in ("member", "order"):
            http_status = status.HTTP_404_NOT_FOUND
        exc = ApiError(field=exc.field or None, message=exc.message, status_code=http_status, code=exc.code)
    return api_exception_handler(exc, context)
