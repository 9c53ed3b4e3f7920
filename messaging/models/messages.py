"""Templates, the brand's channel settings, and the messages: every message is a row before it leaves
(README, "Messaging"), sent by `messaging.tasks.message_send_task` through the core outbox."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty.models import Member
from messaging.quiet_hours import HoursInvalid, hours_parse


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    VOICE = "voice", _("Voice call")
    POST = "post", _("Printed letter")


class Purpose(models.TextChoices):
    """Marketing messages keep the quiet hours and the caps; service messages (an order shipped, a
    password reset, a payment failed) are sent as soon as the member's consent allows."""

    MARKETING = "marketing", _("Marketing")
    SERVICE = "service", _("Service")


def quiet_hours_validate(value: object) -> None:
    """A brand's sending hours (`messaging.quiet_hours`): each error names its path in the field."""
    try:
        hours_parse(value, channels=Channel.values)
    except HoursInvalid as invalid:
        raise ValidationError(invalid.errors) from None


class ChannelSettings(models.Model):
    """The brand's senders and provider accounts: one row per brand schema. An empty provider or
    empty credentials send to the development outbox (README, "Messaging")."""

    class EmailProvider(models.TextChoices):
        OUTBOX = "", _("Development outbox")
        SMTP = "smtp", "SMTP"
        MAILGUN = "mailgun", "Mailgun"
        SENDGRID = "sendgrid", "SendGrid"
        AMAZON_SES = "amazon_ses", "Amazon SES"
        BREVO = "brevo", "Brevo"

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    email_from_name = models.CharField(max_length=120, blank=True, help_text=_("empty: the programme's name"))
    email_from_address = models.EmailField(blank=True, help_text=_("empty: the platform's no-reply address"))
    email_provider = models.CharField(max_length=16, choices=EmailProvider.choices, blank=True, default="")
    email_credentials = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("the provider's settings for django-anymail (API key, domain...)"),
    )
    email_webhook_secret = models.CharField(
        max_length=128, blank=True, help_text=_("the user:password the provider's tracking webhooks send")
    )
    sms_sender = models.CharField(
        max_length=16, blank=True, help_text=_("an alphanumeric sender id (up to 11 characters) or a number")
    )
    voice_caller = models.CharField(max_length=16, blank=True, help_text=_("the number calls come from"))
    twilio_account_sid = models.CharField(max_length=64, blank=True)
    twilio_auth_token = models.CharField(max_length=64, blank=True)
    sends_per_second = models.PositiveIntegerField(
        default=50, help_text=_("the provider account's rate limit, per channel")
    )
    marketing_calls_per_30_days = models.PositiveIntegerField(default=4)
    quiet_hours = models.JSONField(
        default=dict,
        blank=True,
        validators=[quiet_hours_validate],
        help_text=_(
            "marketing sending hours per channel, in place of the French defaults (empty: the defaults)"
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("channel settings")
        verbose_name_plural = _("channel settings")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="channel_settings_single_row")]

    def __str__(self) -> str:
        return str(_("Channel settings"))


class MessageTemplate(models.Model):
    """A text brand staff write, per channel and language, rendered in a sandbox over plain data
    (`messaging.rendering`): its variables are checked when it is saved."""

    # No index of its own (nor a LIKE one: the code is only looked up whole, and the admin's search is
    # a contains): message_template_unique (code, channel, language) leads with it.
    code = models.SlugField(
        max_length=64, db_index=False, help_text=_("what triggers and campaigns name it by")
    )
    name = models.CharField(max_length=120)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    language = models.CharField(max_length=8)
    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.MARKETING)
    subject = models.CharField(max_length=200, blank=True, help_text=_("e-mails only"))
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code", "channel", "language"]
        constraints = [
            models.UniqueConstraint(fields=["code", "channel", "language"], name="message_template_unique"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="message_template_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.channel}, {self.language})"


class MessageState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Unknown (check with the provider)")
    SKIPPED = "skipped", _("Skipped")
    CANCELLED = "cancelled", _("Cancelled")


class Message(models.Model):
    """One message to one member on one channel, rendered before it is queued. Its state only moves
    forward (`STATE_RANK`); a message found `sending` after a crash becomes `unknown`, is never
    sent again, and the provider's later callback settles it."""

    State = MessageState

    # No index of its own: message_member_recent (member, created_at) leads with it.
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="messages", db_index=False)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    template = models.ForeignKey(
        MessageTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    template_code = models.CharField(max_length=64, blank=True)
    language = models.CharField(max_length=8)
    recipient = models.CharField(
        max_length=400, blank=True, help_text=_("e-mail address, phone number or postal address")
    )
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True, help_text=_("the rendered text"))
    html = models.TextField(blank=True, help_text=_("e-mails: the rendered HTML part"))
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    skip_reason = models.CharField(max_length=32, blank=True)
    provider = models.CharField(
        max_length=32, blank=True, help_text=_("who sent it: outbox, twilio, anymail...")
    )
    provider_id = models.CharField(max_length=128, blank=True)
    provider_status = models.CharField(max_length=32, blank=True, help_text=_("the provider's last word"))
    error = models.TextField(blank=True)
    trigger = models.CharField(max_length=32, blank=True, help_text=_("the trigger that sent it, if any"))
    # A campaign's messages: its progress is counted from them, one per member and run at most.
    campaign = models.ForeignKey(
        "messaging.Campaign",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    campaign_run = models.ForeignKey(
        "messaging.CampaignRun",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="messages",
        db_index=False,
    )
    dedupe_key = models.CharField(
        max_length=160, null=True, blank=True, unique=True, help_text=_("one message per key (triggers)")
    )
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    attempts = models.PositiveIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True, help_text=_("held until then (quiet hours)"))
    requeue_at = models.DateTimeField(
        null=True, blank=True, help_text=_("when the outbox sweeper queues its send again if still queued")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sending_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="message_channel"),
            models.CheckConstraint(condition=Q(state__in=MessageState.values), name="message_state"),
            models.UniqueConstraint(
                fields=["campaign_run", "member"],
                condition=Q(campaign_run__isnull=False),
                name="message_one_per_campaign_run",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "-created_at"], name="message_member_recent"),
            # The message log's order (GET /api/v1/messages without a member): newest first.
            models.Index(fields=["-created_at", "-id"], name="message_recent"),
            models.Index(
                fields=["requeue_at"], name="message_requeue", condition=Q(requeue_at__isnull=False)
            ),
            models.Index(fields=["sending_at"], name="message_sending", condition=Q(state="sending")),
            # The month's messages per channel, counted every hour against the brand's platform plan
            # (`tenants.plans.brand_usage_count`): an index-only scan of the month.
            models.Index(
                fields=["sent_at", "channel"], name="message_sent", condition=Q(sent_at__isnull=False)
            ),
            models.Index(fields=["provider_id"], name="message_provider_id", condition=~Q(provider_id="")),
            models.Index(
                fields=["campaign", "state"], name="message_campaign", condition=Q(campaign__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to member {self.member_id}: {self.state}"


# How far along each state is: a status (a callback, the sweeper) moves a message only to a higher rank.
STATE_RANK = {
    Message.State.QUEUED: 0,
    Message.State.SENDING: 1,
    Message.State.UNKNOWN: 1,
    Message.State.SENT: 2,
    Message.State.DELIVERED: 3,
    Message.State.FAILED: 3,
    Message.State.SKIPPED: 3,
    Message.State.CANCELLED: 3,
}
