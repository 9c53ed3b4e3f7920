"""Catalogue tasks: they run in the schema of the brand that queued them, and take ids."""

from __future__ import annotations

from celery import shared_task

from .services import ServicePushFailed, service_push_send


@shared_task(
    name="catalog.service_push_send",
    autoretry_for=(ServicePushFailed,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def service_push_send_task(push_id: int) -> str | None:
    """Send one service-credit order event to the brand's system (idempotent: sent once)."""
    push = service_push_send(push_id=push_id)
    return push.status if push is not None else None
