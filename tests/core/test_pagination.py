"""The API's one paginator (core.api.pagination): every list answers `{count, next, previous,
results}`, 50 a page unless `limit` says, at most the view's maximum (200 for the catalogue, 500
for a ledger), an offset past the end an empty page; and the schema documents that envelope."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.catalog.factories import gift_make
from tests.factories import member_make

ENVELOPE = {"count", "next", "previous", "results"}
LISTS = {  # path: the most a page holds
    "/api/v1/gifts": 200,
    "/api/v1/members/P-1/redemptions": 200,
    "/api/v1/members/P-1/ledger": 500,
}


@pytest.fixture
def api(api_a, in_a):
    member_make("P-1", points=30)
    for index in range(3):
        gift_make(reference=f"P-{index}")
    return api_a


@pytest.mark.parametrize(("path", "most"), LISTS.items())
def test_lists_page_50_by_default_at_most_their_maximum(api, path, most):
    body = api.get(path).json()
    assert set(body) == ENVELOPE
    assert body["count"] == len(body["results"]) and body["previous"] is None
    # `previous` names the limit the page was read with (the one asked for, or the default, or the most).
    assert "limit=50" in api.get(f"{path}?offset=1").json()["previous"]
    assert "limit=2" in api.get(f"{path}?offset=1&limit=2").json()["previous"]
    assert f"limit={most}" in api.get(f"{path}?offset=1&limit=100000").json()["previous"]
    assert f"limit={most}" in api.get(f"{path}?offset=1&limit={most}").json()["previous"]


@pytest.mark.parametrize("path", LISTS)
def test_an_offset_past_any_list_is_an_empty_page(api, path):
    response = api.get(f"{path}?offset=99999999999999999999999")
    assert response.status_code == 200, response.content
    assert response.json()["results"] == []


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.mark.parametrize(
    ("path", "most"),
    [
        ("/api/v1/gifts", 200),
        ("/api/v1/members/{external_id}/redemptions", 200),
        ("/api/v1/members/{external_id}/ledger", 500),
    ],
)
def test_the_schema_documents_the_envelope_and_the_limits(schema, path, most):
    operation = schema["paths"][path]["get"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert set(page["properties"]) == ENVELOPE
    assert page["properties"]["results"]["type"] == "array"
    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert f"at most {most}" in parameters["limit"]["description"]
    assert "offset" in parameters
