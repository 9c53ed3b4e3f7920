"""REST API: the programme as code, earning rules and tiers, validated by the same services as the
backoffice forms."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from loyalty.models import EarningRule, LedgerEntry, Member, Tier
from loyalty.rule_examples import SUBURB_TO_PARIS_HAPPY_HOUR
from tests.support import error_of

HAPPY_HOUR_TRIP = {**SUBURB_TO_PARIS_HAPPY_HOUR, "priority": 10}


def test_rules_create_list_read_update_delete(api_a, in_a):
    response = api_a.post("/api/v1/rules", HAPPY_HOUR_TRIP)
    assert response.status_code == 201, response.content
    rule = response.json()
    assert rule["conditions"] == HAPPY_HOUR_TRIP["conditions"]
    assert rule["is_active"] is True

    listed = api_a.get("/api/v1/rules").json()
    assert [item["id"] for item in listed] == [rule["id"]]
    assert api_a.get(f"/api/v1/rules/{rule['id']}").json()["name"] == HAPPY_HOUR_TRIP["name"]

    response = api_a.put(f"/api/v1/rules/{rule['id']}", {"points": 250, "name": "Happy hour trip"})
    assert response.status_code == 200, response.content
    assert (response.json()["points"], response.json()["name"]) == (250, "Happy hour trip")
    assert response.json()["conditions"] == HAPPY_HOUR_TRIP["conditions"]  # untouched fields kept

    response = api_a.delete(f"/api/v1/rules/{rule['id']}")
    assert response.status_code == 204
    connection.set_tenant(in_a)
    assert not EarningRule.objects.filter(pk=rule["id"]).exists()
    error_of(api_a.get(f"/api/v1/rules/{rule['id']}"), 404)


def test_deleting_a_rule_that_gave_points_deactivates_it(api_a, in_a):
    rule = api_a.post("/api/v1/rules", HAPPY_HOUR_TRIP).json()
    connection.set_tenant(in_a)
    member = Member.objects.create(external_id="R-1", joined_at=timezone.now(), balance=5)
    LedgerEntry.objects.create(
        member=member, kind="earn", points=5, balance_after=5, created_at=timezone.now(), rule_id=rule["id"]
    )
    response = api_a.delete(f"/api/v1/rules/{rule['id']}")
    assert response.status_code == 200, response.content
    assert response.json()["is_active"] is False
    connection.set_tenant(in_a)
    assert EarningRule.objects.get(pk=rule["id"]).is_active is False


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event_type": "teleport"}, "event_type"),
        ({"award_type": "lottery"}, "award_type"),
        ({"points": -5}, "points"),
        ({"points": "many"}, "points"),
        ({"conditions": "zone 1"}, "conditions"),
        ({"conditions": [{"field": "attributes.zone_to", "op": "resembles", "value": 1}]}, "conditions"),
        ({"limit_period": "day"}, "limit_points"),
        ({"active_from": "not a date"}, "active_from"),
        ({"budget_used": 3}, "budget_used"),
        ({"colour": "red"}, "colour"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_rules_are_400_naming_the_field_and_write_nothing(api_a, in_a, change, field):
    error = error_of(api_a.post("/api/v1/rules", {**HAPPY_HOUR_TRIP, **change}), 400)
    assert error["field"] == field, error
    connection.set_tenant(in_a)
    assert not EarningRule.objects.exists()


def test_bad_rule_bodies_and_unknown_ids(api_a, in_a):
    assert error_of(api_a.post("/api/v1/rules", [HAPPY_HOUR_TRIP]), 400)["field"] == "body"
    assert error_of(api_a.post("/api/v1/rules", raw="name=x"), 400)["field"] == "body"
    assert error_of(api_a.put("/api/v1/rules/999999", {"points": 1}), 404)["field"] == "id"
    assert error_of(api_a.delete("/api/v1/rules/999999"), 404)["field"] == "id"
    rule = api_a.post("/api/v1/rules", HAPPY_HOUR_TRIP).json()
    error = error_of(api_a.put(f"/api/v1/rules/{rule['id']}", {"award_type": "per_amount"}), 400)
    assert error["field"] == "points"  # a per-amount award uses no fixed points: the rule is refused
    connection.set_tenant(in_a)
    assert EarningRule.objects.get(pk=rule["id"]).award_type == "fixed"


def test_tiers_create_list_read_update_delete(api_a, in_a):
    response = api_a.post("/api/v1/tiers", {"code": "gold", "name": "Gold", "threshold": "1000"})
    assert response.status_code == 201, response.content
    assert response.json()["threshold"] == "1000.00"
    api_a.post("/api/v1/tiers", {"code": "silver", "name": "Silver", "threshold": 200})
    assert [tier["code"] for tier in api_a.get("/api/v1/tiers").json()] == ["silver", "gold"]
    response = api_a.put("/api/v1/tiers/gold", {"earn_multiplier": "1.5", "benefits": "Lounge"})
    assert response.status_code == 200, response.content
    assert response.json()["earn_multiplier"] == "1.50"
    assert api_a.get("/api/v1/tiers/gold").json()["benefits"] == "Lounge"
    assert api_a.delete("/api/v1/tiers/silver").status_code == 204
    error_of(api_a.get("/api/v1/tiers/silver"), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "No code", "threshold": 1}, "code"),
        ({"code": "x", "name": "X", "threshold": -1}, "threshold"),
        ({"code": "x", "name": "X", "threshold": "lots"}, "threshold"),
        ({"code": "x", "name": "X", "threshold": 5, "earn_multiplier": 0}, "earn_multiplier"),
        ({"code": "bad code!", "name": "X", "threshold": 5}, "code"),
        ({"code": "x", "name": "X", "threshold": 5, "perks": "none"}, "perks"),
        ({"code": "x", "name": "X", "threshold": 1000}, "threshold"),  # another tier has it
    ],
)
def test_bad_tiers_are_400_naming_the_field(api_a, in_a, body, field):
    Tier.objects.create(code="gold", name="Gold", threshold=1000)
    error = error_of(api_a.post("/api/v1/tiers", body), 400)
    assert error["field"] == field, error
    connection.set_tenant(in_a)
    assert list(Tier.objects.values_list("code", flat=True)) == ["gold"]


def test_a_tier_members_hold_cannot_be_deleted(api_a, in_a):
    gold = Tier.objects.create(code="gold", name="Gold", threshold=1000)
    Member.objects.create(external_id="T-1", joined_at=timezone.now(), tier=gold)
    error = error_of(api_a.delete("/api/v1/tiers/gold"), 409)
    assert error["field"] == "tier"
    connection.set_tenant(in_a)
    assert Tier.objects.filter(code="gold").exists()
    error_of(api_a.put("/api/v1/tiers/platinum", {"name": "P"}), 404)
