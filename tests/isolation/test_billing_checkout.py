"""Subscribing is brand by brand: brand A's plan ids, checkout sessions and Stripe account are
nothing on brand B's host (404, no session opened on anyone's account), and B's Checkout session is
opened on B's connected account only, whatever A's member or staff try."""

from __future__ import annotations

import pytest
from django.db import connection

from billing.models import VipPlan
from billing.services.connect import stripe_account_connect
from billing.services.plans import vip_plan_save
from tenants.models import StripeAccount
from tests.billing.conftest import fake_stripe  # noqa: F401 (fixture)
from tests.conftest import TEST_PASSWORD
from tests.factories import member_make

PLAN = {"name": "Gold", "code": "gold", "price": "9.90", "currency": "EUR", "interval": "month"}


@pytest.fixture
def two_brands(db, brand_a, brand_b, fake_stripe):  # noqa: F811
    """A and B each with their own connected account on the fake and a plan; the schema is A's."""
    plans = {}
    for brand in (brand_b, brand_a):
        connection.set_tenant(brand)
        account = fake_stripe.account_add()
        StripeAccount.objects.create(brand=brand, account_id=account["id"], charges_enabled=True)
        plans[brand.slug] = vip_plan_save(data={**PLAN, "code": f"gold-{brand.slug}"})
    return plans


def _member_client(brand, client_for):
    connection.set_tenant(brand)
    member = member_make(login=True)
    client = client_for(brand)
    client.force_login(member.user)
    return member, client


def test_a_plan_id_of_a_is_not_found_on_bs_host(two_brands, brand_a, brand_b, client_for, fake_stripe):  # noqa: F811
    connection.set_tenant(brand_a)
    plan_a = max((vip_plan_save(data={**PLAN, "code": f"more-{n}"}) for n in range(3)), key=lambda p: p.pk)
    _member, client = _member_client(brand_b, client_for)
    assert not VipPlan.objects.filter(pk=plan_a.pk).exists()  # B's schema has no plan of that id
    assert client.post(f"/vip/plans/{plan_a.pk}/subscribe/").status_code == 404
    assert fake_stripe.calls("checkout/sessions") == []


def test_b_checkout_goes_to_bs_account_only(two_brands, brand_a, brand_b, client_for, fake_stripe):  # noqa: F811
    account_b = StripeAccount.objects.get(brand=brand_b).account_id
    account_a = StripeAccount.objects.get(brand=brand_a).account_id
    _member, client = _member_client(brand_b, client_for)
    plan_b = two_brands[brand_b.slug]
    assert client.post(f"/vip/plans/{plan_b.pk}/subscribe/").status_code == 302
    (session,) = fake_stripe.calls("checkout/sessions")
    assert session.account == account_b != account_a
    assert session.form["metadata"]["brand"] == brand_b.schema_name
    assert session.form["line_items"][0]["price"] == plan_b.stripe_price_id


def test_a_member_of_a_cannot_subscribe_on_b(two_brands, brand_a, brand_b, client_for, fake_stripe):  # noqa: F811
    _member_a, client_a = _member_client(brand_a, client_for)
    plan_b = two_brands[brand_b.slug]
    client = client_for(brand_b)
    # A's login is nothing on B's host: no session there, so no checkout.
    client.cookies = client_a.cookies
    response = client.post(f"/vip/plans/{plan_b.pk}/subscribe/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert fake_stripe.calls("checkout/sessions") == []


def test_as_staff_cannot_connect_or_sync_on_b(two_brands, brand_a, brand_b, client_for, fake_stripe):  # noqa: F811
    client = client_for(brand_b)
    response = client.post(
        "/accounts/login/", {"username": f"admin@{brand_a.slug}.example", "password": TEST_PASSWORD}
    )
    assert response.status_code == 200  # refused: A's staff do not exist in B's schema
    response = client.post("/backoffice/billing/vipplan/stripe-account/connect/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.get(f"/backoffice/billing/vipplan/{two_brands[brand_a.slug].pk}/change/").status_code == 302
    assert fake_stripe.calls("accounts", "POST") == [] and fake_stripe.calls("account_links") == []


def test_a_sandbox_session_of_a_is_not_found_on_b(db, brand_a, brand_b, client_for, settings):
    settings.STRIPE_SECRET_KEY = ""
    sessions = {}
    for brand in (brand_a, brand_b):
        connection.set_tenant(brand)
        stripe_account_connect(
            brand=brand, email="x@example.com", refresh_url="http://x/r", return_url="http://x/d"
        )
        plan = vip_plan_save(data={**PLAN, "code": f"s-{brand.slug}"})
        _member, client = _member_client(brand, client_for)
        sessions[brand.slug] = (client, client.post(f"/vip/plans/{plan.pk}/subscribe/")["Location"])
    client_b, _ = sessions[brand_b.slug]
    _, location_a = sessions[brand_a.slug]
    path_a = location_a.split("://", 1)[-1].split("/", 1)[-1]
    assert client_b.get(f"/{path_a}").status_code == 404
    assert client_b.post(f"/{path_a}").status_code == 404
