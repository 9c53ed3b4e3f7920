"""The rule page's simulator in a real browser: its fields belong to the rule's form, so it tries the
rule as edited on the page, and Enter in its fields simulates rather than saving the rule."""

from django.db import connection

from loyalty.models import EarningRule, LedgerEntry
from loyalty.rule_examples import SUBURB_TO_PARIS_HAPPY_HOUR
from loyalty.services.members import member_upsert
from loyalty.services.rules import rule_create
from tests.conftest import TEST_PASSWORD


def test_simulating_an_edited_rule_tries_the_edits_and_saves_nothing(fresh_brand, site_server, page):
    connection.set_tenant(fresh_brand)
    rule = rule_create(data=SUBURB_TO_PARIS_HAPPY_HOUR)
    member_upsert(external_id="rider", data={})
    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", f"admin@{fresh_brand.slug}.example")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")

    page.goto(f"{base}/backoffice/loyalty/earningrule/{rule.pk}/change/")
    page.fill("input[name=points]", "350")
    page.fill("input[name=sim-member]", "rider")
    page.fill("input[name=sim-occurred_at]", "2026-05-04T19:30")
    page.fill("textarea[name=sim-attributes]", '{"zone_from": 3, "zone_to": 1}')
    page.click("input[name=_simulate]")
    assert "350 points for rider" in page.locator("#simulation-result h3").first.inner_text()
    assert page.input_value("input[name=points]") == "350"  # the edit is still on the page

    page.fill("input[name=points]", "120")
    page.press("input[name=sim-member]", "Enter")  # simulates: Save is the form's first button
    heading = "(document.querySelector('#simulation-result h3') || {innerText: ''}).innerText"
    # A function, not an expression: Playwright runs a bare expression with eval(), which the CSP refuses.
    page.wait_for_function(f"() => {heading}.startsWith('120 points')")
    connection.set_tenant(fresh_brand)
    assert EarningRule.objects.get(pk=rule.pk).points == 200
    assert not LedgerEntry.objects.exists()
