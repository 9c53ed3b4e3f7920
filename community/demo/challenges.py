"""The demo brands' challenges, seeded by `tenants.demo.demo_seed` when the brand has none (staff
changes are kept): CityCar's "3 trips into Paris in happy hour this week" (trip events into zone 1
between 18:00 and 22:00, as its happy-hour rules read them, `loyalty.rule_examples`), 500 bonus
points, with the e-mail telling the member (`challenge_completed`), and two trips of this week
already made by its demo rider so the dashboard shows the progress."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from community.models import Challenge
from community.services.challenges import challenge_save
from loyalty.models import Member
from loyalty.services.events.checks import EventInput
from loyalty.services.events.pipeline import event_record
from messaging.demo import DemoTemplate, demo_triggered_templates_seed
from messaging.models import TriggerKind
from tenants.selectors import brand_timezone

HAPPY_HOUR_INTO_PARIS = [
    {"field": "attributes.zone_to", "op": "equals", "value": 1},
    {"field": "local_time", "op": "between", "value": ["18:00", "22:00"]},
]
DEMO_RIDER = "rider-001"

COMPLETED = DemoTemplate(
    "challenge_completed",
    "email",
    "service",
    "Challenge completed e-mail",
    {
        "en": (
            "Challenge completed: +{{ points_earned }} points",
            'Well done {{ first_name }}!\n\nYou completed the challenge "{{ challenge_name }}": '
            "{{ points_earned }} bonus points are yours. Your balance: {{ balance }} points.\n\n"
            "The next challenges: {{ challenges_url }}\n\nThe {{ programme_name }} team",
        ),
        "fr": (
            "Défi réussi : +{{ points_earned }} points",
            "Bravo {{ first_name }} !\n\nVous avez réussi le défi « {{ challenge_name }} » : "
            "{{ points_earned }} points de bonus sont à vous. Votre solde : {{ balance }} points.\n\n"
            "Les prochains défis : {{ challenges_url }}\n\nL'équipe {{ programme_name }}",
        ),
    },
)


def seed(*, slug: str) -> None:
    """In the current schema (a demo brand of `tenants.demo`), idempotent."""
    if slug != "citycar" or Challenge.objects.exists():
        return
    tz = brand_timezone()
    today = timezone.now().astimezone(tz).date()
    monday = datetime.combine(today - timedelta(days=today.weekday()), time(0, 0), tzinfo=tz)
    with transaction.atomic():
        challenge_save(
            data={
                "name": "3 trips into Paris in happy hour this week",
                "description": "Drive **into Paris** (zone 1) between 18:00 and 22:00, three times "
                "before Sunday midnight: 500 bonus points, on top of the happy-hour points.",
                "event_type": "trip",
                "conditions": HAPPY_HOUR_INTO_PARIS,
                "count_required": 3,
                "starts_at": monday,
                "ends_at": monday + timedelta(days=7),
                "bonus_points": 500,
            }
        )
        _completed_message()
    _rider_trips(monday)


def _completed_message() -> None:
    demo_triggered_templates_seed(templates=[(TriggerKind.CHALLENGE_COMPLETED, COMPLETED)])


def _rider_trips(monday: datetime) -> None:
    """Two happy-hour trips into Paris of this week's evenings gone by (none early on a Monday)."""
    if not Member.objects.filter(external_id=DEMO_RIDER).exists():
        return
    now = timezone.now()
    evenings = [monday + timedelta(days=day, hours=19) for day in range(7)]
    for index, at in enumerate([at for at in evenings if at < now][-2:]):
        event_record(
            data=EventInput(
                member=DEMO_RIDER,
                type="trip",
                occurred_at=at,
                attributes={"zone_from": 3, "zone_to": 1},
                idempotency_key=f"demo:challenge-trip:{index}",
            )
        )
