"""`POST /api/v1/members/batch`: up to 1,000 members upserted by external id, one answer each,
nothing half-written per member, bad bodies refused whole with the field named."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from core.apikeys import api_key_create
from loyalty.models import ConsentChange, Member, MemberAudit
from loyalty.services.members import member_anonymise
from tests.factories import member_make
from tests.support import ApiClient, error_of

URL = "/api/v1/members/batch"


def _reseller(external_id: str, **extra) -> dict:
    return {
        "external_id": external_id,
        "kind": "reseller",
        "company_name": f"Garage {external_id}",
        "siret": "73282932000074",
        "phone": "+33612345678",
        "city": "Lyon",
        **extra,
    }


def test_members_are_created_then_updated_with_one_answer_each(api_a, in_a):
    rep = get_user_model().objects.create_user(username="rep1", email="rep1@example.com", is_staff=True)
    body = {
        "members": [_reseller("r-1", sales_rep="rep1@example.com"), _reseller("r-2", consents={"sms": True})]
    }

    response = api_a.post(URL, body)

    assert response.status_code == 200, response.content
    assert response.json()["results"] == [
        {"external_id": "r-1", "status": 201, "created": True},
        {"external_id": "r-2", "status": 201, "created": True},
    ]
    first = Member.objects.get(external_id="r-1")
    assert (first.company_name, first.sales_rep_id, first.kind) == ("Garage r-1", rep.pk, "reseller")
    assert MemberAudit.objects.filter(member=first, action="sales_rep").count() == 1
    assert ConsentChange.objects.filter(member__external_id="r-2", channel="sms").count() == 1

    again = api_a.post(URL, {"members": [_reseller("r-1", sales_rep="rep1@example.com", city="Lyon")]})

    assert again.json()["results"] == [{"external_id": "r-1", "status": 200, "created": False}]
    assert MemberAudit.objects.filter(member=first).count() == 1  # the same rep: no second change


def test_bad_members_are_answered_alone_and_the_others_written(api_a, in_a):
    anonymised = member_make("gone", first_name="Ann")
    member_anonymise(member=anonymised, by=None, reason="asked")
    body = {
        "members": [
            _reseller("ok-1"),
            _reseller("bad-siret", siret="123"),
            {"external_id": "bad-field", "colour": "red"},
            "not an object",
            _reseller("no-rep", sales_rep="nobody@example.com"),
            {"external_id": "gone", "first_name": "Bob"},
            {"external_id": "reseller-without-company", "kind": "reseller"},
            {"external_id": "twice"},
            {"external_id": "twice", "city": "Paris"},
            {"external_id": "ok-2", "email": "ok2@example.com"},
        ]
    }

    results = api_a.post(URL, body).json()["results"]

    assert [result.get("status") for result in results] == [
        201,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        201,
    ]
    errors = [
        (result["external_id"], result["error"]["field"], result["error"]["status"])
        for result in results[1:9]
    ]
    assert errors == [
        ("bad-siret", "siret", 400),
        ("bad-field", "colour", 400),
        (None, None, 400),
        ("no-rep", "sales_rep", 400),
        ("gone", "external_id", 409),
        ("reseller-without-company", "company_name", 400),
        ("twice", "external_id", 400),
        ("twice", "external_id", 400),
    ]
    assert results[5]["error"]["code"] == "member_anonymised"
    assert set(Member.objects.values_list("external_id", flat=True)) == {"ok-1", "ok-2", "gone"}
    assert Member.objects.get(external_id="gone").first_name == ""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({}, "members"),
        ({"members": {}}, "members"),
        ({"members": []}, "members"),
        ({"members": [{"external_id": "a"}], "extra": 1}, "extra"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field_and_writes_nothing(api_a, in_a, body, field):
    assert error_of(api_a.post(URL, body), 400)["field"] == field
    assert not Member.objects.exists()


def test_1001_members_are_refused_whole(api_a, in_a):
    body = {"members": [{"external_id": f"m-{index}"} for index in range(1001)]}

    error = error_of(api_a.post(URL, body), 400)

    assert error["field"] == "members"
    assert "1000" in error["message"]
    assert not Member.objects.exists()


def test_1000_members_are_written(api_a, in_a):
    body = {"members": [{"external_id": f"m-{index}", "last_name": "Doe"} for index in range(1000)]}

    results = api_a.post(URL, body).json()["results"]

    assert len(results) == 1000
    assert {result["status"] for result in results} == {201}
    assert Member.objects.filter(last_name="Doe").count() == 1000


def test_a_key_without_members_write_is_refused_and_writes_nothing(db, brand_a, in_a):
    _, key = api_key_create(name="reader", scopes=["members:read"])
    reader = ApiClient(brand=brand_a, key=key)

    error = error_of(reader.post(URL, {"members": [{"external_id": "r-1"}]}), 403)

    assert error["code"] == "scope_missing"
    assert not Member.objects.exists()
