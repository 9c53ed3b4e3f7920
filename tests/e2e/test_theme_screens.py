"""Two brands dressed in two demo themes with their demo programmes, in a real browser: the landing,
the login page, the demo member's dashboard and a gift page at desktop and phone widths
(screenshots written under SCREENSHOTS_DIR, var/screenshots by default, to look at), the brand's
stylesheet applied, no horizontal scroll at 375 px, the menu folding on a phone, the skip link
first, a focused nav link shot to see its focus ring."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from catalog.models import Gift
from loyalty.demo import PROGRAMMES, demo_programme_seed
from tests.conftest import brand_make
from themes.services import theme_update

SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR", "var/screenshots"))


@pytest.fixture
def two_themed(fresh_brand):
    other = brand_make(f"{fresh_brand.slug}-y")
    themed = []
    for brand, demo in ((fresh_brand, "citycar"), (other, "grand-cru")):
        connection.set_tenant(brand)
        demo_programme_seed(slug=demo)
        theme_update(data={"programme_name": {"citycar": "CityCar Miles", "grand-cru": "Cellar Club"}[demo]})
        gift = Gift.objects.order_by("-is_featured", "points_price").first()
        themed.append((brand, demo, PROGRAMMES[demo]["member"][1], gift.pk))
    connection.set_schema_to_public()
    yield themed
    connection.set_schema_to_public()
    other.delete(force_drop=True)


def test_two_themes_at_desktop_and_phone_widths(two_themed, site_server, chromium):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for brand, demo, email, gift_id in two_themed:
        base = f"http://{brand.slug}.localhost:{site_server}"
        for width, height in ((1280, 900), (375, 812)):
            context = chromium.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            try:
                page.goto(base + "/")
                page.keyboard.press("Tab")
                assert page.evaluate("document.activeElement.className") == "skip-link"
                page.evaluate("document.activeElement.blur()")
                header = page.locator(".site-header")
                colour = header.evaluate("element => getComputedStyle(element).backgroundColor")
                assert colour == {"citycar": "rgb(11, 110, 79)", "grand-cru": "rgb(91, 26, 58)"}[demo]
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                toggle = page.locator("[data-nav-toggle]")
                if width < 700:
                    assert toggle.is_visible() and not page.locator("#site-nav").is_visible()
                    page.screenshot(path=str(SCREENSHOTS / f"landing-{demo}-{width}.png"), full_page=True)
                    toggle.click()
                    assert page.locator("#site-nav").is_visible()
                    page.screenshot(path=str(SCREENSHOTS / f"landing-{demo}-{width}-menu.png"))
                else:
                    assert not toggle.is_visible() and page.locator("#site-nav").is_visible()
                    page.screenshot(path=str(SCREENSHOTS / f"landing-{demo}-{width}.png"), full_page=True)
                    # The focus on the themed header is visible: a nav link reached with the keyboard.
                    for _ in range(5):
                        page.keyboard.press("Tab")
                        if page.evaluate("!!document.activeElement.closest('#site-nav')"):
                            break
                    assert page.evaluate("!!document.activeElement.closest('#site-nav')")
                    page.screenshot(path=str(SCREENSHOTS / f"focus-{demo}-{width}.png"))
                page.goto(base + "/accounts/login/")
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                page.screenshot(path=str(SCREENSHOTS / f"login-{demo}-{width}.png"), full_page=True)
                page.fill("input[name=username]", email)
                page.fill("input[name=password]", settings.DEMO_PASSWORD)
                page.click("main button[type=submit]")
                page.wait_for_url(lambda url: "/accounts/login/" not in url)
                for name, path in (("dashboard", "/account/"), ("gift", f"/gifts/{gift_id}/")):
                    page.goto(base + path)
                    assert page.url == base + path
                    assert page.evaluate("document.documentElement.scrollWidth") <= width
                    page.screenshot(path=str(SCREENSHOTS / f"{name}-{demo}-{width}.png"), full_page=True)
            finally:
                context.close()
