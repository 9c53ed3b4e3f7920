"""Live help's reads (README "Community > Live help"): who may help, the conversations a visitor or
a helper may see, and what their streams send (`feed_read`, `queue_read`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Prefetch, Q

from community.models import (
    Conversation,
    ConversationMessage,
    ConversationState,
    Helper,
    ModerationState,
    Question,
)
from community.selectors.moderation import settings_get
from loyalty.models import Member

from ..live import online_count

# A member with this many best answers in the Q&A may volunteer as a helper on their own.
HELPER_MIN_BEST_ANSWERS = 3


def helper_for(*, member: Member | None) -> Helper | None:
    """The member's helper profile, when they may help live."""
    if member is None:
        return None
    return Helper.objects.filter(member=member, is_active=True).first()


def best_answers_count(*, member: Member) -> int:
    return Question.objects.filter(best_answer__member=member).count()


def helper_may_join(*, member: Member) -> bool:
    """May the member become a helper themselves (enough best answers, not a helper yet)?"""
    if Helper.objects.filter(member=member).exists():
        return False
    return best_answers_count(member=member) >= HELPER_MIN_BEST_ANSWERS


def live_online() -> bool:
    """Is live help on, with at least one helper online? (Every page of the site asks.)"""
    return settings_get().live_help_enabled and online_count() > 0


def conversation_of_visitor(*, conversation_id: int, visitor_key: str) -> Conversation | None:
    if not visitor_key:
        return None
    return (
        Conversation.objects.filter(pk=conversation_id, visitor_key=visitor_key)
        .select_related("helper")
        .first()
    )


def conversation_of_helper(*, conversation_id: int, helper: Helper) -> Conversation | None:
    """A conversation the helper may read: their own, or one waiting for a helper."""
    return (
        Conversation.objects.filter(pk=conversation_id)
        .filter(Q(helper=helper) | Q(state=ConversationState.WAITING))
        .select_related("helper")
        .first()
    )


def visitor_conversation_current(*, visitor_key: str) -> Conversation | None:
    """The visitor's conversation not closed yet, or closed but not rated (the window shows it)."""
    if not visitor_key:
        return None
    return (
        Conversation.objects.filter(visitor_key=visitor_key)
        .filter(~Q(state=ConversationState.CLOSED) | Q(rating__isnull=True, helper__isnull=False))
        .order_by("-started_at", "-id")
        .first()
    )


def message_json(message: ConversationMessage) -> dict:
    return {
        "id": message.pk,
        "author": message.author,
        "text": message.text,
        "at": message.created_at.isoformat(),
        "state": message.state,
    }


def conversation_json(conversation: Conversation) -> dict:
    return {
        "id": conversation.pk,
        "state": conversation.state,
        "helper": conversation.helper.display_name if conversation.helper else "",
        "rated": conversation.rating is not None,
    }


@dataclass
class Feed:
    """Where a conversation's stream is: the last message id it saw, the held ones it waits for
    (sent when staff publish them), and the conversation's state it sent last."""

    after: int = 0
    watch: set[int] = field(default_factory=set)
    state: dict | None = None


def feed_start(*, conversation_id: int, last_event_id: int) -> tuple[Feed, list[dict]]:
    """A stream (re)starting after message `last_event_id`: the messages it may have missed before
    it — those staff published after holding them, sent again (the page keeps one per id)."""
    feed = Feed(after=last_event_id)
    if not last_event_id:
        return feed, []
    earlier = ConversationMessage.objects.filter(conversation_id=conversation_id, id__lte=last_event_id)
    feed.watch = set(earlier.filter(state=ModerationState.HELD).values_list("id", flat=True))
    late = earlier.filter(state=ModerationState.PUBLISHED, moderated_at__isnull=False)
    return feed, [message_json(message) for message in late]


def feed_read(*, conversation_id: int, feed: Feed) -> tuple[list[dict], dict | None]:
    """The published messages the stream has not sent (new ones, and held ones published since),
    and the conversation's state when it changed (None: unchanged, or the conversation is gone).
    Moves `feed` on."""
    conversation = Conversation.objects.filter(pk=conversation_id).select_related("helper").first()
    if conversation is None:
        return [], None
    rows = list(
        ConversationMessage.objects.filter(conversation_id=conversation_id)
        .filter(Q(id__gt=feed.after) | Q(id__in=feed.watch))
        .order_by("id")
    )
    messages = []
    for message in rows:
        feed.after = max(feed.after, message.pk)
        if message.state == ModerationState.PUBLISHED:
            feed.watch.discard(message.pk)
            messages.append(message_json(message))
        elif message.state == ModerationState.HELD:
            feed.watch.add(message.pk)
        else:
            feed.watch.discard(message.pk)
    state = conversation_json(conversation)
    changed = state if state != feed.state else None
    feed.state = state
    return messages, changed


def queue_read(*, helper_id: int) -> dict:
    """A helper's page: the conversations waiting for any helper (oldest first) and the helper's own
    open ones, with the visitor's first published words."""

    def item(conversation: Conversation) -> dict:
        first = next(iter(conversation.first_messages), None)  # type: ignore[attr-defined]
        return {
            **conversation_json(conversation),
            "visitor": conversation.visitor_name,
            "started_at": conversation.started_at.isoformat(),
            "first": first.text[:140] if first else "",
        }

    published_visitor = Prefetch(
        "messages",
        queryset=ConversationMessage.objects.filter(
            author=ConversationMessage.Author.VISITOR, state=ModerationState.PUBLISHED
        ).order_by("id"),
        to_attr="first_messages",
    )
    rows = (
        Conversation.objects.filter(
            Q(state=ConversationState.WAITING) | Q(state=ConversationState.OPEN, helper_id=helper_id)
        )
        .select_related("helper")
        .prefetch_related(published_visitor)
        .order_by("started_at", "id")[:50]
    )
    waiting: list[dict] = []
    mine: list[dict] = []
    for conversation in rows:
        (waiting if conversation.state == ConversationState.WAITING else mine).append(item(conversation))
    return {"waiting": waiting, "mine": mine}
