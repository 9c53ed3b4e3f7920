"""The demo brands' live help: a helper with a login of their own (helper@<brand>.example, the demo
password), the rule paying helpful conversations, and one past conversation the visitor found
helpful (so the backoffice's list and the helper's points show something). Once: a brand with
helpers keeps its own."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from community.models import Conversation, ConversationMessage, Helper, ModerationState
from community.selectors.moderation import settings_get
from community.services.live import conversation_rate, helper_save
from loyalty.models import EarningRule, EventType, Member
from loyalty.services.members import member_upsert
from loyalty.services.rules import rule_create

# slug -> (external id, first name, last name, e-mail, name shown, about)
HELPERS = {
    "citycar": (
        "community-helper",
        "Inès",
        "Roussel",
        "helper@citycar.example",
        "Inès",
        "Member since 2021, 300 trips: ask me about airports and electric cars.",
    ),
    "grand-cru": (
        "community-helper",
        "Hugo",
        "Lambert",
        "helper@grand-cru.example",
        "Hugo",
        "Cellar Club member, Bordeaux and Loire lover.",
    ),
}
HELPFUL_RULE = {"name": "Helpful live conversation", "award_type": "fixed", "points": 20}
# A past conversation: (visitor's name, [(author, text)])
PAST = (
    "Lucie",
    [
        ("visitor", "Hello! Can I take a CityCar to another city and leave it there?"),
        ("helper", "Hi Lucie: only inside the service area, but trips of several days are fine."),
        ("visitor", "Perfect, thank you!"),
    ],
)


def _helper_member(external_id: str, first: str, last: str, email: str) -> Member:
    member, _ = member_upsert(
        external_id=external_id,
        data={"first_name": first, "last_name": last, "email": email},
        consents={"email": True},
        source="demo",
    )
    if member.user_id is None:
        user = get_user_model().objects.create_user(
            username=email, email=email, password=settings.DEMO_PASSWORD
        )
        Member.objects.filter(pk=member.pk).update(user=user)
    return member


def seed(*, slug: str) -> None:
    """In the current schema (a demo brand of `tenants.demo`), idempotent."""
    if slug not in HELPERS or Helper.objects.exists():
        return
    external_id, first, last, email, shown, about = HELPERS[slug]
    event_type = settings_get().live_helpful_event_type
    with transaction.atomic():
        EventType.objects.get_or_create(code=event_type, defaults={"name": "Helpful live conversation"})
        if not EarningRule.objects.filter(event_type=event_type).exists():
            rule_create(data={**HELPFUL_RULE, "event_type": event_type})
        helper = helper_save(
            member=_helper_member(external_id, first, last, email), display_name=shown, bio=about
        )
        if slug == "citycar":
            _past_conversation(helper)


def _past_conversation(helper: Helper) -> None:
    """Written as the conversation was (no helper is online while the demo is seeded), then rated
    through the service, which records the helper's event."""
    visitor, lines = PAST
    started = timezone.now() - timedelta(days=2)
    conversation = Conversation.objects.create(
        visitor_key="demo", visitor_name=visitor, helper=helper, state=Conversation.State.OPEN
    )
    Conversation.objects.filter(pk=conversation.pk).update(started_at=started)
    for minute, (author, text) in enumerate(lines):
        at = started + timedelta(minutes=minute)
        ConversationMessage.objects.create(
            conversation=conversation,
            author=author,
            text=text,
            language="en",
            state=ModerationState.PUBLISHED,
            published_at=at,
        )
    conversation_rate(conversation_id=conversation.pk, visitor_key="demo", rating=5, helpful=True)
