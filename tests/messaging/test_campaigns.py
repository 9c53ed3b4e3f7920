"""Campaigns through the real services, in brand A's schema: a segment's members get one message
each (the ones the checks refuse a skipped row with its reason), a weekly slot in the brand's
timezone across DST, pause, resume and cancel, a run taken up again after a crash in the middle,
and the progress counted from the messages."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.errors import Conflict, InvalidInput
from loyalty.models import Segment
from loyalty.services.members import consent_set
from messaging.models import Campaign, CampaignRun, Message
from messaging.selectors.campaigns import campaign_progress, run_progress
from messaging.services.campaigns import (
    PAUSE_HOLD,
    RUN_STALE,
    campaign_cancel,
    campaign_create,
    campaign_pause,
    campaign_resume,
    campaign_run_process,
    campaign_runs_stalled,
    campaign_save,
    campaign_schedule,
    campaigns_start_due,
    weekly_next,
)
from messaging.services.sending import message_send
from messaging.tasks_campaigns import campaigns_due_all_task
from tests.factories import member_make, sending_hours_open, template_make

pytestmark = pytest.mark.django_db(transaction=False)

TAG = "campaign-test"
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def _any_hour(request):
    """Marketing SMS may leave at the hour the test runs (France's default hours hold them at night)."""
    if "in_a" in request.fixturenames:
        request.getfixturevalue("in_a")
        sending_hours_open("sms")


def _member(phone: str | None = "+33600000000", consent: bool | None = True, **extra):
    member = member_make(tags=[TAG], language="en", first_name="Camille", phone=phone or "", **extra)
    if consent is not None:
        consent_set(member=member, consents={"sms": consent}, source="test")
    return member


def _members(count: int) -> list:
    return [_member(phone=f"+336000000{index:02d}") for index in range(count)]


def _campaign(**data) -> Campaign:
    segment = Segment.objects.create(
        name=f"Campaign test {Segment.objects.count()}", filters={"tags": {"any": [TAG]}}
    )
    template_make("offer", body="{{ first_name }}, -20% this week", purpose="marketing")
    values = {"name": "Weekly offer", "segment": segment, "channel": "sms", "template_code": "offer"}
    return campaign_create(data={**values, **data}, draft=True)


def _started(**data) -> CampaignRun:
    campaign = _campaign(**data)
    campaign_schedule(campaign_id=campaign.pk)
    return CampaignRun.objects.get(campaign=campaign)


def test_a_segment_gets_one_message_each_and_the_ones_refused_a_reason(in_a):
    sent_to = _members(3)
    no_phone = _member(phone=None)
    no_consent = _member(phone="+33611111111", consent=None)
    opted_out = _member(phone="+33622222222", consent=False)
    member_make(language="en", phone="+33633333333")  # not in the segment
    run = _started()
    assert run.campaign.state == Campaign.State.RUNNING and run.recipients == 6

    assert campaign_run_process(run_id=run.pk) is False
    messages = {message.member_id: message for message in Message.objects.filter(campaign_run=run)}
    assert len(messages) == 6 and Message.objects.filter(campaign=run.campaign).count() == 6
    for member in sent_to:
        message = messages[member.pk]
        assert (message.state, message.body, message.recipient) == (
            "queued",
            "Camille, -20% this week",
            member.phone,
        )
    assert {member.pk: messages[member.pk].skip_reason for member in (no_phone, no_consent, opted_out)} == {
        no_phone.pk: "no_phone",
        no_consent.pk: "no_consent",
        opted_out.pk: "opted_out",
    }
    run.refresh_from_db()
    assert run.state == CampaignRun.State.DONE and run.finished_at is not None
    assert Campaign.objects.get(pk=run.campaign_id).state == Campaign.State.DONE

    for member in sent_to:
        message_send(message_id=messages[member.pk].pk, attempts=0)
    progress = campaign_progress(campaign=run.campaign)
    assert (progress.recipients, progress.messages, progress.queued, progress.delivered) == (6, 6, 0, 3)
    assert progress.skipped == 3
    assert progress.skipped_by_reason == {"no_consent": 1, "no_phone": 1, "opted_out": 1}
    assert run_progress(run=run) == progress


def test_a_chunk_costs_the_same_queries_for_few_members_or_many(in_a):
    def queries_for(count: int) -> int:
        _members(count)
        run = _started()
        with CaptureQueriesContext(connection) as queries:
            campaign_run_process(run_id=run.pk, max_chunks=1)
        Message.objects.filter(campaign_run=run).delete()
        return len(queries)

    assert queries_for(2) == queries_for(30)


def test_the_weekly_slot_is_the_brands_wall_clock_across_dst():
    monday_8 = {"weekdays": [0], "local_time": time(8, 0)}
    # Winter: 08:00 in Paris is 07:00 UTC; the Monday after the spring change, 06:00 UTC.
    assert weekly_next(**monday_8, after=datetime(2026, 3, 23, 6, 0, tzinfo=UTC), tz=PARIS) == datetime(
        2026, 3, 23, 7, 0, tzinfo=UTC
    )
    assert weekly_next(**monday_8, after=datetime(2026, 3, 23, 7, 0, tzinfo=UTC), tz=PARIS) == datetime(
        2026, 3, 30, 6, 0, tzinfo=UTC
    )
    # Back to winter time on 25 October 2026.
    assert weekly_next(**monday_8, after=datetime(2026, 10, 20, tzinfo=UTC), tz=PARIS) == datetime(
        2026, 10, 26, 7, 0, tzinfo=UTC
    )
    # New York changes on other days (8 March): the same Monday 08:00 is 12:00 UTC there.
    assert weekly_next(
        **monday_8, after=datetime(2026, 3, 10, tzinfo=UTC), tz=ZoneInfo("America/New_York")
    ) == datetime(2026, 3, 16, 12, 0, tzinfo=UTC)
    # A time the clock skips (02:30 on 29 March) is the time after the gap's start; one it shows
    # twice (02:30 on 25 October), the first of them.
    sunday_2_30 = {"weekdays": [6], "local_time": time(2, 30)}
    assert weekly_next(**sunday_2_30, after=datetime(2026, 3, 28, tzinfo=UTC), tz=PARIS) == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC
    )
    assert weekly_next(**sunday_2_30, after=datetime(2026, 10, 24, tzinfo=UTC), tz=PARIS) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
    # Several days: the nearest.
    assert weekly_next(
        weekdays=[0, 3], local_time=time(8, 0), after=datetime(2026, 3, 24, tzinfo=UTC), tz=PARIS
    ) == datetime(2026, 3, 26, 7, 0, tzinfo=UTC)


