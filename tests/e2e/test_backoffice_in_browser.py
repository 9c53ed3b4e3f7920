"""The backoffice in Chromium with unfold's look: the index, a list, change forms, the member search
and every custom page of the apps open (200), render with unfold's stylesheet and the brand's
colours, and break no rule of the Content-Security-Policy; the header's search box finds a member;
the FR/EN switch changes the language. Screenshots go to SCREENSHOTS_DIR/backoffice/ (look at
them after a change of the look)."""

from __future__ import annotations

import os
from pathlib import Path

from django.db import connection

from billing.demo import demo_billing_seed
from catalog.models import Gift, Order
from clubs.demo import demo_clubs_seed
from gatherings.demo import demo_gatherings_seed
from gatherings.models import Gathering
from loyalty.demo import demo_programme_seed
from loyalty.models import EarningRule, Member
from messaging.demo import demo_messaging_seed
from messaging.models import Campaign, MessageTemplate
from tests.conftest import TEST_PASSWORD
from tests.factories import member_make

SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR", "var/screenshots")) / "backoffice"
DEMO = "grand-cru"

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
});
"""


def _seed(brand) -> dict[str, object]:
    connection.set_tenant(brand)
    for seed in (
        demo_programme_seed,
        demo_messaging_seed,
        demo_billing_seed,
        demo_clubs_seed,
        demo_gatherings_seed,
    ):
        seed(slug=DEMO)
    member = member_make(
        "shop-7",
        first_name="Paul",
        last_name="Morel",
        company_name="Tabac du Port",
        email="paul@tabac-du-port.example",
        phone="+33612345678",
        points=840,
    )
    from clubs.models import Space

    ids = {
        "member": member.pk,
        "rule": EarningRule.objects.order_by("pk").first().pk,
        "gift": Gift.objects.order_by("pk").first().pk,
        "template": MessageTemplate.objects.order_by("pk").first().pk,
        "campaign": getattr(Campaign.objects.order_by("pk").first(), "pk", None),
        "gathering": getattr(Gathering.objects.order_by("pk").first(), "pk", None),
        "space": getattr(Space.objects.order_by("pk").first(), "pk", None),
        "order": getattr(Order.objects.order_by("pk").first(), "pk", None),
        "members": Member.objects.count(),
    }
    connection.set_schema_to_public()
    return ids


def _pages(ids: dict) -> dict[str, str]:
    pages = {
        "index": "/backoffice/",
        "members-list": "/backoffice/loyalty/member/",
        "member-change": f"/backoffice/loyalty/member/{ids['member']}/change/",
        "member-adjust": f"/backoffice/loyalty/member/{ids['member']}/adjust/",
        "member-activation-code": f"/backoffice/loyalty/member/{ids['member']}/activation-code/",
        "member-ledger": f"/backoffice/loyalty/member/{ids['member']}/ledger/",
        "search": "/backoffice/search/?q=mor",
        "rules-list": "/backoffice/loyalty/earningrule/",
        "rule-change": f"/backoffice/loyalty/earningrule/{ids['rule']}/change/",
        "badges-list": "/backoffice/loyalty/badge/",
        "badges-leaderboard": "/backoffice/loyalty/badge/leaderboard/",
        "segment-add": "/backoffice/loyalty/segment/add/",
        "programme": "/backoffice/loyalty/programmesettings/",
        "gifts-list": "/backoffice/catalog/gift/",
        "gift-change": f"/backoffice/catalog/gift/{ids['gift']}/change/",
        "gift-import": "/backoffice/catalog/gift/import/",
        "gift-codes": f"/backoffice/catalog/gift/{ids['gift']}/codes/",
        "orders-list": "/backoffice/catalog/order/",
        "messages-list": "/backoffice/messaging/message/",
        "outbox": "/backoffice/messaging/message/outbox/",
        "template-change": f"/backoffice/messaging/messagetemplate/{ids['template']}/change/",
        "campaigns-list": "/backoffice/messaging/campaign/",
        "letters-list": "/backoffice/messaging/letterbatch/",
        "letters-add": "/backoffice/messaging/letterbatch/add/",
        "vip-plans": "/backoffice/billing/vipplan/",
        "subscriptions": "/backoffice/billing/subscription/",
        "stripe-account": "/backoffice/billing/vipplan/stripe-account/",
        "mrr": "/backoffice/billing/subscription/mrr/",
        "theme": "/backoffice/themes/theme/1/change/",
        "api-key-add": "/backoffice/core/apikey/add/",
        "domain-add": "/backoffice/tenants/domain/add/",
        "spaces": "/backoffice/clubs/space/",
        "gatherings": "/backoffice/gatherings/gathering/",
    }
    if ids["campaign"]:
        pages["campaign-change"] = f"/backoffice/messaging/campaign/{ids['campaign']}/change/"
    if ids["gathering"]:
        pages["gathering-change"] = f"/backoffice/gatherings/gathering/{ids['gathering']}/change/"
        pages["gathering-door"] = f"/backoffice/gatherings/gathering/{ids['gathering']}/door/"
        pages["gathering-invite"] = f"/backoffice/gatherings/gathering/{ids['gathering']}/invite/"
    if ids["space"]:
        pages["space-code-new"] = f"/backoffice/clubs/space/{ids['space']}/codes/new/"
    if ids["order"]:
        pages["order-change"] = f"/backoffice/catalog/order/{ids['order']}/change/"
    return pages


def test_every_backoffice_page_has_unfolds_look_under_the_policy(fresh_brand, site_server, chromium):
    ids = _seed(fresh_brand)
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
        page.screenshot(path=SCREENSHOTS / "login.png")
        page.fill("input[name=username]", f"admin@{fresh_brand.slug}.example")
        page.fill("input[name=password]", TEST_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=SCREENSHOTS / "logged-in.png")
        assert page.url == base + "/backoffice/", page.url

        for name, path in _pages(ids).items():
            response = page.goto(base + path)
            page.wait_for_load_state("networkidle")
            if response.status != 200:
                problems.append(f"{name}: {response.status}")
            # unfold's stylesheet and our colours applied: the sidebar's background is base-50.
            background = page.eval_on_selector("body", "(e) => getComputedStyle(e).backgroundColor")
            if background in {"rgba(0, 0, 0, 0)", "rgb(255, 255, 255)"}:
                problems.append(f"{name}: no unfold colours ({background})")
            problems += [f"{name}: {v}" for v in page.evaluate("() => window.__cspViolations")]
            page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

        # The header's search box finds the member and leads to their page.
        page.goto(base + "/backoffice/")
        page.fill("#member-search", "tabac du")
        page.press("#member-search", "Enter")
        page.wait_for_url("**/backoffice/search/?q=*")
        page.click("#search-results-table a")
        page.wait_for_url(f"**/backoffice/loyalty/member/{ids['member']}/change/")

        # The language switch: French, then English again.
        page.click("button[name=language][value=fr]")
        page.wait_for_load_state("networkidle")
        assert page.get_attribute("html", "lang") == "fr"
        page.screenshot(path=SCREENSHOTS / "member-change-fr.png", full_page=True)
        page.click("button[name=language][value=en]")
        page.wait_for_load_state("networkidle")
        assert page.get_attribute("html", "lang") == "en"
    finally:
        context.close()
    assert problems == [], "\n".join(problems)
