"""Tenant isolation of triggers: brand A's trigger never messages brand B's members (the signals,
the beat over every brand, the active triggers cached per brand), and B's key neither reads nor
sets A's triggers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from loyalty.services.events import EventInput, event_record
from loyalty.services.members import consent_set, member_upsert
from loyalty.services.rules import rule_create
from messaging.models import Message, Trigger
from messaging.tasks_triggers import triggers_due_all_task
from messaging.triggers import trigger_put
from tests.factories import credit_make, member_make, template_make
from tests.support import ApiClient, error_of

pytestmark = pytest.mark.django_db(transaction=False)
PER_EURO = {"name": "per euro", "event_type": "purchase", "award_type": "per_amount", "points_per_unit": "1"}


def _member(external_id: str):
    member = member_make(external_id, first_name="Sam", phone="+33612345678", language="en")
    consent_set(member=member, consents={"sms": True}, source="test")
    return member


def test_brand_as_triggers_never_message_brand_bs_members(
    brand_a, brand_b, django_capture_on_commit_callbacks
):
    now = timezone.now()
    connection.set_tenant(brand_a)
    for kind, days in (("points_earned", None), ("welcome", None), ("points_expiring", 3)):
        template_make(kind.replace("_", "-"), body="A: {{ first_name }}", purpose="service")
        trigger_put(
            kind=kind,
            channel="sms",
            data={"template_code": kind.replace("_", "-"), "is_active": True, "days": days},
        )
    _member("in-a")

    connection.set_tenant(brand_b)
    rule_create(data=PER_EURO)
    template_make("points-earned", body="B: {{ first_name }}", purpose="service")
    late = _member("in-b")
    credit_make(late, 40, at=now - timedelta(days=30), expires_at=now + timedelta(days=3))
    with django_capture_on_commit_callbacks(execute=False) as hooks:
        event_record(
            data=EventInput(
                member="in-b",
                type="purchase",
                occurred_at=now - timedelta(minutes=1),
                attributes={"amount": "10.00", "currency": "EUR"},
                idempotency_key="iso-1",
            )
        )
        member_upsert(external_id="new-in-b", data={"phone": "+33612345679"})
    for hook in hooks:
        hook()
    triggers_due_all_task()
    assert not Message.objects.exists()
    assert not Trigger.objects.exists()

    connection.set_tenant(brand_a)
    assert not Message.objects.filter(member__external_id__in=["in-b", "new-in-b"]).exists()


def test_brand_bs_key_neither_reads_nor_sets_brand_as_triggers(api_a, api_b):
    with schema_context(api_a.brand.schema_name):
        template_make("earned", body="+{{ points_earned }}")
    assert api_a.put(
        "/api/v1/message-triggers/points_earned/sms", {"template_code": "earned", "is_active": True}
    )
    assert api_b.get("/api/v1/message-triggers").json() == []
    assert error_of(api_b.get("/api/v1/message-triggers/points_earned/sms"), 404)["field"] == "kind"
    # B has no template of that code: A's template is not B's.
    refused = api_b.put(
        "/api/v1/message-triggers/points_earned/sms", {"template_code": "earned", "is_active": True}
    )
    assert error_of(refused, 400)["field"] == "template_code"
    with schema_context(api_b.brand.schema_name):
        assert not Trigger.objects.exists()
    # A's key on B's host is refused before anything is read.
    error_of(ApiClient(brand=api_b.brand, key=api_a.key).get("/api/v1/message-triggers"), 401)
