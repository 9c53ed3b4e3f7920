"""The audit trail (core.audit): every staff change to configuration and every manual adjustment."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """Who changed what, when, from where, and the values before and after. Append-only."""

    class Via(models.TextChoices):
        BACKOFFICE = "backoffice", _("backoffice")
        API = "api", _("API")
        COMMAND = "command", _("command")
        SYSTEM = "system", _("system")

    class Action(models.TextChoices):
        CREATE = "create", _("created")
        CHANGE = "change", _("changed")
        DELETE = "delete", _("deleted")
        ADJUST = "adjust", _("points adjusted")
        ACTION = "action", _("action")

    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept when the user is deleted, and names an API key when the change came through the API.
    actor_label = models.CharField(max_length=200, blank=True)
    via = models.CharField(max_length=16, choices=Via.choices)
    ip = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    # No index of its own: auditentry_object (content_type, object_id, at) leads with it.
    content_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "-at"], name="auditentry_object"),
            models.Index(fields=["-at"], name="auditentry_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"
