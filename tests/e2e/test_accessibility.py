"""axe-core (the npm package, cached by `platform/system.py test`) finds no serious or critical
violation on the member site's main pages, for two demo brands in their themes, at desktop and
phone widths: the visitor's pages logged out (the activation's password step included), the
member's pages logged in (with an order, and the redemption's confirmation step), and a sales
rep's portfolio."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from catalog.models import Gift
from catalog.services import RedeemItem, ShippingAddress, order_place
from clubs.demo import demo_clubs_seed
from gatherings.demo import demo_gatherings_seed
from gatherings.models import Gathering
from loyalty.demo import PROGRAMMES, demo_programme_seed
from loyalty.models import Member
from loyalty.services.activation import activation_code_issue
from loyalty.services.members import member_sales_rep_set
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import system_module
from tests.factories import credit_make, member_make

VISITOR_PAGES = (
    "/",
    "/join/",
    "/accounts/login/",
    "/accounts/password-reset/",
    "/activate/",
    "/join/sent/",
    "/gifts/",
    "/gifts/{gift}/",
    "/page/faq/",
    "/club/",
    "/events/",
    "/events/{event}/",
)
MEMBER_PAGES = (
    "/account/",
    "/account/history/",
    "/account/profile/",
    "/gifts/",
    "/gifts/{gift}/",
    "/orders/",
    "/orders/{order}/",
    "/club/",
    "/events/",
    "/events/{event}/",
)
# Forms sent empty (the browser's own checks off): the pages with their errors.
FORMS_SENT_EMPTY = ("/join/", "/activate/", "/accounts/login/")
BLOCKING = {"serious", "critical"}


@pytest.fixture(params=["citycar", "grand-cru"])
def demo_brand(request, fresh_brand):
    connection.set_tenant(fresh_brand)
    demo_programme_seed(slug=request.param)
    demo_clubs_seed(slug=request.param)
    demo_gatherings_seed(slug=request.param)
    event = Gathering.objects.filter(visibility=Gathering.Visibility.EVERYONE).order_by("pk").first()
    external_id, email, _points = PROGRAMMES[request.param]["member"]
    member = Member.objects.get(external_id=external_id)
    # An address, so a physical gift's form is filled in already (the confirmation step is reached).
    Member.objects.filter(pk=member.pk).update(
        first_name=member.first_name or "Ana",
        address_line1="1 rue X",
        postal_code="75001",
        city="Paris",
        country="FR",
    )
    gift = Gift.objects.order_by("points_price").first()
    # Twice its price: after the order, enough left to reach the redemption's confirmation step.
    credit_make(member, gift.points_price * 2)
    shipping = ShippingAddress(name="Ana", line1="1 rue X", city="Paris", postal_code="75001", country="FR")
    order, _ = order_place(
        member_id=member.pk,
        items=[RedeemItem(gift_id=gift.pk)],
        idempotency_key="a11y-1",
        actor="test",
        shipping=shipping if gift.kind == Gift.Kind.PHYSICAL else None,
    )
    reseller = member_make("A11Y-SHOP", kind="reseller", company_name="Tabac A11y", postal_code="75011")
    code = activation_code_issue(member=reseller).code
    rep = get_user_model().objects.create_user(
        username="rep@a11y.example", password=TEST_PASSWORD, is_staff=True
    )
    member_sales_rep_set(member=reseller, by=None, sales_rep=rep)
    connection.set_schema_to_public()
    ids = {"gift": gift.pk, "order": order.pk, "code": code, "rep": rep.username, "event": event.pk}
    return fresh_brand, email, ids


def _violations(page) -> list[str]:
    page.add_script_tag(path=str(system_module.axe_path()))
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(v => ({
            id: v.id, impact: v.impact, help: v.helpUrl,
            targets: v.nodes.map(n => n.target.join(' ')),
        }))"""
    )
    return [
        f"{page.url} [{v['impact']}] {v['id']} on {', '.join(v['targets'])} ({v['help']})"
        for v in found
        if v["impact"] in BLOCKING
    ]


def _log_in(page, base: str, username: str, password: str) -> None:
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@pytest.mark.parametrize("width", [1280, 375])
def test_main_pages_have_no_serious_violation(demo_brand, site_server, chromium, width):
    assert system_module.axe_path(), "axe-core is required: `make test` fetches it (platform/system.py test)"
    brand, email, ids = demo_brand
    base = f"http://{brand.slug}.localhost:{site_server}"
    # The site's CSP refuses inline scripts: axe is injected by the browser itself, not the site.
    context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    try:
        for path in VISITOR_PAGES:
            assert page.goto(base + path.format(**ids)).ok, path
            problems += _violations(page)
        for path in FORMS_SENT_EMPTY:
            page.goto(base + path)
            page.eval_on_selector("main form", "form => { form.noValidate = true; }")
            page.click("main form button[type=submit]")
            page.wait_for_load_state()
            assert page.locator("main .errorlist").count(), f"no error shown on {path}"
            problems += _violations(page)
        # The activation's second step (the new password), reached with a real code.
        page.goto(base + "/activate/")
        page.fill("input[name=code]", ids["code"])
        page.fill("input[name=postal_code]", "75011")
        page.click("main button[type=submit]")
        page.wait_for_url(base + "/activate/password/")
        problems += _violations(page)
        context.clear_cookies()
        _log_in(page, base, email, settings.DEMO_PASSWORD)
        for path in MEMBER_PAGES:
            assert page.goto(base + path.format(**ids)).ok, path
            assert "/accounts/login/" not in page.url
            problems += _violations(page)
        # The redemption's confirmation step.
        page.goto(base + f"/gifts/{ids['gift']}/")
        page.click("main form button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() in ("Confirm your order", "Confirmez votre commande"), page.url
        problems += _violations(page)
        # A sales rep's portfolio and one member of it.
        context.clear_cookies()
        _log_in(page, base, ids["rep"], TEST_PASSWORD)
        for path in ("/account/portfolio/", "/account/portfolio/A11Y-SHOP/"):
            assert page.goto(base + path).ok, path
            problems += _violations(page)
    finally:
        context.close()
    assert not problems, "axe-core violations:\n" + "\n".join(problems)
