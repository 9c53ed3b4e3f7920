"""The backoffice's theme page in a real browser: the preview follows the unsaved values as they are
typed (its script and its framed page pass the CSP), and saves nothing."""

from __future__ import annotations

import os
from pathlib import Path

from django.db import connection

from tests.conftest import TEST_PASSWORD
from themes.models import Theme

SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR", "var/screenshots"))


def test_the_preview_follows_the_form_and_saves_nothing(fresh_brand, site_server, page):
    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", f"admin@{fresh_brand.slug}.example")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(base + "/")

    page.goto(f"{base}/backoffice/themes/theme/1/change/")
    frame = page.frame(name="theme-preview")
    frame.wait_for_selector(".site-header")  # previewed once as the page opens
    page.fill("input[name=text_en_tagline]", "Fresh from the preview")
    page.fill("input[name=primary_color]", "#7a1f3d")
    page.wait_for_function(
        "() => { const d = frames['theme-preview'].document, h = d.querySelector('.site-header');"
        " return !!h && d.body.innerText.includes('Fresh from the preview') &&"
        " getComputedStyle(h).backgroundColor === 'rgb(122, 31, 61)'; }"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator(".theme-preview").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "backoffice-theme-preview.png"))

    page.fill("input[name=text_color]", "#eeeeee")  # unreadable: the preview says why
    page.wait_for_function(
        "() => { const b = frames['theme-preview'].document.body;"
        " return !!b && b.innerText.includes('text on background'); }"
    )
    assert not [text for text in errors if "Content Security Policy" in text], errors
    connection.set_tenant(fresh_brand)
    theme = Theme.objects.get()
    assert (theme.primary_color, theme.texts) == ("#1f4fa3", {})
