"""Loyalty background work: the nightly expiry and tier re-evaluation of every brand.

Beat fires the fan-out every hour; each brand's task runs in its own schema (tenant-schemas-celery).
Expiry runs at every pass (cheap when nothing is due, and keeps "expires at 23:59 local time"
within the hour whatever the brand's timezone); tiers are re-evaluated once a night, at
`NIGHTLY_LOCAL_HOUR` in the brand's timezone. Both are idempotent, so a repeated pass is harmless.
"""

from __future__ import annotations

from celery import shared_task
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from loyalty.services.activation import activation_attempts_purge
from loyalty.services.expiry import points_expire_due
from loyalty.services.tiers import tiers_evaluate_all
from tenants.models import Brand
from tenants.selectors import brand_list, brand_timezone

NIGHTLY_LOCAL_HOUR = 3


@shared_task(name="loyalty.brand_nightly")
def brand_nightly_task(tiers: bool | None = None) -> dict:
    """Expire due points; re-evaluate tiers and purge old activation attempts when it is night in
    the brand (or when `tiers` says so)."""
    now = timezone.now()
    result = {"brand": connection.schema_name, "points_expired": points_expire_due(at=now)}
    if tiers is None:
        tiers = now.astimezone(brand_timezone()).hour == NIGHTLY_LOCAL_HOUR
    if tiers:
        result["tier_changes"] = tiers_evaluate_all(at=now)
        result["activation_attempts_purged"] = activation_attempts_purge(now=now)
    return result


@shared_task(name="loyalty.nightly_all")
def nightly_all_task() -> int:
    """Fan out one `brand_nightly` per active brand, each queued from inside that brand's schema."""
    count = 0
    for brand in brand_list().filter(status=Brand.Status.ACTIVE):
        with schema_context(brand.schema_name):
            brand_nightly_task.delay()
        count += 1
    return count
