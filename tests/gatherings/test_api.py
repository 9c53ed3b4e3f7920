"""The events' API reads: `/api/v1/gatherings` (list, one, its RSVPs), bad filters naming their
field, unknown ids in the error shape."""

from __future__ import annotations

from django.db import connection

from gatherings.services import rsvp_cancel, rsvp_create
from tests.factories import member_make
from tests.support import error_of

from .factories import gathering_make


def test_the_events_with_their_counts_and_rsvps_in_order(api_a):
    connection.set_tenant(api_a.brand)
    gathering = gathering_make(capacity=1, title="Tasting")
    gathering_make(title="Draft", state="draft")
    ada, bob, cy = (member_make(name) for name in ("ada", "bob", "cy"))
    for member in (ada, bob, cy):
        rsvp_create(gathering_id=gathering.pk, member=member)
    rsvp_cancel(rsvp_id=rsvp_create(gathering_id=gathering.pk, member=member_make("gone")).pk)

    listing = api_a.get("/api/v1/gatherings?state=published").json()
    assert [g["title"] for g in listing["results"]] == ["Tasting"] and listing["count"] == 1
    one = api_a.get(f"/api/v1/gatherings/{gathering.pk}").json()
    assert (one["capacity"], one["confirmed"], one["waitlisted"], one["state"]) == (1, 1, 2, "published")
    assert (
        one["kind"] == "tasting"
        and one["visibility"] == "everyone"
        and one["segment"] is None
        and one["space"] is None
    )

    rsvps = api_a.get(f"/api/v1/gatherings/{gathering.pk}/rsvps").json()
    assert [(r["member"], r["state"], r["position"]) for r in rsvps["results"]] == [
        ("ada", "confirmed", None),
        ("bob", "waitlisted", 1),
        ("cy", "waitlisted", 2),
    ]


def test_bad_filters_and_unknown_events_are_refused_naming_the_field(api_a):
    error = error_of(api_a.get("/api/v1/gatherings?state=open"), 400)
    assert error["field"] == "state"
    assert error_of(api_a.get("/api/v1/gatherings/999999"), 404)["field"] == "gathering_id"
    assert error_of(api_a.get("/api/v1/gatherings/999999/rsvps"), 404)["field"] == "gathering_id"
    error_of(api_a.get("/api/v1/gatherings/abc"), 404)
