"""Tenant isolation of percentage awards and bounded conditions: brand A's sales-rep percentage
rule is neither seen, changed, nor applied by brand B, and pays nothing on brand B's events."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from loyalty.models import EarningRule, LedgerEntry, Member
from loyalty.rule_examples import POINT_PER_EURO, REP_TEN_PERCENT_OF_FEATURED
from tests.support import error_of

OVER_100 = {"field": "amount", "op": "between", "value": [100, 1000], "inclusive": [False, True]}
BASKET = {"amount": "150", "items": [{"sku": "A", "category": "featured", "unit_price": "150"}]}


def _with_rep(brand, external_id: str) -> None:
    connection.set_tenant(brand)
    rep = get_user_model().objects.create_user(username="rep-iso", password="x", is_staff=True)
    Member.objects.create(external_id=external_id, joined_at=timezone.now(), sales_rep=rep)


def test_a_percentage_rule_of_brand_a_is_unseen_and_pays_nothing_in_brand_b(api_a, api_b):
    ids = []
    for rule in ({**POINT_PER_EURO, "conditions": [OVER_100]}, REP_TEN_PERCENT_OF_FEATURED):
        response = api_a.post("/api/v1/rules", rule)
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
    for rule_id in ids:
        assert error_of(api_b.get(f"/api/v1/rules/{rule_id}"), 404)["field"] == "id"
        error_of(api_b.put(f"/api/v1/rules/{rule_id}", {"percent": "50"}), 404)
        error_of(api_b.delete(f"/api/v1/rules/{rule_id}"), 404)
    assert api_b.get("/api/v1/rules").json() == []

    _with_rep(api_a.brand, "ISO-REP")
    _with_rep(api_b.brand, "ISO-REP")
    event = {
        "member": "ISO-REP",
        "type": "purchase",
        "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "attributes": BASKET,
    }
    in_b = api_b.post("/api/v1/events", event, headers={"Idempotency-Key": "iso-rep-1"})
    assert in_b.status_code == 201, in_b.content
    assert in_b.json()["awards"] == []
    in_a = api_a.post("/api/v1/events", event, headers={"Idempotency-Key": "iso-rep-1"}).json()
    assert [award["points"] for award in in_a["awards"]] == [150, 15]

    connection.set_tenant(api_b.brand)
    assert not LedgerEntry.objects.exists()
    assert not Member.objects.filter(external_id="staff:rep-iso").exists()
    connection.set_tenant(api_a.brand)
    assert EarningRule.objects.get(pk=ids[1]).percent == 10
    assert Member.objects.get(external_id="staff:rep-iso").balance == 15
