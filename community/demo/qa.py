"""The demo brands' questions and answers: a few questions (a member's, a visitor's) with answers
and a best answer, the rule paying best answers, the "Helper" badge (3 best answers) and the
messages of `question_answered`, for the car-sharing club and the wine merchant. Written through
the services, once (a brand with questions keeps its own)."""

from __future__ import annotations

from django.db import transaction

from community.demo.contributions import reporters_seed
from community.models import Question
from community.selectors.moderation import settings_get
from community.services.qa import answer_post, best_answer_mark, question_ask
from loyalty.models import Badge, EarningRule, EventType
from loyalty.services.badges import badge_save
from loyalty.services.rules import rule_create
from messaging.demo import DemoTemplate, demo_triggered_templates_seed
from messaging.models import TriggerKind

PEOPLE = {
    "citycar": (
        ("community-rider-1", "Bruno", "Lefort", "bruno@citycar.example"),
        ("community-rider-2", "Chloé", "Marchand", "chloe@citycar.example"),
        ("community-rider-3", "Driss", "Benali", "driss@citycar.example"),
    ),
    "grand-cru": (
        ("community-cellar-1", "Hélène", "Vasseur", "helene@grand-cru.example"),
        ("community-cellar-2", "Paul", "Girard", "paul@grand-cru.example"),
    ),
}
# (asker: a person's index or a visitor's name, title, details, [(author index, answer)], best index)
QUESTIONS = {
    "citycar": (
        (
            0,
            "Can I leave a car at the airport?",
            "I fly from Orly on Friday morning and come back on Sunday.",
            [
                (
                    1,
                    "Yes: Orly and Roissy have CityCar spaces on level -1 of the P2 car parks. "
                    "End the trip there.",
                ),
                (
                    2,
                    "Book the return trip from the app on Sunday: "
                    "the car waits for you if you pay the pause.",
                ),
            ],
            0,
        ),
        (
            "Marc",
            "Do I need a credit card to join?",
            "",
            [(0, "A debit card works too; the deposit is only held, never taken, unless there is damage.")],
            None,
        ),
        (
            1,
            "What do I do if I find a scratch before driving?",
            "",
            [
                (
                    2,
                    "Send a damage report with a photo and the plate from the Community page: "
                    "it even earns Miles.",
                )
            ],
            None,
        ),
    ),
    "grand-cru": (
        (
            0,
            "Which wine with a roast duck?",
            "A family dinner for eight, around 30 euros a bottle.",
            [(1, "A Saint-Émilion grand cru from a warm vintage, or a Madiran if you like tannins.")],
            0,
        ),
    ),
}
BEST_ANSWER_RULE = {"name": "Best answer", "award_type": "fixed", "points": 30}
HELPER = {
    "code": "helper",
    "name": "Helper",
    "description": "3 answers marked best by the members who asked.",
    "count_required": 3,
}
QUESTION_ANSWERED = DemoTemplate(
    "question_answered",
    "email",
    "service",
    "Question answered e-mail",
    {
        "en": (
            "A member answered your question",
            "Hello {{ first_name }},\n\nA member answered your question. Read the answer, and mark the "
            "best one when you have it: {{ site_url }}community/questions/\n\nThe {{ programme_name }} team",
        ),
        "fr": (
            "Un membre a répondu à votre question",
            "Bonjour {{ first_name }},\n\nUn membre a répondu à votre question. Lisez sa réponse, et "
            "choisissez la meilleure quand vous l'avez : {{ site_url }}community/questions/\n\n"
            "L'équipe {{ programme_name }}",
        ),
    },
)


def seed(*, slug: str) -> None:
    """In the current schema (a demo brand of `tenants.demo`), idempotent."""
    if slug not in QUESTIONS or Question.objects.exists():
        return
    event_type = settings_get().best_answer_event_type
    with transaction.atomic():
        EventType.objects.get_or_create(code=event_type, defaults={"name": "Best answer"})
        if not EarningRule.objects.filter(event_type=event_type).exists():
            rule_create(data={**BEST_ANSWER_RULE, "event_type": event_type})
        if not Badge.objects.filter(code=HELPER["code"]).exists():
            badge_save(data={**HELPER, "event_type": event_type})
        people = reporters_seed(PEOPLE[slug])
        for asker, title, text, answers, best in QUESTIONS[slug]:
            member = people[asker] if isinstance(asker, int) else None
            question = question_ask(
                member=member, visitor_name=asker if member is None else "", title=title, text=text, ip="demo"
            )
            posted = [
                answer_post(question_id=question.pk, member=people[who], text=said) for who, said in answers
            ]
            if best is not None and member is not None:
                best_answer_mark(question_id=question.pk, answer_id=posted[best].pk, by_member=member)
        demo_triggered_templates_seed(templates=[(TriggerKind.QUESTION_ANSWERED, QUESTION_ANSWERED)])
