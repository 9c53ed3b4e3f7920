"""The demo brands' message templates (English and French) and channel settings without credentials,
so that every message goes to the development outbox (Messaging > Development outbox). Seeded by
`tenants.demo.demo_seed` at every `make run`: what exists already (a template staff edited, saved
settings) is left as it is, so running it again changes nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from loyalty.selectors.programme import programme_settings
from messaging.models import ChannelSettings, MessageTemplate, Trigger
from messaging.services.channel_settings import channel_settings_update
from messaging.services.templates import template_save
from messaging.triggers import trigger_save


@dataclass(frozen=True)
class DemoTemplate:
    code: str
    channel: str
    purpose: str
    name: str
    # language -> (subject, body)
    texts: dict[str, tuple[str, str]]


WELCOME = DemoTemplate(
    "welcome",
    "email",
    "service",
    "Welcome e-mail",
    {
        "en": (
            "Welcome to {{ programme_name }}, {{ first_name }}",
            "Hello {{ first_name }},\n\nWelcome to {{ programme_name }}! You already have {{ balance }} "
            "points.\n\nSee what they buy and how to earn more: {{ site_url }}\n\nSee you soon,\n"
            "The {{ programme_name }} team",
        ),
        "fr": (
            "Bienvenue dans {{ programme_name }}, {{ first_name }}",
            "Bonjour {{ first_name }},\n\nBienvenue dans {{ programme_name }} ! Vous avez déjà "
            "{{ balance }} points.\n\nDécouvrez ce qu'ils vous offrent et comment en gagner d'autres : "
            "{{ site_url }}\n\nÀ bientôt,\nL'équipe {{ programme_name }}",
        ),
    },
)
POINTS_EARNED = DemoTemplate(
    "points_earned",
    "sms",
    "service",
    "Points earned SMS",
    {
        # GSM-7 only (no ê, ç, curly quotes): one segment, 160 characters.
        "en": (
            "",
            "{{ programme_name }}: +{{ points_earned }} points, well done {{ first_name }}! "
            "Your balance: {{ balance }} points.",
        ),
        "fr": (
            "",
            "{{ programme_name }} : +{{ points_earned }} points, bravo {{ first_name }} ! "
            "Votre solde : {{ balance }} points.",
        ),
    },
)
POINTS_EXPIRING = DemoTemplate(
    "points_expiring",
    "voice",
    "marketing",
    "Points expiring call",
    {
        "en": (
            "",
            "Hello {{ first_name }}, this is {{ programme_name }}. You have {{ points_expiring }} points "
            "that expire on {{ expiry_date }}. Spend them on a gift in your member area before then. "
            "Thank you, and goodbye.",
        ),
        "fr": (
            "",
            "Bonjour {{ first_name }}, ici {{ programme_name }}. Vous avez {{ points_expiring }} points "
            "qui expirent le {{ expiry_date }}. Utilisez-les pour un cadeau dans votre espace membre "
            "d'ici là. Merci et au revoir.",
        ),
    },
)
ORDER_SHIPPED = DemoTemplate(
    "order_shipped",
    "email",
    "service",
    "Order shipped e-mail",
    {
        "en": (
            "Your order {{ order_number }} is on its way",
            "Hello {{ first_name }},\n\nYour order {{ order_number }} ({{ gift }}) is {{ order_status }}. "
            "Follow your orders on {{ site_url }}orders/\n\nThe {{ programme_name }} team",
        ),
        "fr": (
            "Votre commande {{ order_number }} est en route",
            "Bonjour {{ first_name }},\n\nVotre commande {{ order_number }} ({{ gift }}) est : "
            "{{ order_status }}. Suivez vos commandes sur {{ site_url }}orders/\n\n"
            "L'équipe {{ programme_name }}",
        ),
    },
)
WEEKLY_OFFERS = DemoTemplate(
    "weekly_offers",
    "email",
    "marketing",
    "Weekly offers e-mail",
    {
        "en": (
            "This week at {{ programme_name }}",
            "Hello {{ first_name }},\n\nThis week's gifts are waiting for you, and you have {{ balance }} "
            "points to spend: {{ site_url }}gifts/\n\n{% if tier %}As a {{ tier }} member, you earn more "
            "on every purchase.\n\n{% endif %}No more offers by e-mail: {{ unsubscribe_url }}",
        ),
        "fr": (
            "Cette semaine chez {{ programme_name }}",
            "Bonjour {{ first_name }},\n\nLes cadeaux de la semaine vous attendent, et vous avez "
            "{{ balance }} points à dépenser : {{ site_url }}gifts/\n\n{% if tier %}Membre {{ tier }}, "
            "vous gagnez davantage à chaque achat.\n\n{% endif %}Ne plus recevoir nos offres par e-mail : "
            "{{ unsubscribe_url }}",
        ),
    },
)
# The letter launching Tabac Pro's programme: the "letters" batches render the template of this
# code on the post channel (`messaging.letters`), one per reseller with their activation code.
LAUNCH_LETTER = DemoTemplate(
    "launch_letter",
    "post",
    "service",
    "Launch letter",
    {
        "en": (
            "",
            "Dear {{ name }},\n\n{{ company }} is invited to join {{ programme_name }}, the rewards "
            "programme of partner tobacconists: 1 point per euro bought from us, doubled on featured "
            "products, to spend on gifts for you and your shop.\n\nTo activate your account, go to "
            "{{ activation_url }} and enter your personal code:\n\n{{ activation_code }}\n\nYour sales "
            "rep is there to help.\n\nKind regards,\nThe {{ programme_name }} team",
        ),
        "fr": (
            "",
            "{{ name }},\n\n{{ company }} est invité à rejoindre {{ programme_name }}, le programme de "
            "fidélité des buralistes partenaires : 1 point par euro acheté, doublé sur les produits mis "
            "en avant, à échanger contre des cadeaux pour vous et votre point de vente.\n\nPour activer "
            "votre compte, rendez-vous sur {{ activation_url }} et saisissez votre code personnel :\n\n"
            "{{ activation_code }}\n\nVotre commercial reste à votre disposition.\n\nBien cordialement,\n"
            "L'équipe {{ programme_name }}",
        ),
    },
)

# Events with limited seats (gatherings): the messages of the event triggers, by e-mail.
EVENT_INVITATION = DemoTemplate(
    "event_invitation",
    "email",
    "marketing",
    "Event invitation e-mail",
    {
        "en": (
            "You are invited: {{ event_title }}",
            "Hello {{ first_name }},\n\nYou are invited to {{ event_title }}, on {{ event_date }} at "
            "{{ event_place }}. Seats are limited: answer on {{ event_url }}\n\nNo more invitations by "
            "e-mail: {{ unsubscribe_url }}",
        ),
        "fr": (
            "Vous êtes invité : {{ event_title }}",
            "Bonjour {{ first_name }},\n\nVous êtes invité à {{ event_title }}, le {{ event_date }} à "
            "{{ event_place }}. Les places sont limitées : répondez sur {{ event_url }}\n\nNe plus "
            "recevoir nos invitations par e-mail : {{ unsubscribe_url }}",
        ),
    },
)
EVENT_PROMOTED = DemoTemplate(
    "event_promoted",
    "email",
    "service",
    "Event seat freed e-mail",
    {
        "en": (
            "A seat is yours: {{ event_title }}",
            "Hello {{ first_name }},\n\nA seat was freed at {{ event_title }}, on {{ event_date }} at "
            "{{ event_place }}: it is yours. Cannot come after all? Free it on {{ event_url }}\n\n"
            "The {{ programme_name }} team",
        ),
        "fr": (
            "Une place pour vous : {{ event_title }}",
            "Bonjour {{ first_name }},\n\nUne place s'est libérée pour {{ event_title }}, le "
            "{{ event_date }} à {{ event_place }} : elle est à vous. Vous ne pouvez plus venir ? "
            "Libérez-la sur {{ event_url }}\n\nL'équipe {{ programme_name }}",
        ),
    },
)
EVENT_REMINDER = DemoTemplate(
    "event_reminder",
    "email",
    "service",
    "Event reminder e-mail",
    {
        "en": (
            "Tomorrow: {{ event_title }}",
            "Hello {{ first_name }},\n\nSee you at {{ event_title }}, on {{ event_date }} at "
            "{{ event_place }}. Your answer: {{ event_url }}\n\nThe {{ programme_name }} team",
        ),
        "fr": (
            "Demain : {{ event_title }}",
            "Bonjour {{ first_name }},\n\nÀ bientôt pour {{ event_title }}, le {{ event_date }} à "
            "{{ event_place }}. Votre réponse : {{ event_url }}\n\nL'équipe {{ programme_name }}",
        ),
    },
)

EVENT_CANCELLED = DemoTemplate(
    "event_cancelled",
    "email",
    "service",
    "Event cancelled e-mail",
    {
        "en": (
            "Cancelled: {{ event_title }}",
            "Hello {{ first_name }},\n\nWe are sorry: {{ event_title }}, planned on {{ event_date }} at "
            "{{ event_place }}, is cancelled. Your answer needs nothing more from you.\n\n"
            "The {{ programme_name }} team",
        ),
        "fr": (
            "Annulé : {{ event_title }}",
            "Bonjour {{ first_name }},\n\nNous sommes désolés : {{ event_title }}, prévu le "
            "{{ event_date }} à {{ event_place }}, est annulé. Vous n'avez rien à faire.\n\n"
            "L'équipe {{ programme_name }}",
        ),
    },
)

COMMON = (WELCOME, POINTS_EARNED, POINTS_EXPIRING, ORDER_SHIPPED, WEEKLY_OFFERS)
EVENTS = (EVENT_INVITATION, EVENT_PROMOTED, EVENT_REMINDER, EVENT_CANCELLED)
TEMPLATES: dict[str, tuple[DemoTemplate, ...]] = {
    "citycar": (*COMMON, *EVENTS),
    "tabac-pro": (*COMMON, LAUNCH_LETTER),
    "grand-cru": (*COMMON, *EVENTS),
}
# Senders only: no provider, no credentials, so every message goes to the development outbox.
SETTINGS: dict[str, dict[str, object]] = {
    "citycar": {
        "email_from_name": "CityCar Club",
        "email_from_address": "club@citycar.example",
        "sms_sender": "CityCar",
        "voice_caller": "+33176543210",
    },
    "tabac-pro": {
        "email_from_name": "Tabac Pro Rewards",
        "email_from_address": "pro@tabac-pro.example",
        "sms_sender": "TabacPro",
        "voice_caller": "+33478123456",
    },
    "grand-cru": {
        "email_from_name": "Grand Cru Cellar Club",
        "email_from_address": "club@grand-cru.example",
        "sms_sender": "GrandCru",
        "voice_caller": "+33556789012",
    },
}


def demo_template_seed(*, template: DemoTemplate, languages: Iterable[str]) -> None:
    """`template` in each of `languages` it has a text for, unless it exists in that language."""
    for language, (subject, body) in template.texts.items():
        exists = MessageTemplate.objects.filter(
            code=template.code, channel=template.channel, language=language
        ).exists()
        if language in languages and not exists:
            template_save(
                code=template.code,
                channel=template.channel,
                language=language,
                name=template.name,
                purpose=template.purpose,
                subject=subject,
                body=body,
            )


def demo_triggered_templates_seed(*, templates: Iterable[tuple[str, DemoTemplate]]) -> None:
    """Each (trigger kind, template): the template in the site's languages and the kind's trigger on
    its channel, switched on, unless the brand has one already; those missing, in one transaction
    (the community's messages)."""
    languages = programme_settings().site_languages
    with transaction.atomic():
        for kind, template in templates:
            demo_template_seed(template=template, languages=languages)
            if not Trigger.objects.filter(kind=kind, channel=template.channel).exists():
                trigger_save(
                    data={
                        "kind": kind,
                        "channel": template.channel,
                        "template_code": template.code,
                        "is_active": True,
                    }
                )


def demo_messaging_seed(*, slug: str) -> None:
    """The demo brand's (the current schema's) templates in its site's languages and its channel
    settings, those that do not exist yet."""
    if slug not in TEMPLATES:
        return
    languages = programme_settings().site_languages
    with transaction.atomic():
        if not ChannelSettings.objects.exists():
            channel_settings_update(data=SETTINGS[slug])
        for template in TEMPLATES[slug]:
            demo_template_seed(template=template, languages=languages)
