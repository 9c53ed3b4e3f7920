"""A member redeems a voucher gift in a real browser: sees what they can afford, gets a code,
cancels nothing twice; their balance follows the ledger."""

from django.db import connection

from loyalty.models import Member
from loyalty.services.programme import programme_settings_update
from tests.catalog.factories import gift_make
from tests.conftest import TEST_PASSWORD
from tests.factories import member_make


def log_in(page, base: str, username: str) -> None:
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")


def test_member_sees_what_they_can_afford_redeems_a_voucher_and_gets_its_code(fresh_brand, site_server, page):
    connection.set_tenant(fresh_brand)
    member = member_make("web-1", points=250, login=True, first_name="Ana")
    cinema = gift_make(name="Cinema ticket", points_price=200, codes=["CINE-0001", "CINE-0002"])
    gift_make(name="Weekend in Paris", points_price=5000)
    connection.set_schema_to_public()

    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    log_in(page, base, "web-1@example.com")
    page.click("text=Gifts")

    assert page.locator(".spendable strong").inner_text() == "250"
    weekend = page.locator(".gift", has_text="Weekend in Paris")
    assert weekend.locator(".missing").inner_text() == "4,750 points missing"  # formatted for English
    assert page.locator(".gift", has_text="Cinema ticket").locator(".affordable").is_visible()

    page.click("text=Cinema ticket")
    page.click("button:has-text('Redeem')")
    page.click("button:has-text('Confirm and redeem')")
    assert page.locator("h1").inner_text().startswith("Order ")
    assert page.locator(".voucher-code").inner_text() in {"CINE-0001", "CINE-0002"}

    # Going back to the gift's page and sending its form again (same token: a double submit), then
    # confirming again, places nothing more.
    page.go_back()
    page.go_back()
    page.click("button:has-text('Redeem')")
    page.click("button:has-text('Confirm and redeem')")

    connection.set_tenant(fresh_brand)
    member.refresh_from_db()
    assert member.balance == 50
    assert member.orders.count() == 1
    assert cinema.order_lines.count() == 1
    assert Member.objects.get(pk=member.pk).entries.filter(kind="redeem").count() == 1


def test_a_french_brand_formats_the_points_missing_in_french(fresh_brand, site_server, page):
    connection.set_tenant(fresh_brand)
    programme_settings_update(data={"site_languages": ["fr"], "default_language": "fr"})
    member_make("web-fr", points=250, login=True, language="fr")
    gift_make(name="Week-end à Paris", points_price=5000)
    connection.set_schema_to_public()

    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    log_in(page, base, "web-fr@example.com")
    page.goto(base + "/gifts/")
    weekend = page.locator(".gift", has_text="Week-end à Paris")
    assert weekend.locator(".missing").inner_text() == "il manque 4\u202f750 points"  # fr groups: narrow nbsp
    assert page.locator(".spendable strong").inner_text() == "250"
