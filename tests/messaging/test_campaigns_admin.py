"""The backoffice's campaign pages: the form refuses what the API refuses, the progress page counts
while the campaign runs (reloading itself without a script) and its buttons POST with the CSRF
token."""

from __future__ import annotations

import pytest
from django.db import connection

from loyalty.models import Segment
from loyalty.services.members import consent_set
from messaging.models import Campaign, CampaignRun
from messaging.services.campaigns import campaign_run_process
from tests.factories import member_make, sending_hours_open, template_make

pytestmark = pytest.mark.django_db(transaction=False)

ADD = "/backoffice/messaging/campaign/add/"


def _form(segment: Segment, **extra) -> dict:
    values = {
        "name": "Offers",
        "segment": segment.pk,
        "channel": "sms",
        "template_code": "offer",
        "schedule": "now",
        "send_at_0": "",
        "send_at_1": "",
        "local_time": "",
    }
    return {**values, **extra}


@pytest.fixture
def segment_a(staff_a):
    sending_hours_open("sms")
    template_make("offer", body="{{ first_name }}: -20%")
    segment = Segment.objects.create(name="Admin campaign", filters={"tags": {"any": ["admin-campaign"]}})
    for index in range(2):
        member = member_make(tags=["admin-campaign"], language="en", phone=f"+3362000000{index}")
        consent_set(member=member, consents={"sms": True}, source="test")
    member_make(tags=["admin-campaign"], language="en")  # no phone
    return segment


def test_the_form_refuses_a_template_missing_on_the_channel_and_a_weekly_without_days(
    staff_a, segment_a, brand_a
):
    response = staff_a.post(ADD, _form(segment_a, channel="email"))
    assert response.status_code == 200
    assert "no email template with the code" in str(
        response.context["adminform"].form.errors["template_code"]
    )
    response = staff_a.post(ADD, _form(segment_a, schedule="weekly", local_time="08:00"))
    assert "weekdays" in response.context["adminform"].form.errors
    connection.set_tenant(brand_a)
    assert not Campaign.objects.exists()


def test_a_campaign_created_scheduled_and_followed_on_its_progress_page(staff_a, segment_a, brand_a):
    response = staff_a.post(ADD, _form(segment_a))
    assert response.status_code == 302, response.context["adminform"].form.errors
    connection.set_tenant(brand_a)
    campaign = Campaign.objects.get()
    progress_url = f"/backoffice/messaging/campaign/{campaign.pk}/progress/"
    assert response["Location"] == progress_url and campaign.state == Campaign.State.DRAFT

    page = staff_a.get(progress_url)
    html = page.content.decode()
    assert 'http-equiv="refresh"' not in html  # a draft does not move
    assert f'action="/backoffice/messaging/campaign/{campaign.pk}/schedule/"' in html
    assert "csrfmiddlewaretoken" in html and "<script>" not in html
    assert staff_a.get(f"/backoffice/messaging/campaign/{campaign.pk}/schedule/").status_code == 405

    assert staff_a.post(f"/backoffice/messaging/campaign/{campaign.pk}/schedule/").status_code == 302
    connection.set_tenant(brand_a)
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.RUNNING
    html = staff_a.get(progress_url).content.decode()
    assert 'http-equiv="refresh" content="5"' in html
    assert "/pause/" in html and "/cancel/" in html and "/schedule/" not in html

    connection.set_tenant(brand_a)
    campaign_run_process(run_id=CampaignRun.objects.get(campaign=campaign).pk)
    page = staff_a.get(progress_url)
    assert page.context["progress"].messages == 3 and page.context["progress"].queued == 2
    assert "no_phone" in page.content.decode()
    # A started campaign is read only.
    change = staff_a.get(f"/backoffice/messaging/campaign/{campaign.pk}/change/")
    assert set(change.context["adminform"].readonly_fields) >= {"segment", "template_code"}


def test_another_brands_campaign_page_is_a_404(staff_a, segment_a, brand_a, brand_b, staff_for):
    staff_a.post(ADD, _form(segment_a))
    connection.set_tenant(brand_a)
    campaign = Campaign.objects.get()
    staff_b = staff_for(brand_b)
    assert staff_b.get(f"/backoffice/messaging/campaign/{campaign.pk}/progress/").status_code == 404
    assert staff_b.post(f"/backoffice/messaging/campaign/{campaign.pk}/cancel/").status_code == 404
    connection.set_tenant(brand_a)
    assert Campaign.objects.get().state == Campaign.State.DRAFT
