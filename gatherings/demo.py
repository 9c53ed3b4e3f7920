"""The demo brands' events with limited seats, seeded by `tenants.demo.demo_seed` at every `make
run` when the brand has none yet (so staff changes are kept): dated from the day it runs, at 19:00
in the brand's timezone. Grand Cru's cellar tasting is for its Cellar Club space (`clubs.demo`)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from clubs.models import Space
from gatherings.models import Gathering
from gatherings.services import gathering_create
from tenants.selectors import brand_timezone

# slug -> (title, kind, place, capacity, days ahead, hours long, the club space's slug or "", text)
EVENTS: dict[str, tuple[tuple[str, str, str, int, int, int, str, str], ...]] = {
    "grand-cru": (
        (
            "Bordeaux grands crus tasting",
            Gathering.Kind.TASTING,
            "12 quai des Chartrons, Bordeaux",
            20,
            10,
            2,
            "",
            "Six wines of the 2015 vintage, presented by our cellar master.",
        ),
        (
            "Vertical tasting: Pauillac 2010-2019",
            Gathering.Kind.TASTING,
            "The cellar, 12 quai des Chartrons, Bordeaux",
            8,
            17,
            3,
            "cellar",
            "For the Cellar Club: ten vintages of one estate, with the grower.",
        ),
    ),
    "citycar": (
        (
            "Electric cars meetup",
            Gathering.Kind.MEETUP,
            "CityCar hub, 40 rue de la Gare, Paris",
            30,
            14,
            2,
            "",
            "Try the new electric models and meet the team.",
        ),
    ),
}


def demo_gatherings_seed(*, slug: str) -> None:
    """The demo brand's (the current schema's) events, when it has none."""
    if slug not in EVENTS or Gathering.objects.exists():
        return
    tz = brand_timezone()
    today = timezone.now().astimezone(tz).date()
    with transaction.atomic():
        for title, kind, place, capacity, days, hours, space_slug, text in EVENTS[slug]:
            space = Space.objects.filter(slug=space_slug).first() if space_slug else None
            if space_slug and space is None:
                continue  # the space was removed: its event with it
            starts_at = datetime.combine(today + timedelta(days=days), time(19, 0), tzinfo=tz)
            gathering_create(
                data={
                    "title": title,
                    "kind": kind,
                    "description": text,
                    "place": place,
                    "capacity": capacity,
                    "starts_at": starts_at,
                    "ends_at": starts_at + timedelta(hours=hours),
                    "visibility": Gathering.Visibility.SPACE if space else Gathering.Visibility.EVERYONE,
                    "space": space,
                    "state": Gathering.State.PUBLISHED,
                }
            )
