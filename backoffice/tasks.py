"""The dashboard's nightly rebuild of its monthly aggregates in every brand (README "Dashboard"),
from the same hourly beat pattern as the loyalty's nightly: each brand's task rebuilds when it is
`REBUILD_LOCAL_HOUR` in the brand's timezone, after the expiry and the tiers' night (3:00)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone
from django_tenants.utils import schema_context

from backoffice.dashboard_services import dashboard_rebuild
from tenants.models import Brand
from tenants.selectors import brand_list, brand_timezone, schema_current

REBUILD_LOCAL_HOUR = 4


@shared_task(name="backoffice.dashboard_brand_rebuild")
def dashboard_brand_rebuild_task(force: bool = False) -> dict:
    """Rebuild the brand's dashboard aggregates when it is night in the brand (or `force`)."""
    now = timezone.now()
    result: dict = {"brand": schema_current()}
    if force or now.astimezone(brand_timezone()).hour == REBUILD_LOCAL_HOUR:
        result["through"] = dashboard_rebuild(at=now).through.isoformat()
    return result


@shared_task(name="backoffice.dashboard_rebuild_all")
def dashboard_rebuild_all_task() -> int:
    """Fan out one `dashboard_brand_rebuild` per active brand, each queued from inside its schema."""
    count = 0
    for brand in brand_list().filter(status=Brand.Status.ACTIVE):
        with schema_context(brand.schema_name):
            dashboard_brand_rebuild_task.delay()
        count += 1
    return count
