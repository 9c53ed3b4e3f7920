"""The nightly VIP refresh of every brand (README.md, "VIP and billing"): the spend rule's window
slides every day, so members leave it (or a tier's flag changed) without any event of theirs;
and the club codes' old attempts are purged. Run at the loyalty's nightly hour in each brand's
timezone, from the same hourly beat pattern."""

from __future__ import annotations

from celery import shared_task
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from billing.services.vip import vips_refresh_drifted
from clubs.services import space_code_attempts_purge
from loyalty.tasks import NIGHTLY_LOCAL_HOUR
from tenants.models import Brand
from tenants.selectors import brand_list, brand_timezone


@shared_task(name="billing.vip_brand_nightly")
def vip_brand_nightly_task(force: bool = False) -> dict:
    """Refresh the members whose VIP source drifted, when it is night in the brand (or `force`)."""
    now = timezone.now()
    result: dict = {"brand": connection.schema_name}
    if force or now.astimezone(brand_timezone()).hour == NIGHTLY_LOCAL_HOUR:
        result["vip_changes"] = vips_refresh_drifted(now=now)
        result["club_code_attempts_purged"] = space_code_attempts_purge(now=now)
    return result


@shared_task(name="billing.vip_nightly_all")
def vip_nightly_all_task() -> int:
    """Fan out one `vip_brand_nightly` per active brand, each queued from inside its schema."""
    count = 0
    for brand in brand_list().filter(status=Brand.Status.ACTIVE):
        with schema_context(brand.schema_name):
            vip_brand_nightly_task.delay()
        count += 1
    return count
