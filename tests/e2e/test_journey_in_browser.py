"""The member site's journeys end to end in a real browser, each from its first step:

- a new customer joins, confirms the e-mail, logs in; the brand's system sends an event for them
  through the API; the balance moves on the dashboard; they redeem a gift and see the order;
- a sales rep logs in and sees exactly the members they follow, nothing of the others (direct
  URLs included)."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.utils import timezone

from loyalty.models import Member
from loyalty.rule_examples import POINT_PER_EURO
from loyalty.services.members import member_sales_rep_set
from loyalty.services.rules import rule_create
from tests.catalog.factories import gift_make
from tests.conftest import TEST_PASSWORD
from tests.factories import key_make, member_make
from tests.support import ApiClient

PASSWORD = "merle-bleu-2026"


def test_a_new_customer_joins_earns_through_the_api_redeems_and_sees_the_order(
    fresh_brand, site_server, page
):
    connection.set_tenant(fresh_brand)
    rule_create(data=POINT_PER_EURO)
    gift_make(name="Cinema ticket", points_price=40, codes=["CINE-7001"])
    api = ApiClient(brand=fresh_brand, key=key_make(fresh_brand))
    connection.set_schema_to_public()
    base = f"http://{fresh_brand.slug}.localhost:{site_server}"

    page.goto(base + "/")
    page.click("a:has-text('Join')")
    page.fill("input[name=first_name]", "Lina")
    page.fill("input[name=last_name]", "Rossi")
    page.fill("input[name=email]", "lina@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.check("input[name=terms]")
    page.click("button:has-text('Join')")
    page.wait_for_url(base + "/join/sent/")
    link = re.search(r"https?://\S+/join/verify/\S+/", mail.outbox[-1].body).group(0)
    page.goto(base + re.sub(r"^https?://[^/]+", "", link))
    assert "confirmed" in page.locator("h1").inner_text()

    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", "lina@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(base + "/account/")
    page.screenshot(path="/tmp/journey-account.png", full_page=True)
    assert page.locator("[data-balance]").inner_text() == "0"

    # The brand's system knows the new member by the id the platform gave them.
    connection.set_tenant(fresh_brand)
    member = Member.objects.get(email="lina@example.com")
    connection.set_schema_to_public()
    purchase = {
        "member": member.external_id,
        "type": "purchase",
        "occurred_at": timezone.now().isoformat(),
        "attributes": {"amount": "45.00", "currency": "EUR"},
    }
    answer = api.post("/api/v1/events", purchase, headers={"Idempotency-Key": "journey-1"})
    assert answer.status_code == 201, answer.content
    page.evaluate("window.dispatchEvent(new Event('focus'))")
    page.locator("[data-balance]", has_text="45").wait_for(timeout=20_000)

    page.goto(base + "/gifts/")
    page.click("text=Cinema ticket")
    page.click("button:has-text('Redeem')")
    assert "You spend" in page.locator("main").inner_text()
    page.click("button:has-text('Confirm and redeem')")
    assert page.locator("h1").inner_text().startswith("Order ")
    assert page.locator(".voucher-code").inner_text() == "CINE-7001"
    page.goto(base + "/orders/")
    assert "Cinema ticket" in page.locator("main").inner_text()
    page.goto(base + "/account/")
    assert page.locator("[data-balance]").inner_text() == "5"

    connection.set_tenant(fresh_brand)
    member.refresh_from_db()
    assert (member.balance, member.orders.count(), member.user.username) == (5, 1, "lina@example.com")


def test_a_sales_rep_sees_exactly_the_members_they_follow(fresh_brand, site_server, page):
    connection.set_tenant(fresh_brand)
    users = get_user_model().objects
    rep = users.create_user(username="rep@brand.example", password=TEST_PASSWORD, is_staff=True)
    other_rep = users.create_user(username="other@brand.example", password=TEST_PASSWORD, is_staff=True)
    mine = [
        member_make(f"SHOP-{n}", points=100 * n, company_name=f"Tabac {n}", kind="reseller") for n in (1, 2)
    ]
    theirs = member_make("SHOP-9", points=900, company_name="Tabac Ailleurs", kind="reseller")
    nobodys = member_make("SHOP-10", company_name="Tabac Seul", kind="reseller")
    for member in mine:
        member_sales_rep_set(member=member, by=None, sales_rep=rep)
    member_sales_rep_set(member=theirs, by=None, sales_rep=other_rep)
    connection.set_schema_to_public()
    base = f"http://{fresh_brand.slug}.localhost:{site_server}"

    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", "rep@brand.example")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    page.goto(base + "/account/portfolio/")
    listed = page.locator("main").inner_text()
    assert "Tabac 1" in listed and "Tabac 2" in listed
    assert "Tabac Ailleurs" not in listed and "Tabac Seul" not in listed

    page.click("main a:has-text('Tabac 2')")
    detail = page.locator("main").inner_text()
    assert detail.startswith("Tabac 2") and "200" in detail and "Earned 200 points." in detail
    for external_id in (theirs.external_id, nobodys.external_id):
        assert page.goto(base + f"/account/portfolio/{external_id}/").status == 404
    assert "Tabac Ailleurs" not in page.content()
