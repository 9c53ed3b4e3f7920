"""Brands (the tenants) and the host names that reach them."""

from __future__ import annotations

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


class Brand(TenantMixin):
    """One loyalty programme, with its own PostgreSQL schema, domain(s), users and data."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=40, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    timezone = models.CharField(max_length=64, default="Europe/Paris")
    language = models.CharField(max_length=8, default="en")
    currency = models.CharField(max_length=3, default="EUR")
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # Figures counted inside the brand's schema by a task, shown to the operator.
    usage = models.JSONField(default=dict, blank=True)
    usage_refreshed_at = models.DateTimeField(null=True, blank=True)

    # brand_create clones the template schema itself, inside its own transaction.
    auto_create_schema = False
    auto_drop_schema = True

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "suspended"]), name="brand_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(currency__regex=r"^[A-Z]{3}$"), name="brand_currency_iso"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_suspended(self) -> bool:
        return self.status == self.Status.SUSPENDED


class Domain(DomainMixin):
    """A host name that serves a brand: `<slug>.<PLATFORM_DOMAIN>` (primary) or a custom domain."""

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_primary", "domain"]
