"""The message log API: `GET /api/v1/messages` (filters, pages, every field) and `/messages/{id}`;
bad filters name their field."""

from __future__ import annotations

from datetime import datetime

import pytest
import time_machine
from django.db import connection

from loyalty.services.members import consent_set
from messaging.models import Message
from messaging.services.sending import message_queue, message_send
from tests.factories import member_make, template_make
from tests.support import SENDING_HOURS, error_of

pytestmark = pytest.mark.django_db


def _member(external_id: str, **extra):
    member = member_make(external_id, phone="+33612345678", email=f"{external_id}@example.com", **extra)
    consent_set(member=member, consents={"sms": True, "email": True}, source="test")
    return member


@pytest.fixture
def log(api_a):
    """Brand A with three messages: an SMS delivered, an e-mail queued, an SMS skipped."""
    connection.set_tenant(api_a.brand)
    camille, dominique = (
        _member("LOG-1", first_name="Camille", language="en"),
        _member("LOG-2", language="en"),
    )
    template_make("earned", body="Hello {{ first_name }}, +{{ points_earned }} points.")
    template_make("news", channel="email", subject="News for {{ first_name }}", body="News")
    template_make("promo", channel="voice", body="Promo")
    with time_machine.travel(SENDING_HOURS, tick=False):
        sms = message_queue(
            member=camille, channel="sms", template_code="earned", variables={"points_earned": "200"}
        )
        message_send(message_id=sms.pk, attempts=0)
    with time_machine.travel(SENDING_HOURS.replace(hour=16), tick=False):
        email = message_queue(member=camille, channel="email", template_code="news")
        skipped = message_queue(member=dominique, channel="voice", template_code="promo")  # no consent
    return {"sms": sms, "email": email, "skipped": skipped}


def test_a_members_messages_newest_first_with_every_field(api_a, log):
    response = api_a.get("/api/v1/messages?member=LOG-1")
    assert response.status_code == 200, response.content
    page = response.json()
    assert page["count"] == 2 and page["next"] is None
    assert [item["id"] for item in page["results"]] == [log["email"].pk, log["sms"].pk]
    sms = page["results"][1]
    assert sms == {
        "id": log["sms"].pk,
        "member": "LOG-1",
        "channel": "sms",
        "purpose": "marketing",
        "state": "delivered",
        "skip_reason": "",
        "template": "earned",
        "language": "en",
        "recipient": "+33612345678",
        "subject": "",
        "body": "Hello Camille, +200 points.",
        "trigger": "",
        "provider": "outbox",
        "provider_id": f"outbox-{log['sms'].pk}",
        "provider_status": "",
        "error": "",
        "not_before": None,
        "created_at": "2027-01-12T15:00:00+01:00",
        "sent_at": "2027-01-12T15:00:00+01:00",
        "delivered_at": "2027-01-12T15:00:00+01:00",
        "failed_at": None,
    }
    assert datetime.fromisoformat(sms["created_at"]).utcoffset() is not None
    assert page["results"][0]["subject"] == "News for Camille"


def test_filters_by_channel_state_and_since_and_pages(api_a, log):
    def ids(query: str) -> list[int]:
        response = api_a.get(f"/api/v1/messages?{query}")
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["results"]]

    assert ids("member=LOG-1&channel=email") == [log["email"].pk]
    assert ids("state=skipped") == [log["skipped"].pk]
    skipped = api_a.get(f"/api/v1/messages/{log['skipped'].pk}").json()
    assert (skipped["state"], skipped["skip_reason"], skipped["member"]) == ("skipped", "no_consent", "LOG-2")
    assert ids("since=2027-01-12T16:00:00%2B01:00") == [log["skipped"].pk, log["email"].pk]
    assert ids("since=2027-01-12T15:00:01Z") == []
    page = api_a.get("/api/v1/messages?limit=1&offset=1").json()
    assert page["count"] == 3 and [item["id"] for item in page["results"]] == [log["email"].pk]
    assert page["next"] and page["previous"]


@pytest.mark.parametrize(
    ("query", "field", "status"),
    [
        ("member=NOBODY", "member", 404),
        ("since=yesterday", "since", 400),
        ("since=2027-01-12T15:00:00", "since", 400),  # no offset: never guessed
        ("channel=fax", "channel", 400),
        ("state=lost", "state", 400),
        ("member=" + "x" * 300, "member", 400),
    ],
)
def test_bad_filters_name_their_field(api_a, log, query, field, status):
    assert error_of(api_a.get(f"/api/v1/messages?{query}"), status)["field"] == field


def test_one_message_and_an_unknown_id(api_a, log):
    assert api_a.get(f"/api/v1/messages/{log['email'].pk}").json()["state"] == "queued"
    assert error_of(api_a.get("/api/v1/messages/999999999"), 404)["field"] == "message_id"
    assert Message.objects.count() == 3
