"""The webhook endpoints' and deliveries' API: the secret answered once, bad inputs refused with
the field named and nothing written, deliveries with their attempts, and sending one again."""

from __future__ import annotations

import socket

import pytest
from django.core.cache import cache
from django_tenants.utils import schema_context

from messaging.models import WebhookDelivery, WebhookEndpoint
from messaging.selectors.webhooks import SUBSCRIPTIONS_KEY
from messaging.services.webhooks import webhook_delivery_send, webhook_endpoint_update, webhook_event_emit
from tests.fakes.webhooks import webhook_receiver
from tests.support import error_of

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture(autouse=True)
def _subscriptions_forgotten(brand_a):
    yield
    with schema_context(brand_a.schema_name):
        cache.delete(SUBSCRIPTIONS_KEY)


@pytest.fixture
def receiver():
    with webhook_receiver() as served:
        yield served


def _create(api, receiver, **extra):
    body = {"url": receiver.url, "events": ["points.earned", "subscription.changed"], **extra}
    response = api.post("/api/v1/webhook-endpoints", body)
    assert response.status_code == 201, response.content
    return response.json()


def test_an_endpoint_is_created_with_its_secret_answered_once(api_a, receiver):
    created = _create(api_a, receiver, description="ERP")
    assert created["secret"].startswith("whsec_")
    assert created["events"] == ["points.earned", "subscription.changed"] and created["is_active"] is True
    assert WebhookEndpoint.objects.get(pk=created["id"]).secret == created["secret"]

    listed = api_a.get("/api/v1/webhook-endpoints").json()
    assert [item["id"] for item in listed] == [created["id"]]
    read = api_a.get(f"/api/v1/webhook-endpoints/{created['id']}").json()
    assert "secret" not in read and "secret" not in listed[0]
    assert read["description"] == "ERP"


def test_an_endpoint_is_changed_switched_off_on_and_deleted(api_a, receiver):
    endpoint_id = _create(api_a, receiver)["id"]
    path = f"/api/v1/webhook-endpoints/{endpoint_id}"
    changed = api_a.send("patch", path, {"events": ["tier.changed"], "is_active": False}).json()
    assert changed["events"] == ["tier.changed"] and changed["is_active"] is False
    assert changed["disabled_at"] and changed["disabled_reason"]
    on = api_a.send("patch", path, {"is_active": True}).json()
    assert on["is_active"] is True and on["disabled_at"] is None and on["disabled_reason"] == ""
    assert api_a.delete(path).status_code == 204
    assert not WebhookEndpoint.objects.filter(pk=endpoint_id).exists()
    assert error_of(api_a.get(path), 404)["field"] == "endpoint_id"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"url": "http://hooks.example.com/x", "events": ["points.earned"]}, "url", "https://"),
        ({"url": "https://hooks.brand.example/x", "events": ["points.earned"]}, "url", "10.0.0.7 (private)"),
        ({"url": "https://169.254.169.254/x", "events": ["points.earned"]}, "url", "metadata"),
        ({"url": "https://93.184.216.34/x", "events": ["points.spent"]}, "events", "unknown event type"),
        ({"url": "https://93.184.216.34/x", "events": []}, "events", ""),
        ({"url": "https://93.184.216.34/x"}, "events", "required"),
        ({"events": ["points.earned"]}, "url", "required"),
        ({"url": "https://93.184.216.34/x", "events": ["points.earned"], "secret": "mine"}, "secret", ""),
    ],
)
def test_bad_endpoints_are_refused_naming_the_field_and_nothing_is_written(
    api_a, settings, monkeypatch, body, field, words
):
    settings.WEBHOOKS_DEVELOPMENT = False
    system = socket.getaddrinfo

    def lookup(host, port, *args, **kwargs):  # the OS boundary: the brand's host is private
        if host == "hooks.brand.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("10.0.0.7", port))]
        return system(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    error = error_of(api_a.post("/api/v1/webhook-endpoints", body), 400)
    assert error["field"] == field and words in error["message"]
    assert not WebhookEndpoint.objects.exists()


def test_a_patch_with_an_unknown_event_type_changes_nothing(api_a, receiver):
    endpoint_id = _create(api_a, receiver)["id"]
    error = error_of(
        api_a.send("patch", f"/api/v1/webhook-endpoints/{endpoint_id}", {"events": ["nope"]}), 400
    )
    assert error["field"] == "events"
    assert WebhookEndpoint.objects.get(pk=endpoint_id).events == ["points.earned", "subscription.changed"]


def test_deliveries_are_listed_with_their_attempts_and_sent_again_with_the_same_event_id(api_a, receiver):
    endpoint_id = _create(api_a, receiver)["id"]
    webhook_event_emit(type="subscription.changed", data={"state": "active"})
    delivery = WebhookDelivery.objects.get(endpoint_id=endpoint_id)
    receiver.answer(500, b"oops")
    webhook_delivery_send(delivery_id=delivery.pk, attempts=0)

    page = api_a.get(f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries").json()
    assert page["count"] == 1
    (item,) = page["results"]
    assert item["event_id"] == str(delivery.event_id) and item["state"] == "failed"
    assert item["payload"]["data"] == {"state": "active"} and item["last_response_status"] == 500
    (attempt,) = item["attempt_log"]
    assert attempt["status_code"] == 500 and attempt["response_body"] == "oops"

    response = api_a.post(f"/api/v1/webhook-deliveries/{delivery.pk}/retry")
    assert response.status_code == 202
    assert response.json()["state"] == "pending" and response.json()["event_id"] == str(delivery.event_id)
    receiver.answer(200)
    assert webhook_delivery_send(delivery_id=delivery.pk, attempts=1).state == "succeeded"
    assert {r.header("X-Loyalty-Event-Id") for r in receiver.requests} == {str(delivery.event_id)}


def test_retry_refusals(api_a, receiver):
    assert error_of(api_a.post("/api/v1/webhook-deliveries/999999/retry"), 404)["field"] == "delivery_id"
    endpoint_id = _create(api_a, receiver)["id"]
    webhook_event_emit(type="points.earned", data={})
    delivery = WebhookDelivery.objects.get(endpoint_id=endpoint_id)
    webhook_endpoint_update(endpoint=delivery.endpoint, data={"is_active": False})
    error = error_of(api_a.post(f"/api/v1/webhook-deliveries/{delivery.pk}/retry"), 422)
    assert error["code"] == "endpoint_switched_off"
    assert WebhookDelivery.objects.get(pk=delivery.pk).state == "pending" and delivery.attempts == 0
