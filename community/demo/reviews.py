"""The demo brands' reviews (`community.demo`), through the same services the site uses: the items
each brand lists, a dozen demo members with purchases (events through the pipeline, so they earn
as the brand's rules say) and reviews spread over the last 14 months (the trends chart has a
history), in English and French, some certified, some low (their follow-ups open), a few answered
by the brand and one reported; purchases of the last days not reviewed yet, which the invitations'
sweep invites to review. The `review_invitation` and `review_replied` e-mails and their triggers.

Seeded once per brand (its demo members' reviews exist: nothing is redone, staff changes are
kept); the messages and triggers that are missing are added at every run."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from community.models import CommunitySettings, Review, Subject
from community.selectors.moderation import settings_get
from community.services.reviews import (
    review_reply,
    review_report,
    review_submit,
    subject_save,
)
from loyalty.models import EventType, Member
from loyalty.services.events.checks import EventInput
from loyalty.services.events.pipeline import event_record
from loyalty.services.members import member_upsert
from messaging.demo import DemoTemplate, demo_triggered_templates_seed

MEMBER_PREFIX = "demo-rev-"
# slug -> the purchase event type, then (kind, reference, name, description) of each listed item.
SUBJECTS: dict[str, tuple[str, tuple[tuple[str, str, str, str], ...]]] = {
    "grand-cru": (
        "purchase",
        (
            ("product", "GC-MARGAUX-15", "Château Margaux 2015", "First growth, Margaux."),
            ("product", "GC-PAUILLAC-16", "Pauillac 2016", "Cabernet sauvignon from the left bank."),
            ("product", "GC-CHAMPAGNE", "Champagne brut réserve", "Our house champagne."),
            ("place", "GC-CHARTRONS", "Shop of the quai des Chartrons", "12 quai des Chartrons, Bordeaux."),
        ),
    ),
    "citycar": (
        "trip",
        (
            ("service", "CC-HOURLY", "Hourly car sharing", "A car by the hour, fuel included."),
            ("service", "CC-ELECTRIC", "Electric cars", "The electric fleet, charged at the stations."),
            ("place", "CC-GARE-DE-LYON", "Station Gare de Lyon", "Car park of the Gare de Lyon, level -2."),
            ("place", "CC-MONTPARNASSE", "Station Montparnasse", "Car park Montparnasse, level -1."),
        ),
    ),
    "tabac-pro": (
        "purchase",
        (
            ("product", "TP-TERMINAL", "Payment terminal", "The counter's card terminal."),
            ("product", "TP-DISPLAY", "Counter display", "The illuminated display for the counter."),
            ("service", "TP-DELIVERY", "Next-day delivery", "Orders before 6 pm delivered the next day."),
            ("place", "TP-DEPOT-LYON", "Lyon depot", "Pick-up at the Lyon depot."),
        ),
    ),
}
# (first name, last name, language) of the demo members who review.
MEMBERS = (
    ("Julie", "Moreau", "fr"),
    ("Thomas", "Girard", "fr"),
    ("Emma", "Watson", "en"),
    ("Lucas", "Fontaine", "fr"),
    ("Olivia", "Hughes", "en"),
    ("Hugo", "Lambert", "fr"),
    ("Chloé", "Rousseau", "fr"),
    ("James", "Carter", "en"),
    ("Léa", "Mercier", "fr"),
    ("Noah", "Bennett", "en"),
    ("Manon", "Faure", "fr"),
    ("Sophie", "Turner", "en"),
)
# language -> rating -> (title, text) written by the demo members.
TEXTS: dict[str, dict[int, tuple[str, str]]] = {
    "en": {
        5: ("Excellent", "Excellent, exactly what I hoped for. I will come back and recommend it."),
        4: ("Very good", "Very good overall, a small wait but friendly and helpful staff."),
        3: ("Fine", "Fine, nothing special. The price is a bit high for what it is."),
        2: ("Disappointing", "Disappointing: it arrived late and nobody told me why."),
        1: ("Avoid", "This is a scandal, worst purchase ever, avoid."),
    },
    "fr": {
        5: ("Parfait", "Parfait, je recommande sans hésiter. Le service est impeccable."),
        4: ("Très bien", "Très bien dans l'ensemble, un peu d'attente mais une équipe aimable."),
        3: ("Correct", "Correct, sans plus. Le prix est un peu élevé pour ce que c'est."),
        2: ("Décevant", "Décevant : livré en retard et personne ne m'a prévenu."),
        1: ("À éviter", "Un vrai scandale, le pire achat de l'année, à éviter."),
    },
}
REPLIES = {
    "en": "Thank you for telling us. Our team will call you to put this right.",
    "fr": "Merci de nous l'avoir dit. Notre équipe vous appelle pour arranger cela.",
}
# The ratings drawn (more good than bad, as most programmes see).
RATINGS = (5, 5, 5, 4, 4, 4, 4, 3, 3, 2, 1)
HISTORY_DAYS = 420

REVIEW_INVITATION = DemoTemplate(
    "review_invitation",
    "email",
    "marketing",
    "Invitation to review e-mail",
    {
        "en": (
            "How was {{ subject_name }}?",
            "Hello {{ first_name }},\n\nYou recently chose {{ subject_name }}. Would you tell other "
            "members what you thought of it? Your review, good or bad, is published as you write it "
            "(our moderation rules are on the site); it earns nothing and costs two minutes:\n"
            "{{ review_url }}\n\nNo more invitations by e-mail: {{ unsubscribe_url }}",
        ),
        "fr": (
            "Qu'avez-vous pensé de {{ subject_name }} ?",
            "Bonjour {{ first_name }},\n\nVous avez choisi récemment {{ subject_name }}. Voulez-vous "
            "dire aux autres membres ce que vous en avez pensé ? Votre avis, positif ou négatif, est "
            "publié tel que vous l'écrivez (nos règles de modération sont sur le site) ; il ne "
            "rapporte rien et prend deux minutes :\n{{ review_url }}\n\nNe plus recevoir ces "
            "invitations par e-mail : {{ unsubscribe_url }}",
        ),
    },
)
REVIEW_REPLIED = DemoTemplate(
    "review_replied",
    "email",
    "service",
    "Review answered e-mail",
    {
        "en": (
            "We answered your review of {{ subject_name }}",
            "Hello {{ first_name }},\n\nThank you for your review of {{ subject_name }}. We answered "
            "it publicly: {{ review_url }}\n\nThe {{ programme_name }} team",
        ),
        "fr": (
            "Nous avons répondu à votre avis sur {{ subject_name }}",
            "Bonjour {{ first_name }},\n\nMerci pour votre avis sur {{ subject_name }}. Nous y avons "
            "répondu publiquement : {{ review_url }}\n\nL'équipe {{ programme_name }}",
        ),
    },
)
TEMPLATES = (REVIEW_INVITATION, REVIEW_REPLIED)


def seed(*, slug: str) -> None:
    """In the current schema (a demo brand of `tenants.demo`), idempotent."""
    if slug not in SUBJECTS:
        return
    demo_triggered_templates_seed(templates=[(template.code, template) for template in TEMPLATES])
    if Review.objects.filter(member__external_id__startswith=MEMBER_PREFIX).exists():
        return
    event_type, listed = SUBJECTS[slug]
    with transaction.atomic():
        _purchases_are(event_type)
        subjects = [
            Subject.objects.filter(kind=kind, reference=reference).first()
            or subject_save(data={"kind": kind, "reference": reference, "name": name, "description": text})
            for kind, reference, name, text in listed
        ]
        members = [_member(slug, index, *person) for index, person in enumerate(MEMBERS)]
        _reviews_seed(slug=slug, event_type=event_type, subjects=subjects, members=members)


def _purchases_are(event_type: str) -> None:
    """The brand's purchases for reviews: car-sharing trips are what CityCar's members buy."""
    EventType.objects.get_or_create(code=event_type, defaults={"name": event_type.title()})
    if event_type not in settings_get().purchase_event_types and event_type != "purchase":
        row, _ = CommunitySettings.objects.get_or_create(pk=1)
        row.purchase_event_types = [*row.purchase_event_types, event_type]
        row.save(update_fields=["purchase_event_types", "updated_at"])


def _member(slug: str, index: int, first_name: str, last_name: str, language: str) -> Member:
    member, _ = member_upsert(
        external_id=f"{MEMBER_PREFIX}{index + 1:03d}",
        data={
            "first_name": first_name,
            "last_name": last_name,
            "email": f"{first_name.lower()}.{last_name.lower()}@{slug}.example".replace("é", "e"),
            "language": language,
        },
        consents={"email": True},
        source="demo",
    )
    return member


def _purchase(*, member: Member, subject: Subject, event_type: str, at: datetime, key: str) -> None:
    attributes: dict[str, object] = {"amount": 45}
    if subject.kind == "product":
        attributes["items"] = [{"sku": subject.reference, "name": subject.name, "quantity": 1, "price": 45}]
    else:
        attributes[subject.kind] = subject.reference
    event_record(
        data=EventInput(
            member=member.external_id,
            type=event_type,
            occurred_at=at,
            attributes=attributes,
            idempotency_key=f"demo-reviews:{key}",
        )
    )


def _reviews_seed(*, slug: str, event_type: str, subjects: list[Subject], members: list[Member]) -> None:
    chance = random.Random(slug)  # the same demo every time for one brand
    now = timezone.now()
    written: list[Review] = []
    for number, member in enumerate(members):
        for subject in subjects:
            if chance.random() < 0.2:
                continue
            at = now - timedelta(days=chance.randrange(6, HISTORY_DAYS), hours=chance.randrange(0, 12))
            if chance.random() < 0.6:
                key = f"{member.external_id}:{subject.reference}"
                _purchase(
                    member=member, subject=subject, event_type=event_type, at=at - timedelta(days=3), key=key
                )
            rating = chance.choice(RATINGS)
            title, text = TEXTS[member.language][rating]
            review = review_submit(
                member=member,
                subject_id=subject.pk,
                rating=rating,
                title=title,
                text=text,
                experienced_on=(at - timedelta(days=3)).date(),
                language=member.language,
                now=at,
            )
            Review.objects.filter(pk=review.pk).update(created_at=at, published_at=at)
            written.append(review)
        # Bought in the last days, not reviewed yet: the invitations' sweep invites them.
        recent = now - timedelta(days=4, hours=number)
        _purchase(
            member=member,
            subject=subjects[number % len(subjects)],
            event_type=event_type,
            at=recent,
            key=f"recent:{number}",
        )
    low = [review for review in written if review.rating <= 2]
    for review in low[:3]:
        review_reply(review_id=review.pk, text=REPLIES[review.member.language], user=None)
    published = [review for review in written if review.state == "published"]
    if published:
        reported = published[0]
        reporter = next(member for member in members if member.pk != reported.member_id)
        review_report(
            review_id=reported.pk, member=reporter, reason="advertising", note="Looks like an advert."
        )
