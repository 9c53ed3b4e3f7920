"""Through the API, end to end: a `between` that excludes a bound, and the simulator's trace
showing the time compared to the second."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from loyalty.models import EarningRule, LedgerEntry, Member
from tenants.selectors import brand_timezone
from tests.support import error_of


def _at(hours_ago: int) -> str:
    return (timezone.now() - timedelta(hours=hours_ago)).isoformat()


def _purchase(api, key: str, attributes: dict, *, hours_ago: int = 1) -> dict:
    event = {"member": "SHOP-1", "type": "purchase", "occurred_at": _at(hours_ago), "attributes": attributes}
    response = api.post("/api/v1/events", event, headers={"Idempotency-Key": key})
    assert response.status_code == 201, response.content
    return response.json()


OVER_1000 = {
    "name": "Over 1,000 EUR, up to 5,000",
    "event_type": "purchase",
    "points": 100,
    "conditions": [{"field": "amount", "op": "between", "value": [1000, 5000], "inclusive": [False, True]}],
}


def test_between_with_an_excluded_bound(api_a, in_a):
    response = api_a.post("/api/v1/rules", OVER_1000)
    assert response.status_code == 201, response.content
    assert response.json()["conditions"] == OVER_1000["conditions"]
    connection.set_tenant(in_a)
    Member.objects.create(external_id="SHOP-1", joined_at=timezone.now())
    points = {
        amount: _purchase(api_a, f"o-{amount}", {"amount": amount})["points_awarded"]
        for amount in ("1000", "1000.01", "5000", "5000.01")
    }
    assert points == {"1000": 0, "1000.01": 100, "5000": 100, "5000.01": 0}
    connection.set_tenant(in_a)
    assert LedgerEntry.objects.filter(kind="earn").count() == 2


@pytest.mark.parametrize(
    "inclusive",
    [[False], [False, "yes"], "exclusive", None],
)
def test_bad_bounds_are_400_naming_conditions_and_write_nothing(api_a, in_a, inclusive):
    [condition] = OVER_1000["conditions"]
    bad = {**OVER_1000, "conditions": [{**condition, "inclusive": inclusive}]}
    error = error_of(api_a.post("/api/v1/rules", bad), 400)
    assert error["field"] == "conditions", error
    assert "inclusive" in error["message"], error
    on_gt = {
        **OVER_1000,
        "conditions": [{"field": "amount", "op": "gt", "value": 1000, "inclusive": [True, True]}],
    }
    assert error_of(api_a.post("/api/v1/rules", on_gt), 400)["field"] == "conditions"
    connection.set_tenant(in_a)
    assert not EarningRule.objects.exists()


def test_simulated_trace_shows_the_local_time_compared_with_seconds(api_a, in_a):
    window = {"field": "local_time", "op": "between", "value": ["22:00", "23:00"]}
    response = api_a.post("/api/v1/rules", {**OVER_1000, "conditions": [window]})
    assert response.status_code == 201, response.content
    connection.set_tenant(in_a)
    Member.objects.create(external_id="SHOP-9", joined_at=timezone.now())
    zone = brand_timezone()
    yesterday = (timezone.now().astimezone(zone) - timedelta(days=1)).date()
    at = datetime(yesterday.year, yesterday.month, yesterday.day, 21, 59, 59, tzinfo=zone)
    event = {"member": "SHOP-9", "type": "purchase", "occurred_at": at.isoformat(), "attributes": {}}
    response = api_a.post("/api/v1/simulate", event)
    assert response.status_code == 200, response.content
    [line] = response.json()["trace"]
    assert line["conditions"] == [
        {**window, "inclusive": [True, False], "actual": "21:59:59", "holds": False}
    ]
