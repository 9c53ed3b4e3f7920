"""The demo brands' moderation: a few words of their trade added to the lists that ship (a wine
merchant's "piquette", a tobacconists' network's "contrebande"), a word the lists hold taken out
for one brand, the stated delay and the rules shown on the site, and the `community_rejected`
message (e-mail, English and French) switched on. What exists already is left as it is."""

from __future__ import annotations

from django.db import transaction

from community.models import CommunitySettings, ModerationTerm, TermCategory
from messaging.demo import DemoTemplate, demo_triggered_templates_seed
from messaging.models import TriggerKind

# slug -> (language, category, term)
TERMS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "grand-cru": (
        ("fr", TermCategory.INSULT, "piquette de merde"),
        ("fr", TermCategory.INSULT, "pinardier"),
        ("", TermCategory.NAME, "Sommelier Dubreuil"),
        # "Le Bouffon" is the house's own cuvée: its reviews are not held for an insult.
        ("fr", TermCategory.ALLOWED, "bouffon"),
    ),
    "tabac-pro": (
        ("fr", TermCategory.INSULT, "buraliste de mes deux"),
        ("", TermCategory.INSULT, "contrebande"),
    ),
    "citycar": (
        ("fr", TermCategory.INSULT, "chauffard"),
        ("en", TermCategory.INSULT, "road hog"),
    ),
}
RULES = {
    "grand-cru": (
        "Our members' reviews are published as they are written, **praise or criticism**. "
        "Keep to the wine, the service and the shop: no names of our staff or other customers."
    ),
    "tabac-pro": (
        "This space is for the network's tobacconists. Reviews of products and deliveries are "
        "published unedited; **no names** of representatives or customers, no advertising."
    ),
    "citycar": (
        "Reviews of our cars and stations are published as written. Report damage through "
        "*Contribute*, not in a review, and never write a plate or a person's name."
    ),
}
REJECTED = DemoTemplate(
    "community_rejected",
    "email",
    "service",
    "Community text rejected",
    {
        "en": (
            "Your text was not published",
            "Hello {{ first_name }},\n\nWe could not publish your text on {{ programme_name }}: "
            "{{ rejection_reason }}.\n{% if rejection_note %}\nOur moderator's note: {{ rejection_note }}\n"
            "{% endif %}\nSee it and our moderation rules: {{ rejection_url }}\n\n"
            "The {{ programme_name }} team",
        ),
        "fr": (
            "Votre texte n'a pas été publié",
            "Bonjour {{ first_name }},\n\nNous n'avons pas pu publier votre texte sur {{ programme_name }} : "
            "{{ rejection_reason }}.\n{% if rejection_note %}\nLe mot de notre modérateur : "
            "{{ rejection_note }}\n{% endif %}\nRetrouvez-le, ainsi que nos règles de modération : "
            "{{ rejection_url }}\n\nL'équipe {{ programme_name }}",
        ),
    },
)


def seed(*, slug: str) -> None:
    """In the current schema (a demo brand of `tenants.demo`), idempotent."""
    if slug not in TERMS:
        return
    with transaction.atomic():
        for language, category, term in TERMS[slug]:
            ModerationTerm.objects.get_or_create(language=language, category=category, term=term)
        CommunitySettings.objects.get_or_create(
            pk=1, defaults={"moderation_delay_days": 5, "moderation_rules": RULES[slug]}
        )
    demo_triggered_templates_seed(templates=[(TriggerKind.CONTENT_REJECTED, REJECTED)])