def test_a_weekly_campaign_runs_at_each_slot_once_and_is_scheduled_again(in_a):
    _members(2)
    campaign = _campaign(schedule="weekly", weekdays=[0], local_time=time(8, 0))
    campaign_schedule(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    slot = campaign.next_run_at
    local = slot.astimezone(ZoneInfo(in_a.timezone))
    assert (campaign.state, local.weekday(), local.time()) == ("scheduled", 0, time(8, 0))
    assert campaigns_start_due(now=slot - timedelta(seconds=1)) == 0

    assert campaigns_start_due(now=slot + timedelta(seconds=5)) == 1
    assert campaigns_start_due(now=slot + timedelta(seconds=6)) == 0  # one run per slot
    run = CampaignRun.objects.get(campaign=campaign)
    campaign.refresh_from_db()
    assert (run.planned_at, campaign.state) == (slot, Campaign.State.RUNNING)
    assert campaign.next_run_at == weekly_next(
        weekdays=[0], local_time=time(8, 0), after=slot + timedelta(seconds=5), tz=ZoneInfo(in_a.timezone)
    )
    campaign_run_process(run_id=run.pk)
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.SCHEDULED and run_progress(run=run).messages == 2


def test_pause_holds_resume_goes_on_cancel_stops(in_a):
    members = _members(5)
    run = _started()
    assert campaign_run_process(run_id=run.pk, chunk_size=2, max_chunks=1) is True
    first = Message.objects.filter(campaign_run=run).order_by("member_id")
    assert [message.member_id for message in first] == [members[0].pk, members[1].pk]

    campaign_pause(campaign_id=run.campaign_id)
    assert campaign_run_process(run_id=run.pk, chunk_size=2) is False
    assert Message.objects.filter(campaign_run=run).count() == 2
    held = first[0]
    result = message_send(message_id=held.pk, attempts=0)
    held.refresh_from_db()
    assert result is not None and held.state == Message.State.QUEUED
    assert held.not_before > timezone.now() + PAUSE_HOLD - timedelta(minutes=1)
    with pytest.raises(Conflict):
        campaign_pause(campaign_id=run.campaign_id)

    campaign_resume(campaign_id=run.campaign_id)
    held.refresh_from_db()
    assert held.not_before is None
    message_send(message_id=held.pk, attempts=0)
    held.refresh_from_db()
    assert held.state == Message.State.DELIVERED
    assert campaign_run_process(run_id=run.pk, chunk_size=2, max_chunks=1) is True
    assert Message.objects.filter(campaign_run=run).count() == 4

    campaign_cancel(campaign_id=run.campaign_id)
    assert campaign_run_process(run_id=run.pk, chunk_size=2) is False
    progress = campaign_progress(campaign=run.campaign)
    assert (progress.messages, progress.delivered, progress.cancelled, progress.queued) == (4, 1, 3, 0)
    assert message_send(message_id=first[1].pk, attempts=0) is None
    run.refresh_from_db()
    assert run.state == CampaignRun.State.CANCELLED
    with pytest.raises(Conflict):
        campaign_resume(campaign_id=run.campaign_id)


CRASH = """
CREATE FUNCTION campaign_test_crash() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.member_id = %s THEN RAISE EXCEPTION 'the worker died'; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER campaign_test_crash BEFORE INSERT ON messaging_message
    FOR EACH ROW EXECUTE FUNCTION campaign_test_crash();
"""


def test_a_run_taken_up_after_a_crash_in_the_middle_writes_no_second_message(in_a):
    members = _members(6)
    run = _started()
    # The third chunk dies while its messages are written (the trigger is rolled back with the test).
    with connection.cursor() as cursor:
        cursor.execute(CRASH % members[4].pk)
    with pytest.raises(Exception, match="the worker died"):
        campaign_run_process(run_id=run.pk, chunk_size=2)
    run.refresh_from_db()
    assert (run.state, run.chunks_done, run.members_done_to) == ("running", 2, members[3].pk)
    assert Message.objects.filter(campaign_run=run).count() == 4
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER campaign_test_crash ON messaging_message")

    # Taken up (beat finds it stalled), and even from a cursor behind what was written: no duplicate.
    assert campaign_runs_stalled(now=timezone.now() + RUN_STALE + timedelta(seconds=1)) == [run.pk]
    CampaignRun.objects.filter(pk=run.pk).update(members_done_to=0)
    assert campaign_run_process(run_id=run.pk, chunk_size=2) is False
    assert campaign_run_process(run_id=run.pk, chunk_size=2) is False
    rows = list(Message.objects.filter(campaign_run=run).values_list("member_id", flat=True))
    assert sorted(rows) == sorted(member.pk for member in members)
    again = Message.objects.filter(campaign_run=run).first()
    again.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        again.save()


def test_a_campaign_is_refused_with_the_field_at_fault_and_changed_only_before_it_starts(in_a):
    campaign = _campaign()
    cases = [
        ({"template_code": "nope"}, "template_code"),
        ({"channel": "email"}, "template_code"),  # "offer" exists on SMS only
        ({"segment": 10**9}, "segment"),
        ({"name": ""}, "name"),
        ({"schedule": "monthly"}, "schedule"),
        ({"schedule": "at", "send_at": None}, "send_at"),
        ({"schedule": "weekly", "weekdays": [], "local_time": time(8, 0)}, "weekdays"),
        ({"schedule": "weekly", "weekdays": [7], "local_time": time(8, 0)}, "weekdays"),
        ({"schedule": "weekly", "weekdays": [1], "local_time": None}, "local_time"),
        ({"colour": "red"}, "colour"),
    ]
    for data, field in cases:
        with pytest.raises(InvalidInput) as refused:
            campaign_save(data=data, campaign=campaign)
        assert field in refused.value.errors, (data, refused.value.errors)
    campaign.refresh_from_db()
    assert (campaign.template_code, campaign.schedule) == ("offer", "now")

    past = campaign_save(
        data={"schedule": "at", "send_at": timezone.now() - timedelta(hours=1)}, campaign=campaign
    )
    with pytest.raises(InvalidInput) as refused:
        campaign_schedule(campaign_id=past.pk)
    assert "send_at" in refused.value.errors
    campaign_save(data={"schedule": "now"}, campaign=campaign)
    campaign_schedule(campaign_id=campaign.pk)
    with pytest.raises(Conflict):
        campaign_save(data={"name": "Changed"}, campaign=campaign)
    with pytest.raises(Conflict):
        campaign_schedule(campaign_id=campaign.pk)


def test_an_at_campaign_starts_when_its_date_comes(in_a):
    _members(1)
    at = timezone.now() + timedelta(days=2)
    campaign = _campaign(schedule="at", send_at=at)
    campaign_schedule(campaign_id=campaign.pk)
    assert campaigns_start_due() == 0
    assert campaigns_start_due(now=at) == 1
    campaign.refresh_from_db()
    assert (campaign.state, campaign.next_run_at) == (Campaign.State.RUNNING, None)
    assert CampaignRun.objects.get(campaign=campaign).planned_at == at


def test_beat_starts_the_campaigns_due_in_every_brand(in_a):
    _members(1)
    campaign = _campaign(schedule="at", send_at=timezone.now() + timedelta(hours=1))
    campaign_schedule(campaign_id=campaign.pk)
    Campaign.objects.filter(pk=campaign.pk).update(next_run_at=timezone.now() - timedelta(seconds=1))
    assert campaigns_due_all_task() == 1
    assert connection.schema_name == in_a.schema_name
    assert CampaignRun.objects.get(campaign=campaign).recipients == 1
    assert campaigns_due_all_task() == 0
