"""The webhooks' outbox task: it runs in the schema of the brand that queued it, and takes ids."""

from __future__ import annotations

from celery import shared_task
from django.db import connection

from core.outbox import outbox_register, task_send, task_send_at
from messaging.models import WebhookDelivery
from messaging.services.webhooks import webhook_delivery_send


@shared_task(name="messaging.webhook_delivery_send")
def webhook_delivery_send_task(delivery_id: int, attempts: int) -> str | None:
    """Make one attempt of a delivery (`webhook_delivery_send`: once per queued copy at most);
    after a failure, a retry due within the sweeper's requeue window is queued here with its delay,
    a later one (retries wait up to an hour) by the sweeper at the row's `requeue_at`
    (`task_send_at`), which also sends it if lost."""
    delivery = webhook_delivery_send(delivery_id=delivery_id, attempts=attempts)
    if delivery is None:
        return None
    if delivery.state == WebhookDelivery.State.FAILED and delivery.next_attempt_at is not None:
        task_send_at(
            task=webhook_delivery_send_task,
            schema_name=connection.schema_name,
            args=(delivery_id, delivery.attempts),
            at=delivery.next_attempt_at,
        )
    return delivery.state


@shared_task(name="messaging.webhook_deliveries_queue")
def webhook_deliveries_queue_task(delivery_ids: list[int]) -> int:
    """Queue the first send of each delivery of a batch (stored with one insert, announced with one
    message after its commit). Stops at the first send the broker refuses: the sweeper sends the
    others when their `requeue_at` is past. How many were queued."""
    for queued, delivery_id in enumerate(delivery_ids):
        if not task_send(
            task=webhook_delivery_send_task, schema_name=connection.schema_name, args=(delivery_id, 0)
        ):
            return queued
    return len(delivery_ids)


outbox_register(model=WebhookDelivery, task=webhook_delivery_send_task)
