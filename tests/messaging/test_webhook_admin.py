"""The backoffice of the webhooks: an endpoint's secret shown once, on the page answering its
creation; the service's checks on the form's fields; deliveries with their attempts; send again."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django_tenants.utils import schema_context

from messaging.models import WebhookDelivery, WebhookEndpoint
from messaging.selectors.webhooks import SUBSCRIPTIONS_KEY
from messaging.services.webhooks import webhook_delivery_send, webhook_endpoint_create, webhook_event_emit
from tests.fakes.webhooks import webhook_receiver

pytestmark = pytest.mark.django_db(transaction=False)

ADD = "/backoffice/messaging/webhookendpoint/add/"


@pytest.fixture(autouse=True)
def _subscriptions_forgotten(brand_a):
    yield
    with schema_context(brand_a.schema_name):
        cache.delete(SUBSCRIPTIONS_KEY)


def test_the_secret_is_shown_once_after_creation(staff_a):
    form = {
        "url": "http://127.0.0.1:9/erp",
        "description": "ERP",
        "events": ["points.earned"],
        "is_active": "on",
    }
    response = staff_a.post(ADD, form)
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.encode() in response.content and "no-store" in response["Cache-Control"]
    change = staff_a.get(f"/backoffice/messaging/webhookendpoint/{endpoint.pk}/change/")
    assert change.status_code == 200 and endpoint.secret.encode() not in change.content
    listing = staff_a.get("/backoffice/messaging/webhookendpoint/")
    assert b"127.0.0.1:9/erp" in listing.content and endpoint.secret.encode() not in listing.content


def test_the_form_refuses_a_private_address_outside_development(staff_a, settings):
    settings.WEBHOOKS_DEVELOPMENT = False
    response = staff_a.post(
        ADD, {"url": "https://10.0.0.1/erp", "events": ["points.earned"], "is_active": "on"}
    )
    assert response.status_code == 200 and b"10.0.0.1 (private)" in response.content
    assert not WebhookEndpoint.objects.exists()


def test_a_delivery_shows_its_attempts_and_is_sent_again(staff_a):
    with webhook_receiver() as receiver:
        endpoint = webhook_endpoint_create(data={"url": receiver.url, "events": ["subscription.changed"]})
        webhook_event_emit(type="subscription.changed", data={"state": "active"})
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        receiver.answer(502, b"bad gateway from the ERP")
        webhook_delivery_send(delivery_id=delivery.pk, attempts=0)

        page = staff_a.get(f"/backoffice/messaging/webhookdelivery/{delivery.pk}/change/")
        assert page.status_code == 200
        assert b"bad gateway from the ERP" in page.content and str(delivery.event_id).encode() in page.content
        listing = staff_a.get("/backoffice/messaging/webhookdelivery/")
        assert listing.status_code == 200 and b"subscription.changed" in listing.content

        response = staff_a.post(
            "/backoffice/messaging/webhookdelivery/",
            {"action": "send_again", "_selected_action": [delivery.pk]},
            follow=True,
        )
        assert b"1 delivery queued." in response.content
        delivery.refresh_from_db()
        assert delivery.state == WebhookDelivery.State.PENDING and delivery.attempts == 1
