"""Triggers: the messages a brand switches on, each kind on a channel with a template (README,
"Messaging > Triggers"). What fires them is `messaging.triggers`."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .messages import Channel


class TriggerKind(models.TextChoices):
    POINTS_EARNED = "points_earned", _("Points earned")
    POINTS_EXPIRING = "points_expiring", _("Points expiring in N days")
    TIER_CHANGED = "tier_changed", _("Tier changed")
    ORDER_STATUS_CHANGED = "order_status_changed", _("Order status changed")
    WELCOME = "welcome", _("Welcome (a new member)")
    ACTIVATION_REMINDER = "activation_reminder", _("Activation code not used after N days")
    VIP_WELCOME = "vip_welcome", _("VIP welcome")
    PAYMENT_FAILED = "payment_failed", _("Payment failed")
    # Events with limited seats (`gatherings.services`).
    EVENT_INVITATION = "event_invitation", _("Event invitation")
    EVENT_PROMOTED = "event_promoted", _("Event: a seat freed for the waiting list")
    EVENT_REMINDER = "event_reminder", _("Event reminder (the day before)")
    EVENT_CANCELLED = "event_cancelled", _("Event cancelled")
    # The community (`community.services`).
    REVIEW_INVITATION = "review_invitation", _("Invitation to review a purchase")
    REVIEW_REPLIED = "review_replied", _("Review: the brand replied")
    CONTENT_REJECTED = "community_rejected", _("Community: a text or contribution rejected, with the reason")
    CONTRIBUTION_APPROVED = "contribution_approved", _("Contribution approved")
    QUESTION_ANSWERED = "question_answered", _("Question: a new answer")
    CHALLENGE_COMPLETED = "challenge_completed", _("Challenge completed")
    DRAW_WON = "draw_won", _("Prize draw won")
    AUCTION_OUTBID = "auction_outbid", _("Auction: outbid, points given back")
    AUCTION_WON = "auction_won", _("Auction won")
    SERVICE_REQUEST_ANSWERED = "service_request_answered", _("Club service request answered")


# The kinds whose `days` is required: how many days before the points expire, or after the code
# was issued.
KINDS_WITH_DAYS = (TriggerKind.POINTS_EXPIRING, TriggerKind.ACTIVATION_REMINDER)
# Letters go by batches (`messaging.letters`), not one by one from an event.
TRIGGER_CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.VOICE)
TRIGGER_CHANNEL_CHOICES = [(channel.value, channel.label) for channel in TRIGGER_CHANNELS]
DAYS_MAX = 365


class Trigger(models.Model):
    kind = models.CharField(max_length=32, choices=TriggerKind.choices)
    channel = models.CharField(max_length=8, choices=TRIGGER_CHANNEL_CHOICES)
    template_code = models.SlugField(
        max_length=64, help_text=_("the code of a template of this channel (in the member's language)")
    )
    is_active = models.BooleanField(default=False, help_text=_("messages are sent only while it is on"))
    days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text=_(
            "points expiring: how many days before they expire; activation reminder: how many days "
            "after the code was issued"
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "channel"]
        verbose_name = _("trigger")
        constraints = [
            models.UniqueConstraint(fields=["kind", "channel"], name="trigger_kind_channel_unique"),
            models.CheckConstraint(condition=Q(kind__in=TriggerKind.values), name="trigger_kind"),
            models.CheckConstraint(condition=Q(channel__in=list(TRIGGER_CHANNELS)), name="trigger_channel"),
            models.CheckConstraint(
                condition=~Q(kind__in=list(KINDS_WITH_DAYS)) | Q(days__gte=1, days__lte=DAYS_MAX),
                name="trigger_days",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_channel_display()})"
