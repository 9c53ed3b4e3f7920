"""REST API: badges as code (validated by the badges service, as the backoffice form is), a member's
badges with when they were earned, and the leaderboard."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from loyalty.models import Badge, Member, MemberBadge
from loyalty.services.badges import badge_save
from tenants.selectors import brand_timezone
from tests.factories import member_make
from tests.support import error_of

REPORTER = {
    "code": "road-guardian",
    "name": "Road guardian",
    "description": "Ten approved damage reports",
    "event_type": "damage_report",
    "conditions": [{"field": "attributes.status", "op": "equals", "value": "approved"}],
    "count_required": 2,
}


def _report(api, key: str, status: str = "approved"):
    return api.post(
        "/api/v1/events",
        {
            "member": "B-1",
            "type": "damage_report",
            "occurred_at": timezone.now().isoformat(),
            "attributes": {"status": status},
        },
        headers={"Idempotency-Key": key},
    )


def test_badges_create_list_read_update_delete(api_a, in_a):
    response = api_a.post("/api/v1/badges", REPORTER)
    assert response.status_code == 201, response.content
    badge = response.json()
    assert {key: badge[key] for key in REPORTER} == REPORTER
    api_a.post(
        "/api/v1/badges", {"code": "critic", "name": "Critic", "event_type": "review", "count_required": 5}
    )
    assert [item["code"] for item in api_a.get("/api/v1/badges").json()] == ["critic", "road-guardian"]
    assert api_a.get("/api/v1/badges/road-guardian").json()["id"] == badge["id"]

    response = api_a.put("/api/v1/badges/road-guardian", {"count_required": 10, "name": "Guardian"})
    assert response.status_code == 200, response.content
    assert (response.json()["count_required"], response.json()["name"]) == (10, "Guardian")
    assert response.json()["conditions"] == REPORTER["conditions"]  # untouched fields kept
    connection.set_tenant(in_a)
    assert Badge.objects.get(code="road-guardian").count_required == 10

    assert api_a.delete("/api/v1/badges/critic").status_code == 204
    connection.set_tenant(in_a)
    assert not Badge.objects.filter(code="critic").exists()
    assert error_of(api_a.get("/api/v1/badges/critic"), 404)["field"] == "code"


def test_a_badge_earned_through_events_is_in_the_member_resource_and_blocks_deletion(api_a, in_a):
    assert api_a.post("/api/v1/badges", REPORTER).status_code == 201
    api_a.put("/api/v1/members/B-1", {"first_name": "Ana"})
    assert api_a.get("/api/v1/members/B-1").json()["badges"] == []
    for key, status in (("r1", "approved"), ("r2", "rejected"), ("r3", "approved")):
        assert _report(api_a, key, status).status_code == 201
    connection.set_tenant(in_a)
    earned = MemberBadge.objects.get(member__external_id="B-1").awarded_at
    member_badges = api_a.get("/api/v1/members/B-1").json()["badges"]
    assert [{**item, "earned_at": datetime.fromisoformat(item["earned_at"])} for item in member_badges] == [
        {"code": "road-guardian", "name": "Road guardian", "earned_at": earned}
    ]
    assert api_a.get("/api/v1/members/B-1/badges").json() == member_badges
    error = error_of(api_a.delete("/api/v1/badges/road-guardian"), 409)
    assert (error["field"], error["code"]) == ("badge", "conflict")
    connection.set_tenant(in_a)
    assert Badge.objects.filter(code="road-guardian").exists()
    assert error_of(api_a.get("/api/v1/members/NOBODY/badges"), 404)["field"] == "external_id"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"code": "bad code!"}, "code"),
        ({"code": ""}, "code"),
        ({"name": ""}, "name"),
        ({"name": ["Road"]}, "name"),
        ({"event_type": ""}, "event_type"),
        ({"count_required": 0}, "count_required"),
        ({"count_required": 1.5}, "count_required"),
        ({"count_required": "many"}, "count_required"),
        ({"conditions": "approved"}, "conditions"),
        ({"conditions": [{"field": "amount", "op": "gte", "value": 5}]}, "conditions"),
        ({"conditions": [{"field": "attributes.status", "op": "resembles", "value": "x"}]}, "conditions"),
        ({"colour": "gold"}, "colour"),
        ({"id": 7}, "id"),
    ],
)
def test_bad_badges_are_400_naming_the_field_and_write_nothing(api_a, in_a, change, field):
    error = error_of(api_a.post("/api/v1/badges", {**REPORTER, **change}), 400)
    assert error["field"] == field, error
    connection.set_tenant(in_a)
    assert not Badge.objects.exists()


def test_bad_changes_and_bodies_write_nothing(api_a, in_a):
    api_a.post("/api/v1/badges", REPORTER)
    api_a.post("/api/v1/badges", {**REPORTER, "code": "other", "name": "Other"})
    assert error_of(api_a.put("/api/v1/badges/other", {"code": "road-guardian"}), 400)["field"] == "code"
    assert (
        error_of(api_a.put("/api/v1/badges/other", {"count_required": -1}), 400)["field"] == "count_required"
    )
    assert error_of(api_a.post("/api/v1/badges", [REPORTER]), 400)["field"] == "body"
    assert error_of(api_a.put("/api/v1/badges/nope", {"name": "X"}), 404)["field"] == "code"
    assert error_of(api_a.delete("/api/v1/badges/nope"), 404)["field"] == "code"
    connection.set_tenant(in_a)
    assert sorted(Badge.objects.values_list("code", "count_required")) == [("other", 2), ("road-guardian", 2)]


def test_leaderboard_ranks_by_badges_shows_short_names_and_counts_the_period(api_a, in_a):
    one = badge_save(data={"code": "one", "name": "One", "event_type": "trip", "count_required": 1})
    two = badge_save(data={"code": "two", "name": "Two", "event_type": "review", "count_required": 1})
    double = member_make("double", first_name="Ana", last_name="Martin", email="ana@example.com")
    early = member_make("early", kind="reseller", company_name="Tabac du Port")
    quiet = member_make("quiet")
    gone = member_make("gone", first_name="Gone")
    now = timezone.now()
    month_start = now.astimezone(brand_timezone()).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    old = month_start - timedelta(days=40)
    MemberBadge.objects.create(member=double, badge=one, awarded_at=old)
    MemberBadge.objects.create(member=double, badge=two, awarded_at=now)
    MemberBadge.objects.create(member=early, badge=one, awarded_at=old - timedelta(days=1))
    MemberBadge.objects.create(member=quiet, badge=two, awarded_at=now - timedelta(seconds=5))
    MemberBadge.objects.create(member=gone, badge=one, awarded_at=old)
    MemberBadge.objects.create(member=gone, badge=two, awarded_at=old)
    Member.objects.filter(pk=gone.pk).update(status=Member.Status.ANONYMISED)

    response = api_a.get("/api/v1/leaderboard")
    assert response.status_code == 200, response.content
    board = response.json()
    assert (board["period"], board["since"]) == ("all", None)
    rows = board["results"]
    assert [(r["rank"], r["external_id"], r["name"], r["badge_count"]) for r in rows] == [
        (1, "double", "Ana M.", 2),
        (2, "early", "Tabac du Port", 1),
        (3, "quiet", None, 1),
    ]
    assert set(rows[0]) == {"rank", "external_id", "name", "badge_count", "last_badge_at"}  # no e-mail
    assert [r["external_id"] for r in api_a.get("/api/v1/leaderboard?limit=1").json()["results"]] == [
        "double"
    ]

    month = api_a.get("/api/v1/leaderboard?period=month").json()
    assert datetime.fromisoformat(month["since"]) == month_start
    assert [(r["external_id"], r["badge_count"]) for r in month["results"]] == [("quiet", 1), ("double", 1)]


@pytest.mark.parametrize(
    ("query", "field"),
    [("period=decade", "period"), ("limit=0", "limit"), ("limit=101", "limit"), ("limit=ten", "limit")],
)
def test_bad_leaderboard_parameters_are_400_naming_them(api_a, query, field):
    assert error_of(api_a.get(f"/api/v1/leaderboard?{query}"), 400)["field"] == field
