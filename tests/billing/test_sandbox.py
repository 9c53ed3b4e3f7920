"""The sandbox (no Stripe keys): a member subscribes on the local checkout page, clearly marked,
and Stripe-shaped events go through the webhook's store and handlers; the backoffice's controls
renew, fail a payment and cancel, each with the events Stripe would send."""

from __future__ import annotations

import pytest

from billing.models import Payment, Subscription
from billing.services.connect import stripe_account_connect
from billing.services.plans import vip_plan_save
from tenants.models import StripeEvent
from tests.factories import member_make

PLAN = {"name": "Gold", "code": "gold", "price": "9.90", "currency": "EUR", "interval": "month"}


@pytest.fixture
def sandbox_a(in_a, settings):
    settings.STRIPE_SECRET_KEY = ""
    stripe_account_connect(
        brand=in_a, email="a@example.com", refresh_url="http://x/r", return_url="http://x/d"
    )
    return in_a


@pytest.fixture
def member_client(sandbox_a, client_for):
    member = member_make(login=True, email="vip@example.com")
    client = client_for(sandbox_a)
    client.force_login(member.user)
    client.member = member
    return client


def _paid(client, plan) -> Subscription:
    response = client.post(f"/vip/plans/{plan.pk}/subscribe/")
    assert response.status_code == 302 and "/vip/sandbox/checkout/cs_test_" in response["Location"]
    page = client.get(response["Location"])
    assert page.status_code == 200 and "SANDBOX" in page.text and "9.90" in page.text
    back = client.post(response["Location"])
    assert back.status_code == 302 and "/vip/success/?session_id=cs_test_" in back["Location"]
    return Subscription.objects.get(member=client.member)


def test_paying_in_the_sandbox_makes_the_member_vip(member_client):
    plan = vip_plan_save(data=PLAN)
    assert plan.stripe_price_id.startswith("price_") and plan.stripe_product_id.startswith("prod_")
    subscription = _paid(member_client, plan)
    assert subscription.status == "active" and subscription.sandbox and subscription.plan == plan
    member = member_client.member
    member.refresh_from_db()
    assert member.is_vip and member.vip_source == "subscription"
    types = list(
        StripeEvent.objects.filter(account_id__startswith="acct_").order_by("id").values_list("type", "state")
    )
    assert types[-3:] == [
        ("checkout.session.completed", "processed"),
        ("customer.subscription.created", "processed"),
        ("invoice.paid", "processed"),
    ]
    assert Payment.objects.get(subscription=subscription).status == "paid"
    success = member_client.get("/vip/success/")
    assert "Gold" in success.text and "refresh" not in success.text


def test_paying_a_session_twice_pays_it_once(member_client):
    plan = vip_plan_save(data=PLAN)
    location = member_client.post(f"/vip/plans/{plan.pk}/subscribe/")["Location"]
    assert "/vip/success/" in member_client.post(location)["Location"]
    again = member_client.post(location)
    assert again.status_code == 302 and again["Location"] == "/vip/"
    assert Subscription.objects.filter(member=member_client.member).count() == 1


def test_a_trial_starts_trialing(member_client):
    plan = vip_plan_save(data={**PLAN, "trial_days": 10})
    subscription = _paid(member_client, plan)
    assert subscription.status == "trialing" and subscription.trial_end is not None


