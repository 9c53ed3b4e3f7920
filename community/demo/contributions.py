"""The demo brands' contributions: the car-sharing club (`citycar`) pays its members for damage
reports (a photo and the vehicle's plate): its type, the rule paying them (the programme's
"Damage report" rule, made here if the brand has none), the "Vigie" badge at 10 approved reports,
a testimonial type shown on the site, a few contributions (approved, to review) and the messages
of `contribution_approved`. Written through the services, once (a brand with contribution types
keeps its own)."""

from __future__ import annotations

import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image

from community.models import ContributionType
from community.services.contributions import contribution_decide, contribution_submit, contribution_type_save
from loyalty.models import Badge, EarningRule, Member
from loyalty.rule_examples import DAMAGE_REPORT
from loyalty.services.badges import badge_save
from loyalty.services.members import member_upsert
from loyalty.services.rules import rule_create
from messaging.demo import DemoTemplate, demo_triggered_templates_seed
from messaging.models import TriggerKind

DAMAGE_TYPE = {
    "code": "damage-report",
    "name": "Damage report",
    "description": (
        "Found a scratch, a dent or a broken light on one of our cars? Send a photo and the car's "
        "plate before you drive: **every report we approve earns Miles**, and 10 approved reports "
        "make you a *Vigie*."
    ),
    "event_type": "damage_report",
    "photos_required": 1,
    "reference_label": "Vehicle plate",
    "reference_required": True,
    "is_public": False,
    "position": 0,
}
TESTIMONIAL_TYPE = {
    "code": "testimonial",
    "name": "Testimonial",
    "description": "Tell the other members about a trip with CityCar: approved testimonials are shown here.",
    "event_type": "testimonial",
    "is_public": True,
    "position": 1,
}
VIGIE = {
    "code": "vigie",
    "name": "Vigie",
    "description": "10 approved damage reports: our cars are in good hands.",
    "event_type": "damage_report",
    "conditions": [{"field": "attributes.status", "op": "equals", "value": "approved"}],
    "count_required": 10,
}
# (external id, first name, last name, e-mail)
REPORTERS = (
    ("community-rider-1", "Bruno", "Lefort", "bruno@citycar.example"),
    ("community-rider-2", "Chloé", "Marchand", "chloe@citycar.example"),
)
# (reporter index, plate, text, approved); testimonials have no plate
REPORTS = (
    (0, "GH-412-KL", "Rear bumper scratched on the left side, about 10 cm.", True),
    (0, "AB-908-CD", "Front right indicator broken.", True),
    (1, "FT-221-PQ", "A dent on the driver's door.", True),
    (1, "EL-377-ZX", "The windscreen has a small crack near the mirror.", False),
)
TESTIMONIALS = (
    (
        1,
        "",
        "Booked at 7 a.m., the car was clean and charged: the quickest way across Paris on a Sunday.",
        True,
    ),
)
CONTRIBUTION_APPROVED = DemoTemplate(
    "contribution_approved",
    "email",
    "service",
    "Contribution approved e-mail",
    {
        "en": (
            "Thank you, {{ first_name }}: your contribution is approved",
            "Hello {{ first_name }},\n\nOur team approved your contribution: {{ points_earned }} points "
            "are yours. Your balance: {{ balance }} points.\n\nSee your contributions: "
            "{{ site_url }}community/contributions/\n\n"
            "The {{ programme_name }} team",
        ),
        "fr": (
            "Merci {{ first_name }} : votre contribution est approuvée",
            "Bonjour {{ first_name }},\n\nNotre équipe a approuvé votre contribution : {{ points_earned }} "
            "points sont à vous. Votre solde : {{ balance }} points.\n\nVos contributions : "
            "{{ site_url }}community/contributions/\n\n"
            "L'équipe {{ programme_name }}",
        ),
    },
)


def _photo(name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (180, 40, 40)).save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def reporters_seed(people: tuple[tuple[str, str, str, str], ...]) -> list[Member]:
    """The demo's community members (without a login), made once."""
    return [
        member_upsert(
            external_id=external_id,
            data={"first_name": first, "last_name": last, "email": email},
            consents={"email": True},
            source="demo",
        )[0]
        for external_id, first, last, email in people
    ]


def seed(*, slug: str) -> None:
    """In the current schema (a demo brand of `tenants.demo`), idempotent."""
    if slug != "citycar" or ContributionType.objects.exists():
        return
    with transaction.atomic():
        damage = contribution_type_save(data=DAMAGE_TYPE)
        testimonial = contribution_type_save(data=TESTIMONIAL_TYPE)
        if not EarningRule.objects.filter(event_type=damage.event_type).exists():
            rule_create(data=DAMAGE_REPORT)
        if not Badge.objects.filter(code=VIGIE["code"]).exists():
            badge_save(data=VIGIE)
        members = reporters_seed(REPORTERS)
        now = timezone.now()
        for kind, rows in ((damage, REPORTS), (testimonial, TESTIMONIALS)):
            for index, reference, text, approved in rows:
                contribution = contribution_submit(
                    member=members[index],
                    type_id=kind.pk,
                    text=text,
                    reference=reference,
                    photos=[_photo(f"{reference}.jpg")] if kind.photos_required else [],
                )
                if approved:
                    contribution_decide(
                        contribution_id=contribution.pk, approve=True, user=None, now=now - timedelta(hours=1)
                    )
        demo_triggered_templates_seed(templates=[(TriggerKind.CONTRIBUTION_APPROVED, CONTRIBUTION_APPROVED)])
