"""Tenant isolation of the outbox sweeper: it sends each brand's waiting rows from that brand's
schema only, even when two brands hold a row of the same id."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from catalog.models import CatalogSettings, Gift, Order, ServicePush
from tests.catalog.factories import gift_make
from tests.conftest import brand_make
from tests.core.support import FakeBrandSystem, beat_sends
from tests.factories import member_make

pytestmark = pytest.mark.slow


def waiting_push(brand, endpoint: FakeBrandSystem) -> ServicePush:
    """A push as a send lost with the broker leaves it: pending, due for the sweeper."""
    connection.set_tenant(brand)
    CatalogSettings.objects.create(service_credit_endpoint=endpoint.url)
    gift = gift_make(kind=Gift.Kind.SERVICE_CREDIT, points_price=10, service_code="MIN", service_quantity=5)
    order = Order.objects.create(
        member=member_make(points=10),
        idempotency_key="k",
        request_fingerprint="x",
        total_points=10,
        placed_at=gift.created_at,
    )
    return ServicePush.objects.create(
        order=order,
        action="placed",
        payload={"event": "order.placed", "order_id": order.pk, "brand": brand.slug},
        requeue_at=timezone.now() - timedelta(seconds=1),
    )


def test_the_sweeper_sends_each_brands_push_from_its_own_schema_once(fresh_brand, celery_worker):
    other = brand_make(f"{fresh_brand.slug}-b")
    endpoint_a, endpoint_b = FakeBrandSystem(), FakeBrandSystem()
    try:
        push_a = waiting_push(fresh_brand, endpoint_a)
        push_b = waiting_push(other, endpoint_b)
        assert push_a.pk == push_b.pk  # the same id in both schemas

        assert beat_sends("outbox-sweep").get(timeout=60) == 2
        deadline = time.monotonic() + 30
        while len(endpoint_a.requests) + len(endpoint_b.requests) < 2:
            assert time.monotonic() < deadline, "the pushes were not sent"
            time.sleep(0.1)
        assert beat_sends("outbox-sweep").get(timeout=60) == 0

        for brand, endpoint in ((fresh_brand, endpoint_a), (other, endpoint_b)):
            (request,) = endpoint.requests
            assert request["json"]["brand"] == brand.slug
            assert request["headers"]["Idempotency-Key"] == f"{brand.schema_name}-service-push-{push_a.pk}"
            connection.set_tenant(brand)
            push = ServicePush.objects.get()
            assert push.status == ServicePush.Status.SENT and push.attempts == 1 and push.requeue_at is None
    finally:
        endpoint_a.close()
        endpoint_b.close()
        connection.set_schema_to_public()
        other.delete(force_drop=True)
