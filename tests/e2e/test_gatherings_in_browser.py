"""Events with limited seats in a real browser: a member logs in, answers the last seat, a second
member joins the waiting list and reads their number; at the door, staff search the first one's
name and check them in. Screenshots at desktop and phone widths go to /tmp/gatherings-shots/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.db import connection

from gatherings.models import Rsvp
from gatherings.services import rsvp_create
from tests.factories import member_make
from tests.gatherings.factories import gathering_make
from tests.support import _log_in

SHOTS = Path("/tmp/gatherings-shots")


def test_the_last_seat_the_waiting_list_and_the_door(fresh_brand, site_server, chromium):
    SHOTS.mkdir(exist_ok=True)
    connection.set_tenant(fresh_brand)
    gathering = gathering_make(
        capacity=2,
        title="Bordeaux grands crus tasting",
        place="12 quai des Chartrons, Bordeaux",
        description="Six wines of the 2015 vintage, with the cellar master.",
    )
    gathering_make(
        title="Cheese and wine workshop", kind="workshop", capacity=12, starts_in=timedelta(days=12)
    )
    rsvp_create(gathering_id=gathering.pk, member=member_make("early", first_name="Early"))
    member_make("ines", login=True, first_name="Inès", last_name="Moreau")
    member_make("paul", login=True, first_name="Paul", last_name="Girard")
    connection.set_schema_to_public()
    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    event_url = f"/events/{gathering.pk}/"
    problems: list[str] = []

    for username, width in (("ines@example.com", 1280), ("paul@example.com", 375)):
        context = chromium.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        _log_in(page, base, username, "/events/")
        page.screenshot(path=str(SHOTS / f"list-{username.split('@')[0]}-{width}.png"), full_page=True)
        page.click(f"a[href='{event_url}']")
        page.click("main form button[type=submit]")
        page.wait_for_url(base + event_url)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), width
        page.screenshot(path=str(SHOTS / f"event-{username.split('@')[0]}-{width}.png"), full_page=True)
        context.close()
    connection.set_tenant(fresh_brand)
    states = dict(Rsvp.objects.filter(gathering=gathering).values_list("member__external_id", "state"))
    assert states == {"early": "confirmed", "ines": "confirmed", "paul": "waitlisted"}
    connection.set_schema_to_public()

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    _log_in(page, base, f"admin@{fresh_brand.slug}.example", "/backoffice/")
    page.goto(f"{base}/backoffice/gatherings/gathering/{gathering.pk}/change/")
    page.screenshot(path=str(SHOTS / "backoffice-event-1280.png"), full_page=True)
    page.goto(f"{base}/backoffice/gatherings/gathering/{gathering.pk}/door/")
    page.fill("input[name=q]", "moreau")
    page.click("form[role=search] button[type=submit]")
    page.click("tr:has-text('Inès Moreau') button:has-text('Check in')")
    assert "Inès Moreau is checked in." in page.content()
    page.fill("input[name=q]", "")
    page.click("form[role=search] button[type=submit]")
    page.screenshot(path=str(SHOTS / "door-1280.png"), full_page=True)
    context.close()
    assert not problems, problems
    connection.set_tenant(fresh_brand)
    assert Rsvp.objects.get(member__external_id="ines").checked_in_at is not None
