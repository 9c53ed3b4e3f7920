"""Tasks about brands."""

from __future__ import annotations

from celery import shared_task
from django.db import connection
from django_tenants.utils import schema_context

from core.lockout import lockouts_purge

from .models import Brand, Domain
from .selectors import brand_list, domains_pending
from .services import brand_usage_refresh, domain_verify


@shared_task(name="tenants.brand_usage_refresh")
def brand_usage_refresh_task() -> dict:
    """Count the current brand's figures; runs in the brand's schema (tenant-schemas-celery)."""
    brand = Brand.objects.get(schema_name=connection.schema_name)
    return brand_usage_refresh(brand=brand)


@shared_task(name="tenants.brand_usage_refresh_all")
def brand_usage_refresh_all_task() -> int:
    """Fan out one refresh per brand, each queued from inside that brand's schema."""
    count = 0
    for brand in brand_list():
        with schema_context(brand.schema_name):
            brand_usage_refresh_task.delay()
        count += 1
    return count


@shared_task(name="tenants.lockouts_purge")
def lockouts_purge_task() -> list[int]:
    """Forget old login failures and lockouts (public schema, every brand's)."""
    return list(lockouts_purge())


@shared_task(name="tenants.domain_verify")
def domain_verify_task(domain_id: int) -> bool:
    """Look for a domain's token (idempotent: a verified or removed domain is left as it is);
    whether the domain is verified now."""
    domain = Domain.objects.filter(pk=domain_id).first()
    return domain is not None and domain_verify(domain=domain).is_verified


@shared_task(name="tenants.domains_verify_pending")
def domains_verify_pending_task() -> int:
    """Check every recently added unverified domain again (DNS records take a while to appear)."""
    ids = list(domains_pending().values_list("pk", flat=True))
    for domain_id in ids:
        domain_verify_task.delay(domain_id)
    return len(ids)