def test_the_controls_renew_fail_and_cancel(member_client, staff_for, sandbox_a):
    plan = vip_plan_save(data=PLAN)
    subscription = _paid(member_client, plan)
    staff = staff_for(sandbox_a)
    page = staff.get("/backoffice/billing/vipplan/sandbox/")
    assert page.status_code == 200 and "Renew" in page.text
    end = subscription.current_period_end

    def act(action: str) -> Subscription:
        response = staff.post(
            "/backoffice/billing/vipplan/sandbox/", {"subscription": subscription.pk, "action": action}
        )
        assert response.status_code == 302
        subscription.refresh_from_db()
        return subscription

    assert act("renew").current_period_start == end and subscription.status == "active"
    assert Payment.objects.filter(subscription=subscription, status="paid").count() == 2
    assert act("fail").status == "past_due"
    assert Payment.objects.filter(subscription=subscription, status="failed").count() == 1
    member = member_client.member
    member.refresh_from_db()
    assert member.is_vip  # Stripe is still retrying
    assert act("cancel_at_period_end").cancel_at_period_end
    member.refresh_from_db()
    assert member.is_vip  # until the period's end
    assert act("cancel_now").status == "canceled" and subscription.ended_at is not None
    page = staff.get("/backoffice/billing/vipplan/sandbox/")
    assert page.status_code == 200
    for wrong in ("x", "", "1.5"):
        response = staff.post(
            "/backoffice/billing/vipplan/sandbox/", {"subscription": wrong, "action": "renew"}
        )
        assert response.status_code == 404


def test_the_sandbox_portal_cancels_at_period_end(member_client):
    plan = vip_plan_save(data=PLAN)
    _paid(member_client, plan)
    response = member_client.post("/vip/manage/")
    assert response.status_code == 302 and "/vip/sandbox/portal/bps_" in response["Location"]
    page = member_client.get(response["Location"])
    assert "SANDBOX" in page.text
    member_client.post(response["Location"])
    assert Subscription.objects.get(member=member_client.member).cancel_at_period_end


def test_another_members_session_is_not_found(member_client, client_for, sandbox_a):
    plan = vip_plan_save(data=PLAN)
    location = member_client.post(f"/vip/plans/{plan.pk}/subscribe/")["Location"]
    other = member_make(login=True)
    client = client_for(sandbox_a)
    client.force_login(other.user)
    assert client.get(location).status_code == 404
    assert client.post(location).status_code == 404
    assert not Subscription.objects.exists()
    assert client.get("/vip/sandbox/checkout/cs_test_nothing/").status_code == 404


def test_a_sandbox_account_left_gives_nothing_once_stripe_keys_are_set(
    member_client, staff_for, sandbox_a, settings
):
    """The brand's sandbox account stays when the platform gets its key: its checkout, portal and
    controls are off all the same, or a member would be VIP without paying."""
    plan = vip_plan_save(data=PLAN)
    subscription = _paid(member_client, plan)
    checkout = member_client.post(f"/vip/plans/{plan.pk}/subscribe/")
    portal = member_client.post("/vip/manage/")
    settings.STRIPE_SECRET_KEY = "sk_live_x"
    events = StripeEvent.objects.count()
    # The member's own sessions, made a moment ago: the address still leads nowhere.
    for location in (checkout["Location"], portal["Location"]):
        assert member_client.get(location).status_code == 404
        assert member_client.post(location).status_code == 404
    staff = staff_for(sandbox_a)
    page = staff.get("/backoffice/billing/vipplan/sandbox/")
    assert page.status_code == 200 and "Renew" not in page.text
    response = staff.post(
        "/backoffice/billing/vipplan/sandbox/", {"subscription": subscription.pk, "action": "renew"}
    )
    assert response.status_code == 302
    assert StripeEvent.objects.count() == events
    assert Payment.objects.filter(subscription=subscription).count() == 1


def test_the_demo_plans_are_seeded_once_on_a_sandbox_account(in_a, settings):
    from billing.demo import demo_billing_seed
    from billing.models import VipPlan
    from tenants.models import StripeAccount

    settings.STRIPE_SECRET_KEY = ""
    demo_billing_seed(slug="grand-cru")
    demo_billing_seed(slug="grand-cru")
    assert StripeAccount.objects.get(brand=in_a).sandbox
    plans = list(VipPlan.objects.order_by("position").values_list("code", "interval", "trial_days"))
    assert plans == [("cellar-club", "month", 14), ("cellar-club-year", "year", 0)]
    assert all(VipPlan.objects.values_list("stripe_price_id", flat=True))
