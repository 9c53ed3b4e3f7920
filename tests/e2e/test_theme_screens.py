"""Two brands dressed in two demo themes, in a real browser: the landing and the login page at
desktop and phone widths (screenshots written under SCREENSHOTS_DIR, var/screenshots by default,
to look at), the brand's stylesheet applied, no horizontal scroll at 375 px, the menu folding on a
phone, the skip link first."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import brand_make
from themes.demo import demo_theme_seed
from themes.services import theme_update

SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR", "var/screenshots"))


@pytest.fixture
def two_themed(fresh_brand):
    other = brand_make(f"{fresh_brand.slug}-y")
    for brand, demo in ((fresh_brand, "citycar"), (other, "grand-cru")):
        connection.set_tenant(brand)
        demo_theme_seed(slug=demo)
        theme_update(data={"programme_name": {"citycar": "CityCar Miles", "grand-cru": "Cellar Club"}[demo]})
    connection.set_schema_to_public()
    yield [(fresh_brand, "citycar"), (other, "grand-cru")]
    connection.set_schema_to_public()
    other.delete(force_drop=True)


def test_two_themes_at_desktop_and_phone_widths(two_themed, site_server, chromium):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for brand, demo in two_themed:
        for width, height in ((1280, 900), (375, 812)):
            context = chromium.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            try:
                page.goto(f"http://{brand.slug}.localhost:{site_server}/")
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
                page.goto(f"http://{brand.slug}.localhost:{site_server}/accounts/login/")
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                page.screenshot(path=str(SCREENSHOTS / f"login-{demo}-{width}.png"), full_page=True)
            finally:
                context.close()
