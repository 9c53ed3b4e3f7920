"""REST API under a probe: bad input (NUL characters, deep JSON, dates at the edge of the range or not
plausible, loose amounts, unknown language or country codes, non-ASCII keys, oversized bodies) gets
a 4xx in the one error shape naming the field, with nothing written; every error of /api/v1/ is
JSON; and one bad event of a batch is refused in its own answer while the others are recorded."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from catalog.models import Order
from loyalty.models import ActivityEvent, EarningRule, LedgerEntry, Member, Tier
from loyalty.services.rules import rule_create
from tests.conftest import host_of
from tests.support import error_of

PER_EURO = {"name": "1 point per euro", "event_type": "purchase", "award_type": "per_amount",
            "points_per_unit": "1"}  # fmt: skip
PURCHASE = {
    "member": "H-1",
    "type": "purchase",
    "occurred_at": "2026-03-02T10:15:00+01:00",
    "attributes": {"amount": "42.50", "currency": "EUR"},
}


@pytest.fixture
def api(api_a, in_a):
    """Brand A with a per-euro rule and member H-1; server errors come back as responses."""
    rule_create(data=PER_EURO)
    Member.objects.create(external_id="H-1", joined_at=timezone.now())
    Tier.objects.create(code="silver", name="Silver", threshold=100)
    return replace(api_a, raise_errors=False)


def _written(api) -> tuple[int, ...]:
    """What the brand's tables hold (the requests move the connection to a schema of their own)."""
    connection.set_tenant(api.brand)
    return (
        ActivityEvent.objects.count(),
        LedgerEntry.objects.count(),
        Member.objects.count(),
        Tier.objects.count(),
        EarningRule.objects.count(),
        Order.objects.count(),
    )


def _key() -> dict:
    return {"Idempotency-Key": f"h-{uuid.uuid4().hex}"}


def _refused(response, field: str, status: int = 400) -> dict:
    error = error_of(response, status)
    assert error["field"] == field, error
    return error


# --- NUL characters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"member": "H\x00-1"}, "member"),
        ({"type": "purch\x00ase"}, "type"),
        ({"attributes": {"amount": "1", "note": "a\x00b"}}, "attributes.note"),
        ({"attributes": {"amount": "1", "no\x00te": "ab"}}, "attributes"),
        ({"attributes": {"amount": "1", "deep": {"list": ["ok", "\x00"]}}}, "attributes.deep.list[1]"),
        (
            {"attributes": {"items": [{"sku": "S\x001", "quantity": 1, "unit_price": "2"}]}},
            "attributes.items[0].sku",
        ),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/simulate"])
def test_nul_in_an_event_is_400_naming_the_field(api, path, change, field):
    before = _written(api)
    _refused(api.post(path, {**PURCHASE, **change}, headers=_key()), field)
    assert _written(api) == before


