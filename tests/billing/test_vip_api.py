"""VIP through the API: the member's answer says which source and since when (read only), staff's
`is_vip` is the `manual` source, a tier's `grants_vip` and the spend rule are set like the other
programme settings (a bad value names its field and writes nothing)."""

from __future__ import annotations

from decimal import Decimal

from loyalty.models import Member, ProgrammeSettings, Tier
from tests.factories import member_make
from tests.support import error_of


def test_the_member_answer_says_source_and_since(api_a, in_a):
    body = api_a.put("/api/v1/members/V-1", {"first_name": "Val"}).json()
    assert (body["is_vip"], body["vip_source"], body["vip_since"]) == (False, "", None)
    body = api_a.put("/api/v1/members/V-1", {"is_vip": True}).json()
    assert (body["is_vip"], body["vip_source"]) == (True, "manual") and body["vip_since"]
    since = body["vip_since"]
    body = api_a.put("/api/v1/members/V-1", {"is_vip": True, "city": "Lyon"}).json()
    assert body["vip_since"] == since
    # Read only: a source given is refused as an unknown field, nothing written.
    response = api_a.put("/api/v1/members/V-1", {"vip_source": "tier"})
    assert error_of(response, 400)["field"] == "vip_source"
    body = api_a.put("/api/v1/members/V-1", {"is_vip": False}).json()
    assert (body["is_vip"], body["vip_source"], body["vip_since"]) == (False, "", None)


def test_a_tier_that_grants_vip_through_the_api(api_a, in_a):
    response = api_a.post(
        "/api/v1/tiers", {"code": "gold", "name": "Gold", "threshold": "100", "grants_vip": True}
    )
    assert response.status_code == 201, response.content
    assert response.json()["grants_vip"] is True
    assert Tier.objects.get(code="gold").grants_vip
    response = api_a.put("/api/v1/tiers/gold", {"grants_vip": "yes"})
    assert error_of(response, 400)["field"] == "grants_vip"
    assert Tier.objects.get(code="gold").grants_vip


def test_the_spend_rule_through_the_api(api_a, in_a):
    response = api_a.send(
        "patch", "/api/v1/programme", {"vip_spend_amount": "1000.00", "vip_spend_months": 9}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["vip_spend_amount"], body["vip_spend_months"]) == ("1000.00", 9)
    for bad, field in (
        ({"vip_spend_amount": "-5"}, "vip_spend_amount"),
        ({"vip_spend_months": 0}, "vip_spend_months"),
    ):
        response = api_a.send("patch", "/api/v1/programme", bad)
        assert error_of(response, 400)["field"] == field
    row = ProgrammeSettings.objects.get(id=1)
    assert (row.vip_spend_amount, row.vip_spend_months) == (Decimal("1000.00"), 9)
    response = api_a.send("patch", "/api/v1/programme", {"vip_spend_amount": None})
    assert response.status_code == 200 and response.json()["vip_spend_amount"] is None


def test_a_subscriber_stays_vip_when_staff_withdraw_their_grant(api_a, in_a):
    from django.utils import timezone

    from billing.models import Subscription

    member = member_make("V-2")
    Subscription.objects.create(
        member=member,
        stripe_subscription_id="sub_api",
        stripe_customer_id="cus_api",
        status="active",
        state_at=timezone.now(),
    )
    api_a.put("/api/v1/members/V-2", {"is_vip": True})
    body = api_a.put("/api/v1/members/V-2", {"is_vip": False}).json()
    assert (body["is_vip"], body["vip_source"]) == (True, "subscription")
    assert Member.objects.get(pk=member.pk).vip_source == "subscription"
