"""Campaigns through the API: created and scheduled, read with their progress, paused, resumed and
cancelled; bad inputs answered 4xx naming the field, with nothing written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from loyalty.models import Segment
from loyalty.services.members import consent_set
from messaging.models import Campaign, CampaignRun, Message
from messaging.services.campaigns import campaign_run_process
from tests.factories import member_make, sending_hours_open, template_make
from tests.support import error_of

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def setup_a(api_a):
    connection.set_tenant(api_a.brand)
    sending_hours_open("sms")
    template_make("offer", body="{{ first_name }}: -20%", purpose="marketing")
    segment = Segment.objects.create(name="API campaign", filters={"tags": {"any": ["api-campaign"]}})
    for index in range(3):
        member = member_make(
            tags=["api-campaign"], language="en", first_name="Ana", phone=f"+3361000000{index}"
        )
        consent_set(member=member, consents={"sms": index < 2}, source="test")
    return segment


def _body(segment, **extra):
    return {
        "name": "Weekly offer",
        "segment": segment.pk,
        "channel": "sms",
        "template": "offer",
        "schedule": {"kind": "now"},
        **extra,
    }


def test_a_campaign_sent_now_and_its_progress(api_a, setup_a):
    response = api_a.post("/api/v1/campaigns", _body(setup_a))
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["state"], created["template"], created["segment"]) == ("running", "offer", setup_a.pk)
    assert created["schedule"] == {"kind": "now", "at": None, "weekdays": [], "time": None}
    connection.set_tenant(api_a.brand)
    campaign_run_process(run_id=CampaignRun.objects.get(campaign_id=created["id"]).pk)

    answer = api_a.get(f"/api/v1/campaigns/{created['id']}").json()
    assert answer["state"] == "done"
    progress = answer["progress"]
    assert (progress["recipients"], progress["messages"], progress["queued"], progress["skipped"]) == (
        3,
        3,
        2,
        1,
    )
    assert progress["skipped_by_reason"] == {"opted_out": 1}
    assert answer["runs"][0]["progress"] == progress and answer["runs"][0]["state"] == "done"
    listed = api_a.get("/api/v1/campaigns").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == created["id"]

    assert api_a.post(f"/api/v1/campaigns/{created['id']}/cancel").json()["progress"]["cancelled"] == 2
    assert error_of(api_a.post(f"/api/v1/campaigns/{created['id']}/cancel"), 409)["code"] == "campaign_state"


def test_a_weekly_campaign_is_scheduled_paused_and_resumed(api_a, setup_a):
    body = _body(setup_a, schedule={"kind": "weekly", "weekdays": ["monday", "thursday"], "time": "08:00"})
    created = api_a.post("/api/v1/campaigns", body).json()
    assert created["state"] == "scheduled" and created["next_run_at"]
    assert (
        created["schedule"]["weekdays"] == ["monday", "thursday"]
        and created["schedule"]["time"] == "08:00:00"
    )
    path = f"/api/v1/campaigns/{created['id']}"
    assert api_a.post(f"{path}/pause").json()["state"] == "paused"
    assert error_of(api_a.post(f"{path}/pause"), 409)["field"] == "state"
    assert api_a.post(f"{path}/resume").json()["state"] == "scheduled"
    draft = api_a.post("/api/v1/campaigns", _body(setup_a, draft=True)).json()
    assert draft["state"] == "draft"
    assert error_of(api_a.post(f"/api/v1/campaigns/{draft['id']}/resume"), 409)["code"] == "campaign_state"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"segment": "one"}, "segment"),
        ({"segment": 10**9}, "segment"),
        ({"channel": "fax"}, "channel"),
        ({"template": "missing"}, "template"),
        ({"channel": "email"}, "template"),
        ({"schedule": {"kind": "monthly"}}, "schedule.kind"),
        ({"schedule": {"kind": "at"}}, "schedule.at"),
        ({"schedule": {"kind": "at", "at": "2020-01-01T08:00:00+01:00"}}, "schedule.at"),
        ({"schedule": {"kind": "at", "at": "tomorrow"}}, "schedule.at"),
        ({"schedule": {"kind": "weekly", "time": "08:00"}}, "schedule.weekdays"),
        ({"schedule": {"kind": "weekly", "weekdays": ["someday"], "time": "08:00"}}, "schedule.weekdays[0]"),
        ({"schedule": {"kind": "weekly", "weekdays": ["monday"]}}, "schedule.time"),
        ({"schedule": {"kind": "weekly", "weekdays": ["monday"], "time": "25:00"}}, "schedule.time"),
        ({"draft": "maybe"}, "draft"),
    ],
)
def test_bad_inputs_name_the_field_and_write_nothing(api_a, setup_a, change, field):
    response = api_a.post("/api/v1/campaigns", {**_body(setup_a), **change})
    assert error_of(response, 400)["field"] == field
    connection.set_tenant(api_a.brand)
    assert not Campaign.objects.exists() and not CampaignRun.objects.exists() and not Message.objects.exists()


def test_the_body_must_be_an_object_and_unknown_ids_are_404(api_a, setup_a):
    assert error_of(api_a.post("/api/v1/campaigns", [1, 2]), 400)["field"] == "body"
    assert error_of(api_a.post("/api/v1/campaigns", {"segment": setup_a.pk}), 400)["field"] == "name"
    assert error_of(api_a.get("/api/v1/campaigns/999999"), 404)["field"] == "campaign_id"
    for action in ("pause", "resume", "cancel"):
        assert error_of(api_a.post(f"/api/v1/campaigns/999999/{action}"), 404)["field"] == "campaign_id"


def test_a_date_in_the_future_is_scheduled_for_it(api_a, setup_a):
    at = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    created = api_a.post(
        "/api/v1/campaigns", _body(setup_a, schedule={"kind": "at", "at": at.isoformat()})
    ).json()
    assert created["state"] == "scheduled"
    connection.set_tenant(api_a.brand)
    assert Campaign.objects.get(pk=created["id"]).next_run_at == at
