"""Subscribing from /vip/: a Checkout session in subscription mode on the brand's connected account
(the Stripe-Account header), with the platform's application fee from the brand's plan and the VIP
plan's trial; one customer per member; a subscribed member is sent to the portal instead."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Customer, Subscription
from billing.services.plans import vip_plan_save
from tenants.models import Brand, PlatformPlan
from tests.factories import member_make

PLAN = {
    "name": "Gold",
    "code": "gold",
    "price": "9.90",
    "currency": "EUR",
    "interval": "month",
    "trial_days": 14,
}


@pytest.fixture
def plan(connected_a):
    return vip_plan_save(data=PLAN)


@pytest.fixture
def member_client(in_a, client_for):
    member = member_make(login=True, email="vip@example.com", first_name="Ada", last_name="Lovelace")
    client = client_for(in_a)
    client.force_login(member.user)
    client.member = member
    return client


def _subscribe(client, plan):
    return client.post(f"/vip/plans/{plan.pk}/subscribe/")


def test_subscribing_opens_a_checkout_session_on_the_brands_account(in_a, plan, member_client, fake_stripe):
    platform_plan = PlatformPlan.objects.create(
        code="pro", name="Pro", application_fee_percent=Decimal("7.50")
    )
    Brand.objects.filter(pk=in_a.pk).update(platform_plan=platform_plan)
    response = _subscribe(member_client, plan)
    assert response.status_code == 302 and response["Location"].startswith(
        fake_stripe.base_url + "/c/pay/cs_test_"
    )
    (customer,) = fake_stripe.calls("customers")
    (session,) = fake_stripe.calls("checkout/sessions")
    account = plan_account = fake_stripe.calls("prices")[0].account
    assert customer.account == session.account == account == plan_account
    member = member_client.member
    assert customer.form["email"] == "vip@example.com" and customer.form["name"] == "Ada Lovelace"
    assert customer.idempotency_key == f"{in_a.schema_name}-member-{member.pk}-customer"
    form = session.form
    assert form["mode"] == "subscription" and form["customer"] == customer.answer["id"]
    assert form["line_items"] == [{"price": plan.stripe_price_id, "quantity": "1"}]
    assert form["subscription_data"]["application_fee_percent"] == "7.5"
    assert form["subscription_data"]["trial_period_days"] == "14"
    assert form["client_reference_id"] == str(member.pk)
    assert form["metadata"] == {"brand": in_a.schema_name, "member_id": str(member.pk), "plan": "gold"}
    assert form["subscription_data"]["metadata"] == form["metadata"]
    assert form["success_url"].endswith("/vip/success/?session_id={CHECKOUT_SESSION_ID}")
    assert form["cancel_url"].endswith("/vip/cancel/")
    assert session.idempotency_key.startswith(f"{in_a.schema_name}-checkout-{member.pk}-")
    assert Customer.objects.get(member=member).stripe_customer_id == customer.answer["id"]
    # Again (a double click, another tab): the same customer and the same session, so that the
    # member cannot pay two subscriptions before the first one's events arrive.
    again = _subscribe(member_client, plan)
    assert again.status_code == 302 and again["Location"] == response["Location"]
    assert len(fake_stripe.calls("customers")) == 1
    first, second = fake_stripe.calls("checkout/sessions")
    assert second.idempotency_key == first.idempotency_key and second.answer["id"] == first.answer["id"]
    # Another plan is another session, under another key.
    yearly = vip_plan_save(data={**PLAN, "code": "gold-year", "interval": "year", "price": "99.00"})
    other = _subscribe(member_client, yearly)
    assert other.status_code == 302 and other["Location"] != response["Location"]
    assert fake_stripe.calls("checkout/sessions")[-1].idempotency_key != first.idempotency_key


def test_no_platform_plan_no_fee_and_no_second_trial(in_a, plan, member_client, fake_stripe):
    member = member_client.member
    Subscription.objects.create(
        member=member,
        stripe_subscription_id="sub_old",
        stripe_customer_id="cus_old",
        status="canceled",
        current_period_end=timezone.now() - timedelta(days=3),
        state_at=timezone.now(),
    )
    assert _subscribe(member_client, plan).status_code == 302
    (session,) = fake_stripe.calls("checkout/sessions")
    assert "application_fee_percent" not in session.form["subscription_data"]
    assert "trial_period_days" not in session.form["subscription_data"]


def test_a_subscribed_member_is_sent_to_the_portal(in_a, plan, member_client, fake_stripe):
    member = member_client.member
    Customer.objects.create(member=member, stripe_customer_id="cus_x")
    fake_stripe.objects[fake_stripe.calls("prices")[0].account]["cus_x"] = {
        "id": "cus_x",
        "object": "customer",
    }
    Subscription.objects.create(
        member=member,
        stripe_subscription_id="sub_live",
        stripe_customer_id="cus_x",
        status="active",
        current_period_end=timezone.now() + timedelta(days=20),
        state_at=timezone.now(),
    )
    response = _subscribe(member_client, plan)
    assert response.status_code == 302 and response["Location"].startswith(
        fake_stripe.base_url + "/p/session/bps_"
    )
    assert fake_stripe.calls("checkout/sessions") == []
    (portal,) = fake_stripe.calls("billing_portal/sessions")
    assert portal.form["customer"] == "cus_x" and portal.form["return_url"].endswith("/vip/")
    assert portal.account == fake_stripe.calls("prices")[0].account
    page = member_client.get("/vip/")
    assert "Manage my subscription" in page.text and "Subscribe</button>" not in page.text


def test_the_vip_page_lists_the_plans(in_a, plan, client_for, member_client):
    page = client_for(in_a).get("/vip/")
    assert page.status_code == 200 and "Gold" in page.text and "Log in to subscribe" in page.text
    page = member_client.get("/vip/", HTTP_ACCEPT_LANGUAGE="fr")
    assert "Gold" in page.text and "Subscribe" in page.text


@pytest.mark.parametrize("case", ["unknown", "inactive", "get"])
def test_bad_requests_open_no_session(in_a, plan, member_client, fake_stripe, case):
    if case == "inactive":
        vip_plan_save(data={**PLAN, "is_active": False}, plan=plan)
    if case == "get":
        response = member_client.get(f"/vip/plans/{plan.pk}/subscribe/")
        assert response.status_code == 405
    else:
        response = member_client.post(
            f"/vip/plans/{plan.pk + 1000 if case == 'unknown' else plan.pk}/subscribe/"
        )
        assert response.status_code == 404
    assert fake_stripe.calls("checkout/sessions") == []


def test_anonymous_visitors_log_in_first(in_a, plan, client_for, fake_stripe):
    response = client_for(in_a).post(f"/vip/plans/{plan.pk}/subscribe/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert fake_stripe.calls("checkout/sessions") == []


def test_an_account_without_charges_sells_nothing(in_a, plan, connected_a, member_client, fake_stripe):
    connected_a.charges_enabled = False
    connected_a.save()
    response = _subscribe(member_client, plan)
    assert response.status_code == 302 and response["Location"] == "/vip/"
    assert fake_stripe.calls("checkout/sessions") == []


def test_the_vip_page_speaks_french(in_a, plan, client_for):
    from loyalty.services.programme import programme_settings_update

    programme_settings_update(data={"site_languages": ["fr", "en"], "default_language": "fr"})
    member = member_make(login=True, language="fr")
    client = client_for(in_a)
    client.force_login(member.user)
    page = client.get("/vip/").content.decode()
    assert "Adhésion VIP" in page and "S'abonner" in page and "9,90" in page
    assert "14 jours d'essai gratuit" in page and "pas encore membre VIP" in page
