"""Outgoing webhooks between brands: A's events never reach B's endpoints, and B's key neither
reads nor sends again A's endpoints and deliveries (nor does B's backoffice)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import schema_context

from loyalty.signals import PointsChange, points_changed
from messaging.models import WebhookDelivery, WebhookEndpoint
from messaging.selectors.webhooks import SUBSCRIPTIONS_KEY
from messaging.services.webhooks import webhook_delivery_send, webhook_endpoint_create
from tests.factories import member_make
from tests.fakes.webhooks import webhook_receiver
from tests.support import error_of

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture(autouse=True)
def _subscriptions_forgotten(brand_a, brand_b):
    yield
    for brand in (brand_a, brand_b):
        with schema_context(brand.schema_name):
            cache.delete(SUBSCRIPTIONS_KEY)


def test_a_brands_events_never_reach_another_brands_endpoints(brand_a, brand_b):
    with webhook_receiver() as receiver_a, webhook_receiver() as receiver_b:
        connection.set_tenant(brand_b)
        webhook_endpoint_create(data={"url": receiver_b.url, "events": ["points.earned"]})
        connection.set_tenant(brand_a)
        endpoint_a = webhook_endpoint_create(data={"url": receiver_a.url, "events": ["points.earned"]})
        member = member_make()
        points_changed.send(sender=None, changes=[PointsChange(member.pk, "earned", 5, 5, 1)])
        (delivery,) = WebhookDelivery.objects.all()
        assert delivery.endpoint_id == endpoint_a.pk
        webhook_delivery_send(delivery_id=delivery.pk, attempts=0)
        connection.set_tenant(brand_b)
        assert not WebhookDelivery.objects.exists()
        # A's delivery id, sent by a task queued in B's schema, finds nothing there.
        assert webhook_delivery_send(delivery_id=delivery.pk, attempts=0) is None
    assert len(receiver_a.requests) == 1 and receiver_b.requests == []


def test_another_brands_key_sees_and_retries_nothing_of_a(api_a, api_b, brand_a):
    with webhook_receiver() as receiver:
        created = api_a.post("/api/v1/webhook-endpoints", {"url": receiver.url, "events": ["points.earned"]})
        endpoint_id = created.json()["id"]
        connection.set_tenant(brand_a)
        member = member_make()
        points_changed.send(sender=None, changes=[PointsChange(member.pk, "earned", 5, 5, 1)])
        delivery_id = WebhookDelivery.objects.get().pk

        assert api_b.get("/api/v1/webhook-endpoints").json() == []
        for method, path in [
            ("get", f"/api/v1/webhook-endpoints/{endpoint_id}"),
            ("get", f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries"),
            ("patch", f"/api/v1/webhook-endpoints/{endpoint_id}"),
            ("delete", f"/api/v1/webhook-endpoints/{endpoint_id}"),
            ("post", f"/api/v1/webhook-deliveries/{delivery_id}/retry"),
        ]:
            if method == "get":
                response = api_b.get(path)
            else:
                response = api_b.send(method, path, {"is_active": False} if method == "patch" else None)
            error_of(response, 404)
        connection.set_tenant(brand_a)
        assert WebhookEndpoint.objects.get(pk=endpoint_id).is_active
        assert WebhookDelivery.objects.get(pk=delivery_id).state == "pending"


def test_another_brands_backoffice_shows_nothing_of_a(brand_a, brand_b, staff_for):
    connection.set_tenant(brand_a)
    endpoint = webhook_endpoint_create(data={"url": "http://127.0.0.1:9/a-only", "events": ["tier.changed"]})
    connection.set_tenant(brand_b)
    staff_b = staff_for(brand_b)
    page = staff_b.get("/backoffice/messaging/webhookendpoint/")
    assert page.status_code == 200 and b"a-only" not in page.content
    assert staff_b.get(f"/backoffice/messaging/webhookendpoint/{endpoint.pk}/change/").status_code in (
        302,
        404,
    )
