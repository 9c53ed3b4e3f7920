"""The member page's GDPR actions: the export as a JSON file and the erasure, each behind its
permission (`loyalty.export_member_data`, `loyalty.erase_member`)."""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection

from core.models import AuditEntry
from loyalty.models import Member
from tests.conftest import TEST_PASSWORD
from tests.factories import member_make

PERSON = {
    "first_name": "Ysolde",
    "last_name": "Marquelande",
    "email": "ysolde@example.org",
    "phone": "+33677889900",
}


def test_staff_download_the_members_data_as_json(staff_a):
    member = member_make("G-1", **PERSON, points=30)

    response = staff_a.get(f"/backoffice/loyalty/member/{member.pk}/personal-data/")

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="member-{member.pk}-personal-data.json"'
    data = json.loads(response.content)
    assert data["apps"]["loyalty"]["member"]["email"] == PERSON["email"]
    assert data["apps"]["loyalty"]["points"]["balance"] == 30
    export = AuditEntry.objects.get(object_id=str(member.pk), after__gdpr="export")
    assert (export.via, export.actor.username) == ("backoffice", "admin@alpha.example")


def test_the_erasure_asks_a_reason_then_erases_and_is_audited(staff_a):
    member = member_make("G-2", **PERSON)
    url = f"/backoffice/loyalty/member/{member.pk}/erase/"

    assert "Erase for good" in staff_a.get(url).content.decode()
    response = staff_a.post(url, {"reason": "  "})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    member.refresh_from_db()
    assert member.email == PERSON["email"]

    response = staff_a.post(url, {"reason": "asked by letter"})

    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.status, member.email, member.first_name) == ("anonymised", "", "")
    erasure = AuditEntry.objects.get(object_id=str(member.pk), after__gdpr="erasure")
    assert (erasure.via, erasure.reason) == ("backoffice", "asked by letter")


def test_without_the_permissions_neither_export_nor_erasure(db, brand_a, client_for):
    connection.set_tenant(brand_a)
    user = get_user_model().objects.create_user(
        username="rep@alpha.example", password=TEST_PASSWORD, is_staff=True
    )
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_member", "change_member"]))
    member = member_make("G-3", **PERSON)
    Member.objects.filter(pk=member.pk).update(sales_rep=user)
    client = client_for(brand_a)
    client.post("/accounts/login/", {"username": "rep@alpha.example", "password": TEST_PASSWORD})

    page = client.get(f"/backoffice/loyalty/member/{member.pk}/change/").content.decode()
    assert "personal-data/" not in page and "/erase/" not in page
    assert client.get(f"/backoffice/loyalty/member/{member.pk}/personal-data/").status_code == 403
    assert client.post(f"/backoffice/loyalty/member/{member.pk}/erase/", {"reason": "x"}).status_code == 403
    member.refresh_from_db()
    assert member.email == PERSON["email"]
    assert not AuditEntry.objects.filter(object_id=str(member.pk), after__has_key="gdpr").exists()
