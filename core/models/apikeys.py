"""A brand's API keys (core.apikeys)."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

# What an API key may reach (README "API key scopes"): each view of the API names its area
# (`api_scope`); reading (GET, HEAD) needs `<area>:read`, any other method `<area>:write`.
# `ALL_SCOPES` is every area, now and added later: the keys made before scopes existed have it.
API_SCOPE_AREAS = (
    "members",
    "events",
    "programme",
    "catalog",
    "orders",
    "messaging",
    "webhooks",
    "billing",
    "clubs",
    "gatherings",
    "community",
    "themes",
    "domains",
)
ALL_SCOPES = "*"
API_SCOPES = (ALL_SCOPES, *(f"{area}:{access}" for area in API_SCOPE_AREAS for access in ("read", "write")))


def scopes_default() -> list[str]:
    return [ALL_SCOPES]


class ApiKey(models.Model):
    """A key for the brand's systems. Only its SHA-256 is stored; the key is shown once."""

    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    rate_limit_per_minute = models.PositiveIntegerField(default=6000)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    scopes = ArrayField(models.CharField(max_length=24), default=scopes_default)

    class Meta:
        # The loyalty app's table, kept when the model moved to core (state-only migrations): the
        # brands' keys stay where they are.
        db_table = "loyalty_apikey"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scopes__contained_by=list(API_SCOPES)) & models.Q(scopes__len__gt=0),
                name="apikey_scopes_known",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
