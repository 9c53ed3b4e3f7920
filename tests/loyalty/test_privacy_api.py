"""GDPR through the API: GET /api/v1/members/{external_id}/export and POST .../erase."""

from __future__ import annotations

from core.models import AuditEntry
from loyalty.models import Member
from tests.factories import member_make
from tests.support import error_of

PERSON = {
    "first_name": "Ysolde",
    "last_name": "Marquelande",
    "email": "ysolde@example.org",
    "phone": "+33677889900",
}


def test_the_export_answers_every_apps_part(api_a, in_a):
    member_make("A-1", **PERSON, points=20)

    response = api_a.get("/api/v1/members/A-1/export")

    assert response.status_code == 200
    body = response.json()
    assert body["external_id"] == "A-1"
    assert {"loyalty", "catalog", "messaging", "billing", "core"} <= set(body["apps"])
    assert body["apps"]["loyalty"]["member"]["phone"] == PERSON["phone"]
    assert AuditEntry.objects.get(after__gdpr="export").via == "api"


def test_the_erasure_needs_a_reason_and_then_erases(api_a, in_a):
    member = member_make("A-2", **PERSON, points=20)

    for body, field in (({}, "reason"), ({"reason": ""}, "reason"), ({"reason": "x", "extra": 1}, "extra")):
        assert error_of(api_a.post("/api/v1/members/A-2/erase", body), 400)["field"] == field
    assert Member.objects.get(pk=member.pk).email == PERSON["email"]

    response = api_a.post("/api/v1/members/A-2/erase", {"reason": "GDPR request 2026-114"})

    assert response.status_code == 200
    assert response.json() == {"external_id": "A-2", "status": "anonymised"}
    member.refresh_from_db()
    assert (member.email, member.phone, member.balance) == ("", "", 20)
    assert AuditEntry.objects.get(after__gdpr="erasure").via == "api"
    assert api_a.post("/api/v1/members/A-2/erase", {"reason": "again"}).status_code == 200


def test_an_unknown_member_is_a_404(api_a, in_a):
    error_of(api_a.get("/api/v1/members/nobody/export"), 404)
    error_of(api_a.post("/api/v1/members/nobody/erase", {"reason": "x"}), 404)
