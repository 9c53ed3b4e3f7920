"""Isolation of the member service page and GDPR: brand B's key, staff and ids reach nothing of
brand A's members, and an erasure in A leaves B's member of the same id and e-mail untouched."""

from __future__ import annotations

from django_tenants.utils import schema_context

from loyalty.models import Member
from loyalty.services.privacy import member_erase
from tests.factories import member_make

PERSON = {"first_name": "Ysolde", "last_name": "Marquelande", "email": "ysolde@example.org"}


def test_brand_bs_key_neither_exports_nor_erases_brand_as_member(db, brand_a, brand_b, api_b):
    with schema_context(brand_a.schema_name):
        member_make("ONLY-A", **PERSON)

    assert api_b.get("/api/v1/members/ONLY-A/export").status_code == 404
    assert api_b.post("/api/v1/members/ONLY-A/erase", {"reason": "x"}).status_code == 404

    with schema_context(brand_a.schema_name):
        assert Member.objects.get(external_id="ONLY-A").email == PERSON["email"]


def test_brand_bs_staff_cannot_open_brand_as_member_page(db, brand_a, brand_b, staff_for):
    with schema_context(brand_a.schema_name):
        member = member_make("PAGE-A", **PERSON)
    client = staff_for(brand_b)
    for path in ("change/", "personal-data/", "erase/"):
        response = client.get(f"/backoffice/loyalty/member/{member.pk}/{path}", follow=True)
        assert PERSON["email"] not in response.content.decode()


def test_an_erasure_in_one_brand_leaves_the_same_person_in_another(db, brand_a, brand_b):
    with schema_context(brand_b.schema_name):
        member_make("SAME", **PERSON)
    with schema_context(brand_a.schema_name):
        member_erase(member=member_make("SAME", **PERSON), by=None, reason="GDPR")
        assert Member.objects.get(external_id="SAME").email == ""
    with schema_context(brand_b.schema_name):
        assert Member.objects.get(external_id="SAME").email == PERSON["email"]
