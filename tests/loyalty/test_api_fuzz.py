"""REST API: wrong JSON types, missing and non-JSON bodies on every writing endpoint get a 4xx in the
one error shape, never a 500."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.utils import timezone

from loyalty.models import Member
from tests.loyalty.test_api_support import error_of

pytest_plugins = ["tests.loyalty.test_api_support"]

DEEP: list = []
for _ in range(40):
    DEEP = [DEEP]
WRONG = [None, True, -1, 1.5, 10**20, "", "x", [], [1], {}, {"a": 1}, "2026-13-01T00:00:00+01:00"]
# What PostgreSQL or Python refuse further on: NUL (text, jsonb), nesting, the edges of the date range.
WRONG += ["a\x00b", ["\x00"], {"k\x00": 1}, {"a": "\x00"}, DEEP, "9999-12-31T23:59:59+00:00"]
WRONG += ["0001-01-01T00:00:00+14:00", "1_000", " 12 ", "NaN"]
RAW = ["", "null", "1", '"text"', "[", '{"a":', "\u00ff\u00fe", "[]", "[" * 5000 + "]" * 5000]
RAW += ['{"a": NaN}', '{"a": Infinity}', '{"a": "\\u0000"}']
EVENT = {"member": "F-1", "type": "purchase", "occurred_at": "2026-03-02T10:15:00+01:00", "attributes": {}}
RULE = {"name": "Fixed", "event_type": "review", "award_type": "fixed", "points": 5}
BODIES = {
    ("put", "/api/v1/members/F-1"): {
        "first_name": "F",
        "tags": [],
        "consents": {"email": True},
        "is_vip": False,
    },
    ("post", "/api/v1/members/F-1/adjustments"): {"points": 1, "reason": "fuzz"},
    ("post", "/api/v1/events"): EVENT,
    ("post", "/api/v1/simulate"): EVENT,
    ("post", "/api/v1/rules"): {
        **RULE,
        "conditions": [],
        "limit_period": "",
        "limit_points": None,
        "max_points_per_event": None,
        "global_budget": None,
        "active_from": None,
        "is_active": True,
        "multiplier": "1",
    },
    ("post", "/api/v1/tiers"): {"code": "fuzz", "name": "Fuzz", "threshold": "5", "earn_multiplier": "1"},
}


@pytest.fixture
def fuzzer(api_a, in_a):
    Member.objects.create(external_id="F-1", joined_at=timezone.now())
    return replace(api_a, raise_errors=False)


@pytest.mark.parametrize(("method", "path"), list(BODIES))
def test_wrong_json_types_never_give_a_500(fuzzer, method, path):
    body = BODIES[(method, path)]
    seen = set()
    for field in body:
        for value in WRONG:
            response = fuzzer.send(
                method,
                path,
                {**body, field: value},
                headers={"Idempotency-Key": f"fuzz-{field}-{value!r}"[:128]},
            )
            assert response.status_code < 500, (field, value, response.content[:500])
            if response.status_code >= 400:
                error_of(response, response.status_code)
            seen.add(response.status_code)
    assert any(status >= 400 for status in seen)


@pytest.mark.parametrize(
    ("method", "path"), [*BODIES, ("post", "/api/v1/events/batch"), ("put", "/api/v1/tiers/x")]
)
def test_missing_and_non_json_bodies_are_400(fuzzer, method, path):
    for raw in RAW:
        response = fuzzer.send(method, path, raw=raw, headers={"Idempotency-Key": "fuzz-raw"})
        if raw == "" and path == "/api/v1/members/F-1":
            assert response.status_code == 200  # no body: nothing to change, the member exists
            continue
        assert 400 <= response.status_code < 500, (raw, response.content[:500])
        error_of(response, response.status_code)


def test_batch_items_of_wrong_types_never_give_a_500(fuzzer):
    for field in ("id", *EVENT):
        for value in WRONG:
            item = {**EVENT, "id": "fuzz-item", field: value}
            response = fuzzer.post("/api/v1/events/batch", {"events": [item]})
            assert response.status_code < 500, (field, value, response.content[:500])
