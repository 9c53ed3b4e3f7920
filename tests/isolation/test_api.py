"""Tenant isolation of the brand REST API: keys, members, ledgers, rules and tiers stay in their brand."""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from loyalty.models import ActivityEvent, EarningRule, LedgerEntry, Member
from tests.support import ApiClient, error_of


def test_key_of_brand_a_on_brand_b_host_is_401_and_writes_nothing(api_a, brand_b):
    assert api_a.get("/api/v1/members/ISO-1").status_code == 404  # the key is cached, under brand A
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


PURCHASE = {
    "member": "ISO-4",
    "type": "purchase",
    "occurred_at": "2026-03-02T10:15:00+01:00",
    "attributes": {"amount": "12.00"},
}
PER_EURO = {
    "name": "1 point per euro",
    "event_type": "purchase",
    "award_type": "per_amount",
    "points_per_unit": "1",
}


def test_event_for_a_member_of_brand_a_is_a_404_on_brand_b(api_a, api_b):
    api_a.put("/api/v1/members/ISO-4", {})
    error = error_of(api_b.post("/api/v1/events", PURCHASE, headers={"Idempotency-Key": "iso-e1"}), 404)
    assert error["field"] == "member"
    batch = api_b.post("/api/v1/events/batch", {"events": [{**PURCHASE, "id": "iso-e2"}]}).json()["results"]
    assert batch[0]["error"]["status"] == 404
    error_of(api_b.post("/api/v1/simulate", PURCHASE), 404)
    for brand in (api_a.brand, api_b.brand):
        connection.set_tenant(brand)
        assert not ActivityEvent.objects.filter(idempotency_key__in=["iso-e1", "iso-e2"]).exists()


def test_idempotency_keys_and_rules_are_per_brand(api_a, api_b):
    rule_a = api_a.post("/api/v1/rules", PER_EURO).json()
    api_b.post("/api/v1/rules", {**PER_EURO, "points_per_unit": "2"})
    for api in (api_a, api_b):
        api.put("/api/v1/members/ISO-4", {})
    in_a = api_a.post("/api/v1/events", PURCHASE, headers={"Idempotency-Key": "iso-same"})
    in_b = api_b.post("/api/v1/events", PURCHASE, headers={"Idempotency-Key": "iso-same"})
    # The same key in another brand is another event, earning under that brand's own rules.
    assert (in_a.status_code, in_b.status_code) == (201, 201)
    assert (in_a.json()["points_awarded"], in_b.json()["points_awarded"]) == (12, 24)
    assert [rule["id"] for rule in api_a.get("/api/v1/rules").json()] == [rule_a["id"]]
    # Ids are per schema: the same number on B is B's own rule or nothing, never A's rule.
    on_b = api_b.get(f"/api/v1/rules/{rule_a['id']}")
    if on_b.status_code == 200:
        assert on_b.json()["points_per_unit"] == "2.0000"
    else:
        error_of(on_b, 404)
        error_of(api_b.put(f"/api/v1/rules/{rule_a['id']}", {"points_per_unit": "9"}), 404)
        error_of(api_b.delete(f"/api/v1/rules/{rule_a['id']}"), 404)
    connection.set_tenant(api_a.brand)
    assert EarningRule.objects.get(pk=rule_a["id"]).points_per_unit == 1


def test_tiers_are_per_brand(api_a, api_b):
    assert (
        api_a.post("/api/v1/tiers", {"code": "iso-gold", "name": "Gold", "threshold": 10}).status_code == 201
    )
    error_of(api_b.get("/api/v1/tiers/iso-gold"), 404)
    error_of(api_b.delete("/api/v1/tiers/iso-gold"), 404)
    assert api_a.get("/api/v1/tiers/iso-gold").status_code == 200


def test_rate_limit_counters_are_per_brand_even_for_the_same_key_prefix(api_a, api_b, brand_a, brand_b):
    """The counter key carries the brand's schema: exhausting A's key never throttles B's."""
    import time

    from django_tenants.utils import schema_context

    from core.models import ApiKey
    from tests.factories import key_make

    if time.time() % 60 > 55:  # the counter is per minute: stay inside one window
        time.sleep(60 - time.time() % 60 + 0.1)
    limited_a = ApiClient(brand=brand_a, key=key_make(brand_a, name="limited", rate_limit_per_minute=2))
    limited_b = ApiClient(brand=brand_b, key=key_make(brand_b, name="limited", rate_limit_per_minute=2))
    with schema_context(brand_a.schema_name):
        prefix = ApiKey.objects.get(name="limited").prefix
    with schema_context(brand_b.schema_name):
        ApiKey.objects.filter(name="limited").update(prefix=prefix)
    assert [limited_a.get("/api/v1/members/nobody").status_code for _ in range(3)] == [404, 404, 429]
    assert limited_b.get("/api/v1/members/nobody").status_code == 404
