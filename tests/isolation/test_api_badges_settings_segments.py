"""Tenant isolation of the API's badges, leaderboard, programme settings and segments: another
brand's key reads and writes nothing of them, another brand's codes and ids are 404s."""

from __future__ import annotations

from django.db import connection
from django.forms.models import model_to_dict

from loyalty.models import Badge, MemberBadge, ProgrammeSettings, Segment
from loyalty.services.badges import badge_save
from loyalty.services.programme import EDITABLE_FIELDS
from tests.factories import member_make
from tests.support import ApiClient, error_of

BADGE = {"code": "iso-badge", "name": "Iso", "event_type": "review", "count_required": 1}


def _seed_a(api_a) -> int:
    """Brand A: a badge held by a named member, a segment; answers the segment's id."""
    connection.set_tenant(api_a.brand)
    badge = badge_save(data=BADGE)
    member = member_make("ISO-B1", first_name="Alphonse", last_name="Secret")
    MemberBadge.objects.create(member=member, badge=badge, awarded_at=member.joined_at)
    return Segment.objects.create(name="Iso segment", filters={}).pk


def _settings(brand) -> dict:
    connection.set_tenant(brand)
    return model_to_dict(ProgrammeSettings.objects.get(), fields=EDITABLE_FIELDS)


def test_a_key_of_brand_a_on_brand_b_host_is_401_everywhere_and_writes_nothing(api_a, brand_b):
    segment_id = _seed_a(api_a)
    assert api_a.get("/api/v1/badges").status_code == 200  # the key is cached, under brand A
    before = (_settings(api_a.brand), _settings(brand_b))
    a_key_on_b = ApiClient(brand=brand_b, key=api_a.key)
    calls = [
        ("get", "/api/v1/badges", None),
        ("post", "/api/v1/badges", {**BADGE, "code": "intruder"}),
        ("get", "/api/v1/badges/iso-badge", None),
        ("put", "/api/v1/badges/iso-badge", {"name": "Hijacked"}),
        ("delete", "/api/v1/badges/iso-badge", None),
        ("get", "/api/v1/members/ISO-B1/badges", None),
        ("get", "/api/v1/leaderboard", None),
        ("get", "/api/v1/programme", None),
        ("put", "/api/v1/programme", {"pending_days": 9}),
        ("patch", "/api/v1/programme", {"pending_days": 9}),
        ("get", "/api/v1/segments", None),
        ("post", "/api/v1/segments", {"name": "Intruder"}),
        ("get", f"/api/v1/segments/{segment_id}/preview", None),
    ]
    for method, path, body in calls:
        response = a_key_on_b.get(path) if method == "get" else a_key_on_b.send(method, path, body)
        assert error_of(response, 401)["field"] == "Authorization", (method, path)
    assert (_settings(api_a.brand), _settings(brand_b)) == before
    for brand in (api_a.brand, brand_b):
        connection.set_tenant(brand)
        assert not Badge.objects.filter(code="intruder").exists()
        assert not Segment.objects.filter(name="Intruder").exists()
    connection.set_tenant(api_a.brand)
    assert Badge.objects.get(code="iso-badge").name == "Iso"


def test_brand_a_codes_and_ids_are_404s_on_brand_b_and_its_data_stays_out(api_a, api_b):
    segment_id = _seed_a(api_a)
    assert error_of(api_b.get("/api/v1/badges/iso-badge"), 404)["field"] == "code"
    assert error_of(api_b.put("/api/v1/badges/iso-badge", {"name": "Hijacked"}), 404)["field"] == "code"
    assert error_of(api_b.delete("/api/v1/badges/iso-badge"), 404)["field"] == "code"
    assert error_of(api_b.get("/api/v1/members/ISO-B1/badges"), 404)["field"] == "external_id"
    assert error_of(api_b.get(f"/api/v1/segments/{segment_id}/preview"), 404)["field"] == "id"
    assert api_b.get("/api/v1/badges").json() == []
    assert api_b.get("/api/v1/segments").json() == []
    assert api_b.get("/api/v1/leaderboard").json()["results"] == []
    assert "Alphonse" not in api_b.get("/api/v1/leaderboard").content.decode()

    before_a = _settings(api_a.brand)
    assert api_b.send("patch", "/api/v1/programme", {"pending_days": 9}).status_code == 200
    assert _settings(api_a.brand) == before_a
    assert _settings(api_b.brand)["pending_days"] == 9
    assert api_b.post("/api/v1/badges", BADGE).status_code == 201  # the same code, in brand B
    connection.set_tenant(api_a.brand)
    assert Badge.objects.get(code="iso-badge").name == "Iso"
    assert MemberBadge.objects.filter(badge__code="iso-badge").count() == 1
