"""The demo brands' club services, seeded by `tenants.demo.demo_seed` at every `make run` when the
brand has none yet: Grand Cru's Cellar Club (`clubs.demo`, VIP members) offers a free cellar
valuation by the sommelier. The `service_request_answered` message is an e-mail in English and
French, to the development outbox."""

from __future__ import annotations

from clubs.models import Space
from community.models import ClubService
from messaging.demo import DemoTemplate, demo_triggered_templates_seed
from messaging.models import TriggerKind

VALUATION = {
    "name": "Free cellar valuation by our sommelier",
    "description": (
        "Our sommelier values your cellar, **free of charge**: what your bottles are worth today, "
        "which to drink now and which to keep. At your home in the Bordeaux area, or from your list "
        "anywhere else."
    ),
    "request_help": "Roughly how many bottles, which regions and vintages, and where the cellar is.",
}
ANSWERED = DemoTemplate(
    "service-request-answered",
    "email",
    "service",
    "Club service answered e-mail",
    {
        "en": (
            "We answered your request",
            "Hello {{ first_name }},\n\nOur team answered your request. Read the answer in your member "
            "area: {{ site_url }}community/services/requests/\n\nThe {{ programme_name }} team",
        ),
        "fr": (
            "Nous avons répondu à votre demande",
            "Bonjour {{ first_name }},\n\nNotre équipe a répondu à votre demande. Lisez sa réponse dans "
            "votre espace membre : {{ site_url }}community/services/requests/\n\n"
            "L'équipe {{ programme_name }}",
        ),
    },
)


def seed(*, slug: str) -> None:
    """In the current schema (a demo brand of `tenants.demo`), idempotent."""
    if slug != "grand-cru":
        return
    demo_triggered_templates_seed(templates=[(TriggerKind.SERVICE_REQUEST_ANSWERED, ANSWERED)])
    space = Space.objects.filter(slug="cellar").first()
    if space is None or ClubService.objects.exists():
        return
    ClubService.objects.create(space=space, **VALUATION)
