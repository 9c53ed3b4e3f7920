"""Discussions and challenges in a real browser: a VIP member opens a thread in the VIP forum and
another member replies in the open space; the dashboard and the challenges page show the
progress. No console error (the CSP allows no inline code). Screenshots at desktop and phone
widths go to /tmp/community-h6-shots/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.db import connection
from django.utils import timezone

from clubs.models import Space
from community.models import Reply, Thread
from community.services.challenges import challenge_save
from community.services.discussions import reply_post, thread_create
from loyalty.models import ActivityEvent
from tests.conftest import TEST_PASSWORD
from tests.factories import member_make

SHOTS = Path("/tmp/community-h6-shots")


def _log_in(page, base: str, username: str, next_url: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_url}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + next_url)


def test_a_vip_forum_a_reply_and_the_challenge_progress(fresh_brand, site_server, chromium):
    SHOTS.mkdir(exist_ok=True)
    connection.set_tenant(fresh_brand)
    space = Space.objects.create(slug="cellar", name="The Cellar Club", entry=Space.Entry.VIP)
    vip = member_make("vip", login=True, is_vip=True, first_name="Hélène", last_name="Vasseur")
    rider = member_make("rider", login=True, first_name="Ana", last_name="Morel")
    open_thread = thread_create(
        member=vip,
        title="Which Bordeaux to open this winter?",
        text="I have a 2015 Saint-Émilion and a 2016 Pauillac. Which one is ready?",
    )
    reply_post(thread_id=open_thread.pk, member=rider, text="The 2015, without a doubt.")
    thread_create(member=rider, title="A tasting I will remember", text="Superb evening.", kind="testimonial")
    now = timezone.now()
    challenge_save(
        data={
            "name": "3 trips into Paris in happy hour this week",
            "description": "Drive **into Paris** between 18:00 and 22:00, three times.",
            "event_type": "trip",
            "conditions": [{"field": "attributes.zone_to", "op": "equals", "value": 1}],
            "count_required": 3,
            "starts_at": now - timedelta(days=2),
            "ends_at": now + timedelta(days=5),
            "bonus_points": 500,
        }
    )
    for index in range(2):
        ActivityEvent.objects.create(
            idempotency_key=f"shot-trip-{index}",
            member=rider,
            type="trip",
            occurred_at=now - timedelta(hours=index + 1),
            attributes={"zone_to": 1},
        )
    connection.set_schema_to_public()
    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    problems: list[str] = []

    for username, width in (("vip@example.com", 1280), ("vip@example.com", 375)):
        context = chromium.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        _log_in(page, base, username, "/community/discussions/new/?space=cellar")
        if width == 1280:
            page.fill("input[name=title]", "Pauillac 2019 allocation: who got some?")
            page.fill("textarea[name=text]", "The allocation opened this morning. Worth twelve bottles?")
            page.click("main form button[type=submit]")
            page.wait_for_url(f"{base}/community/discussions/*/")
            assert "Published." in page.content()
            page.screenshot(path=str(SHOTS / f"vip-thread-{width}.png"), full_page=True)
        page.goto(f"{base}/community/discussions/?space=cellar")
        assert "Pauillac 2019" in page.content()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), width
        page.screenshot(path=str(SHOTS / f"vip-forum-{width}.png"), full_page=True)
        context.close()

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    _log_in(page, base, "rider@example.com", "/community/discussions/")
    assert "Pauillac 2019" not in page.content() and "Which Bordeaux" in page.content()
    page.screenshot(path=str(SHOTS / "discussions-1280.png"), full_page=True)
    page.click(f"a[href='/community/discussions/{open_thread.pk}/']")
    page.fill("textarea[name=text]", "And keep the Pauillac for 2030.")
    page.click("main form.reply-form button[type=submit]")
    page.wait_for_url(f"{base}/community/discussions/{open_thread.pk}/")
    page.screenshot(path=str(SHOTS / "thread-1280.png"), full_page=True)
    page.goto(f"{base}/account/")
    assert "2 / 3" in page.content()
    page.screenshot(path=str(SHOTS / "dashboard-1280.png"), full_page=True)
    page.goto(f"{base}/community/challenges/")
    page.screenshot(path=str(SHOTS / "challenges-1280.png"), full_page=True)
    context.close()

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _log_in(page, base, f"admin@{fresh_brand.slug}.example", "/backoffice/community/thread/")
    assert "Which Bordeaux" in page.content()
    page.screenshot(path=str(SHOTS / "backoffice-threads-1280.png"), full_page=True)
    page.goto(f"{base}/backoffice/community/challenge/")
    page.click("text=3 trips into Paris in happy hour this week")
    page.screenshot(path=str(SHOTS / "backoffice-challenge-1280.png"), full_page=True)
    context.close()

    assert not problems, problems
    connection.set_tenant(fresh_brand)
    assert Thread.objects.filter(space=space, member=vip).count() == 1
    assert Reply.objects.filter(thread=open_thread, text__startswith="And keep").exists()
