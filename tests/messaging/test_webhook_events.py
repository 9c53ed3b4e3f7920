"""Webhook events from the loyalty, catalogue and messaging signals: what each says, that a brand
with nothing subscribed pays no query, and that a batch of 500 changes is one insert of deliveries.
Through the real services (a member saved, points credited and debited, a batch of events recorded
by the API, an order placed, a message sent) and, for what only a signal can say at that scale, by
sending the signal itself."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from catalog.models import Gift
from catalog.services import RedeemItem, order_place
from core.errors import InvalidInput
from loyalty.models import Tier
from loyalty.rule_examples import POINT_PER_EURO
from loyalty.services.members import consent_set, member_upsert
from loyalty.services.rules import rule_create
from loyalty.signals import (
    MemberChange,
    PointsChange,
    TierChange,
    members_changed,
    tiers_changed,
)
from messaging.models import WebhookDelivery
from messaging.selectors.webhooks import SUBSCRIPTIONS_KEY, webhook_subscriptions
from messaging.services.sending import message_queue, message_send, message_status_apply
from messaging.services.webhooks import webhook_endpoint_create, webhook_endpoint_update, webhook_event_emit
from messaging.webhooks import receivers
from tests.catalog.factories import gift_make
from tests.factories import credit_make, debit_make, member_make, template_make

pytestmark = pytest.mark.django_db(transaction=False)

URL = "http://127.0.0.1:9/hooks"  # never called here: these tests stop at the stored deliveries


@pytest.fixture(autouse=True)
def _subscriptions_forgotten(brand_a):
    with schema_context(brand_a.schema_name):
        cache.delete(SUBSCRIPTIONS_KEY)
    yield
    with schema_context(brand_a.schema_name):
        cache.delete(SUBSCRIPTIONS_KEY)


def _subscribe(*events: str):
    return webhook_endpoint_create(data={"url": URL, "events": list(events)})


def _payloads(event_type: str) -> list[dict]:
    return list(
        WebhookDelivery.objects.filter(event_type=event_type).order_by("id").values_list("payload", flat=True)
    )


def test_nothing_subscribed_costs_no_query(in_a, django_assert_num_queries):
    member = member_make()
    _subscribe("message.failed")  # another type: still nothing to do for these
    webhook_subscriptions()  # read once, then cached
    changes = [PointsChange(member.pk, "earned", 10, 10 * i, i) for i in range(500)]
    # The webhooks' receivers of each signal (the triggers' have their own costs).
    with django_assert_num_queries(0):
        receivers.points_sent(sender=None, changes=changes)
        receivers.members_sent(sender=None, changes=[MemberChange(member.pk, created=True)])
        receivers.tiers_sent(sender=None, changes=[TierChange(member.pk, None, None)])
        receivers.order_sent(sender=None, order_id=1, event_id=1, from_status="", to_status="placed")
        assert webhook_event_emit(type="subscription.changed", data={}) == 0
    assert not WebhookDelivery.objects.exists()


def test_a_batch_of_500_points_changes_is_one_insert_of_deliveries(in_a, django_capture_on_commit_callbacks):
    members = [member_make() for _ in range(5)]
    _subscribe("points.earned", "points.redeemed")
    _subscribe("points.earned")
    changes = [
        PointsChange(members[i % 5].pk, "earned", 10, 10 * i, 1000 + i, event_id=i) for i in range(500)
    ]
    webhook_subscriptions()  # cached
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks() as sends:
        receivers.points_sent(sender=None, changes=changes)
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1 and "messaging_webhookdelivery" in inserts[0]
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) == 2, selects  # the members, the endpoints
    assert WebhookDelivery.objects.count() == 1000
    assert len(sends) == 1, "one message to the broker for the batch"
    # One event id per event, shared by the endpoints it went to.
    assert WebhookDelivery.objects.values("event_id").distinct().count() == 500
    payload = _payloads("points.earned")[0]
    assert payload["type"] == "points.earned"
    assert payload["data"] == {
        "member": {
            "external_id": members[0].external_id,
            "kind": "customer",
            "status": "active",
            "tier": None,
            "balance": 0,
            "is_vip": False,
        },
        "points": 10,
        "balance_after": 0,
        "ledger_entry_id": 1000,
        "activity_event_id": 0,
    }


def test_an_endpoint_switched_off_or_changed_is_seen_at_once(in_a):
    member = member_make()
    endpoint = _subscribe("member.updated")
    members_changed.send(sender=None, changes=[MemberChange(member.pk, created=False)])
    assert WebhookDelivery.objects.count() == 1
    webhook_endpoint_update(endpoint=endpoint, data={"is_active": False})
    members_changed.send(sender=None, changes=[MemberChange(member.pk, created=False)])
    assert WebhookDelivery.objects.count() == 1
    webhook_endpoint_update(endpoint=endpoint, data={"is_active": True, "events": ["member.created"]})
    members_changed.send(sender=None, changes=[MemberChange(member.pk, created=False)])
    members_changed.send(sender=None, changes=[MemberChange(member.pk, created=True)])
    assert list(WebhookDelivery.objects.order_by("id").values_list("event_type", flat=True)) == [
        "member.updated",
        "member.created",
    ]


def test_tier_changes_name_the_tiers_by_code(in_a):
    silver = Tier.objects.create(code="silver", name="Silver")
    member = member_make()
    _subscribe("tier.changed")
    tiers_changed.send(sender=None, changes=[TierChange(member.pk, None, silver.pk)])
    (payload,) = _payloads("tier.changed")
    assert payload["data"]["from_tier"] is None and payload["data"]["to_tier"] == "silver"
    assert payload["data"]["member"]["external_id"] == member.external_id


def test_an_order_placed_is_an_order_status_event(in_a, django_capture_on_commit_callbacks):
    member = member_make(points=500)
    gift = gift_make(points_price=100, kind=Gift.Kind.CONVERSION)
    _subscribe("order.status_changed")
    with django_capture_on_commit_callbacks(execute=True):
        order, _ = order_place(
            member_id=member.pk, items=[RedeemItem(gift_id=gift.pk)], idempotency_key="o-1", actor="test"
        )
    (payload,) = _payloads("order.status_changed")
    assert payload["data"]["order_id"] == order.pk
    assert (payload["data"]["from_status"], payload["data"]["to_status"]) == (None, "placed")
    assert payload["data"]["member"]["external_id"] == member.external_id


def test_messages_delivered_and_failed_are_events(in_a, django_capture_on_commit_callbacks):
    member = member_make(phone="+33612345678", language="en")
    consent_set(member=member, consents={"sms": True}, source="test")
    template_make("hello", body="Hello", purpose="service")
    _subscribe("message.delivered", "message.failed")
    with django_capture_on_commit_callbacks(execute=True):
        delivered = message_queue(member=member, channel="sms", template_code="hello")
        message_send(message_id=delivered.pk, attempts=0)  # the development outbox: delivered
        failed = message_queue(member=member, channel="sms", template_code="hello")
        message_status_apply(message_id=failed.pk, state="failed", error="unreachable")
    (done,) = _payloads("message.delivered")
    assert done["data"]["message_id"] == delivered.pk and done["data"]["channel"] == "sms"
    assert done["data"]["template"] == "hello" and done["data"]["member"]["external_id"] == member.external_id
    (lost,) = _payloads("message.failed")
    assert lost["data"]["message_id"] == failed.pk and lost["data"]["error"] == "unreachable"


def test_subscription_changed_is_emitted_by_the_function_the_vip_issue_calls(in_a):
    _subscribe("subscription.changed")
    data = {"member": "m-1", "subscription": "sub_123", "state": "past_due"}
    assert webhook_event_emit(type="subscription.changed", data=data) == 1
    (payload,) = _payloads("subscription.changed")
    assert payload["data"] == data and payload["id"]
    with pytest.raises(InvalidInput) as refused:
        webhook_event_emit(type="subscription.renamed", data={})
    assert refused.value.field == "type"


def test_members_and_points_changed_by_the_services_are_events(in_a, django_capture_on_commit_callbacks):
    _subscribe("member.created", "member.updated", "points.earned", "points.redeemed")
    with django_capture_on_commit_callbacks(execute=True):
        member = member_make("W-1", first_name="Ada")
        member_upsert(external_id="W-1", data={"first_name": "Ada B."})
        credit_make(member, 300)
        debit_make(member, 120)
    created, updated = _payloads("member.created"), _payloads("member.updated")
    assert [p["data"]["member"]["external_id"] for p in created + updated] == ["W-1", "W-1"]
    (earned,) = _payloads("points.earned")
    (redeemed,) = _payloads("points.redeemed")
    assert (earned["data"]["points"], earned["data"]["balance_after"]) == (300, 300)
    assert (redeemed["data"]["points"], redeemed["data"]["balance_after"]) == (-120, 180)


def test_a_batch_of_events_from_the_api_is_one_insert_of_deliveries(
    in_a, api_a, django_capture_on_commit_callbacks
):
    rule_create(data=POINT_PER_EURO)
    members = [member_make(f"B-{i}") for i in range(10)]
    _subscribe("points.earned")
    webhook_subscriptions()
    events = [
        {
            "id": f"e-{i}",
            "member": members[i % 10].external_id,
            "type": "purchase",
            "occurred_at": "2026-03-02T10:15:00+01:00",
            "attributes": {"amount": "10", "currency": "EUR"},
        }
        for i in range(100)
    ]
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = api_a.post("/api/v1/events/batch", {"events": events})
    assert response.status_code == 200, response.content
    inserts = [
        q["sql"] for q in queries.captured_queries if 'INSERT INTO "messaging_webhookdelivery"' in q["sql"]
    ]
    assert len(inserts) == 1
    assert WebhookDelivery.objects.filter(event_type="points.earned").count() == 100


def test_nothing_subscribed_adds_no_query_to_the_services(in_a, django_capture_on_commit_callbacks):
    webhook_subscriptions()  # nothing: cached
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        member = member_make()
        credit_make(member, 50)
    assert not [q["sql"] for q in queries.captured_queries if "webhook" in q["sql"]]
