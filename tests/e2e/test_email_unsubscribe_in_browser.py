"""A member opens the unsubscribe link of an e-mail in a real browser, confirms, and is
unsubscribed (the page is themed, fits a phone, and keeps the Content-Security-Policy: no console
error). Screenshots under /tmp/email-screens."""

from __future__ import annotations

import re
from pathlib import Path

from django.db import connection

from loyalty.models import Consent
from loyalty.services.members import consent_set
from messaging.services.sending import message_queue
from tests.factories import member_make, template_make

SHOTS = Path("/tmp/email-screens")


def _shoot(page, name: str) -> None:
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 800})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (name, width)
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


def test_the_unsubscribe_link_asks_then_unsubscribes(fresh_brand, site_server, page):
    SHOTS.mkdir(exist_ok=True)
    connection.set_tenant(fresh_brand)
    member = member_make("MAIL-1", email="camille@example.com", first_name="Camille", language="fr")
    consent_set(member=member, consents={"email": True}, source="test")
    template_make(
        "news", channel="email", language="fr", subject="Nouvelles", body="Bonjour {{ first_name }}"
    )
    message = message_queue(member=member, channel="email", template_code="news")
    path = re.search(r'href="https?://[^/"]+(/u/[^"]+/)"', message.html).group(1)
    connection.set_schema_to_public()
    errors: list[str] = []
    page.on("console", lambda entry: errors.append(entry.text) if entry.type == "error" else None)

    page.goto(f"http://{fresh_brand.slug}.localhost:{site_server}{path}")
    assert page.locator("h1").inner_text() == "Vous désabonner de nos e-mails ?"
    assert "c•••@example.com" in page.locator("main").inner_text()
    _shoot(page, "unsubscribe-ask")
    page.click("button:has-text('Se désabonner')")
    assert page.locator("h1").inner_text() == "Vous êtes désabonné"
    _shoot(page, "unsubscribe-done")
    assert errors == []
    connection.set_tenant(fresh_brand)
    assert Consent.objects.get(member=member, channel="email").granted is False
