"""Backoffice: the member page's tier evaluation (now, re-evaluated, previewed at a date) and the
tier form's included or excluded threshold."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from loyalty.models import ActivityEvent, Member, ProgrammeSettings, Tier, TierChange
from loyalty.services.tiers import tier_create
from tenants.selectors import brand_timezone
from tests.factories import member_make


@pytest.fixture
def vip_member(staff_a):
    ProgrammeSettings.objects.update_or_create(
        id=1,
        defaults={
            "tier_metric": "amount_spent",
            "tier_window": "rolling_months",
            "tier_window_months": 9,
            "tier_downgrade": "grace",
            "tier_grace_days": 20,
        },
    )
    tier_create(data={"code": "member", "name": "Member", "threshold": "0"})
    vip = tier_create(data={"code": "vip", "name": "VIP", "threshold": "1000", "threshold_inclusive": False})
    member = member_make("C-77", first_name="Claire")
    ActivityEvent.objects.create(
        idempotency_key="bo-1",
        member=member,
        type="purchase",
        occurred_at=timezone.now() - timedelta(days=250),
        amount=Decimal("1500"),
        currency="EUR",
    )
    Member.objects.filter(pk=member.pk).update(tier=vip)
    return member


def _page(client, member, **query) -> str:
    response = client.get(f"/backoffice/loyalty/member/{member.pk}/change/", query)
    assert response.status_code == 200
    return response.content.decode()


def test_member_page_shows_the_evaluation_now_and_a_preview_at_a_date(staff_a, vip_member):
    page = _page(staff_a, vip_member)
    assert "Tier evaluation" in page
    assert "1500.00" in page and "VIP: over 1000.00 — met" in page
    on = (timezone.now() + timedelta(days=60)).astimezone(brand_timezone()).date()
    page = _page(staff_a, vip_member, tier_preview=on.isoformat())
    assert 'id="tier-preview-result"' in page
    assert "VIP: over 1000.00 — missed" in page and "in grace" in page and "downgraded" in page
    assert not TierChange.objects.exists()  # showing and previewing write nothing
    vip_member.refresh_from_db()
    assert vip_member.tier_below_since is None


@pytest.mark.parametrize("bad", ["2020-01-01", "not-a-date", ""])
def test_a_bad_preview_date_is_a_form_error(staff_a, vip_member, bad):
    page = _page(staff_a, vip_member, tier_preview=bad)
    assert 'id="tier-preview-result"' not in page
    assert "errorlist" in page
    assert not TierChange.objects.exists()


def test_re_evaluate_now_goes_through_the_service(staff_a, vip_member):
    url = f"/backoffice/loyalty/member/{vip_member.pk}/tier-evaluation/"
    assert staff_a.get(url).status_code == 403
    Member.objects.filter(pk=vip_member.pk).update(tier=None)
    response = staff_a.post(url, follow=True)
    assert response.status_code == 200
    assert "Tier evaluated: VIP (upgraded)." in response.content.decode()
    change = TierChange.objects.get(member=vip_member)
    assert (change.from_tier, change.to_tier.code, change.metric_value) == (None, "vip", Decimal("1500"))


def test_tier_form_says_whether_the_threshold_is_included(staff_a):
    form = {"code": "gold", "name": "Gold", "threshold": "1000", "earn_multiplier": "1"}
    assert staff_a.post("/backoffice/loyalty/tier/add/", form).status_code == 302
    assert Tier.objects.get(code="gold").threshold_inclusive is False  # the box left unticked
    form = {**form, "code": "plat", "threshold": "2000", "threshold_inclusive": "on"}
    assert staff_a.post("/backoffice/loyalty/tier/add/", form).status_code == 302
    assert Tier.objects.get(code="plat").threshold_inclusive is True
    assert 'name="threshold_inclusive"' in staff_a.get("/backoffice/loyalty/tier/add/").content.decode()
