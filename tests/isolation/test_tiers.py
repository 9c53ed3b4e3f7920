"""Tenant isolation of tiers, badges, segments, members' backoffice pages, the nightly runs, the tier
evaluation and preview and sales reps of the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from loyalty.models import LedgerEntry, Member, PointLot, Segment, Tier, TierChange
from loyalty.services.badges import badge_save
from loyalty.services.expiry import points_expire_due
from loyalty.services.tiers import tier_create, tiers_evaluate_all
from tests.factories import credit_make, member_make
from tests.support import ApiClient, error_of


@pytest.fixture
def only_in_a(db, brand_a):
    with schema_context(brand_a.schema_name):
        tier = tier_create(data={"code": "a-secret-tier", "name": "Alpha Secret Tier", "threshold": "10"})
        badge = badge_save(
            data={"code": "a-badge", "name": "Alpha Secret Badge", "event_type": "trip", "count_required": 1}
        )
        segment = Segment.objects.create(name="Alpha Secret Segment", filters={"tiers": ["a-secret-tier"]})
        member = member_make("alpha-only", first_name="Alphonse")
        Member.objects.filter(pk=member.pk).update(tier=tier)
    return {"tier": tier, "badge": badge, "segment": segment, "member": member}


def test_a_tier_badge_segment_and_member_of_a_are_invisible_from_b_backoffice(
    only_in_a, brand_a, brand_b, staff_for
):
    client = staff_for(brand_b)
    lists = {
        "/backoffice/loyalty/tier/": "Alpha Secret Tier",
        "/backoffice/loyalty/badge/": "Alpha Secret Badge",
        "/backoffice/loyalty/badge/leaderboard/": "Alphonse",
        "/backoffice/loyalty/segment/": "Alpha Secret Segment",
        "/backoffice/loyalty/member/?q=alpha-only": "Alphonse",
    }
    for url, secret in lists.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert secret not in response.content.decode(), url
    assert "0 results" in client.get("/backoffice/loyalty/member/?q=alpha-only").content.decode()

    # A's ids on B's host: no such object in B's schema (the admin says so and shows nothing).
    with schema_context(brand_b.schema_name):
        assert not Tier.objects.filter(code="a-secret-tier").exists()
    for url in (
        f"/backoffice/loyalty/tier/{only_in_a['tier'].pk}/change/",
        f"/backoffice/loyalty/badge/{only_in_a['badge'].pk}/change/",
        f"/backoffice/loyalty/segment/{only_in_a['segment'].pk}/change/",
        f"/backoffice/loyalty/member/{only_in_a['member'].pk}/change/",
    ):
        body = client.get(url, follow=True).content.decode()
        assert "Alpha Secret" not in body and "Alphonse" not in body, url
    for url in (
        f"/backoffice/loyalty/member/{only_in_a['member'].pk}/ledger/",
        f"/backoffice/loyalty/member/{only_in_a['member'].pk}/adjust/",
    ):
        assert client.get(url).status_code == 404, url

    # B's segment filters cannot name A's tier: it does not exist there.
    response = client.post("/backoffice/loyalty/segment/count/", {"filters": '{"tiers": ["a-secret-tier"]}'})
    assert response.status_code == 400
    assert response.json()["errors"]["tiers"] == ["unknown tier code(s): a-secret-tier"]

    # A's admin on A's host sees them all.
    client_a = staff_for(brand_a)
    assert "Alpha Secret Tier" in client_a.get("/backoffice/loyalty/tier/").content.decode()
    assert "Alpha Secret Segment" in client_a.get("/backoffice/loyalty/segment/").content.decode()


def test_nightly_runs_of_b_never_touch_a(only_in_a, brand_a, brand_b):
    now = timezone.now()
    with schema_context(brand_a.schema_name):
        member = only_in_a["member"]
        credit_make(member, 40, at=now - timedelta(days=3), expires_at=now - timedelta(days=1))
    with schema_context(brand_b.schema_name):
        assert points_expire_due(at=now) == 0
        tiers_evaluate_all(at=now)
    with schema_context(brand_a.schema_name):
        member.refresh_from_db()
        assert (member.balance, member.tier.code) == (40, "a-secret-tier")
        assert PointLot.objects.get(member=member).remaining == 40
        assert not LedgerEntry.objects.filter(kind="expire").exists()
    connection.set_schema_to_public()


def test_another_brands_key_cannot_evaluate_preview_or_set_reps_on_a_members(
    only_in_a, api_a, api_b, brand_a
):
    member = only_in_a["member"]
    with schema_context(brand_a.schema_name):
        rep = get_user_model().objects.create_user(username="a-rep", email="rep@alpha.example", is_staff=True)
        changes = TierChange.objects.count()
    ahead = (timezone.now() + timedelta(days=30)).date().isoformat()
    # B's key on A's host: refused before anything is read.
    b_key_on_a = ApiClient(brand=brand_a, key=api_b.key)
    assert api_b.get("/api/v1/sales-reps").status_code == 200  # the key is cached, under brand B
    for response in (
        b_key_on_a.post("/api/v1/members/alpha-only/tier-evaluation"),
        b_key_on_a.get(f"/api/v1/members/alpha-only/tier-preview?at={ahead}"),
        b_key_on_a.put("/api/v1/members/alpha-only", {"sales_rep": "rep@alpha.example"}),
        b_key_on_a.get("/api/v1/sales-reps"),
    ):
        error_of(response, 401)
    # A's member and A's rep on B's host, with B's key: neither exists there.
    error_of(api_b.post("/api/v1/members/alpha-only/tier-evaluation"), 404)
    error_of(api_b.get(f"/api/v1/members/alpha-only/tier-preview?at={ahead}"), 404)
    assert (
        error_of(api_b.put("/api/v1/members/b-own", {"sales_rep": "rep@alpha.example"}), 400)["field"]
        == "sales_rep"
    )
    assert "rep@alpha.example" not in {rep["email"] for rep in api_b.get("/api/v1/sales-reps").json()}
    with schema_context(api_b.brand.schema_name):
        assert not Member.objects.filter(external_id__in=["alpha-only", "b-own"]).exists()
    with schema_context(brand_a.schema_name):
        member.refresh_from_db()
        assert (member.sales_rep_id, member.tier.code) == (None, "a-secret-tier")
        assert TierChange.objects.count() == changes
    # A's own key does all three on A's member.
    assert api_a.post("/api/v1/members/alpha-only/tier-evaluation").status_code == 200
    assert api_a.get(f"/api/v1/members/alpha-only/tier-preview?at={ahead}").status_code == 200
    assert api_a.put("/api/v1/members/alpha-only", {"sales_rep": "a-rep"}).json()["sales_rep"] == rep.email
    connection.set_schema_to_public()