def test_nul_in_the_idempotency_key_is_400(api):
    before = _written(api)
    _refused(api.post("/api/v1/events", PURCHASE, headers={"Idempotency-Key": "k\x00"}), "Idempotency-Key")
    assert _written(api) == before


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/api/v1/tiers", {"code": "gold", "name": "G\x00ld", "threshold": "500"}, "name"),
        ("put", "/api/v1/tiers/silver", {"name": "S\x00"}, "name"),
        ("get", "/api/v1/tiers/a%00b", None, "code"),
        ("post", "/api/v1/rules", {**PER_EURO, "name": "r\x00"}, "name"),
        (
            "post",
            "/api/v1/rules",
            {**PER_EURO, "conditions": [{"field": "attributes.shop", "op": "equals", "value": "a\x00"}]},
            "conditions[0].value",
        ),
        ("put", "/api/v1/members/H-1", {"first_name": "A\x00"}, "first_name"),
        ("put", "/api/v1/members/H-1", {"tags": ["vip", "\x00"]}, "tags[1]"),
        ("put", "/api/v1/members/H-1", {"consents": {"e\x00mail": True}}, "consents"),
        ("put", "/api/v1/members/a%00b", {"first_name": "A"}, "external_id"),
        ("get", "/api/v1/members/a%00b", None, "external_id"),
        ("get", "/api/v1/members/a%00b/ledger", None, "external_id"),
        ("post", "/api/v1/members/a%00b/adjustments", {"points": 5, "reason": "x"}, "external_id"),
        ("post", "/api/v1/members/H-1/adjustments", {"points": 5, "reason": "x\x00"}, "reason"),
        ("get", "/api/v1/members/a%00b/redemptions", None, "external_id"),
        ("post", "/api/v1/members/a%00b/redemptions", {"items": [{"gift_id": 1}]}, "external_id"),
        (
            "post",
            "/api/v1/members/H-1/redemptions",
            {"items": [{"gift_id": 1}], "shipping_address": {"name": "\x00"}},
            "shipping_address.name",
        ),
        ("get", "/api/v1/gifts?search=a%00b", None, "search"),
        ("get", "/api/v1/gifts?member=a%00b", None, "member"),
        ("post", "/api/v1/orders/1/status", {"status": "shipped", "note": "\x00"}, "note"),
    ],
)
def test_nul_anywhere_else_is_400_naming_the_field(api, method, path, body, field):
    before = _written(api)
    if method == "get":
        response = api.get(path)
    else:
        response = api.send(method, path, body, headers=_key())
    _refused(response, field)
    assert _written(api) == before


# --- deep JSON ----------------------------------------------------------------------------------

WRITING = [
    ("post", "/api/v1/events"),
    ("post", "/api/v1/events/batch"),
    ("post", "/api/v1/simulate"),
    ("put", "/api/v1/members/H-1"),
    ("post", "/api/v1/members/H-1/adjustments"),
    ("post", "/api/v1/rules"),
    ("post", "/api/v1/tiers"),
    ("post", "/api/v1/members/H-1/redemptions"),
]


def _nested(depth: int) -> str:
    """A JSON text `depth` levels deep, lists and objects alternating, with brackets in strings."""
    text = '"[[{"'
    for level in range(depth):
        text = f"[{text}]" if level % 2 else f'{{"a": {text}, "b": "}}]"}}'
    return text


@pytest.mark.parametrize(("method", "path"), WRITING)
def test_json_nested_too_deep_is_400_at_parsing(api, method, path):
    before = _written(api)
    for depth in (1000, 33):
        if depth == 33 and path == "/api/v1/events/batch":
            continue  # refused item by item: test_an_event_nested_too_deep_is_refused_in_a_batch
        error = _refused(api.send(method, path, raw=_nested(depth), headers=_key()), "body")
        assert "nested" in error["message"], error
    assert _written(api) == before


@pytest.mark.parametrize("depth", [31, 32])
def test_json_up_to_32_levels_is_read(api, depth):
    error = error_of(api.post("/api/v1/tiers", raw=_nested(depth)), 400)
    assert "nested" not in error["message"], error  # read, then refused as no tier
    attributes = {"amount": "1", "deep": json.loads(_nested(28))}  # the most an event's attributes nest
    assert (
        api.post("/api/v1/events", {**PURCHASE, "attributes": attributes}, headers=_key()).status_code == 201
    )


def test_an_event_nested_too_deep_is_refused_in_a_batch(api):
    events = [
        {**PURCHASE, "id": "d-ok", "attributes": {"amount": "1", "deep": json.loads(_nested(28))}},
        {**PURCHASE, "id": "d-deep", "attributes": {"amount": "1", "deep": json.loads(_nested(29))}},
    ]
    results = api.post("/api/v1/events/batch", {"events": events}).json()["results"]
    assert results[0]["points_awarded"] == 1
    assert (results[1]["error"]["field"], results[1]["error"]["status"]) == ("attributes", 400)
    connection.set_tenant(api.brand)
    assert list(ActivityEvent.objects.values_list("idempotency_key", flat=True)) == ["d-ok"]


# --- dates --------------------------------------------------------------------------------------

