"""A campaign end to end with a real Celery worker: scheduled "now", its run queued by the worker,
each message sent once to the local fake Twilio, and the progress read while it goes."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from loyalty.models import Segment
from loyalty.services.members import consent_set
from messaging.models import Campaign
from messaging.selectors.campaigns import campaign_progress
from messaging.services.campaigns import campaign_create
from tests.factories import member_make, sending_hours_open, template_make

pytestmark = pytest.mark.slow


def test_a_campaign_is_queued_and_sent_by_the_worker_once_each(
    fresh_brand, celery_worker, fake_twilio, twilio_account
):
    connection.set_tenant(fresh_brand)
    twilio_account(fake_twilio)
    sending_hours_open("sms")
    template_make("offer", body="{{ first_name }}, -20% this week")
    phones = [f"+3364000000{index}" for index in range(4)]
    for phone in phones:
        member = member_make(first_name="Lou", phone=phone, language="en")
        consent_set(member=member, consents={"sms": True}, source="test")
    consent_set(member=member_make(language="en"), consents={"sms": True}, source="test")  # no phone
    segment = Segment.objects.create(name="All", filters={})

    campaign = campaign_create(
        data={"name": "Offer", "segment": segment, "channel": "sms", "template_code": "offer"}
    )

    requests = fake_twilio.wait_for(4)
    assert sorted(request.form["To"][0] for request in requests) == phones
    assert {request.form["Body"][0] for request in requests} == {"Lou, -20% this week"}
    deadline = time.monotonic() + 30
    while (progress := campaign_progress(campaign=campaign)).sent < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (progress.messages, progress.sent, progress.skipped_by_reason) == (5, 4, {"no_phone": 1})
    assert Campaign.objects.get(pk=campaign.pk).state == Campaign.State.DONE
    time.sleep(1)
    assert len(fake_twilio.requests) == 4  # once each
