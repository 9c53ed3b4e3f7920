"""Service credits: the order event is pushed to the brand's system by a real Celery worker, to a
local fake endpoint (the HTTP boundary), or kept in the development outbox without one."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from catalog.models import CatalogSettings, Gift, ServicePush
from catalog.services import RedeemItem, order_cancel, order_place
from catalog.tasks import service_push_send_task
from core.outbox import enqueue_on_commit
from tests.core.support import FakeBrandSystem
from tests.factories import member_make

from .factories import gift_make

pytestmark = pytest.mark.slow


@pytest.fixture
def brand_system():
    fake = FakeBrandSystem()
    yield fake
    fake.close()


def wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def rental_minutes() -> Gift:
    return gift_make(
        kind=Gift.Kind.SERVICE_CREDIT,
        name="60 minutes",
        points_price=300,
        service_code="MINUTES",
        service_quantity=60,
    )


def redeem(gift: Gift, quantity: int = 2):
    member = member_make("CAR-7", points=1000)
    order, _ = order_place(
        member_id=member.pk,
        items=[RedeemItem(gift_id=gift.pk, quantity=quantity)],
        idempotency_key="s",
        actor="api:x",
    )
    return order


def test_without_an_endpoint_the_push_lands_in_the_development_outbox(fresh_brand, celery_worker):
    connection.set_tenant(fresh_brand)
    order = redeem(rental_minutes())

    push = wait_for(lambda: ServicePush.objects.filter(order=order, status=ServicePush.Status.OUTBOX).first())

    assert push.action == "placed"
    assert push.payload["credits"] == [
        {"service_code": "MINUTES", "quantity": 120, "gift": order.lines.get().gift_reference}
    ]
    assert push.payload["member_external_id"] == "CAR-7"
    assert push.attempts == 1 and push.sent_at is not None


def test_the_order_event_is_posted_to_the_brand_and_cancellation_too(
    fresh_brand, celery_worker, brand_system
):
    connection.set_tenant(fresh_brand)
    CatalogSettings.objects.create(service_credit_endpoint=brand_system.url, service_credit_token="s3cret")
    order = redeem(rental_minutes())

    wait_for(lambda: ServicePush.objects.filter(order=order, status=ServicePush.Status.SENT).exists())
    order_cancel(order_id=order.pk, actor="staff:1")
    wait_for(lambda: ServicePush.objects.filter(order=order, status=ServicePush.Status.SENT).count() == 2)

    placed, cancelled = brand_system.requests
    assert placed["path"] == "/loyalty/credits"
    assert placed["headers"]["Authorization"] == "Bearer s3cret"
    assert placed["json"]["event"] == "order.placed" and placed["json"]["order_id"] == order.pk
    assert placed["json"]["credits"][0]["quantity"] == 120
    assert cancelled["json"]["event"] == "order.cancelled"
    keys = {placed["headers"]["Idempotency-Key"], cancelled["headers"]["Idempotency-Key"]}
    assert len(keys) == 2 and all(key.startswith(f"{fresh_brand.schema_name}-service-push-") for key in keys)
    assert ServicePush.objects.get(order=order, action="placed").response_status == 200


def test_a_failing_endpoint_is_retried_and_sent_once(fresh_brand, celery_worker):
    connection.set_tenant(fresh_brand)
    flaky = FakeBrandSystem(statuses=[503])
    try:
        CatalogSettings.objects.create(service_credit_endpoint=flaky.url)
        order = redeem(rental_minutes(), quantity=1)
        push = wait_for(
            lambda: ServicePush.objects.filter(order=order, status=ServicePush.Status.SENT).first()
        )
    finally:
        flaky.close()
    assert push.attempts == 2 and push.last_error == ""
    assert len(flaky.requests) == 2
    assert flaky.requests[0]["headers"]["Idempotency-Key"] == flaky.requests[1]["headers"]["Idempotency-Key"]


def test_a_push_queued_twice_at_once_is_sent_once(fresh_brand, celery_worker):
    """Two sends of one row at the same time (a sweep and a retry, two sweeps): the second finds
    the row locked by the first, which is still talking to the brand's system, and skips it."""
    connection.set_tenant(fresh_brand)
    slow = FakeBrandSystem(on_request=lambda: time.sleep(1))
    try:
        CatalogSettings.objects.create(service_credit_endpoint=slow.url)
        order = redeem(rental_minutes(), quantity=1)
        push = ServicePush.objects.get(order=order)
        # As the sweeper queues it: with its attempts (0). Outside a transaction: queued at once.
        enqueue_on_commit(service_push_send_task, push.pk, push.attempts)
        push = wait_for(lambda: ServicePush.objects.filter(pk=push.pk, status="sent").first())
        enqueue_on_commit(service_push_send_task, push.pk, push.attempts)  # once more after it was sent
        time.sleep(1.5)
    finally:
        slow.close()
    assert len(slow.requests) == 1
    push.refresh_from_db()
    assert push.attempts == 1