EDGES = [
    "9999-12-31T23:59:59+00:00",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00+00:00",
]


def _iso(delta: timedelta) -> str:
    return (timezone.now() + delta).isoformat()


@pytest.mark.parametrize("occurred_at", [*EDGES, "future", "past"])
@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/simulate"])
def test_dates_out_of_range_or_not_plausible_are_400(api, path, occurred_at):
    ahead = timedelta(days=3653) if path == "/api/v1/simulate" else timedelta(minutes=6)
    occurred_at = {"future": _iso(ahead), "past": _iso(-timedelta(days=3653))}.get(occurred_at, occurred_at)
    before = _written(api)
    _refused(api.post(path, {**PURCHASE, "occurred_at": occurred_at}, headers=_key()), "occurred_at")
    assert _written(api) == before


def test_plausible_dates_are_recorded(api):
    for delta in (timedelta(minutes=4), -timedelta(days=3640)):
        response = api.post("/api/v1/events", {**PURCHASE, "occurred_at": _iso(delta)}, headers=_key())
        assert response.status_code == 201, response.content


def test_an_event_of_next_month_can_be_simulated(api):
    body = {**PURCHASE, "occurred_at": _iso(timedelta(days=30))}
    response = api.post("/api/v1/simulate", body)
    assert (response.status_code, response.json()["points_awarded"]) == (200, 42), response.content


def test_the_plausible_span_is_a_setting(api, settings):
    settings.EVENTS_MAX_AGE_DAYS = 30
    settings.EVENTS_MAX_AHEAD_SECONDS = 0
    for delta in (-timedelta(days=31), timedelta(seconds=30)):
        body = {**PURCHASE, "occurred_at": _iso(delta)}
        _refused(api.post("/api/v1/events", body, headers=_key()), "occurred_at")
    body = {**PURCHASE, "occurred_at": _iso(-timedelta(days=29))}
    assert api.post("/api/v1/events", body, headers=_key()).status_code == 201


# --- amounts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "field"),
    [
        ({"amount": "1_000"}, "attributes.amount"),
        ({"amount": " 12 "}, "attributes.amount"),
        ({"amount": "12."}, "attributes.amount"),
        ({"amount": ".5"}, "attributes.amount"),
        ({"amount": "1e3"}, "attributes.amount"),
        ({"amount": "NaN"}, "attributes.amount"),
        ({"amount": "-Infinity"}, "attributes.amount"),
        ({"amount": "\u0661\u0662"}, "attributes.amount"),  # Arabic-Indic digits: Decimal reads 12
        ({"items": [{"sku": "S", "quantity": "1_0", "unit_price": "1"}]}, "attributes.items[0].quantity"),
        ({"items": [{"sku": "S", "quantity": 1, "unit_price": " 1"}]}, "attributes.items[0].unit_price"),
    ],
)
def test_loose_amounts_are_400(api, attributes, field):
    before = _written(api)
    body = {**PURCHASE, "attributes": {**attributes, "currency": "EUR"}}
    _refused(api.post("/api/v1/events", body, headers=_key()), field)
    assert _written(api) == before


@pytest.mark.parametrize(
    ("amount", "points"), [("12", 12), ("+12.50", 12), ("0012.9", 12), (12, 12), (12.9, 12)]
)
def test_strict_amounts_are_read(api, amount, points):
    body = {**PURCHASE, "attributes": {"amount": amount}}
    response = api.post("/api/v1/events", body, headers=_key())
    assert response.status_code == 201, response.content
    assert response.json()["points_awarded"] == points


def test_nan_and_infinity_numbers_are_400(api):
    before = _written(api)
    for constant in ("NaN", "Infinity", "-Infinity"):
        raw = json.dumps(PURCHASE).replace('"42.50"', constant)
        _refused(api.post("/api/v1/events", raw=raw, headers=_key()), "body")
    assert _written(api) == before


