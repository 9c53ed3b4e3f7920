"""The member site, the backoffice, the operator console and the API docs in Chromium under the
Content-Security-Policy: each page works (its scripts run, its styles apply) and the browser reports
no violation of the policy."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from catalog.models import GiftPhoto
from loyalty.services.rules import rule_create
from tests.catalog.factories import gift_make, png
from tests.conftest import TEST_PASSWORD
from tests.factories import member_make

# Every violation the page's document sees, kept in the page (init scripts run outside the policy).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
});
"""


class Violations:
    def __init__(self, page) -> None:
        self.page = page
        self.found: list[str] = []
        page.context.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.found.append(f"page error: {error}"))

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.found.append(f"console {message.type}: {message.text}")

    def visit(self, url: str, name: str, shots) -> None:
        response = self.page.goto(url)
        assert "Content-Security-Policy" in {key.title(): value for key, value in response.headers.items()}
        self.page.wait_for_load_state("networkidle")
        self.check(name, shots)

    def check(self, name: str, shots) -> None:
        for violation in self.page.evaluate("() => window.__cspViolations"):
            self.found.append(f"{name}: {violation}")
        self.page.screenshot(path=shots / f"{name}.png", full_page=True)


@pytest.fixture
def operator(live_db):
    connection.set_schema_to_public()
    user = get_user_model().objects.create_superuser(
        username="csp-operator", email="csp-operator@example.com", password=TEST_PASSWORD
    )
    yield user
    connection.set_schema_to_public()
    # In SQL: the ORM's cascade would look for brand-only tables (ledger entries name staff users).
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM auth_user WHERE id = %s", [user.pk])


def log_in(page, base: str, username: str, path: str = "/accounts/login/") -> None:
    page.goto(base + path)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_member_site_backoffice_console_and_api_docs_work_under_the_policy(
    fresh_brand, operator, site_server, chromium, tmp_path
):
    connection.set_tenant(fresh_brand)
    member_make("csp-web", points=300, login=True)
    gift = gift_make(name="Cinema ticket", points_price=200, codes=["CSP-0001"])
    photo = GiftPhoto.objects.create(gift=gift, image=png(64, 40), alt_text="a ticket")
    rule = rule_create(data={"name": "Trip", "event_type": "trip", "points": 10})
    connection.set_schema_to_public()
    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        seen = Violations(page)

        # The member site: the brand's compiled stylesheet applies: its header in the theme's colour.
        seen.visit(base + "/", "member-home", tmp_path)
        header = page.eval_on_selector(".site-header", "(e) => getComputedStyle(e).backgroundColor")
        assert header == "rgb(31, 79, 163)"
        log_in(page, base, "csp-web@example.com")
        seen.visit(base + "/gifts/", "member-gifts", tmp_path)
        assert page.eval_on_selector(".gifts", "(e) => getComputedStyle(e).display") == "grid"
        seen.visit(f"{base}/gifts/{gift.pk}/", "member-gift", tmp_path)
        assert page.eval_on_selector(".photos img", "(e) => getComputedStyle(e).maxHeight") == "200px"
        page.context.clear_cookies()

        # The backoffice: the rule page's simulator (inline script, nonce), the segment's live count.
        log_in(page, base, f"admin@{fresh_brand.slug}.example")
        seen.visit(base + "/backoffice/", "backoffice-index", tmp_path)
        seen.visit(f"{base}/backoffice/loyalty/earningrule/{rule.pk}/change/", "backoffice-rule", tmp_path)
        page.click("#calendarlink0")  # Django's own admin scripts: the date picker
        assert page.locator("#calendarbox0").is_visible()
        page.keyboard.press("Escape")
        page.fill("input[name=sim-member]", "csp-web")
        page.fill("input[name=sim-occurred_at]", "2026-05-04T19:30")
        page.press("input[name=sim-member]", "Enter")  # the nonce'd script turns Enter into Simulate
        page.wait_for_selector("#simulation-result")
        assert "10 points for csp-web" in page.locator("#simulation-result h3").first.inner_text()
        seen.check("backoffice-rule-simulated", tmp_path)
        seen.visit(base + "/backoffice/loyalty/segment/add/", "backoffice-segment", tmp_path)
        counted = "() => /^\\d+$/.test(document.getElementById('segment-live-count').textContent)"
        page.wait_for_function(counted)
        assert not page.locator("#segment-live-errors").is_visible()
        seen.check("backoffice-segment-counted", tmp_path)

        # The API docs: Swagger UI from our static files renders the operations of the schema.
        seen.visit(base + "/api/v1/docs/", "api-docs", tmp_path)
        page.wait_for_selector(".swagger-ui .opblock")
        assert page.locator(".swagger-ui .opblock").count() > 5
        seen.check("api-docs-rendered", tmp_path)

        # The operator console, on the platform's own host.
        platform = f"http://localhost:{site_server}"
        log_in(page, platform, operator.username, path="/login/")
        seen.visit(platform + "/console/", "console", tmp_path)
        assert fresh_brand.slug in page.content()

        assert seen.found == []
    finally:
        context.close()
        photo.image.delete(save=False)
    print(f"screenshots: {tmp_path}")
