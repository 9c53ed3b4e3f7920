"""What the OpenAPI schema of the brand API says about every operation, in one place: the one error
shape (`core.api.errors`) as a component, `error_responses` for the errors an operation answers and
the codes it may give, and the post-processing hook that adds what every operation shares (the
authentication and rate-limit errors, the parser's 400 and 413, the `Idempotent-Replayed` header).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from drf_spectacular.plumbing import get_lib_doc_excludes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from core.api.base import IDEMPOTENCY_HEADER, REPLAYED_HEADER

if TYPE_CHECKING:
    from drf_spectacular.generators import SchemaGenerator
    from rest_framework.request import Request


class ErrorDetailSerializer(serializers.Serializer):
    field = serializers.CharField(
        allow_null=True,
        help_text="the field or header at fault, as a dotted path (`events[3].occurred_at`); "
        "null when no field is (throttling, an unknown path)",
    )
    message = serializers.CharField(help_text="for a person: starts with the field's name when there is one")
    code = serializers.CharField(help_text="for a program: stable, as `invalid` or `insufficient_points`")
    details = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="every field's messages, when validation found several",
    )


class ErrorSerializer(serializers.Serializer):
    """The one shape of every error answer of the API (`core/api/errors.py`)."""

    error = ErrorDetailSerializer()


# What each status means, whatever the operation; an operation adds its own `why` and codes.
STATUS_MEANING = {
    400: "bad input, nothing written: `error.field` names the field (a path such as `items[0].gift_id`)",
    401: "no `Authorization: Api-Key <key>` header, or a key unknown or revoked for this brand",
    403: "the key may not do this: it lacks the operation's scope (`scope_missing`, the message names "
    "it), or the brand is suspended",
    404: "not found: `error.field` names what was looked for",
    409: "conflicts with what is recorded",
    413: "the body is over the size limit",
    422: "well-formed, but refused by the programme's rules; nothing written",
    429: "over the key's rate limit, or too many unknown keys from this address: see `Retry-After`",
}
STATUS_CODES = {
    400: ["invalid", "required", "unknown_field"],
    401: ["not_authenticated", "authentication_failed"],
    403: ["scope_missing", "permission_denied", "forbidden"],
    404: ["not_found"],
    413: ["too_large"],
    429: ["throttled"],
}
AUTHENTICATED = (401, 403, 429)  # every operation that takes an API key
WITH_BODY = (400, 413)  # every operation that reads a body, or a value in its path


def _description(status: int, why: str | None, codes: Iterable[str]) -> str:
    text = why or STATUS_MEANING[status]
    listed = ", ".join(f"`{code}`" for code in codes)
    return f"{text}. `error.code`: {listed}" if listed else text


def error_responses(
    *statuses: int, codes: Mapping[int, Iterable[str]] | None = None, why: Mapping[int, str] | None = None
) -> dict[int, OpenApiResponse]:
    """The error answers of an operation, in the error shape, for `extend_schema(responses=...)`:
    `error_responses(400, 404, 422, codes={422: ["insufficient_points"]}, why={404: "no such member"})`.
    The errors every operation shares (401, 403, 429; 400 and 413 where a body is read) are added
    by `schema_complete`."""
    codes, why = codes or {}, why or {}
    return {
        status: OpenApiResponse(
            ErrorSerializer,
            description=_description(
                status,
                why.get(status),
                codes.get(status, STATUS_CODES.get(status, ())),
            ),
        )
        for status in statuses
    }


def doc_excludes() -> list:
    """Classes whose docstrings never describe an operation or a shape (SPECTACULAR_SETTINGS
    `GET_LIB_DOC_EXCLUDES`): the library's, and our bases', whose docstrings are for developers."""
    from core.api.base import BrandApi

    return [*get_lib_doc_excludes(), BrandApi]


def _error_response(status: int) -> dict:
    return {
        "description": _description(status, None, STATUS_CODES.get(status, ())),
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _scopes_by_operation(generator: SchemaGenerator) -> dict[tuple[str, str], str]:
    """The scope each operation needs (`core.apikeys.api_scope_needed`), by path and method."""
    from core.apikeys import api_scope_needed

    found = {}
    for path, _regex, method, callback in getattr(generator, "endpoints", None) or ():
        view = getattr(callback, "cls", None)
        if view is not None and hasattr(view, "api_scope"):
            found[(path, method.upper())] = api_scope_needed(view=view, method=method)
    return found


def schema_complete(result: dict, generator: SchemaGenerator, request: Request | None, public: bool) -> dict:
    """Post-processing hook (SPECTACULAR_SETTINGS): every operation with an API key names the
    scope it needs (in its description and `x-api-scope`) and lists 401, 403 and 429; one with a
    body or a path parameter lists 400 (the parser's checks, a NUL in a path) and, with a body,
    413; one that honours an `Idempotency-Key` documents the `Idempotent-Replayed` header of its
    2xx answers."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})
    if "Error" not in components["schemas"]:  # every operation refers to it, even if none names it
        from drf_spectacular.openapi import AutoSchema

        components["schemas"]["Error"] = AutoSchema()._map_serializer(ErrorSerializer(), "response")
    components.setdefault("headers", {})[REPLAYED_HEADER] = {
        "description": "`true` when the answer is a replay: this `Idempotency-Key` was seen before "
        "and nothing was written; the status and body are the original ones",
        "schema": {"type": "string", "enum": ["true"]},
    }
    scopes = _scopes_by_operation(generator)
    for path, path_item in result.get("paths", {}).items():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            scope = scopes.get((path, method.upper()))
            if scope and operation.get("security"):
                operation["x-api-scope"] = scope
                operation["description"] = (
                    f"{operation.get('description', '').rstrip()}\n\n**API key scope**: `{scope}`."
                )
            responses = operation["responses"]
            parameters = operation.get("parameters", [])
            added: list[int] = []
            if operation.get("security") and any("ApiKey" in item for item in operation["security"]):
                added += AUTHENTICATED
            if "requestBody" in operation:
                added += WITH_BODY
            elif any(parameter.get("in") == "path" for parameter in parameters):
                added.append(400)
            for status in added:
                responses.setdefault(str(status), _error_response(status))
            if any(parameter.get("name") == IDEMPOTENCY_HEADER for parameter in parameters):
                for status, response in responses.items():
                    if status.startswith("2"):
                        response.setdefault("headers", {})[REPLAYED_HEADER] = {
                            "$ref": f"#/components/headers/{REPLAYED_HEADER}"
                        }
            operation["responses"] = dict(sorted(responses.items()))
    return result
