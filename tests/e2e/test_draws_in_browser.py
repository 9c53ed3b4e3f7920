"""Prize draws in a real browser: a member logs in, buys tickets on an open draw's page and sees
them counted; a drawn draw's page shows the seed, the winners and the entries to check; staff see
"Draw now" on a due draw. No console errors (the CSP refuses inline code). Screenshots at desktop
and phone widths go to /tmp/draws-shots/."""

from __future__ import annotations

from pathlib import Path

from django.db import connection

from community.models import Draw
from community.services.draws import draw_run, draw_tickets_buy
from loyalty.models import Member
from tests.community.factories import after_draw, draw_make
from tests.factories import member_make
from tests.support import _log_in

SHOTS = Path("/tmp/draws-shots")


def test_buying_tickets_and_checking_a_drawn_draw(fresh_brand, site_server, chromium):
    SHOTS.mkdir(exist_ok=True)
    connection.set_tenant(fresh_brand)
    open_draw = draw_make(
        name="Electric weekend",
        prize="A weekend with a Renault 5 E-Tech",
        description="Buy as many tickets as you like. **One winner**, told by e-mail.",
        ticket_price=200,
    )
    past = draw_make(name="Spring draw", prize="A year of free trips", winners_count=2)
    for index, (first, last) in enumerate((("Léa", "Martin"), ("Hugo", "Bernard"), ("Chloé", "Petit"))):
        member = member_make(f"p-{index}", points=1000, first_name=first, last_name=last)
        draw_tickets_buy(draw_id=past.pk, member=member, tickets=index + 1, idempotency_key="k")
    draw_run(draw_id=past.pk, now=after_draw(past))
    ines = member_make("ines", points=900, login=True, first_name="Inès", last_name="Moreau")
    due = draw_make(name="Due draw", prize="A scooter", opens_in=-10)
    connection.set_schema_to_public()
    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    problems: list[str] = []

    for width in (1280, 375):
        context = chromium.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        if width == 1280:
            _log_in(page, base, "ines@example.com", "/community/draws/")
        else:
            page.goto(f"{base}/community/draws/")
        page.screenshot(path=str(SHOTS / f"list-{width}.png"), full_page=True)
        page.click(f"a[href='/community/draws/{open_draw.pk}/']")
        if width == 1280:
            page.fill("input[name=tickets]", "3")
            page.click("form.draw__form button[type=submit]")
            page.wait_for_url(f"{base}/community/draws/{open_draw.pk}/")
            assert "3 tickets bought" in page.content()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), width
        page.screenshot(path=str(SHOTS / f"open-{width}.png"), full_page=True)
        page.goto(f"{base}/community/draws/{past.pk}/")
        page.click("details.draw__how summary")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), width
        page.screenshot(path=str(SHOTS / f"drawn-{width}.png"), full_page=True)
        context.close()

    connection.set_tenant(fresh_brand)
    assert Member.objects.get(pk=ines.pk).balance == 300
    connection.set_schema_to_public()

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    _log_in(page, base, f"admin@{fresh_brand.slug}.example", "/backoffice/")
    page.goto(f"{base}/backoffice/community/draw/")
    page.screenshot(path=str(SHOTS / "backoffice-list-1280.png"), full_page=True)
    page.goto(f"{base}/backoffice/community/draw/{due.pk}/change/")
    page.screenshot(path=str(SHOTS / "backoffice-due-1280.png"), full_page=True)
    page.click("a:has-text('Draw now')")
    page.click("#content-main button[type=submit]")
    page.wait_for_url(f"{base}/backoffice/community/draw/{due.pk}/change/")
    page.screenshot(path=str(SHOTS / "backoffice-drawn-1280.png"), full_page=True)
    context.close()
    connection.set_tenant(fresh_brand)
    assert Draw.objects.get(pk=due.pk).state == Draw.State.DRAWN
    assert not problems, problems
