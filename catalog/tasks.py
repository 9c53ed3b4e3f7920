"""Catalogue tasks: they run in the schema of the brand that queued them, and take ids."""

from __future__ import annotations

from celery import shared_task
from django.db import connection
from django.utils import timezone

from core.outbox import outbox_register, retry_delay, task_send_at

from .models import ServicePush
from .services import service_push_send


@shared_task(name="catalog.service_push_send")
def service_push_send_task(push_id: int, attempts: int) -> str | None:
    """Send one service-credit order event to the brand's system, if the push has had `attempts`
    attempts (idempotent: sent once, one attempt per queued copy at most). After a failure, the
    retry is queued here with its delay; if the broker refuses it, the sweeper sends it."""
    push = service_push_send(push_id=push_id, attempts=attempts)
    if push is None:
        return None
    delay = retry_delay(attempts=push.attempts)
    if push.status == ServicePush.Status.FAILED and delay is not None:
        # Past the sweeper's window (retries wait up to 128 s) the sweeper queues it instead.
        task_send_at(
            task=service_push_send_task,
            schema_name=connection.schema_name,
            args=(push_id, push.attempts),
            at=timezone.now() + delay,
        )
    return push.status


outbox_register(model=ServicePush, task=service_push_send_task)
