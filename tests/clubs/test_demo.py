"""The demo brands' club spaces: seeded once, left as they are on the next `make run`."""

from __future__ import annotations

from decimal import Decimal

from clubs.demo import demo_clubs_seed
from clubs.models import ClubSettings, Space
from loyalty.models import ProgrammeSettings, Tier


def test_grand_crus_cellar_club_is_seeded_once(in_a):
    Tier.objects.create(code="vip", name="VIP", threshold=1000)
    demo_clubs_seed(slug="grand-cru")
    demo_clubs_seed(slug="grand-cru")
    space = Space.objects.get()
    assert (space.slug, space.entry, space.pages.count(), space.offers.count()) == ("cellar", "vip", 1, 1)
    assert Tier.objects.get(code="vip").grants_vip
    assert ProgrammeSettings.objects.get().vip_spend_amount == Decimal("1000")
    assert ClubSettings.objects.get().vip_phone
    demo_clubs_seed(slug="citycar")
    assert Space.objects.count() == 1
