"""Stripe's events through the real path: the webhook's commit queues the handling on the real
broker, and a real Celery worker handles it in the brand's schema."""

from __future__ import annotations

import time

from django.db import connection
from django.test import Client

from tenants.models import StripeEvent
from tests.factories import member_make
from tests.support import stripe_post, stripe_served, stripe_subscribe


def test_a_webhook_event_is_handled_by_a_worker_in_its_brands_schema(fresh_brand, celery_worker):
    connection.set_tenant(fresh_brand)
    member = member_make()
    try:
        with stripe_served(fresh_brand) as fake:
            events = stripe_subscribe(fake, brand=fresh_brand, member_id=member.pk)
            platform = Client(HTTP_HOST="localhost")
            for event in events:
                assert stripe_post(platform, fake, event).status_code == 200
            stored = StripeEvent.objects.filter(event_id__in=[event["id"] for event in events])
            deadline = time.monotonic() + 60
            while (
                set(stored.values_list("state", flat=True)) != {"processed"} and time.monotonic() < deadline
            ):
                time.sleep(0.1)
            # Each handled once, at its first attempt (the invoice may have waited for its subscription).
            assert sorted(stored.values_list("state", flat=True)) == ["processed"] * 3
        connection.set_tenant(fresh_brand)
        member.refresh_from_db()
        assert (member.is_vip, member.vip_source) == (True, "subscription")
    finally:
        connection.set_schema_to_public()
        StripeEvent.objects.filter(brand=fresh_brand).delete()
