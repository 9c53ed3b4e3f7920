"""Through the API, end to end: a sales rep's percentage of what the client earns (after the
multipliers and the client's tier multiplier, followed when those change), a `between` that
excludes a bound, and the simulator's trace showing the time compared to the second."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from loyalty.models import EarningRule, LedgerEntry, Member, Tier
from loyalty.rule_examples import DOUBLE_ON_FEATURED, POINT_PER_EURO, REP_TEN_PERCENT_OF_FEATURED
from tenants.selectors import brand_timezone
from tests.support import error_of

# 250 EUR, of which 130 EUR of featured products (items 0 and 2).
BASKET = {
    "amount": "250.00",
    "currency": "EUR",
    "items": [
        {"sku": "A", "category": "featured", "quantity": 2, "unit_price": "50.00"},
        {"sku": "B", "category": "wine", "quantity": 1, "unit_price": "120.00"},
        {"sku": "C", "category": "featured", "quantity": 3, "unit_price": "10.00"},
    ],
}


def _at(hours_ago: int) -> str:
    return (timezone.now() - timedelta(hours=hours_ago)).isoformat()


def _purchase(api, key: str, attributes: dict, *, hours_ago: int = 1) -> dict:
    event = {"member": "SHOP-1", "type": "purchase", "occurred_at": _at(hours_ago), "attributes": attributes}
    response = api.post("/api/v1/events", event, headers={"Idempotency-Key": key})
    assert response.status_code == 201, response.content
    return response.json()


def _ledger_points(api, external_id: str, key: str) -> list[int]:
    entries = api.get(f"/api/v1/members/{external_id}/ledger").json()["results"]
    return [entry["points"] for entry in entries if entry["event"] and entry["event"]["id"] == key]


@pytest.fixture
def tabac(api_a, in_a):
    """Gold client SHOP-1 (x1.5) of sales rep Bob; rules created through the API."""
    for rule in (
        {**POINT_PER_EURO, "apply_tier_multiplier": True, "priority": 10},
        {**DOUBLE_ON_FEATURED, "priority": 20},
        {**REP_TEN_PERCENT_OF_FEATURED, "priority": 30},
    ):
        response = api_a.post("/api/v1/rules", rule)
        assert response.status_code == 201, response.content
    connection.set_tenant(in_a)
    gold = Tier.objects.create(code="gold", name="Gold", threshold="100000", earn_multiplier="1.5")
    rep = get_user_model().objects.create_user(username="rep-bob", password="x", is_staff=True)
    Member.objects.create(
        external_id="SHOP-1", joined_at=timezone.now(), tier=gold, tier_floor=gold, sales_rep=rep
    )
    return api_a


def test_rep_percentage_follows_the_multipliers_and_a_tier_multiplier_change(tabac):
    body = _purchase(tabac, "order-1", BASKET)
    # Client: (250 + 130 featured again) x 1.5 = 570, of which the featured items earned
    # 570 x 260/380 = 390; the rep's 10% is 39.
    awards = {award["beneficiary"]["kind"]: award for award in body["awards"]}
    assert (awards["member"]["points"], awards["sales_rep"]["points"]) == (570, 39)
    assert awards["sales_rep"]["beneficiary"]["member"] == "staff:rep-bob"
    computation = awards["sales_rep"]["explanation"]["computation"]
    assert (computation["award"], computation["percent"], computation["basis"]) == ("percentage", "10", "390")
    assert awards["sales_rep"]["explanation"]["computed"]["rounding"] == "down"
    assert _ledger_points(tabac, "SHOP-1", "order-1") == [570]
    assert _ledger_points(tabac, "staff:rep-bob", "order-1") == [39]

    response = tabac.put("/api/v1/tiers/gold", {"earn_multiplier": "2"})
    assert response.status_code == 200, response.content
    _purchase(tabac, "order-2", BASKET)
    assert _ledger_points(tabac, "SHOP-1", "order-2") == [760]  # 380 x 2
    assert _ledger_points(tabac, "staff:rep-bob", "order-2") == [52]  # 10% of 760 x 260/380

    rules = tabac.get("/api/v1/rules").json()
    double = next(rule for rule in rules if rule["award_type"] == "multiplier")
    assert tabac.put(f"/api/v1/rules/{double['id']}", {"multiplier": "3"}).status_code == 200
    _purchase(tabac, "order-3", BASKET)
    assert _ledger_points(tabac, "SHOP-1", "order-3") == [1020]  # (250 + 260) x 2
    assert _ledger_points(tabac, "staff:rep-bob", "order-3") == [78]  # 10% of 1020 x 390/510


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"percent": "101"}, "percent"),
        ({"percent": -1}, "percent"),
        ({"percent": "ten"}, "percent"),
        ({"percent": [10]}, "percent"),
        ({"percent": "0"}, "percent"),
        ({"beneficiary": "member"}, "beneficiary"),
        ({"award_type": "fixed", "points": 5}, "percent"),  # only a percentage award uses a percent
    ],
)
def test_bad_percentage_rules_are_400_naming_the_field_and_write_nothing(api_a, in_a, change, field):
    error = error_of(api_a.post("/api/v1/rules", {**REP_TEN_PERCENT_OF_FEATURED, **change}), 400)
    assert error["field"] == field, error
    connection.set_tenant(in_a)
    assert not EarningRule.objects.exists()


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


def test_the_schema_documents_percentage_awards_and_bounds(api_a):
    response = api_a.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schemas = response.json()["components"]["schemas"]
    assert "percentage" in schemas["AwardTypeEnum"]["enum"]
    rule = schemas["Rule"]["properties"]
    assert (
        "`percentage` - Sales rep: a percentage of what the member earns" in rule["award_type"]["description"]
    )
    assert "the percent, 0-100, of the member's points" in rule["percent"]["description"]
    for field in ("conditions", "item_conditions"):
        inclusive = rule[field]["items"]["properties"]["inclusive"]
        assert inclusive["items"] == {"type": "boolean"} and inclusive["maxItems"] == 2
        assert "`between` only" in inclusive["description"]
