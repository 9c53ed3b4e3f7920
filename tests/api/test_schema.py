"""The OpenAPI schema of the brand API: valid OpenAPI 3.1, every operation described in its own
words, every operation listing its error answers in the one error shape."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from core.api.base import BrandApi

METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def test_the_schema_is_valid_openapi_3_1(schema):
    assert schema["openapi"].startswith("3.1")
    validate_schema(schema)  # raises on the first problem


def test_every_operation_has_its_own_summary_and_description(schema):
    base_docs = {doc.strip() for doc in [BrandApi.__doc__ or ""] if doc.strip()}
    missing = {
        name: (operation.get("summary"), operation.get("description"))
        for name, operation in operations(schema)
        if not operation.get("summary", "").strip()
        or not operation.get("description", "").strip()
        or operation["description"].strip() in base_docs
    }
    assert missing == {}
    descriptions = [operation["description"] for _, operation in operations(schema)]
    repeated = {text for text in descriptions if descriptions.count(text) > 1}
    assert repeated == set(), "each operation is described in its own words"


def _errors(operation: dict) -> dict:
    return {status: response for status, response in operation["responses"].items() if status[0] == "4"}


def test_every_operation_lists_its_errors_in_the_error_shape(schema):
    wrong = {}
    for name, operation in operations(schema):
        errors = _errors(operation)
        statuses = set(errors)
        expected = {"401", "403", "429"} if operation.get("security") else set()
        if "requestBody" in operation:
            expected |= {"400", "413"}
        if "{" in name:
            expected.add("400")  # a value the path cannot hold (a NUL)
        shapes = {
            status: response.get("content", {}).get("application/json", {}).get("schema")
            for status, response in errors.items()
        }
        if not expected <= statuses or any(
            shape != {"$ref": "#/components/schemas/Error"} for shape in shapes.values()
        ):
            wrong[name] = (sorted(statuses), shapes)
    assert wrong == {}


def test_the_error_shape_is_the_one_the_handler_writes(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    detail_ref = error["properties"]["error"]["$ref"].rsplit("/", 1)[-1]
    detail = schema["components"]["schemas"][detail_ref]
    assert set(detail["properties"]) == {"field", "message", "code", "details"}
    assert set(detail["required"]) == {"field", "message", "code"}


def test_refusals_of_a_redemption_are_listed_with_their_codes(schema):
    refused = schema["paths"]["/api/v1/members/{external_id}/redemptions"]["post"]["responses"]["422"]
    for code in ("insufficient_points", "out_of_stock", "limit_reached", "not_your_tier"):
        assert f"`{code}`" in refused["description"]


def test_conditions_items_and_awards_come_from_the_engine(schema):
    from loyalty import engine
    from loyalty.models import EarningRule

    schemas = schema["components"]["schemas"]
    rule = schemas["Rule"]["properties"]
    condition = rule["conditions"]["items"]["properties"]
    assert condition["op"]["enum"] == list(engine.OPERATORS)
    assert condition["field"]["examples"] == list(engine.EVENT_FIELDS)
    for name in engine.EVENT_FIELDS:
        assert f"`{name}`" in condition["field"]["description"]
    assert rule["item_conditions"]["items"]["properties"]["field"]["examples"] == list(engine.ITEM_FIELDS)
    award = rule["award_type"].get("$ref") or rule["award_type"]["allOf"][0]["$ref"]
    award_enum = schemas[award.rsplit("/", 1)[-1]]["enum"]
    assert award_enum == list(EarningRule.Award.values)
    event = schemas["EventInput"]["properties"]["attributes"]
    assert set(event["properties"]["items"]["items"]["properties"]) == set(engine.ITEM_FIELDS)


def test_replayable_operations_document_the_replay_header(schema):
    for path, method in [
        ("/api/v1/events", "post"),
        ("/api/v1/members/{external_id}/adjustments", "post"),
        ("/api/v1/members/{external_id}/redemptions", "post"),
    ]:
        created = schema["paths"][path][method]["responses"]["201"]
        assert "Idempotent-Replayed" in created["headers"], path
    assert "Idempotent-Replayed" in schema["info"]["description"]
