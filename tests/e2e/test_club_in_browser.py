"""A club space in a real browser: a member logs in, sees the space's teaser and how to get in
(never its offer), types the confidential code the brand handed out, enters the space and sees
the negotiated offer, the space's event and their private line. Screenshots at desktop and phone
widths go to /tmp/club-shots/."""

from __future__ import annotations

from pathlib import Path

from django.db import connection

from clubs.models import ClubSettings, Offer
from clubs.services import space_code_issue
from tests.clubs.factories import space_make
from tests.conftest import TEST_PASSWORD
from tests.factories import member_make
from tests.gatherings.factories import gathering_make

SHOTS = Path("/tmp/club-shots")


def test_a_member_enters_a_space_with_the_code_and_sees_an_offer(fresh_brand, site_server, page):
    SHOTS.mkdir(exist_ok=True)
    connection.set_tenant(fresh_brand)
    space = space_make(
        "pharmacists",
        name="Pharmacists' club",
        entry="code",
        teaser="Negotiated prices for partner pharmacies.",
        how_to_enter="Your sales rep hands you the club's code.",
    )
    Offer.objects.create(
        space=space,
        title="Dermocosmetics -15%",
        text="On the whole **autumn** range.",
        code="PHARMA-AUTUMN-15",
    )
    issued = space_code_issue(space=space, label="Pharmacie du Parc")
    workshop = gathering_make(title="Dermocosmetics workshop", visibility="space", space=space)
    member_make("club-1", login=True, first_name="Inès", is_vip=True)
    ClubSettings.objects.create(vip_phone="+33 1 70 00 00 00", vip_phone_hours="Mon-Fri 9:00-18:00")
    connection.set_schema_to_public()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)

    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    page.goto(base + "/accounts/login/?next=/club/pharmacists/")
    page.fill("input[name=username]", "club-1@example.com")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/club/pharmacists/")
    assert "Your sales rep hands you the club's code." in page.content()
    assert "PHARMA-AUTUMN-15" not in page.content()
    page.screenshot(path=str(SHOTS / "teaser-1280.png"), full_page=True)

    page.click("a.button:has-text('I have a code')")
    page.fill("input[name=code]", "AAAA-AAAA-AA")
    page.click("main button[type=submit]")
    assert page.locator(".refusal").inner_text().startswith("This code is not right.")
    page.fill("input[name=code]", issued.code.lower())
    page.click("main button[type=submit]")
    page.wait_for_url(base + "/club/pharmacists/")
    assert page.locator(".offer-code").inner_text() == "PHARMA-AUTUMN-15"
    assert "Welcome to Pharmacists' club." in page.content()
    assert "+33 1 70 00 00 00" in page.content()
    assert "Dermocosmetics workshop" in page.locator(".space-events").inner_text()
    for width, height in ((1280, 900), (375, 800)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(base + "/club/pharmacists/")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), width
        page.screenshot(path=str(SHOTS / f"space-{width}.png"), full_page=True)
    page.goto(base + "/club/pharmacists/")
    page.click(f".space-events a[href='/events/{workshop.pk}/']")
    assert page.locator("h1").inner_text() == "Dermocosmetics workshop"
    page.screenshot(path=str(SHOTS / "event-1280.png"), full_page=True)
    page.goto(base + "/account/")
    page.screenshot(path=str(SHOTS / "account-1280.png"), full_page=True)
    page.goto(base + "/club/")
    page.screenshot(path=str(SHOTS / "index-1280.png"), full_page=True)
    assert problems == []
