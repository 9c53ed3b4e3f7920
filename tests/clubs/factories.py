"""Club spaces of the current schema, for the clubs tests."""

from __future__ import annotations

from clubs.models import Offer, Space, SpacePage
from clubs.services import space_save


def space_make(slug: str = "cellar", **fields) -> Space:
    values = {
        "name": slug.title(),
        "teaser": "Tastings and **private** prices.",
        "how_to_enter": "Spend 1,000 EUR in 9 months.",
        "entry": Space.Entry.VIP,
        **fields,
    }
    return space_save(space=Space(slug=slug, **values))


def content_make(space: Space) -> tuple[SpacePage, Offer]:
    """A page and an offer in force, each with words found nowhere else."""
    page = SpacePage.objects.create(
        space=space, slug="vintages", title="Rare vintages", body="Secret *Margaux* list"
    )
    offer = Offer.objects.create(
        space=space, title="Partner hotel", text="Ten percent off", code="HOTEL-SECRET-10"
    )
    return page, offer
