"""The demo brands' prize draws, seeded once (when the brand has none, so staff changes are kept):
a draw whose tickets are on sale now (or, for the tobacconists, counted on the points they spend),
and a draw of last month already drawn among a few demo members, whose page shows the published
seed, the winners and the entries to check. Also the `draw_won` e-mail (English and French) and
its trigger, switched on."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from community.models import Draw
from community.services.draws import draw_create, draw_run
from loyalty.models import Member, Segment
from loyalty.services.members import member_upsert
from messaging.demo import DemoTemplate, demo_triggered_templates_seed
from messaging.models import TriggerKind

SEGMENT_NAME = "Every member"
# The demo members the past draw was drawn among (first name, last name).
ENTRANTS = (
    ("Léa", "Martin"),
    ("Hugo", "Bernard"),
    ("Chloé", "Petit"),
    ("Louis", "Durand"),
    ("Inès", "Moreau"),
)
# slug -> the draw on now: (name, prize, way of taking part, tickets' price or points per ticket, text)
CURRENT: dict[str, tuple[str, str, str, int, str]] = {
    "citycar": (
        "Electric weekend",
        "A weekend with a Renault 5 E-Tech, charging included",
        Draw.Eligibility.TICKETS_BOUGHT,
        200,
        "Buy as many tickets as you like until the entries close. **One winner**, told by e-mail.",
    ),
    "grand-cru": (
        "A magnum for the holidays",
        "A magnum of Saint-Émilion grand cru 2016",
        Draw.Eligibility.TICKETS_BOUGHT,
        300,
        "Tickets are bought with your points. Three winners, drawn before the holidays.",
    ),
    "tabac-pro": (
        "The shopkeepers' draw",
        "A 55-inch display screen for your shop",
        Draw.Eligibility.POINTS_SPENT,
        500,
        "One ticket for every 500 points spent on gifts this month: nothing to do but order.",
    ),
}
PAST: dict[str, tuple[str, str]] = {
    "citycar": ("Spring draw", "A year of free trips"),
    "grand-cru": ("Cellar Club draw", "A private tasting for six"),
    "tabac-pro": ("Launch draw", "A coffee machine for your shop"),
}
WON = DemoTemplate(
    "draw_won",
    "email",
    "service",
    "Prize draw won e-mail",
    {
        "en": (
            "You won: {{ draw_prize }}",
            "Hello {{ first_name }},\n\nGood news: you won the draw {{ draw_name }} ({{ draw_date }}): "
            "{{ draw_prize }}. We will contact you to hand you your prize.\n\nThe draw, its seed and "
            "its entries: {{ draw_url }}\n\nThe {{ programme_name }} team",
        ),
        "fr": (
            "Vous avez gagné : {{ draw_prize }}",
            "Bonjour {{ first_name }},\n\nBonne nouvelle : vous avez gagné le tirage au sort {{ draw_name }} "
            "({{ draw_date }}) : {{ draw_prize }}. Nous vous contacterons pour vous remettre votre lot.\n\n"
            "Le tirage, sa graine et ses participations : {{ draw_url }}\n\nL'équipe {{ programme_name }}",
        ),
    },
)


def seed(*, slug: str) -> None:
    """In the current schema (a demo brand of `tenants.demo`), idempotent."""
    if slug not in CURRENT:
        return
    with transaction.atomic():
        demo_triggered_templates_seed(templates=[(TriggerKind.DRAW_WON, WON)])
        if Draw.objects.exists():
            return
        now = timezone.now().replace(minute=0, second=0, microsecond=0)
        name, prize, eligibility, number, text = CURRENT[slug]
        way = "ticket_price" if eligibility == Draw.Eligibility.TICKETS_BOUGHT else "points_per_ticket"
        draw_create(
            data={
                **_dates(now - timedelta(days=3), now + timedelta(days=18)),
                "name": name,
                "prize": prize,
                "description": text,
                "winners_count": 3 if slug == "grand-cru" else 1,
                "eligibility": eligibility,
                way: number,
            }
        )
        _past_seed(slug=slug, now=now)


def _dates(opens_at: datetime, closes_at: datetime) -> dict[str, Any]:
    return {"opens_at": opens_at, "closes_at": closes_at, "draw_at": closes_at + timedelta(hours=1)}


def _past_seed(*, slug: str, now: datetime) -> None:
    """Last month's draw among every member (the demo ones below included), drawn."""
    for index, (first_name, last_name) in enumerate(ENTRANTS, 1):
        if not Member.objects.filter(external_id=f"demo-draw-{index}").exists():
            member_upsert(
                external_id=f"demo-draw-{index}",
                data={"first_name": first_name, "last_name": last_name},
                source="demo",
            )
    segment, _ = Segment.objects.get_or_create(
        name=SEGMENT_NAME, defaults={"description": "Every member of the programme", "filters": {}}
    )
    name, prize = PAST[slug]
    draw = draw_create(
        data={
            **_dates(now - timedelta(days=40), now - timedelta(days=10)),
            "name": name,
            "prize": prize,
            "description": "Every member took part, one ticket each.",
            "winners_count": 2,
            "eligibility": Draw.Eligibility.SEGMENT,
            "segment": segment,
        }
    )
    draw_run(draw_id=draw.pk, now=draw.draw_at)
