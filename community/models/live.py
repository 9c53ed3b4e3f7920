"""Live help (README "Community > Live help"): members who volunteer as helpers (`Helper`) go online
on the site; while one is, visitors see an "ask a member" window and talk with a helper live. A
conversation and its messages are kept and moderated like every text; the visitor rates it, and a
helpful one becomes an activity event of `CommunitySettings.live_helpful_event_type` for the helper
(idempotency key `community:conversation:<id>`). Who is online is kept in Redis, not here."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty.models import ActivityEvent, Member

from .moderation import Moderated
from .qa import Question

MESSAGE_MAX_LENGTH = 2000


class Helper(models.Model):
    member = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="helper")
    display_name = models.CharField(_("name shown"), max_length=80)
    bio = models.CharField(_("about"), max_length=300, blank=True)
    is_active = models.BooleanField(_("may help live"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["display_name"]
        verbose_name = _("helper")
        verbose_name_plural = _("helpers")

    def __str__(self) -> str:
        return self.display_name


class ConversationState(models.TextChoices):
    WAITING = "waiting", _("Waiting for a helper")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Conversation(models.Model):
    State = ConversationState

    # The visitor's browser session (a hash of a random token kept in their session), and the member
    # when they are logged in.
    visitor_key = models.CharField(max_length=64, db_index=True)
    visitor_name = models.CharField(_("visitor"), max_length=80, blank=True)
    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    helper = models.ForeignKey(
        Helper, null=True, blank=True, on_delete=models.PROTECT, related_name="conversations"
    )
    state = models.CharField(
        _("state"), max_length=16, choices=ConversationState.choices, default=ConversationState.WAITING
    )
    rating = models.PositiveSmallIntegerField(_("visitor's rating"), null=True, blank=True)
    helpful = models.BooleanField(_("helpful"), null=True, blank=True)
    question = models.ForeignKey(Question, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event = models.OneToOneField(
        ActivityEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("live conversation")
        verbose_name_plural = _("live conversations")
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=ConversationState.values), name="conversation_state"
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="conversation_rating_1_5",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}"


class ConversationMessage(Moderated):
    class Author(models.TextChoices):
        VISITOR = "visitor", _("Visitor")
        HELPER = "helper", _("Helper")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    author = models.CharField(max_length=8, choices=Author.choices)
    text = models.TextField(max_length=MESSAGE_MAX_LENGTH)

    class Meta:
        ordering = ["id"]
        verbose_name = _("live message")
        verbose_name_plural = _("live messages")
        constraints = [*Moderated.moderation_constraints("conversation_message")]