# --- members' codes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"language": "xx"}, "language"),
        ({"language": "english"}, "language"),
        ({"language": "f"}, "language"),
        ({"country": "ZZ"}, "country"),
        ({"country": "F"}, "country"),
        ({"country": "1A"}, "country"),
    ],
)
def test_unknown_language_or_country_is_400(api, change, field):
    before = _written(api)
    _refused(api.put("/api/v1/members/H-2", change), field)
    assert _written(api) == before


def test_known_language_and_country_are_stored_in_their_usual_case(api):
    response = api.put("/api/v1/members/H-2", {"language": "PT", "country": "br"})
    assert response.status_code == 201, response.content
    assert (response.json()["language"], response.json()["country"]) == ("pt", "BR")
    response = api.put("/api/v1/members/H-2", {"language": "fr", "country": ""})
    assert (response.json()["language"], response.json()["country"]) == ("fr", "")


# --- headers, sizes, and every error of /api/v1/ as JSON ----------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/events", PURCHASE),
        ("/api/v1/members/H-1/adjustments", {"points": 5, "reason": "x"}),
        ("/api/v1/members/H-1/redemptions", {"items": [{"gift_id": 1}]}),
    ],
)
def test_a_non_ascii_idempotency_key_is_refused_as_such(api, path, body):
    before = _written(api)
    error = _refused(api.post(path, body, headers={"Idempotency-Key": "clé-1"}), "Idempotency-Key")
    assert error["message"] == "Idempotency-Key: ASCII only", error
    assert _written(api) == before


def test_a_body_over_the_size_limit_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    before = _written(api)
    big = {**PURCHASE, "attributes": {"amount": "1", "note": "x" * 2_000}}
    error = _refused(api.post("/api/v1/events", big, headers=_key()), "body", 413)
    assert "2000 bytes" in error["message"], error
    batch = {"events": [{**PURCHASE, "id": f"big-{index}"} for index in range(30)]}
    _refused(api.post("/api/v1/events/batch", batch), "body", 413)
    assert _written(api) == before
    assert api.post("/api/v1/events", PURCHASE, headers=_key()).status_code == 201


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writing_to_an_unknown_path_is_a_json_404(api, method):
    client = Client(HTTP_HOST=host_of(api.brand), enforce_csrf_checks=True)
    response = getattr(client, method)(
        "/api/v1/nowhere", data="{}", content_type="application/json", HTTP_AUTHORIZATION=f"Api-Key {api.key}"
    )
    error = error_of(response, 404)
    assert error["code"] == "not_found"


