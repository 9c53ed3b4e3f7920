"""Webhook deliveries through the real outbox: a committed event is sent by a real Celery worker,
a delivery whose send was lost (broker down) is queued again by the sweeper, and a batch's sends are
queued by one task."""

from __future__ import annotations

import time
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from core.outbox import outbox_sweep
from messaging.models import WebhookDelivery
from messaging.services.webhooks import webhook_endpoint_create, webhook_event_emit, webhook_events_emit
from tests.fakes.webhooks import webhook_receiver


def _settled(delivery_id: int, timeout: float = 30.0) -> WebhookDelivery:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery = WebhookDelivery.objects.get(pk=delivery_id)
        if delivery.state == WebhookDelivery.State.SUCCEEDED:
            return delivery
        time.sleep(0.05)
    raise AssertionError(f"delivery {delivery_id} still {delivery.state}")


def test_a_committed_event_is_delivered_by_the_worker_and_a_lost_send_by_the_sweeper(
    fresh_brand, celery_worker
):
    connection.set_tenant(fresh_brand)
    with webhook_receiver() as receiver:
        webhook_endpoint_create(data={"url": receiver.url, "events": ["subscription.changed"]})
        with transaction.atomic():
            webhook_event_emit(type="subscription.changed", data={"state": "active"})
        first = _settled(WebhookDelivery.objects.get().pk)
        assert first.attempts == 1 and len(receiver.requests) == 1

        # A delivery whose send the broker refused after commit: only its row waits, due again.
        lost = WebhookDelivery.objects.create(
            endpoint=first.endpoint,
            event_type="subscription.changed",
            payload={**first.payload, "data": {"state": "past_due"}},
            requeue_at=timezone.now() - timedelta(seconds=1),
        )
        assert outbox_sweep().queued == 1
        assert _settled(lost.pk).attempts == 1
        # A batch: one task after commit queues each delivery's send from the worker.
        with transaction.atomic():
            stored = webhook_events_emit(events=[("subscription.changed", {"n": n}) for n in range(3)])
        assert stored == 3
        batch = WebhookDelivery.objects.exclude(pk__in=[first.pk, lost.pk]).values_list("pk", flat=True)
        assert all(_settled(pk).attempts == 1 for pk in batch)
    ids = [request.header("X-Loyalty-Event-Id") for request in receiver.requests]
    assert ids[:2] == [str(first.event_id), str(lost.event_id)] and len(set(ids)) == len(ids) == 5
