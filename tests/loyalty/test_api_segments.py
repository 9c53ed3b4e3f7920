"""REST API: segments listed, created (the segments service's validation, as the backoffice form's)
and previewed (count and a sample of members)."""

from __future__ import annotations

import pytest
from django.db import connection

from loyalty.models import Member, Segment, Tier
from tests.factories import member_make
from tests.support import error_of

RICH = {"name": "Rich", "description": "100 points or more", "filters": {"balance": {"min": 100}}}


def test_segments_are_created_listed_and_previewed(api_a, in_a):
    for index, (points, first_name) in enumerate(((5, "Poor"), (150, "Zoe"), (900, "Abel"), (300, ""))):
        member_make(
            f"S-{index}", points=points, first_name=first_name, last_name="Durand" if first_name else ""
        )
    gone = member_make("S-9", points=500)
    Member.objects.filter(pk=gone.pk).update(status=Member.Status.ANONYMISED)

    response = api_a.post("/api/v1/segments", RICH)
    assert response.status_code == 201, response.content
    rich = response.json()
    assert {key: rich[key] for key in RICH} == RICH
    api_a.post("/api/v1/segments", {"name": "Everyone"})
    listed = api_a.get("/api/v1/segments").json()
    assert [(item["name"], item["filters"]) for item in listed] == [
        ("Everyone", {}),
        ("Rich", RICH["filters"]),
    ]

    response = api_a.get(f"/api/v1/segments/{rich['id']}/preview")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "count": 3,
        "sample": [
            {"external_id": "S-1", "name": "Zoe Durand"},
            {"external_id": "S-2", "name": "Abel Durand"},
            {"external_id": "S-3", "name": "S-3"},  # no name: the backoffice shows the external id
        ],
    }
    sampled = api_a.get(f"/api/v1/segments/{rich['id']}/preview?sample=1").json()
    assert (sampled["count"], [m["external_id"] for m in sampled["sample"]]) == (3, ["S-1"])
    assert api_a.get(f"/api/v1/segments/{rich['id']}/preview?sample=0").json()["sample"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"filters": {}}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"name": ["Rich"]}, "name"),
        ({"name": "Taken"}, "name"),
        ({"name": "S", "filters": []}, "filters"),
        ({"name": "S", "filters": {"balance": {"min": "ten"}}}, "filters.balance.min"),
        ({"name": "S", "filters": {"tiers": ["platinum"]}}, "filters.tiers"),
        ({"name": "S", "filters": {"colour": "red"}}, "filters.colour"),
        ({"name": "S", "filters": {"consents": {"fax": True}}}, "filters.consents.fax"),
        ({"name": "S", "filters": {"status": ["anonymised"]}}, "filters.status"),
        ({"name": "S", "filters": {"joined": {"after": "01/02/2026"}}}, "filters.joined.after"),
        ({"name": "S", "filters": {"sales_rep": 999999}}, "filters.sales_rep"),
        ({"name": "S", "members": [1]}, "members"),
        ({"name": "S", "id": 4}, "id"),
    ],
)
def test_bad_segments_are_400_naming_the_field_and_write_nothing(api_a, in_a, body, field):
    Segment.objects.create(name="Taken")
    error = error_of(api_a.post("/api/v1/segments", body), 400)
    assert error["field"] == field, error
    connection.set_tenant(in_a)
    assert list(Segment.objects.values_list("name", flat=True)) == ["Taken"]


def test_preview_of_unknown_segments_bad_samples_and_filters_that_no_longer_hold(api_a, in_a):
    assert error_of(api_a.get("/api/v1/segments/999999/preview"), 404)["field"] == "id"
    segment = api_a.post("/api/v1/segments", RICH).json()
    for query in ("sample=-1", "sample=101", "sample=some"):
        assert (
            error_of(api_a.get(f"/api/v1/segments/{segment['id']}/preview?{query}"), 400)["field"] == "sample"
        )
    connection.set_tenant(in_a)
    Tier.objects.create(code="gold", name="Gold", threshold=1000)
    gold = api_a.post("/api/v1/segments", {"name": "Gold", "filters": {"tiers": ["gold"]}}).json()
    connection.set_tenant(in_a)
    Tier.objects.filter(code="gold").delete()  # nobody held it: the segment's filter no longer holds
    error = error_of(api_a.get(f"/api/v1/segments/{gold['id']}/preview"), 422)
    assert (error["field"], error["code"]) == ("filters.tiers", "segment_filters_invalid")
