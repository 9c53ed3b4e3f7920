"""Tenant isolation of the brand REST API: keys, members, ledgers, rules and tiers stay in their brand."""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from loyalty.models import LedgerEntry, Member
from tests.loyalty.test_api_support import ApiClient, error_of

pytest_plugins = ["tests.loyalty.test_api_support"]


def test_key_of_brand_a_on_brand_b_host_is_401_and_writes_nothing(api_a, brand_b):
    a_key_on_b = ApiClient(brand=brand_b, key=api_a.key)
    error = error_of(a_key_on_b.put("/api/v1/members/ISO-1", {"first_name": "Mallory"}), 401)
    assert error["field"] == "Authorization"
    error_of(a_key_on_b.get("/api/v1/members/ISO-1"), 401)
    error_of(a_key_on_b.post("/api/v1/members/ISO-1/adjustments", {"points": 5, "reason": "x"}), 401)
    connection.set_tenant(brand_b)
    assert not Member.objects.filter(external_id="ISO-1").exists()
    connection.set_tenant(api_a.brand)
    assert not Member.objects.filter(external_id="ISO-1").exists()


def test_member_external_id_of_brand_a_is_a_404_on_brand_b(api_a, api_b):
    assert api_a.put("/api/v1/members/ISO-2", {"first_name": "Only in A"}).status_code == 201
    assert api_a.post("/api/v1/members/ISO-2/adjustments", {"points": 9, "reason": "seed"}).status_code == 201
    error = error_of(api_b.get("/api/v1/members/ISO-2"), 404)
    assert error["field"] == "external_id"
    error_of(api_b.get("/api/v1/members/ISO-2/ledger"), 404)
    error_of(api_b.post("/api/v1/members/ISO-2/adjustments", {"points": 5, "reason": "x"}), 404)
    connection.set_tenant(api_b.brand)
    assert not LedgerEntry.objects.filter(member__external_id="ISO-2").exists()


def test_same_external_id_in_both_brands_are_two_members(api_a, api_b):
    api_a.put("/api/v1/members/ISO-3", {"first_name": "Ann"})
    api_b.put("/api/v1/members/ISO-3", {"first_name": "Bob"})
    api_a.post("/api/v1/members/ISO-3/adjustments", {"points": 7, "reason": "a"})
    assert api_a.get("/api/v1/members/ISO-3").json()["first_name"] == "Ann"
    assert api_b.get("/api/v1/members/ISO-3").json()["first_name"] == "Bob"
    assert api_a.get("/api/v1/members/ISO-3").json()["points"]["balance"] == 7
    assert api_b.get("/api/v1/members/ISO-3").json()["points"]["balance"] == 0
    connection.set_tenant(api_b.brand)
    assert Member.objects.get(external_id="ISO-3").joined_at <= timezone.now()
