"""Live help's writes (README "Community > Live help"): helpers, conversations and their messages,
the visitor's rating (a helpful conversation earns its helper points once) and the idle sweep.

Lock order: a conversation's row (`select_for_update`), then, for the rating's event, the helper's
member row (taken by the events pipeline). Every write pokes the streams after commit
(`community.live.poke_after_commit`), never before: a stream woken early would read the old rows;
a message saved anywhere (staff publishing a held one) does too (`_message_saved`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from community.models import (
    Conversation,
    ConversationMessage,
    ConversationState,
    Helper,
)
from community.models.live import MESSAGE_MAX_LENGTH
from community.selectors.live import helper_may_join, live_online
from community.selectors.moderation import settings_get
from community.services.moderation import moderation_apply, text_language
from core.errors import Conflict, InvalidInput, NotFound, Refused
from loyalty.models import ActivityEvent, EventType, Member
from loyalty.services.events.checks import EventInput
from loyalty.services.events.pipeline import event_record

from ..live import conversation_channel, poke_after_commit, presence_leave, queue_channel

# A conversation with no message for this long is closed by the sweep (`conversations_idle_close`).
IDLE_AFTER = timedelta(minutes=30)
NAME_MAX_LENGTH = 80
Author = ConversationMessage.Author


def helpful_event_key(conversation_id: int) -> str:
    return f"community:conversation:{conversation_id}"


def _text_checked(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput("write a message", field="text")
    if len(text) > MESSAGE_MAX_LENGTH:
        raise InvalidInput(f"at most {MESSAGE_MAX_LENGTH} characters", field="text")
    return text


def helper_save(*, member: Member, display_name: str, bio: str = "", is_active: bool = True) -> Helper:
    """Make the member a helper, or change their profile (one per member)."""
    display_name = (display_name or "").strip()
    if not display_name:
        raise InvalidInput("give the name visitors see", field="display_name")
    if len(display_name) > NAME_MAX_LENGTH:
        raise InvalidInput(f"at most {NAME_MAX_LENGTH} characters", field="display_name")
    with transaction.atomic():
        helper, _ = Helper.objects.select_for_update().update_or_create(
            member=member,
            defaults={"display_name": display_name, "bio": (bio or "").strip()[:300], "is_active": is_active},
        )
    if not is_active:
        transaction.on_commit(lambda: presence_leave(helper_id=helper.pk))
    return helper


def helper_join(*, member: Member, display_name: str, bio: str = "") -> Helper:
    """A member volunteering on the helper page: refused until they have enough best answers."""
    if not helper_may_join(member=member):
        raise Refused("not enough best answers to help live yet", code="helper_not_eligible")
    return helper_save(member=member, display_name=display_name, bio=bio)


def conversation_start(
    *,
    visitor_key: str,
    text: str,
    language: str,
    visitor_name: str = "",
    member: Member | None = None,
) -> Conversation:
    """A visitor's first words to the helpers online: a conversation waiting for one of them.
    Refused when no helper is online (the site then points to the Q&A)."""
    if not visitor_key:
        raise InvalidInput("no visitor session", field="visitor_key")
    text = _text_checked(text)
    visitor_name = (visitor_name or "").strip()
    if len(visitor_name) > NAME_MAX_LENGTH:
        raise InvalidInput(f"at most {NAME_MAX_LENGTH} characters", field="name")
    if not live_online():
        raise Refused("no helper is online", code="no_helper_online")
    with transaction.atomic():
        conversation = Conversation.objects.create(
            visitor_key=visitor_key, visitor_name=visitor_name, member=member
        )
        _message_add(conversation=conversation, author=Author.VISITOR, text=text, language=language)
    poke_after_commit(queue_channel())
    return conversation


def _message_add(*, conversation: Conversation, author: str, text: str, language: str) -> ConversationMessage:
    message = ConversationMessage(conversation=conversation, author=author, text=text)
    moderation_apply(obj=message, texts=[text], language=text_language(text, default=language))
    message.save()
    return message


@receiver(post_save, sender=ConversationMessage)
def _message_saved(sender: type, instance: ConversationMessage, **kwargs: object) -> None:
    """A message written, or decided by staff in the moderation queue: its conversation's streams
    read again (a held one published then reaches the other side)."""
    poke_after_commit(conversation_channel(instance.conversation_id))


def _locked(conversation_id: int) -> Conversation:
    conversation = Conversation.objects.select_for_update().filter(pk=conversation_id).first()
    if conversation is None:
        raise NotFound("no such conversation", field="conversation")
    return conversation


def _may_act(conversation: Conversation, *, visitor_key: str | None, helper: Helper | None) -> str:
    """The side acting on the conversation (visitor or helper), or NotFound when it is neither."""
    if helper is not None and conversation.helper_id == helper.pk:
        return Author.HELPER
    if visitor_key and conversation.visitor_key == visitor_key:
        return Author.VISITOR
    raise NotFound("no such conversation", field="conversation")


def message_send(
    *,
    conversation_id: int,
    text: str,
    language: str,
    visitor_key: str | None = None,
    helper: Helper | None = None,
) -> ConversationMessage:
    """A message from the visitor (their session's key) or the conversation's helper, moderated: a
    held one reaches the other side only once staff publish it."""
    text = _text_checked(text)
    with transaction.atomic():
        conversation = _locked(conversation_id)
        author = _may_act(conversation, visitor_key=visitor_key, helper=helper)
        if conversation.state == ConversationState.CLOSED:
            raise Refused("this conversation is closed", code="conversation_closed")
        return _message_add(conversation=conversation, author=author, text=text, language=language)


def conversation_take(*, conversation_id: int, helper: Helper) -> Conversation:
    """An online helper answers a waiting conversation (taking it again changes nothing; one
    another helper took is a Conflict)."""
    if not helper.is_active:
        raise Refused("this helper may not help live", code="helper_inactive")
    with transaction.atomic():
        conversation = _locked(conversation_id)
        if conversation.helper_id == helper.pk and conversation.state == ConversationState.OPEN:
            return conversation
        if conversation.state != ConversationState.WAITING:
            raise Conflict("another helper answers this conversation", field="conversation")
        conversation.helper, conversation.state = helper, ConversationState.OPEN
        conversation.save(update_fields=["helper", "state"])
        poke_after_commit(conversation_channel(conversation.pk), queue_channel())
    return conversation


def conversation_close(
    *,
    conversation_id: int,
    visitor_key: str | None = None,
    helper: Helper | None = None,
    now: datetime | None = None,
) -> Conversation:
    """Either side ends the conversation (closing a closed one changes nothing)."""
    with transaction.atomic():
        conversation = _locked(conversation_id)
        _may_act(conversation, visitor_key=visitor_key, helper=helper)
        _close(conversation, now=now or timezone.now())
    return conversation


def _close(conversation: Conversation, *, now: datetime) -> None:
    if conversation.state == ConversationState.CLOSED:
        return
    conversation.state, conversation.closed_at = ConversationState.CLOSED, now
    conversation.save(update_fields=["state", "closed_at"])
    poke_after_commit(conversation_channel(conversation.pk), queue_channel())


def conversation_rate(
    *,
    conversation_id: int,
    visitor_key: str,
    rating: int,
    helpful: bool,
    now: datetime | None = None,
) -> Conversation:
    """The visitor rates a conversation a helper answered (1-5, helpful or not), which closes it.
    Rating again changes the rating; the first helpful rating records the helper's event
    (`live_helpful_event_type`, key `community:conversation:<id>`) and later ones never a second."""
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise InvalidInput("a rating from 1 to 5", field="rating")
    now = now or timezone.now()
    with transaction.atomic():
        conversation = _locked(conversation_id)
        _may_act(conversation, visitor_key=visitor_key, helper=None)
        if conversation.helper_id is None:
            raise Refused("no helper answered this conversation", code="conversation_unanswered")
        conversation.rating, conversation.helpful = rating, helpful
        conversation.save(update_fields=["rating", "helpful"])
        _close(conversation, now=now)
        if helpful and conversation.event_id is None:
            conversation.event = _helpful_event(conversation=conversation, now=now)
            conversation.save(update_fields=["event"])
    return conversation


def _helpful_event(*, conversation: Conversation, now: datetime) -> ActivityEvent:
    event_type = settings_get().live_helpful_event_type
    EventType.objects.get_or_create(code=event_type, defaults={"name": "Helpful live conversation"})
    key = helpful_event_key(conversation.pk)
    member = Member.objects.get(helper__conversations=conversation)
    event_record(
        data=EventInput(
            member=member.external_id,
            type=event_type,
            occurred_at=now,
            attributes={"conversation": conversation.pk, "rating": conversation.rating},
            idempotency_key=key,
        )
    )
    return ActivityEvent.objects.get(idempotency_key=key)


def conversations_idle_close(*, now: datetime | None = None, idle: timedelta = IDLE_AFTER) -> int:
    """Close the conversations with no message (nor start) for `idle`: how many. Each is locked and
    checked again, so a message sent meanwhile keeps it open."""
    now = now or timezone.now()
    since = now - idle
    candidates = Conversation.objects.exclude(state=ConversationState.CLOSED).filter(started_at__lt=since)
    closed = 0
    for conversation_id in candidates.values_list("id", flat=True):
        with transaction.atomic():
            conversation = _locked(conversation_id)
            recent = conversation.messages.filter(created_at__gte=since).exists()
            if conversation.state == ConversationState.CLOSED or recent:
                continue
            _close(conversation, now=now)
            closed += 1
    return closed
