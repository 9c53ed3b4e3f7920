"""Reads on brands."""

from __future__ import annotations

import zoneinfo

from django.db import connection
from django.db.models import QuerySet
from django_tenants.utils import get_public_schema_name

from .models import Brand


def brand_list() -> QuerySet[Brand]:
    """Every brand (not the platform's own public row), with its domains."""
    return Brand.objects.exclude(schema_name=get_public_schema_name()).prefetch_related("domains")


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
