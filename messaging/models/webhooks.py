"""Outgoing webhooks to the brand's own systems (docs/webhooks.md): the endpoints a brand subscribes
to event types, one delivery per event and endpoint (an outbox row of core.outbox, sent by
`messaging.webhooks.tasks`), and every attempt of a delivery with the receiver's answer."""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# The longest URL an endpoint may have, and the most of a receiver's answer kept per attempt.
URL_MAX_LENGTH = 500
RESPONSE_BODY_KEPT = 1000


class WebhookEndpoint(models.Model):
    """An HTTPS address of the brand's systems, subscribed to event types. Its `secret` signs every
    delivery (HMAC-SHA256): it is stored as it is, because signing needs it (unlike a password,
    which is only ever compared with a hash); it is shown once, when the endpoint is created, and
    never answered again by the API or the backoffice."""

    url = models.URLField(max_length=URL_MAX_LENGTH, help_text=_("where deliveries are POSTed (https://)"))
    description = models.CharField(max_length=200, blank=True)
    events = ArrayField(models.CharField(max_length=40), help_text=_("the event types sent to this endpoint"))
    secret = models.CharField(max_length=80, editable=False)
    is_active = models.BooleanField(default=True)
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text=_("the first failed attempt since its last success")
    )
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        constraints = [
            models.CheckConstraint(condition=~Q(events=[]), name="webhook_endpoint_events"),
            models.CheckConstraint(
                condition=Q(is_active=False) | Q(disabled_at__isnull=True), name="webhook_endpoint_disabled"
            ),
        ]

    def __str__(self) -> str:
        return self.url


class WebhookDeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed (to be tried again)")
    GIVEN_UP = "given_up", _("Given up")


class WebhookDelivery(models.Model):
    """One event for one endpoint. `event_id` is the same on every attempt (the receiver's key to
    drop duplicates) and for every endpoint the event went to; `requeue_at` and `attempts` make it
    an outbox row (core.outbox), `next_attempt_at` is when its next retry is due."""

    State = WebhookDeliveryState

    # No index of its own: webhook_delivery_event_once (endpoint, event_id) leads with it.
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    event_id = models.UUIDField(default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=40)
    payload = models.JSONField(help_text=_("the body sent, the same on every attempt"))
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    requeue_at = models.DateTimeField(
        null=True, blank=True, help_text=_("when the outbox sweeper queues its send again if still waiting")
    )
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    last_response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response_body = models.TextField(blank=True, help_text=_("the start of the receiver's last answer"))
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_event_once"),
            models.CheckConstraint(
                condition=Q(state__in=WebhookDeliveryState.values), name="webhook_delivery_state"
            ),
        ]
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_recent"),
            models.Index(
                fields=["requeue_at"], name="webhook_delivery_requeue", condition=Q(requeue_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}: {self.state}"


class WebhookAttempt(models.Model):
    """One POST of a delivery: when, what the receiver answered (or the error), how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error}"
