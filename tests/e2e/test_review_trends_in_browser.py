"""The review trends page in Chromium: the demo brand's reviews drawn by unfold's Chart.js (the
canvases painted, no page error, nothing the Content-Security-Policy blocks), the review list and a
follow-up open. Screenshots go to SCREENSHOTS_DIR/backoffice/ (look at them after a change)."""

from __future__ import annotations

import os
from pathlib import Path

from django.db import connection

from community.demo.reviews import seed as demo_reviews_seed
from community.models import FollowUp
from loyalty.demo import demo_programme_seed
from messaging.demo import demo_messaging_seed
from tests.conftest import TEST_PASSWORD
from tests.support import RECORD_VIOLATIONS

SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR", "var/screenshots")) / "backoffice"
# A canvas Chart.js drew on has coloured pixels; a blank one has none.
PAINTED = """(canvas) => {
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) return true; }
  return false;
}"""


def test_the_trends_chart_is_drawn_under_the_policy(fresh_brand, site_server, chromium):
    connection.set_tenant(fresh_brand)
    demo_programme_seed(slug="grand-cru")
    demo_messaging_seed(slug="grand-cru")
    demo_reviews_seed(slug="grand-cru")
    follow_up = FollowUp.objects.order_by("pk").first()
    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    problems: list[str] = []
    try:
        context.add_init_script(RECORD_VIOLATIONS)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.goto(base + "/backoffice/login/")
        page.fill("input[name=username]", f"admin@{fresh_brand.slug}.example")
        page.fill("input[name=password]", TEST_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")

        pages = {
            "review-trends": "/backoffice/community/reviews/trends/",
            "review-trends-24-places": "/backoffice/community/reviews/trends/?months=24&kind=place",
            "reviews": "/backoffice/community/review/",
            "review-follow-up": f"/backoffice/community/followup/{follow_up.pk}/change/",
        }
        for name, path in pages.items():
            response = page.goto(base + path)
            page.wait_for_load_state("networkidle")
            assert response.status == 200, (name, response.status)
            problems += [f"{name}: {v}" for v in page.evaluate("() => window.__cspViolations")]
            page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
            if name.startswith("review-trends"):
                canvases = page.query_selector_all("canvas.chart")
                assert len(canvases) == 2, name
                assert all(canvas.evaluate(PAINTED) for canvas in canvases), name
    finally:
        context.close()
    assert not problems, problems
