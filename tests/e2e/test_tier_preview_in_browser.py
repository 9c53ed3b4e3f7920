"""The member page's tier section in a real browser: its date field and buttons belong to forms of
their own (outside the member's form), so Preview asks for the preview and saves nothing, and
Re-evaluate now evaluates without submitting the member's form."""

from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from loyalty.models import ActivityEvent, Member, ProgrammeSettings, TierChange
from loyalty.services.members import member_upsert
from loyalty.services.tiers import tier_create
from tenants.selectors import brand_timezone
from tests.conftest import TEST_PASSWORD


def test_preview_and_re_evaluate_from_the_member_page(fresh_brand, site_server, page, tmp_path):
    connection.set_tenant(fresh_brand)
    ProgrammeSettings.objects.filter(id=1).update(
        tier_metric="amount_spent",
        tier_window="rolling_months",
        tier_window_months=9,
        tier_downgrade="grace",
        tier_grace_days=30,
    )
    tier_create(data={"code": "member", "name": "Member", "threshold": "0"})
    tier_create(data={"code": "vip", "name": "VIP", "threshold": "1000", "threshold_inclusive": False})
    member, _ = member_upsert(external_id="claire", data={"first_name": "Claire"})
    now = timezone.now()
    for days, amount in ((250, "700"), (120, "450")):
        ActivityEvent.objects.create(
            idempotency_key=f"e2e-{days}",
            member=member,
            type="purchase",
            occurred_at=now - timedelta(days=days),
            amount=Decimal(amount),
            currency="EUR",
        )
    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", f"admin@{fresh_brand.slug}.example")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")

    page.goto(f"{base}/backoffice/loyalty/member/{member.pk}/change/")
    page.click("#tier-evaluation button:has-text('Re-evaluate now')")
    expect(page.get_by_text("Tier evaluated: VIP (upgraded).", exact=True)).to_be_visible()
    connection.set_tenant(fresh_brand)
    assert Member.objects.get(pk=member.pk).tier.code == "vip"

    on = (now + timedelta(days=75)).astimezone(brand_timezone()).date()
    page.fill("input[name=tier_preview]", on.isoformat())
    page.click("#tier-evaluation button:has-text('Preview')")
    result = page.locator("#tier-preview-result").inner_text()
    assert "Member" in result and "over 1000.00" in result and "in grace" in result
    page.locator("#tier-evaluation").screenshot(path=str(tmp_path / "tier-evaluation.png"))
    connection.set_tenant(fresh_brand)
    assert (
        TierChange.objects.filter(member=member).count() == 1
    )  # the evaluation's; the preview wrote nothing
    assert Member.objects.get(pk=member.pk).tier_below_since is None
