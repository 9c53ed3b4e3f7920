"""The demo brands' discussions, seeded by `tenants.demo.demo_seed` when the brand has none (staff
changes are kept), written through the services as members write them:
- Grand Cru: an open discussion, a testimonial, and its VIP forum, threads of the Cellar Club
  space (`clubs.demo`, VIP members only) by a VIP customer of the demo;
- Tabac Pro: the shopkeepers' testimonials space;
- CityCar: a riders' discussion.
Also "events reuse the VIP issue's events": CityCar's evening with the best helpers, a
`gatherings.Gathering` visible to the "Best helpers" segment (members tagged `helper`; the demo
rider is one)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from clubs.models import Space
from community.models import Thread
from community.services.discussions import reply_post, thread_create
from gatherings.models import Gathering
from gatherings.services import gathering_create
from loyalty.models import Member, Segment
from loyalty.services.members import member_upsert
from loyalty.services.segments import segment_save
from tenants.selectors import brand_timezone

# slug -> the demo's writers: external id -> (first name, last name, VIP)
WRITERS: dict[str, dict[str, tuple[str, str, bool]]] = {
    "grand-cru": {"cust-2001": ("Hélène", "Vasseur", True), "cust-2002": ("Marc", "Olivier", False)},
    "tabac-pro": {"SIRET-40483304800030": ("Paul", "Girard", False)},
    "citycar": {"rider-002": ("Léa", "Fontaine", False)},
}
# slug -> threads: (writer, kind, club space slug or "", title, text, replies: (writer, text))
THREADS: dict[str, tuple[tuple[str, str, str, str, str, tuple[tuple[str, str], ...]], ...]] = {
    "grand-cru": (
        (
            "cust-2002",
            Thread.Kind.DISCUSSION,
            "",
            "Which Bordeaux to open this winter?",
            "I have a 2015 Saint-Émilion and a 2016 Pauillac. Which one is ready?",
            (("cust-2001", "The 2015 Saint-Émilion drinks beautifully now; keep the Pauillac a few years."),),
        ),
        (
            "cust-2001",
            Thread.Kind.TESTIMONIAL,
            "",
            "A tasting I will remember",
            "The Bordeaux grands crus evening was superb: six wines, and a cellar master who takes "
            "the time to answer every question.",
            (),
        ),
        (
            "cust-2001",
            Thread.Kind.DISCUSSION,
            "cellar",
            "Pauillac 2019 allocation: who got some?",
            "The allocation opened this morning for the Cellar Club. Worth laying down twelve bottles?",
            (),
        ),
    ),
    "tabac-pro": (
        (
            "SIRET-40483304800030",
            Thread.Kind.TESTIMONIAL,
            "",
            "The coffee machine is a hit in the shop",
            "Ordered with our points last month: customers stay a little longer, and buy more.",
            (),
        ),
    ),
    "citycar": (
        (
            "rider-002",
            Thread.Kind.DISCUSSION,
            "",
            "Best spots to park near Châtelet?",
            "I often drive into Paris at happy hour: where do you leave the car near Châtelet?",
            (),
        ),
    ),
}
HELPERS_SEGMENT = "Best helpers"


def seed(*, slug: str) -> None:
    """In the current schema (a demo brand of `tenants.demo`), idempotent."""
    if slug == "citycar":
        _helpers_evening()
    if slug not in THREADS or Thread.objects.exists():
        return
    with transaction.atomic():
        writers = {external_id: _writer(external_id, *data) for external_id, data in WRITERS[slug].items()}
        for writer, kind, space_slug, title, text, replies in THREADS[slug]:
            space = Space.objects.filter(slug=space_slug).first() if space_slug else None
            if space_slug and space is None:
                continue  # the space was removed: its forum with it
            thread = thread_create(
                member=writers[writer],
                kind=kind,
                title=title,
                text=text,
                space_id=space.pk if space else None,
            )
            for replier, reply in replies:
                reply_post(thread_id=thread.pk, member=writers[replier], text=reply)


def _writer(external_id: str, first_name: str, last_name: str, vip: bool) -> Member:
    member, _ = member_upsert(
        external_id=external_id,
        data={"first_name": first_name, "last_name": last_name, **({"is_vip": True} if vip else {})},
        source="demo",
    )
    return member


def _helpers_evening() -> None:
    """The evening with the best helpers, for the members tagged `helper`, when none exists."""
    if Gathering.objects.filter(title="An evening with our best helpers").exists():
        return
    with transaction.atomic():
        segment = Segment.objects.filter(name=HELPERS_SEGMENT).first() or segment_save(
            data={"name": HELPERS_SEGMENT, "filters": {"tags": {"any": ["helper"]}}}
        )
        rider = Member.objects.filter(external_id="rider-001").first()
        if rider is not None and "helper" not in rider.tags:
            member_upsert(
                external_id=rider.external_id, data={"tags": [*rider.tags, "helper"]}, source="demo"
            )
        tz = brand_timezone()
        starts_at = datetime.combine(
            timezone.now().astimezone(tz).date() + timedelta(days=21), time(19, 0), tzinfo=tz
        )
        gathering_create(
            data={
                "title": "An evening with our best helpers",
                "kind": Gathering.Kind.MEETUP,
                "description": "Thank you to the members who answer the others' questions: drinks, "
                "the team, and a first look at next season's cars.",
                "place": "CityCar hub, 40 rue de la Gare, Paris",
                "capacity": 25,
                "starts_at": starts_at,
                "ends_at": starts_at + timedelta(hours=3),
                "visibility": Gathering.Visibility.SEGMENT,
                "segment": segment,
                "state": Gathering.State.PUBLISHED,
            }
        )
