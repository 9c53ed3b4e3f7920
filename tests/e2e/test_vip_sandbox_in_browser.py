"""A member subscribes to a VIP plan in a real browser through the sandbox checkout (no Stripe
keys): /vip/, the checkout page marked as a sandbox, back on the site as a VIP; the events went
through the webhook's store and handlers."""

from __future__ import annotations

from django.db import connection

from billing.models import Subscription
from billing.services.connect import stripe_account_connect
from billing.services.plans import vip_plan_save
from loyalty.models import Member
from tenants.models import StripeEvent
from tests.conftest import TEST_PASSWORD
from tests.factories import member_make


def test_a_member_subscribes_in_the_sandbox_and_is_vip(fresh_brand, site_server, page, settings):
    settings.STRIPE_SECRET_KEY = ""
    connection.set_tenant(fresh_brand)
    stripe_account_connect(
        brand=fresh_brand, email="a@example.com", refresh_url="http://x/", return_url="http://x/"
    )
    vip_plan_save(
        data={"name": "Gold", "code": "gold", "price": "9.90", "currency": "EUR", "benefits": "Tastings"}
    )
    member = member_make("vip-1", login=True, first_name="Ana")
    connection.set_schema_to_public()

    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    page.goto(base + "/vip/")
    page.click("text=Log in to subscribe")
    page.fill("input[name=username]", "vip-1@example.com")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    assert page.url.endswith("/vip/")
    assert page.locator(".vip-member").inner_text() == "You are not a VIP member yet."
    page.locator(".vip-plan", has_text="Gold").locator("button:has-text('Subscribe')").click()

    assert "/vip/sandbox/checkout/cs_test_" in page.url
    assert "SANDBOX" in page.locator(".sandbox-banner").inner_text()
    page.click("button:has-text('Pay (sandbox)')")

    assert "/vip/success/?session_id=cs_test_" in page.url
    assert "Gold: Active" in page.locator(".vip-state .status").inner_text()
    page.click("text=Back to VIP")
    assert page.locator(".vip-member").inner_text().startswith("You are VIP since")
    assert page.locator("button:has-text('Subscribe')").count() == 0

    connection.set_tenant(fresh_brand)
    member = Member.objects.get(pk=member.pk)
    assert member.is_vip and member.vip_source == Member.VipSource.SUBSCRIPTION
    subscription = Subscription.objects.get(member=member)
    assert subscription.status == "active" and subscription.sandbox
    events = StripeEvent.objects.filter(brand=fresh_brand).order_by("id")
    assert [(event.type, event.state) for event in events] == [
        ("checkout.session.completed", "processed"),
        ("customer.subscription.created", "processed"),
        ("invoice.paid", "processed"),
    ]
    events.delete()  # the public schema's rows of the brand the fixture drops