def test_other_api_errors_are_json(api):
    assert error_of(api.delete("/api/v1/events"), 405)["code"] == "method_not_allowed"
    client = Client(HTTP_HOST=host_of(api.brand))
    auth = {"HTTP_AUTHORIZATION": f"Api-Key {api.key}", "HTTP_IDEMPOTENCY_KEY": "t-1"}
    response = client.post("/api/v1/events", data="member=H-1", content_type="text/plain", **auth)
    assert error_of(response, 415)["field"] == "Content-Type"
    assert error_of(api.post("/api/v1/events", raw="{", headers=_key()), 400)["field"] == "body"
    assert error_of(api.get("/api/v1/members/nobody"), 404)["field"] == "external_id"
    assert error_of(api.get("/api/v1/rules/12x"), 404)["code"] == "not_found"
    # The schema and docs views write their own pages (YAML, HTML): answered again as JSON.
    assert error_of(api.post("/api/v1/schema/"), 405)["code"] == "method_not_allowed"
    response = api.delete("/api/v1/docs/")
    assert error_of(response, 405)["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, HEAD, OPTIONS"


# --- batches: item by item ----------------------------------------------------------------------


def test_a_small_batch_records_the_good_event_and_refuses_the_bad_one(api):
    events = [
        {**PURCHASE, "id": "s-good"},
        {**PURCHASE, "id": "s-nul", "attributes": {"amount": "1", "note": "\x00"}},
        {**PURCHASE, "id": "s-date", "occurred_at": EDGES[0]},
        {**PURCHASE, "id": "s-amount", "attributes": {"amount": "1_000"}},
        {**PURCHASE, "id": "s-member", "member": "H\x00"},
        {**PURCHASE, "id": "s\x00key"},
    ]
    response = api.post("/api/v1/events/batch", {"events": events})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert results[0]["points_awarded"] == 42
    assert [result.get("error", {}).get("field") for result in results[1:]] == [
        "attributes.note",
        "occurred_at",
        "attributes.amount",
        "member",
        "id",
    ]
    assert {result["error"]["status"] for result in results[1:]} == {400}
    connection.set_tenant(api.brand)
    assert list(ActivityEvent.objects.values_list("idempotency_key", flat=True)) == ["s-good"]


@pytest.mark.slow
def test_a_batch_of_1000_with_one_bad_event_records_the_999_others(api):
    events = [{**PURCHASE, "id": f"n-{index}", "attributes": {"amount": "1"}} for index in range(1000)]
    events[637] = {**events[637], "attributes": {"amount": "1", "shop": "Lyon\x00"}}
    response = api.post("/api/v1/events/batch", {"events": events})
    assert response.status_code == 200, response.content[:2000]
    results = response.json()["results"]
    errors = [(index, result["error"]) for index, result in enumerate(results) if "error" in result]
    assert [(index, error["field"], error["status"]) for index, error in errors] == [
        (637, "attributes.shop", 400)
    ]
    connection.set_tenant(api.brand)
    assert ActivityEvent.objects.count() == 999
    assert Member.objects.get(external_id="H-1").balance == 999


def test_a_batch_answers_each_malformed_event_naming_its_field_and_records_the_good_ones(api):
    """Before: one event missing a field, of the wrong type or with a date that does not read made the
    whole batch a 400, and none of the good events was recorded."""
    no_member = {field: value for field, value in PURCHASE.items() if field != "member"}
    events = [
        {**PURCHASE, "id": "m-good"},
        {**no_member, "id": "m-no-member"},
        {**PURCHASE, "id": "m-yesterday", "occurred_at": "yesterday"},
        42,
        {**PURCHASE, "id": "m-type", "type": 7},
        {**PURCHASE, "id": 12},
        PURCHASE,
        {**PURCHASE, "id": "m-shop", "shop": "Lyon"},
        {**PURCHASE, "id": "m-good-too", "attributes": {"amount": "10"}},
    ]
    response = api.post("/api/v1/events/batch", {"events": events})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    answers = [(result["id"], result.get("error", {}).get("field"), result.get("error", {}).get("status"))
               for result in results]  # fmt: skip
    assert answers == [
        ("m-good", None, None),
        ("m-no-member", "member", 400),
        ("m-yesterday", "occurred_at", 400),
        (None, None, 400),
        ("m-type", "type", 400),
        (None, "id", 400),
        (None, "id", 400),
        ("m-shop", "shop", 400),
        ("m-good-too", None, None),
    ]
    messages = [result.get("error", {}).get("message") for result in results]
    assert messages[1:8] == [  # the one error shape: a message starts with its field
        "member: is required",
        "occurred_at: must be an ISO 8601 date-time with a UTC offset, such as 2026-03-01T18:30:00+01:00",
        "must be an object with member, type, occurred_at, attributes",
        "type: must be a string",
        "id: must be a string",
        "id: is required",
        "shop: is not a known field",
    ]
    assert {result["error"]["code"] for result in results[1:8]} == {"invalid"}
    assert (results[0]["points_awarded"], results[8]["points_awarded"]) == (42, 10)
    connection.set_tenant(api.brand)
    assert set(ActivityEvent.objects.values_list("idempotency_key", flat=True)) == {"m-good", "m-good-too"}
    assert Member.objects.get(external_id="H-1").balance == 52

    before = _written(api)
    again = api.post("/api/v1/events/batch", {"events": events}).json()["results"]
    assert [result.get("replayed") for result in again] == [True, *[None] * 7, True]
    assert [result.get("error") for result in again] == [result.get("error") for result in results]
    assert _written(api) == before
    assert Member.objects.get(external_id="H-1").balance == 52
