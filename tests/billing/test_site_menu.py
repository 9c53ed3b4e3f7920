"""The site's menu links to /vip/ when the brand sells a VIP plan, and only then."""

from __future__ import annotations

from billing.models import VipPlan
from billing.services.plans import vip_plan_save

GOLD = {"name": "Gold", "code": "gold", "price": "9.90", "currency": "EUR", "interval": "month"}


def _menu(client) -> str:
    page = client.get("/").content.decode()
    start = page.index('id="site-nav"')
    return page[start : page.index("</nav>", start)]


def test_the_menu_names_vip_only_while_a_plan_is_offered(in_a, connected_a, client_for):
    client = client_for(in_a)
    assert 'href="/vip/"' not in _menu(client)
    plan = vip_plan_save(data=GOLD)
    assert 'href="/vip/"' in _menu(client)
    VipPlan.objects.filter(pk=plan.pk).update(is_active=False)
    assert 'href="/vip/"' not in _menu(client)
