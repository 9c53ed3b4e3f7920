"""Tenant isolation of campaigns: brand A's campaign never reaches brand B's members, B's key reads
and changes none of A's campaigns (404 by id on B's host, 401 with A's key there), and A cannot
name B's segment."""

from __future__ import annotations

import pytest
from django.db import connection

from loyalty.models import Segment
from loyalty.services.members import consent_set
from messaging.models import Campaign, CampaignRun, Message
from messaging.services.campaigns import campaign_create, campaign_run_process
from tests.factories import member_make, template_make
from tests.support import ApiClient, error_of

pytestmark = pytest.mark.django_db(transaction=False)


def _brand_with_members(brand, phone: str) -> Segment:
    connection.set_tenant(brand)
    template_make("offer", body="Offer", purpose="service")
    member = member_make("ISO-C1", language="en", phone=phone)
    consent_set(member=member, consents={"sms": True}, source="test")
    return Segment.objects.create(name="Everyone", filters={})


def _campaign_of_a(api_a) -> Campaign:
    segment = _brand_with_members(api_a.brand, "+33630000001")
    data = {"name": "A only", "segment": segment, "channel": "sms", "template_code": "offer"}
    return campaign_create(data=data)


def test_a_campaign_of_a_reaches_only_as_members(api_a, api_b):
    _brand_with_members(api_b.brand, "+33630000002")
    campaign = _campaign_of_a(api_a)
    run = CampaignRun.objects.get(campaign=campaign)
    campaign_run_process(run_id=run.pk)
    assert list(Message.objects.filter(campaign_run=run).values_list("recipient", flat=True)) == [
        "+33630000001"
    ]
    connection.set_tenant(api_b.brand)
    assert not Message.objects.exists() and not Campaign.objects.exists()


def test_bs_key_reads_and_changes_none_of_as_campaigns(api_a, api_b):
    campaign = _campaign_of_a(api_a)
    connection.set_tenant(api_b.brand)
    assert not Campaign.objects.filter(pk=campaign.pk).exists()
    path = f"/api/v1/campaigns/{campaign.pk}"
    assert error_of(api_b.get(path), 404)["field"] == "campaign_id"
    for action in ("pause", "resume", "cancel"):
        assert error_of(api_b.post(f"{path}/{action}"), 404)["field"] == "campaign_id"
    assert api_b.get("/api/v1/campaigns").json()["count"] == 0

    a_key_on_b = ApiClient(brand=api_b.brand, key=api_a.key)
    for response in (
        a_key_on_b.get(path),
        a_key_on_b.post(f"{path}/cancel"),
        a_key_on_b.get("/api/v1/campaigns"),
    ):
        assert error_of(response, 401)["field"] == "Authorization"
    connection.set_tenant(api_a.brand)
    assert Campaign.objects.get(pk=campaign.pk).state == Campaign.State.RUNNING


def test_a_segment_of_b_cannot_be_named_by_a(api_a, api_b):
    segment_a = _brand_with_members(api_a.brand, "+33630000001")
    segment_b = _brand_with_members(api_b.brand, "+33630000002")
    while segment_b.pk <= segment_a.pk:  # an id A has not got
        segment_b = Segment.objects.create(name=f"B {segment_b.pk}", filters={})
    body = {
        "name": "Intruder",
        "segment": segment_b.pk,
        "channel": "sms",
        "template": "offer",
        "schedule": {"kind": "now"},
    }
    assert error_of(api_a.post("/api/v1/campaigns", body), 400)["field"] == "segment"
    connection.set_tenant(api_a.brand)
    assert not Campaign.objects.exists()
