"""Reads on brands and their domains."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from core.errors import InvalidInput

from .domains import domain_normalise
from .models import Brand, Domain
from .routing import brand_for_host, routing_token
from .validation import DOMAIN_PATTERN

# Unverified domains are checked again by beat for this long after they were added, then only on
# demand ("Check now").
DOMAIN_PENDING_DAYS = 7


def brand_list() -> QuerySet[Brand]:
    """Every brand (not the platform's own public row), with its domains and platform plan."""
    brands = Brand.objects.exclude(schema_name=get_public_schema_name())
    return brands.select_related("platform_plan").prefetch_related("domains")


def brand_primary_url(*, brand: Brand, port: int | None = None) -> str:
    domain = next((d.domain for d in brand.domains.all() if d.is_primary), None)
    suffix = f":{port}" if port and port not in (80, 443) else ""
    return f"http://{domain}{suffix}/" if domain else ""


def schema_current() -> str:
    """The schema the connection is set to (the public one outside a brand)."""
    # django-tenants' backend (the ENGINE of the settings) holds it; the stubs type `connection` as
    # Django's own database wrapper.
    return connection.schema_name  # type: ignore[attr-defined]


def brand_timezone() -> zoneinfo.ZoneInfo:
    """The timezone of the brand whose schema is active (UTC outside a brand).

    `schema_context` (commands, scripts) activates a schema without its Brand row, so the row is
    read when the connection does not carry it.
    """
    name = getattr(getattr(connection, "tenant", None), "timezone", None)
    if name is None and schema_current() != get_public_schema_name():
        name = Brand.objects.filter(schema_name=schema_current()).values_list("timezone", flat=True).first()
    return zoneinfo.ZoneInfo(name or "UTC")


def domain_list(*, brand: Brand) -> QuerySet[Domain]:
    """The brand's domains, its platform subdomain first."""
    return Domain.objects.filter(tenant=brand)


def domain_get(*, brand: Brand, domain: str) -> Domain | None:
    """The brand's domain of this name (as typed: normalised first), or None (another brand's too)."""
    try:
        name = domain_normalise(domain)
    except InvalidInput:
        name = (domain or "").strip().rstrip(".").lower()
    return Domain.objects.filter(tenant=brand, domain=name).first()


def domain_token_for_host(*, hostname: str) -> str | None:
    """The token of the unverified domain of this name, which the platform answers on its HTTP
    verification path (`tenants.middleware`); None for any other host."""
    return (
        Domain.objects.filter(domain=hostname, verified_at__isnull=True)
        .values_list("token", flat=True)
        .first()
    )


def domains_pending() -> QuerySet[Domain]:
    """Unverified domains added recently enough to be checked again without being asked."""
    since = timezone.now() - timedelta(days=DOMAIN_PENDING_DAYS)
    return Domain.objects.filter(verified_at__isnull=True, created_at__gte=since)


def host_may_have_certificate(*, hostname: str) -> bool:
    """Whether the platform serves this host: its own domain, or a verified domain of a brand (read
    as routing reads it, through its cache)."""
    name = (hostname or "").strip().rstrip(".").lower()
    if name == settings.PLATFORM_DOMAIN.lower():
        return True
    if not DOMAIN_PATTERN.match(name):
        return False
    return brand_for_host(name, token=routing_token()) is not None
