"""The audit trail in Chromium under the Content-Security-Policy: the list reached by
`backoffice:audit`, filtered by a date range and an action, an entry's page, an object's history;
no violation of the policy; screenshots in SCREENSHOTS_DIR (var/screenshots/)."""

from __future__ import annotations

import os
from pathlib import Path

from django.db import connection
from django.utils import timezone

from core.audit import audit_as
from loyalty.services.ledger import points_adjust
from loyalty.services.tiers import tier_create, tier_update
from tests.conftest import TEST_PASSWORD
from tests.factories import member_make

SHOTS = Path(os.environ.get("SCREENSHOTS_DIR", Path(__file__).resolve().parents[2] / "var" / "screenshots"))
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}`);
});
"""


def _violations(page) -> list[str]:
    # htmx's own indicator <style> (every backoffice page, the look's to turn off) is not this page's.
    return [v for v in page.evaluate("window.__cspViolations") if "htmx" not in v]


def test_the_audit_trail_in_a_browser(fresh_brand, site_server, chromium):
    connection.set_tenant(fresh_brand)
    with audit_as(via="api", actor_label="API key ERP (ab12cd34)"):
        tier = tier_create(data={"code": "gold", "name": "Gold", "threshold": 1000})
        tier_update(tier=tier, data={"code": "gold", "name": "Gold+", "threshold": 1500})
    member = member_make("AUD-7")
    with audit_as(via="command", actor_label="support script"):
        points_adjust(
            member_id=member.pk, points=120, reason="goodwill after a late delivery", staff_user_id=None
        )
    connection.set_schema_to_public()
    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)  # a loaded machine is slow, not broken
        errors: list[str] = []
        context.add_init_script(RECORD_VIOLATIONS)
        page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
        # The policy's refusals are checked by `_violations`, which knows which file made them.
        page.on(
            "console",
            lambda message: (
                message.type == "error"
                and "Content Security Policy" not in message.text
                and errors.append(message.text)
            ),
        )
        page.goto(f"{base}/backoffice/login/")
        page.fill("input[name=username]", f"admin@{fresh_brand.slug}.example")
        page.fill("input[name=password]", TEST_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        page.goto(f"{base}/backoffice/audit/")
        assert "/backoffice/core/auditentry/" in page.url
        assert page.locator("#result_list tbody tr").count() == 3
        page.screenshot(path=SHOTS / "backoffice-audit-1280.png", full_page=True)
        assert _violations(page) == []
        page.locator("text=Filters").first.click()
        page.wait_for_timeout(300)
        page.screenshot(path=SHOTS / "backoffice-audit-filters-1280.png", full_page=True)

        today = timezone.localdate().isoformat()
        page.goto(f"{base}/backoffice/core/auditentry/?action=change&at_from={today}&at_to={today}")
        assert page.locator("#result_list tbody tr").count() == 1
        assert page.locator("#result_list").inner_text().count("1500.00") == 1
        page.screenshot(path=SHOTS / "backoffice-audit-filtered-1280.png", full_page=True)
        assert _violations(page) == []

        page.locator("#result_list tbody tr th a").first.click()
        page.wait_for_load_state()
        page.screenshot(path=SHOTS / "backoffice-audit-entry-1280.png", full_page=True)
        assert _violations(page) == []

        page.goto(f"{base}/backoffice/loyalty/tier/{tier.pk}/history/")
        assert "Gold+" in page.content()
        page.screenshot(path=SHOTS / "backoffice-audit-history-1280.png", full_page=True)
        assert _violations(page) == []

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{base}/backoffice/core/auditentry/")
        page.screenshot(path=SHOTS / "backoffice-audit-390.png", full_page=True)
        assert _violations(page) == []
        assert errors == []
    finally:
        context.close()
