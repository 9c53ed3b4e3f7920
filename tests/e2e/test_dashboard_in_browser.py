"""The backoffice dashboard in Chromium under the Content-Security-Policy: from the admin index to
the dashboard, its charts drawn (unfold's bundled Chart.js, no inline script), a CSV downloaded,
no violation of the policy; screenshots at 1280 and 390 px in SCREENSHOTS_DIR (var/screenshots/)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from django.db import connection
from django.utils import timezone

from backoffice.dashboard_services import dashboard_rebuild
from tests.conftest import TEST_PASSWORD
from tests.factories import credit_make, debit_make, member_make

SHOTS = Path(os.environ.get("SCREENSHOTS_DIR", Path(__file__).resolve().parents[2] / "var" / "screenshots"))
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber} ${event.sample}`
  );
});
"""


def test_the_dashboard_in_a_browser(fresh_brand, site_server, chromium):
    connection.set_tenant(fresh_brand)
    for number in range(12):
        member = member_make(f"dash-{number}")
        for months in range(number % 6 + 1):
            credit_make(member, 100 + 37 * number, at=timezone.now() - timedelta(days=30 * months + 1))
        debit_make(member, 40 + number)
    dashboard_rebuild()
    connection.set_schema_to_public()
    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(accept_downloads=True)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        context.add_init_script(RECORD_VIOLATIONS)
        page.on("pageerror", lambda error: errors.append(f"page error: {error}"))

        def violations() -> None:
            # htmx.js (unfold's base page, every backoffice page) adds its indicator <style>: not the
            # dashboard's, left to the backoffice's look (htmx.config.includeIndicatorStyles).
            found = page.evaluate("() => window.__cspViolations")
            errors.extend(f"{page.url}: {v}" for v in found if "unfold/js/htmx/htmx.js" not in v)

        page.goto(f"{base}/backoffice/login/")
        page.fill("input[name=username]", f"admin@{fresh_brand.slug}.example")
        page.fill("input[name=password]", TEST_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        page.goto(f"{base}/backoffice/")
        violations()
        page.click("text=Open the dashboard")
        page.wait_for_load_state("networkidle")
        violations()
        assert page.url.startswith(f"{base}/backoffice/dashboard/")
        charts = page.locator("canvas.chart")
        assert charts.count() == 3
        # Chart.js drew each canvas (it sizes them to their box).
        assert all(box and box["height"] > 100 for box in (charts.nth(i).bounding_box() for i in range(3)))
        page.screenshot(path=SHOTS / "backoffice-dashboard-1280.png", full_page=True)
        with page.expect_download() as download:
            page.click("#figure-points a[download]")
        assert download.value.suggested_filename.startswith("points-")
        assert (
            Path(download.value.path()).read_text().startswith("Month,Issued,Redeemed,Expired,Other changes")
        )
        page.fill("#id_start", "2999-01")
        page.click("button:has-text('Show')")
        page.wait_for_load_state("networkidle")
        violations()
        assert page.locator("#id_end-errors, #id_start-errors").count() >= 1
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{base}/backoffice/dashboard/")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=SHOTS / "backoffice-dashboard-390.png", full_page=True)
        violations()
        assert errors == [], errors
    finally:
        context.close()
