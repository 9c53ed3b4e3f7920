"""The moderation's pages in Chromium: the community hub and the moderation rules on the member
site, and staff rejecting a held review from the backoffice queue with a reason (the row leaves the
queue, the author's message is queued), nothing blocked by the Content-Security-Policy, no page
error. Screenshots go to SCREENSHOTS_DIR/community/ (look at them after a change)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from django.db import connection
from django.utils import timezone

from community.demo.moderation import seed as demo_moderation_seed
from community.models import ModerationState, Question, Review, ReviewReport
from community.services.moderation import moderation_apply
from loyalty.demo import demo_programme_seed
from messaging.models import Message
from tests.community.factories import HARSH, review_write
from tests.conftest import TEST_PASSWORD
from tests.factories import member_make
from tests.support import RECORD_VIOLATIONS

SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR", "var/screenshots")) / "community"


def _texts() -> tuple[Review, Review]:
    author = member_make(first_name="Claire", last_name="Vasseur", email="claire@example.com", language="en")
    late = review_write("The cashier is a complete moron and I want a refund.", member=author)
    Review.objects.filter(pk=late.pk).update(moderated_at=timezone.now() - timedelta(days=6))
    named = review_write("Served by Vasseur's colleague, Mr Vasseur was absent", reference="sku-2")
    question = Question(visitor_name="Paul", title="Is the Margaux 2015 ready, or is the seller an idiot?")
    moderation_apply(obj=question, texts=[question.title], language="en")
    question.save()
    reported = review_write(HARSH, reference="sku-3")
    ReviewReport.objects.create(review=reported, member=member_make(), reason="advertising")
    return late, named


def test_staff_reject_a_held_review_and_members_read_the_rules(fresh_brand, site_server, chromium):
    connection.set_tenant(fresh_brand)
    demo_programme_seed(slug="grand-cru")
    demo_moderation_seed(slug="grand-cru")
    late, named = _texts()
    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": 1300, "height": 900})
    problems: list[str] = []
    try:
        context.add_init_script(RECORD_VIOLATIONS)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        for name, path in {"hub": "/community/", "rules": "/community/rules/"}.items():
            assert page.goto(base + path).status == 200
            problems += [f"{name}: {v}" for v in page.evaluate("() => window.__cspViolations")]
            page.screenshot(path=SCREENSHOTS / f"moderation-{name}.png", full_page=True)
        assert page.locator(".community-rules__reasons li").count() == 8
        assert "within 5 days" in page.inner_text("main")

        page.goto(base + "/backoffice/login/")
        page.fill("input[name=username]", f"admin@{fresh_brand.slug}.example")
        page.fill("input[name=password]", TEST_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert page.goto(base + "/backoffice/community/moderation/").status == 200
        items = page.locator(".moderation-item")
        assert items.count() == 4
        assert items.first.get_attribute("data-pk") == str(late.pk)  # the oldest first
        assert "moderation-item--overdue" in (items.first.get_attribute("class") or "")  # 6 days > 5
        assert "name: vasseur" in page.inner_text("#moderation-queue")
        problems += [f"queue: {v}" for v in page.evaluate("() => window.__cspViolations")]
        page.screenshot(path=SCREENSHOTS / "moderation-queue.png", full_page=True)

        row = page.locator(f'.moderation-item[data-model="review"][data-pk="{late.pk}"]')
        row.locator("select[name=reason]").select_option("insult")
        row.locator("textarea[name=note]").fill("Please keep to the wine.")
        row.locator(".moderation-reject button[type=submit]").click()
        page.wait_for_load_state("networkidle")
        assert "the author is told the reason" in page.inner_text("body")
        assert page.locator(f'.moderation-item[data-model="review"][data-pk="{late.pk}"]').count() == 0
        page.screenshot(path=SCREENSHOTS / "moderation-queue-after.png", full_page=True)

        for name, path in {"terms": "/backoffice/community/moderationterm/"}.items():
            assert page.goto(base + path).status == 200
            page.screenshot(path=SCREENSHOTS / f"moderation-{name}.png", full_page=True)
    finally:
        context.close()
    assert not problems, problems
    connection.set_tenant(fresh_brand)
    rejected = Review.objects.get(pk=late.pk)
    assert (rejected.state, rejected.rejection_reason) == (ModerationState.REJECTED, "insult")
    assert Review.objects.get(pk=named.pk).state == ModerationState.HELD
    assert Message.objects.filter(trigger="community_rejected", member=rejected.member).count() == 1
