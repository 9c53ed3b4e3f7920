"""The demo brands' club spaces (README.md, "Club spaces"), seeded by `tenants.demo.demo_seed` at
every `make run`: what exists already is left as it is. Grand Cru's VIP tier and its spend rule
(1,000 EUR in 9 months) open its cellar club; Tabac Pro's partners' space is entered with a code
made in the backoffice (Club spaces > Spaces > New code)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from clubs.models import ClubSettings, Offer, Space, SpacePage
from clubs.services import space_save
from loyalty.models import ProgrammeSettings, Tier

SPACES = {
    "grand-cru": {
        "space": {
            "slug": "cellar",
            "name": "The Cellar Club",
            "teaser": "Allocations of rare wines, tastings with the growers, our private line.",
            "how_to_enter": "Spend 1,000 EUR over 9 months, or reach the VIP tier.",
            "entry": Space.Entry.VIP,
        },
        "page": {
            "slug": "allocations",
            "title": "This season's allocations",
            "body": "- Pauillac 2019\n- Meursault 2021",
        },
        "offer": {
            "title": "Glassware at cost",
            "text": "Our partner's stems, at cost.",
            "code": "CELLAR-GLASS",
        },
        "phone": "+33 1 70 00 00 00",
    },
    "tabac-pro": {
        "space": {
            "slug": "partners",
            "name": "Partners' corner",
            "teaser": "Negotiated prices with our suppliers, for partner shops.",
            "how_to_enter": "Your sales rep hands you the corner's confidential code.",
            "entry": Space.Entry.CODE,
        },
        "page": {"slug": "terms", "title": "Partner terms", "body": "Prices valid for the quarter."},
        "offer": {
            "title": "Display stands -20%",
            "text": "Until the end of the quarter.",
            "link": "https://example.com/stands",
        },
        "phone": "",
    },
}


def demo_clubs_seed(*, slug: str) -> None:
    """The demo brand's (the current schema's) club space, its page, offer and private line."""
    demo = SPACES.get(slug)
    if demo is None or Space.objects.filter(slug=demo["space"]["slug"]).exists():
        return
    if slug == "grand-cru":
        Tier.objects.filter(code="vip").update(grants_vip=True)
        ProgrammeSettings.objects.filter(id=1, vip_spend_amount__isnull=True).update(
            vip_spend_amount=Decimal("1000"), vip_spend_months=9
        )
    space = space_save(space=Space(**demo["space"]))
    SpacePage.objects.create(space=space, **demo["page"])
    Offer.objects.create(space=space, valid_until=timezone.now() + timedelta(days=90), **demo["offer"])
    if demo["phone"]:
        ClubSettings.objects.update_or_create(
            id=1, defaults={"vip_phone": demo["phone"], "vip_phone_hours": "Mon-Sat 10:00-19:00"}
        )
