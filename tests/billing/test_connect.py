"""Connect onboarding from the backoffice: the account created once on the platform, the account
link's redirect, the state read back, and `account.updated` applied."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from billing.models import Subscription, VipPlan
from billing.services.connect import stripe_account_apply, stripe_account_connect
from billing.services.vip import member_vip_refresh
from tenants.models import StripeAccount
from tests.factories import member_make


def test_connecting_creates_the_account_once_and_redirects_to_stripe(staff_a, brand_a, fake_stripe):
    response = staff_a.post("/backoffice/billing/vipplan/stripe-account/connect/")
    assert response.status_code == 302
    assert response["Location"].startswith(fake_stripe.base_url + "/setup/e/acct_")
    row = StripeAccount.objects.get(brand=brand_a)
    assert not row.sandbox and not row.charges_enabled and "external_account" in row.requirements_due
    (create,) = fake_stripe.calls("accounts", "POST")
    assert create.idempotency_key == f"account-{brand_a.schema_name}-{brand_a.pk}"
    (link,) = fake_stripe.calls("account_links")
    assert link.form["account"] == row.account_id
    assert link.form["return_url"].endswith("/backoffice/billing/vipplan/stripe-account/return/")
    assert link.form["refresh_url"].endswith("/backoffice/billing/vipplan/stripe-account/refresh/")
    # Again (the link expired): a new link, no second account.
    assert staff_a.get("/backoffice/billing/vipplan/stripe-account/refresh/").status_code == 302
    assert len(fake_stripe.calls("accounts", "POST")) == 1 and len(fake_stripe.calls("account_links")) == 2
    page = staff_a.get("/backoffice/billing/vipplan/stripe-account/")
    assert row.account_id in page.text and "external_account" in page.text


def test_back_from_onboarding_the_state_is_read_again(staff_a, brand_a, fake_stripe):
    staff_a.post("/backoffice/billing/vipplan/stripe-account/connect/")
    row = StripeAccount.objects.get(brand=brand_a)
    fake_stripe.account_onboard(row.account_id)
    response = staff_a.get("/backoffice/billing/vipplan/stripe-account/return/")
    assert response.status_code == 302
    row.refresh_from_db()
    assert (
        row.charges_enabled and row.payouts_enabled and row.details_submitted and row.requirements_due == []
    )
    retrieve = fake_stripe.calls("accounts", "GET")[-1]
    assert retrieve.object_id == row.account_id and retrieve.account == ""


def test_account_updated_is_applied_to_its_row_only(connected_a, fake_stripe):
    event = fake_stripe.account_onboard(connected_a.account_id)
    account = {**event["data"]["object"], "charges_enabled": False, "requirements": {"currently_due": ["x"]}}
    row = stripe_account_apply(account=account)
    assert (
        row is not None
        and row.pk == connected_a.pk
        and not row.charges_enabled
        and row.requirements_due == ["x"]
    )
    assert stripe_account_apply(account={**account, "id": "acct_nobody"}) is None


def test_without_keys_the_account_is_a_sandbox_one(in_a, settings):
    settings.STRIPE_SECRET_KEY = ""
    url = stripe_account_connect(
        brand=in_a, email="a@example.com", refresh_url="http://x/refresh", return_url="http://x/return"
    )
    row = StripeAccount.objects.get(brand=in_a)
    assert (
        url == "http://x/return"
        and row.sandbox
        and row.charges_enabled
        and row.account_id.startswith("acct_")
    )


def test_stripe_down_is_a_message_and_no_account(staff_a, brand_a, fake_stripe):
    fake_stripe.fail_next(500)
    fake_stripe.fail_next(500)
    fake_stripe.fail_next(500)  # the library's two retries too
    response = staff_a.post("/backoffice/billing/vipplan/stripe-account/connect/", follow=True)
    assert response.status_code == 200 and "Stripe:" in response.text
    assert not StripeAccount.objects.filter(brand=brand_a).exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_members_and_anonymous_never_reach_the_page(client_for, brand_a, method, db):
    response = getattr(client_for(brand_a), method)("/backoffice/billing/vipplan/stripe-account/connect/")
    assert response.status_code in (302, 405) and "/setup/" not in response.get("Location", "")


def test_a_sandbox_account_is_replaced_by_a_real_one_once_keys_are_set(staff_a, brand_a, fake_stripe):
    """Leaving the sandbox: its free subscriptions end (no VIP left from them), its plans' sandbox
    prices are off sale until the plans are saved to the real account."""
    StripeAccount.objects.create(
        brand=brand_a, account_id="acct_sandbox1", sandbox=True, charges_enabled=True
    )
    connection.set_tenant(brand_a)
    member = member_make()
    plan = VipPlan.objects.create(
        code="gold", name="Gold", price="9.90", stripe_product_id="prod_sb", stripe_price_id="price_sb"
    )
    subscription = Subscription.objects.create(
        member=member,
        plan=plan,
        stripe_subscription_id="sub_sandbox",
        stripe_customer_id="cus_sandbox",
        status="active",
        current_period_end=timezone.now() + timedelta(days=20),
        state_at=timezone.now(),
        sandbox=True,
    )
    assert member_vip_refresh(member=member).is_vip
    response = staff_a.post("/backoffice/billing/vipplan/stripe-account/connect/")
    assert response.status_code == 302 and response["Location"].startswith(fake_stripe.base_url)
    row = StripeAccount.objects.get(brand=brand_a)
    assert not row.sandbox and row.account_id != "acct_sandbox1" and not row.charges_enabled
    (link,) = fake_stripe.calls("account_links")
    assert link.form["account"] == row.account_id
    subscription.refresh_from_db()
    assert subscription.status == "canceled" and subscription.ended_at <= timezone.now()
    assert subscription.changes.get().status_before == "active"
    member.refresh_from_db()
    assert not member.is_vip
    plan.refresh_from_db()
    assert (plan.stripe_product_id, plan.stripe_price_id) == ("", "")


def test_stripes_refresh_address_makes_no_account(staff_a, brand_a, fake_stripe):
    """A GET (a link, an image in a page the staff member opens) creates nothing on Stripe."""
    response = staff_a.get("/backoffice/billing/vipplan/stripe-account/refresh/")
    assert response.status_code == 302
    assert response["Location"].endswith("/backoffice/billing/vipplan/stripe-account/")
    assert not StripeAccount.objects.filter(brand=brand_a).exists()
    assert fake_stripe.calls("accounts", "POST") == []
