"""Tasks about brands, and the helper every app uses to queue a task after commit."""

from __future__ import annotations

from celery import Task, shared_task
from django.db import connection, transaction
from django_tenants.utils import schema_context

from .models import Brand
from .selectors import brand_list
from .services import brand_usage_refresh


def enqueue_on_commit(task: Task, *args, **kwargs) -> None:
    """Queue `task` once the current transaction commits, in the schema that is active *now*.

    The schema is captured at call time: by the time the transaction commits, the connection may
    have moved to another schema, and the task must still run in the brand that asked for it.
    """
    schema_name = connection.schema_name
    transaction.on_commit(
        lambda: task.apply_async(args=args, kwargs=kwargs, headers={"_schema_name": schema_name})
    )


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
