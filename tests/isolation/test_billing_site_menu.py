"""Brand A's VIP plans put a VIP link in A's site menu, never in B's."""

from __future__ import annotations

from django.db import connection

from billing.services.plans import vip_plan_save
from tenants.models import StripeAccount
from tests.billing.conftest import fake_stripe  # noqa: F401 (fixture)

GOLD = {"name": "Gold", "code": "gold", "price": "9.90", "currency": "EUR", "interval": "month"}


def _menu(client) -> str:
    page = client.get("/").content.decode()
    start = page.index('id="site-nav"')
    return page[start : page.index("</nav>", start)]


def test_another_brands_plan_puts_nothing_in_the_menu(db, brand_a, brand_b, client_for, fake_stripe):  # noqa: F811
    connection.set_tenant(brand_a)
    account = fake_stripe.account_add()
    StripeAccount.objects.create(brand=brand_a, account_id=account["id"], charges_enabled=True)
    vip_plan_save(data=GOLD)
    assert 'href="/vip/"' in _menu(client_for(brand_a))
    assert 'href="/vip/"' not in _menu(client_for(brand_b))
