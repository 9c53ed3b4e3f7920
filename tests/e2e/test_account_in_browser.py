"""A member's account in a real browser: they log in from the landing page and land on their
dashboard, the brand's system sends an event through the API and the balance moves on the page
(its script polls /account/balance.json), they redeem a gift and see the order. Screenshots of the
landing page and the dashboard at desktop and phone widths go to /tmp/account-shots/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.db import connection
from django.utils import timezone

from loyalty.rule_examples import POINT_PER_EURO
from loyalty.services.offers import offer_save
from loyalty.services.rules import rule_create
from tests.catalog.factories import gift_make
from tests.conftest import TEST_PASSWORD
from tests.factories import key_make, member_make
from tests.support import ApiClient

SHOTS = Path("/tmp/account-shots")


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_member_sees_the_balance_move_live_then_redeems(fresh_brand, site_server, page):
    SHOTS.mkdir(exist_ok=True)
    connection.set_tenant(fresh_brand)
    rule_create(data=POINT_PER_EURO)
    member_make("web-1", points=250, login=True, first_name="Ana")
    gift_make(name="Cinema ticket", points_price=200, codes=["CINE-0001"], is_featured=True)
    now = timezone.now()
    offer_save(
        data={
            "title": "Spring double points",
            "starts_at": now - timedelta(hours=1),
            "ends_at": now + timedelta(days=3),
        }
    )
    api = ApiClient(brand=fresh_brand, key=key_make(fresh_brand))
    connection.set_schema_to_public()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)

    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    for width, height in ((1280, 900), (375, 800)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(base + "/")
        assert "How to earn points" in page.content()
        assert _no_horizontal_scroll(page), width
        page.screenshot(path=str(SHOTS / f"landing-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.click("a.button:has-text('Log in')")
    page.fill("input[name=username]", "web-1@example.com")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/account/")
    assert page.locator("[data-balance]").inner_text() == "250"
    assert page.locator(".offer h2").inner_text() == "Spring double points"

    purchase = {
        "member": "web-1",
        "type": "purchase",
        "occurred_at": timezone.now().isoformat(),
        "attributes": {"amount": "42.50", "currency": "EUR"},
    }
    assert api.post("/api/v1/events", purchase, headers={"Idempotency-Key": "e2e-1"}).status_code == 201
    # The member comes back to the window: the script asks at once (else within 15 s).
    page.evaluate("window.dispatchEvent(new Event('focus'))")
    page.locator("[data-balance]", has_text="292").wait_for(timeout=20_000)
    assert page.locator("[data-balance-value]").inner_text() == "€14.60"

    for width, height in ((1280, 900), (375, 800)):
        page.set_viewport_size({"width": width, "height": height})
        page.reload()
        assert _no_horizontal_scroll(page), width
        page.screenshot(path=str(SHOTS / f"dashboard-{width}.png"), full_page=True)
    assert "Spring double points" not in page.content()  # shown once
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(base + "/gifts/")
    page.click("text=Cinema ticket")
    page.click("button:has-text('Redeem')")
    page.click("button:has-text('Confirm and redeem')")
    assert page.locator("h1").inner_text().startswith("Order ")
    assert page.locator(".voucher-code").inner_text() == "CINE-0001"
    page.goto(base + "/account/")
    assert page.locator("[data-balance]").inner_text() == "92"
    assert "Spent 200 points on order" in page.locator(".entries").inner_text()
    assert not [text for text in problems if "Content Security Policy" in text or "Refused" in text], problems
