"""The demo brands' VIP plans (README.md, "VIP and billing"), on a sandbox Stripe account when the
platform has no Stripe keys, so that `make run` shows subscribing offline (/vip/ on the brand's
site, then VIP plans > Sandbox controls in the backoffice). Seeded by `tenants.demo.demo_seed` at
every `make run`: a plan that exists (by code) is left as staff left it. With Stripe keys nothing
is seeded: the brand connects its own account first."""

from __future__ import annotations

from django.conf import settings

from billing.models import VipPlan
from billing.services.connect import brand_current, stripe_account_connect
from billing.services.plans import vip_plan_save
from tenants.models import StripeAccount
from tenants.selectors import brand_primary_url

PLANS: dict[str, list[dict]] = {
    "grand-cru": [
        {
            "code": "cellar-club",
            "name": "Cellar Club",
            "price": "19.00",
            "currency": "EUR",
            "interval": "month",
            "trial_days": 14,
            "benefits": "A tasting for two each quarter\nMembers' prices on the en primeur campaign\n"
            "The cellar master's private line",
            "position": 1,
        },
        {
            "code": "cellar-club-year",
            "name": "Cellar Club, yearly",
            "price": "190.00",
            "currency": "EUR",
            "interval": "year",
            "benefits": "Everything of the Cellar Club, two months free",
            "position": 2,
        },
    ],
    "citycar": [
        {
            "code": "citycar-plus",
            "name": "CityCar Plus",
            "price": "9.90",
            "currency": "EUR",
            "interval": "month",
            "trial_days": 7,
            "benefits": "Priority booking at rush hour\nDouble points on weekend trips",
            "position": 1,
        },
    ],
}


def demo_billing_seed(*, slug: str) -> None:
    """The demo brand's (the current schema's) sandbox Stripe account and VIP plans, those that do
    not exist yet."""
    if slug not in PLANS or settings.STRIPE_SECRET_KEY:
        return
    brand = brand_current()
    if not StripeAccount.objects.filter(brand=brand).exists():
        site = brand_primary_url(brand=brand)
        stripe_account_connect(brand=brand, email=f"admin@{slug}.example", refresh_url=site, return_url=site)
    for plan in PLANS[slug]:
        if not VipPlan.objects.filter(code=plan["code"]).exists():
            vip_plan_save(data=plan)
