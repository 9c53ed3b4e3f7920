"""Tenant isolation of the message log API: brand B's key sees none of brand A's messages, and A's
message id on B's host is a 404."""

from __future__ import annotations

import pytest
from django.db import connection

from loyalty.services.members import consent_set
from messaging.services.sending import message_queue
from tests.factories import member_make, template_make
from tests.support import ApiClient, error_of

pytestmark = pytest.mark.django_db


def test_brand_bs_key_sees_none_of_brand_as_messages(api_a, api_b):
    connection.set_tenant(api_a.brand)
    member = member_make("ISO-MSG", phone="+33612345678", language="en")
    consent_set(member=member, consents={"sms": True}, source="test")
    template_make("shipped", body="Shipped", purpose="service")
    message = message_queue(member=member, channel="sms", template_code="shipped")
    assert api_a.get("/api/v1/messages?member=ISO-MSG").json()["count"] == 1

    assert api_b.get("/api/v1/messages").json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert error_of(api_b.get("/api/v1/messages?member=ISO-MSG"), 404)["field"] == "member"
    assert error_of(api_b.get(f"/api/v1/messages/{message.pk}"), 404)["field"] == "message_id"
    # A's key on B's host is refused before anything is read.
    error_of(ApiClient(brand=api_b.brand, key=api_a.key).get(f"/api/v1/messages/{message.pk}"), 401)
