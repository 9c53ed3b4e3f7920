"""A brand's API keys (core.apikeys)."""

from __future__ import annotations

from django.db import models


class ApiKey(models.Model):
    """A key for the brand's systems. Only its SHA-256 is stored; the key is shown once."""

    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    rate_limit_per_minute = models.PositiveIntegerField(default=6000)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The loyalty app's table, kept when the model moved to core (state-only migrations): the
        # brands' keys stay where they are.
        db_table = "loyalty_apikey"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
