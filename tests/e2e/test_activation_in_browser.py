"""A reseller activates their account in a real browser with the code the brand's systems issued
through the API, and lands logged in on their dashboard; the pages fit a phone."""

from __future__ import annotations

from pathlib import Path

from django.db import connection

from loyalty.models import Member
from tests.factories import key_make, member_make
from tests.support import ApiClient

SHOTS = Path("/tmp/activation-screens")
PASSWORD = "plume-verte-2026"


def _shoot(page, name: str) -> None:
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (name, width)
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_reseller_activates_with_the_code_from_the_api_and_lands_logged_in(fresh_brand, site_server, page):
    SHOTS.mkdir(exist_ok=True)
    connection.set_tenant(fresh_brand)
    member = member_make(
        "R-7001",
        kind="reseller",
        company_name="Tabac du Centre",
        postal_code="75011",
        email="tabac@example.com",
    )
    connection.set_schema_to_public()
    response = ApiClient(brand=fresh_brand, key=key_make(fresh_brand)).post(
        "/api/v1/members/R-7001/activation-codes"
    )
    assert response.status_code == 201, response.content
    code = response.json()["code"]

    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    page.goto(base + "/activate/")
    assert page.locator("h1").inner_text() == "Activate your account"
    _shoot(page, "activate")
    page.get_by_label("Activation code").fill("ZZZZ-ZZZZ-ZZ")
    page.get_by_label("Postcode").fill("75011")
    page.click("button[type=submit] >> text=Continue")
    assert "This code or postcode is wrong" in page.locator("[role=alert]").inner_text()
    _shoot(page, "activate-wrong")

    page.get_by_label("Activation code").fill(code.lower().replace("-", " "))
    page.get_by_label("Postcode").fill("75 011")
    page.click("button[type=submit] >> text=Continue")
    assert page.locator("h1").inner_text() == "Choose your password"
    assert page.locator(".activation__login").inner_text() == "tabac@example.com"
    _shoot(page, "activate-password")
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password again").fill(PASSWORD)
    page.click("button[type=submit] >> text=Activate my account")

    page.wait_for_load_state()
    assert page.url in {base + "/account/", base + "/"}
    assert page.locator("button:has-text('Log out')").count() == 1
    _shoot(page, "landed")
    connection.set_tenant(fresh_brand)
    member.refresh_from_db()
    assert member.user is not None and member.user.check_password(PASSWORD)
    assert Member.objects.get(pk=member.pk).activation_codes.get().used_at is not None
