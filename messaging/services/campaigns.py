"""Campaigns (README, "Messaging > Campaigns"): created and changed with one validation for the
backoffice and the API, scheduled, started when due (beat, `campaigns_start_due`), queued chunk by
chunk (`campaign_run_process`, a Celery task), paused, resumed and cancelled.

A run resolves the segment's members when it starts and takes them by ascending id, `CHUNK_SIZE`
at a time. Each chunk is one transaction: its messages are built by `message_build` (the one set
of rules: the template picked once per language, the consents read in one query), written by one
COPY (`core.db.rows_insert`) with the run's cursor, and their sends queued after commit, 100 per
task (`messages_send_queue`). A member the checks
refuse gets a row too (`skipped` with its reason), so the progress shows them. A run taken up
again after a crash goes on from its cursor, and a member who has a message of the run already is
passed over (the constraint `message_one_per_campaign_run` stands behind it).

Pausing stops the chunks and holds the messages not sent yet: `campaign_not_paused`, a check of the
sending service, keeps them waiting while the campaign is paused; resuming queues them again and
goes on with the chunks. Cancelling marks every message not sent yet `cancelled`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from core.db import rows_insert
from core.errors import Conflict, DomainError, InvalidInput, NotFound
from core.outbox import enqueue_on_commit, requeue_after, task_send
from loyalty.models import Consent, Segment
from loyalty.selectors.segments import SegmentFilterError, segment_members
from messaging.checks import CheckInput, Verdict, check_register
from messaging.models import Campaign, CampaignRun, Channel, Message, MessageTemplate
from messaging.selectors.templates import channel_settings_get, template_pick
from messaging.services.jobs import (
    campaign_run_job_advance,
    campaign_run_job_end,
    campaign_run_job_open,
    campaign_run_job_paused,
    campaign_run_jobs_end,
)
from messaging.services.sending import message_build
from tenants.selectors import brand_timezone, schema_current

# Members queued per transaction.
CHUNK_SIZE = 2_000
# Messages sent by one task (`messages_send_queue`).
SEND_BATCH = 100
# A run's task queues chunks this long, then queues itself again (the task time limit is 10 min).
RUN_SLICE_SECONDS = 120.0
# A run still queuing but untouched this long lost its task (a worker killed): beat queues it again.
RUN_STALE = timedelta(minutes=5)
# How long a message of a paused campaign waits before it is checked again (resuming sends at once).
PAUSE_HOLD = timedelta(hours=1)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CAMPAIGN_FIELDS = (
    "name",
    "segment",
    "channel",
    "template_code",
    "schedule",
    "send_at",
    "weekdays",
    "local_time",
)
# A campaign is changed only before it starts.
EDITABLE_STATES = (Campaign.State.DRAFT, Campaign.State.SCHEDULED)


# --- schedules -----------------------------------------------------------------------------------


def weekly_next(*, weekdays: Iterable[int], local_time: clock, after: datetime, tz: ZoneInfo) -> datetime:
    """The first moment after `after` that is one of `weekdays` (0 = Monday) at `local_time` on the
    wall clock of `tz`, in UTC: 08:00 in Paris is 07:00 UTC in winter, 06:00 UTC in summer. A time
    the clock skips (02:30 on the night it springs forward) is the same time after the gap's start
    (03:30); a time it shows twice (02:30 when it falls back) is the first of them."""
    days = set(weekdays)
    start = after.astimezone(tz).date()
    for offset in range(8):
        day = start + timedelta(days=offset)
        if day.weekday() not in days:
            continue
        # Compared in UTC: aware datetimes of one zone compare by their wall clock.
        candidate = datetime.combine(day, local_time, tzinfo=tz).astimezone(UTC)
        if candidate > after.astimezone(UTC):
            return candidate
    raise ValueError("a weekly schedule needs at least one weekday")


def campaign_next_run(*, campaign: Campaign, now: datetime) -> datetime | None:
    """When `campaign` is next sent, from `now` (None: never again)."""
    if campaign.schedule == Campaign.Schedule.NOW:
        return now
    if campaign.schedule == Campaign.Schedule.AT:
        return campaign.send_at
    if campaign.local_time is None:  # refused by `campaign_validate`
        return None
    return weekly_next(
        weekdays=campaign.weekdays, local_time=campaign.local_time, after=now, tz=brand_timezone()
    )


# --- create, change, schedule --------------------------------------------------------------------


def _segment(value: Any) -> Segment | None:
    if isinstance(value, Segment):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Segment.objects.filter(pk=value).first()
    return None


def campaign_validate(*, data: dict[str, Any], campaign: Campaign | None = None) -> Campaign:
    """`campaign` (or a new draft) with `data` applied and checked, not saved. `segment` is a segment
    of this brand (or its id); `template_code` must name a template of the campaign's channel; an
    "at" schedule needs `send_at`, a weekly one `weekdays` (0 = Monday ... 6) and `local_time`."""
    unknown = sorted(set(data) - set(CAMPAIGN_FIELDS))
    if unknown:
        raise InvalidInput({field: ["is not a campaign field"] for field in unknown})
    campaign = campaign or Campaign()
    if campaign.pk and campaign.state not in EDITABLE_STATES:
        raise Conflict(
            f"a {campaign.get_state_display().lower()} campaign cannot be changed",
            field="state",
            code="campaign_state",
        )
    errors: dict[str, list[str]] = {}
    for field, value in data.items():
        if field == "segment":
            segment = _segment(value)
            if segment is None:
                errors["segment"] = ["no segment with this id"]
            else:
                campaign.segment = segment
        else:
            setattr(campaign, field, value)
    if not campaign.name or not str(campaign.name).strip():
        errors.setdefault("name", ["this field is required"])
    elif len(campaign.name) > (longest := Campaign._meta.get_field("name").max_length or 0):
        errors["name"] = [f"at most {longest} characters"]
    if campaign.segment_id is None and "segment" not in errors:
        errors["segment"] = ["this field is required"]
    if campaign.channel not in Channel.values:
        errors["channel"] = [f"must be one of {', '.join(Channel.values)}"]
    elif not campaign.template_code:
        errors["template_code"] = ["this field is required"]
    elif not MessageTemplate.objects.filter(code=campaign.template_code, channel=campaign.channel).exists():
        errors["template_code"] = [f"no {campaign.channel} template with the code '{campaign.template_code}'"]
    errors.update(_schedule_errors(campaign))
    if errors:
        raise InvalidInput(errors)
    if campaign.schedule != Campaign.Schedule.AT:
        campaign.send_at = None
    if campaign.schedule != Campaign.Schedule.WEEKLY:
        campaign.weekdays, campaign.local_time = [], None
    else:
        campaign.weekdays = sorted(set(campaign.weekdays))
    return campaign


def _schedule_errors(campaign: Campaign) -> dict[str, list[str]]:
    if campaign.schedule not in Campaign.Schedule.values:
        return {"schedule": [f"must be one of {', '.join(Campaign.Schedule.values)}"]}
    errors: dict[str, list[str]] = {}
    if campaign.schedule == Campaign.Schedule.AT:
        if not isinstance(campaign.send_at, datetime) or timezone.is_naive(campaign.send_at):
            errors["send_at"] = ["a date and time with its offset is required for a campaign sent at a date"]
    if campaign.schedule == Campaign.Schedule.WEEKLY:
        days = campaign.weekdays
        if (
            not isinstance(days, list)
            or not days
            or not all(isinstance(day, int) and not isinstance(day, bool) and 0 <= day <= 6 for day in days)
        ):
            errors["weekdays"] = ["one day or more, 0 (Monday) to 6 (Sunday), for a weekly campaign"]
        if not isinstance(campaign.local_time, clock):
            errors["local_time"] = ["a time of day (HH:MM) is required for a weekly campaign"]
    return errors


def _campaign_locked(campaign_id: int) -> Campaign:
    campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
    if campaign is None:
        raise NotFound(f"no campaign with id {campaign_id}", field="id")
    return campaign


def campaign_save(*, data: dict[str, Any], campaign: Campaign | None = None) -> Campaign:
    """Create (a draft) or change (the fields in `data`, before it starts) a campaign; a scheduled
    campaign's next send follows its new schedule."""
    with transaction.atomic():
        locked = _campaign_locked(campaign.pk) if campaign and campaign.pk else None
        campaign = campaign_validate(data=data, campaign=locked)
        if campaign.state == Campaign.State.SCHEDULED:
            campaign.next_run_at = _next_run_checked(campaign=campaign, now=timezone.now())
        campaign.save()
    return campaign


def _next_run_checked(*, campaign: Campaign, now: datetime) -> datetime | None:
    if campaign.schedule == Campaign.Schedule.AT and campaign.send_at and campaign.send_at <= now:
        raise InvalidInput({"send_at": ["is in the past: choose a later date, or send it now"]})
    return campaign_next_run(campaign=campaign, now=now)


def _state_conflict(campaign: Campaign, action: str) -> Conflict:
    return Conflict(
        f"a {campaign.get_state_display().lower()} campaign cannot be {action}",
        field="state",
        code="campaign_state",
    )


def campaign_schedule(*, campaign_id: int, now: datetime | None = None) -> Campaign:
    """A draft campaign scheduled: sent at once ("now", the run starts here), at its date, or at
    its next weekly slot (beat starts the runs that are due)."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = _campaign_locked(campaign_id)
        if campaign.state != Campaign.State.DRAFT:
            raise _state_conflict(campaign, "scheduled")
        campaign.state = Campaign.State.SCHEDULED
        campaign.next_run_at = _next_run_checked(campaign=campaign, now=now)
        campaign.save(update_fields=["state", "next_run_at", "updated_at"])
        if campaign.next_run_at is not None and campaign.next_run_at <= now:
            _run_start(campaign=campaign, now=now)
    return campaign


def campaign_create(*, data: dict[str, Any], draft: bool = False) -> Campaign:
    """A campaign created and, unless `draft`, scheduled at once (what the API does)."""
    with transaction.atomic():
        campaign = campaign_save(data=data)
        if not draft:
            campaign = campaign_schedule(campaign_id=campaign.pk)
    return campaign


# --- starting the runs that are due --------------------------------------------------------------


def _run_start(*, campaign: Campaign, now: datetime) -> CampaignRun:
    """A run of `campaign` (locked) for its slot `next_run_at`, its task queued after commit; the
    campaign's next slot moves on (a weekly one's from `now`: a week missed is not sent twice)."""
    from messaging.tasks_campaigns import campaign_run_task  # the task module imports this one

    run = CampaignRun.objects.create(campaign=campaign, planned_at=campaign.next_run_at or now)
    try:
        run.recipients = segment_members(segment=campaign.segment).count()
    except SegmentFilterError as error:
        run.state, run.error, run.finished_at = CampaignRun.State.FAILED, f"the segment: {error}", now
    run.save(update_fields=["recipients", "state", "error", "finished_at", "updated_at"])
    campaign_run_job_open(run=run)
    campaign.next_run_at = (
        campaign_next_run(campaign=campaign, now=now)
        if campaign.schedule == Campaign.Schedule.WEEKLY
        else None
    )
    campaign.state = (
        Campaign.State.RUNNING if run.state == CampaignRun.State.RUNNING else _after_run(campaign)
    )
    campaign.save(update_fields=["state", "next_run_at", "updated_at"])
    if run.state == CampaignRun.State.RUNNING:
        enqueue_on_commit(campaign_run_task, run.pk)
    return run


def _after_run(campaign: Campaign) -> str:
    """A campaign's state once a run has ended: scheduled again if it is weekly, else done."""
    return Campaign.State.SCHEDULED if campaign.schedule == Campaign.Schedule.WEEKLY else Campaign.State.DONE


def campaigns_start_due(*, now: datetime | None = None) -> int:
    """Start a run of every scheduled campaign of the brand whose slot has come (beat, every
    minute); a campaign another beat is starting is left to it. How many were started."""
    now = now or timezone.now()
    started = 0
    with transaction.atomic():
        due = Campaign.objects.select_for_update(skip_locked=True).filter(
            state=Campaign.State.SCHEDULED, next_run_at__lte=now
        )
        for campaign in due:
            _run_start(campaign=campaign, now=now)
            started += 1
    return started


def campaign_runs_stalled(*, now: datetime | None = None) -> list[int]:
    """The runs still queuing whose task has not moved them for `RUN_STALE` (a worker killed,
    a broker that lost the task), touched so that the next look leaves them alone a while: beat
    queues their task again, which goes on from where they were."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            CampaignRun.objects.select_for_update(skip_locked=True)
            .filter(state=CampaignRun.State.RUNNING, updated_at__lt=now - RUN_STALE)
            .values_list("pk", flat=True)
        )
        CampaignRun.objects.filter(pk__in=ids).update(updated_at=now)
    return ids


# --- a run, chunk by chunk -----------------------------------------------------------------------


def _members_consents(*, member_ids: list[int], channel: str) -> dict[int, dict[str, bool]]:
    """Each member's consent on `channel`, for all of them in one query (no row: not in the map)."""
    rows = Consent.objects.filter(member_id__in=member_ids, channel=channel).values_list(
        "member_id", "granted"
    )
    return {member_id: {channel: granted} for member_id, granted in rows}


def _run_end(*, run: CampaignRun, campaign: Campaign, state: str, error: str = "") -> None:
    run.state, run.error, run.finished_at = state, error, timezone.now()
    run.save(update_fields=["state", "error", "finished_at", "updated_at"])
    campaign_run_job_end(run=run)
    if campaign.state == Campaign.State.RUNNING:
        campaign.state = _after_run(campaign)
        campaign.save(update_fields=["state", "updated_at"])


def _chunk(*, run_id: int, chunk_size: int, templates: dict[str, MessageTemplate | None]) -> bool:
    """Queue the run's next chunk of members (one transaction); False when nothing is left to do
    (the run has ended, or it is paused or cancelled)."""
    from messaging.tasks import messages_send_task  # the task module imports the sending service

    with transaction.atomic():
        campaign_id = CampaignRun.objects.filter(pk=run_id).values_list("campaign_id", flat=True).first()
        if campaign_id is None:
            return False
        # The campaign first, then the run: the order pause and cancel lock them in.
        campaign = (
            Campaign.objects.select_for_update(of=("self",)).select_related("segment").get(pk=campaign_id)
        )
        run = CampaignRun.objects.select_for_update().get(pk=run_id)
        if run.state != CampaignRun.State.RUNNING or campaign.state != Campaign.State.RUNNING:
            return False
        try:
            members = list(
                segment_members(segment=campaign.segment)
                .filter(pk__gt=run.members_done_to)
                .exclude(Exists(Message.objects.filter(campaign_run=run, member=OuterRef("pk"))))
                .select_related("tier")
                .order_by("pk")[:chunk_size]
            )
        except SegmentFilterError as error:
            _run_end(
                run=run, campaign=campaign, state=CampaignRun.State.FAILED, error=f"the segment: {error}"
            )
            return False
        if not members:
            _run_end(run=run, campaign=campaign, state=CampaignRun.State.DONE)
            return False
        consents = _members_consents(member_ids=[member.pk for member in members], channel=campaign.channel)
        channel_settings, now = channel_settings_get(), timezone.now()
        messages = []
        try:
            for member in members:
                if member.language not in templates:
                    templates[member.language] = template_pick(
                        code=campaign.template_code, channel=campaign.channel, language=member.language
                    )
                message = message_build(
                    member=member,
                    channel=campaign.channel,
                    template_code=campaign.template_code,
                    channel_settings=channel_settings,
                    now=now,
                    template=templates[member.language],
                    consents=consents.get(member.pk, {}),
                )
                message.campaign, message.campaign_run = campaign, run
                messages.append(message)
        except DomainError as error:  # the template was deleted or broken since the campaign was saved
            _run_end(run=run, campaign=campaign, state=CampaignRun.State.FAILED, error=error.message)
            return False
        rows_insert(list(messages))  # typed as a list of models (a list is invariant)
        run.members_done_to, run.chunks_done = members[-1].pk, run.chunks_done + 1
        run.save(update_fields=["members_done_to", "chunks_done", "updated_at"])
        campaign_run_job_advance(run=run, members=len(members))
        ready = [(m.pk, 0) for m in messages if m.state == Message.State.QUEUED and m.not_before is None]
        schema_name = schema_current()
        transaction.on_commit(
            lambda: messages_send_queue(task=messages_send_task, schema_name=schema_name, sends=ready),
            robust=True,
        )
    return True


def messages_send_queue(*, task: Any, schema_name: str, sends: list[tuple[int, int]]) -> int:
    """Queue a send of each (message id, attempts), after the commit that stored them, in batches
    of `SEND_BATCH`: one `task` (`messages_send_task`) per batch sends each in turn, so 100,000
    messages are 1,000 publishes, not 100,000. Each batch is one bounded attempt
    (`core.outbox.task_send`); at the first the broker refuses, the rest are left to the outbox
    sweeper (their `requeue_at`), as a batch a crash stops halfway is. How many were queued."""
    for start in range(0, len(sends), SEND_BATCH):
        batch = [list(send) for send in sends[start : start + SEND_BATCH]]
        if not task_send(task=task, schema_name=schema_name, args=(batch,)):
            return start
    return len(sends)


def campaign_run_process(
    *, run_id: int, chunk_size: int = CHUNK_SIZE, max_chunks: int | None = None, seconds: float | None = None
) -> bool:
    """Queue the run's members chunk by chunk until none is left, the run is paused or cancelled,
    `max_chunks` were queued or `seconds` have passed. True when there is more to do (the task
    queues itself again)."""
    started, done = time.monotonic(), 0
    templates: dict[str, MessageTemplate | None] = {}
    while _chunk(run_id=run_id, chunk_size=chunk_size, templates=templates):
        done += 1
        if (max_chunks is not None and done >= max_chunks) or (
            seconds is not None and time.monotonic() - started >= seconds
        ):
            return True
    return False


# --- pause, resume, cancel -----------------------------------------------------------------------


def _active_run(campaign: Campaign) -> CampaignRun | None:
    return (
        CampaignRun.objects.select_for_update()
        .filter(campaign=campaign, state__in=(CampaignRun.State.RUNNING, CampaignRun.State.PAUSED))
        .first()
    )


def campaign_pause(*, campaign_id: int) -> Campaign:
    """Stop queuing the campaign's members and hold its messages not sent yet (the check
    `campaign_not_paused`); a scheduled campaign starts no run while paused."""
    with transaction.atomic():
        campaign = _campaign_locked(campaign_id)
        if campaign.state not in (Campaign.State.SCHEDULED, Campaign.State.RUNNING):
            raise _state_conflict(campaign, "paused")
        run = _active_run(campaign)
        if run is not None:
            run.state = CampaignRun.State.PAUSED
            run.save(update_fields=["state", "updated_at"])
            campaign_run_job_paused(run=run, paused=True)
        campaign.state = Campaign.State.PAUSED
        campaign.save(update_fields=["state", "updated_at"])
    return campaign


def campaign_resume(*, campaign_id: int, now: datetime | None = None) -> Campaign:
    """Go on: a paused run queues its next chunks, the messages held are queued again at once (the
    checks decide again: sending hours may hold them on), and a campaign paused between runs is
    scheduled again (its next slot from now)."""
    from messaging.tasks import messages_send_task
    from messaging.tasks_campaigns import campaign_run_task

    now = now or timezone.now()
    with transaction.atomic():
        campaign = _campaign_locked(campaign_id)
        if campaign.state != Campaign.State.PAUSED:
            raise _state_conflict(campaign, "resumed")
        run = _active_run(campaign)
        if run is not None:
            run.state = CampaignRun.State.RUNNING
            run.save(update_fields=["state", "updated_at"])
            campaign_run_job_paused(run=run, paused=False)
            campaign.state = Campaign.State.RUNNING
            enqueue_on_commit(campaign_run_task, run.pk)
        else:
            campaign.state = Campaign.State.SCHEDULED
            if campaign.schedule == Campaign.Schedule.WEEKLY or campaign.next_run_at is None:
                campaign.next_run_at = campaign_next_run(campaign=campaign, now=now)
        campaign.save(update_fields=["state", "next_run_at", "updated_at"])
        held = Message.objects.filter(campaign=campaign, state=Message.State.QUEUED, not_before__gt=now)
        pairs = list(held.values_list("pk", "attempts"))
        held.update(not_before=None, requeue_at=now + requeue_after(), updated_at=now)
        schema_name = schema_current()
        transaction.on_commit(
            lambda: messages_send_queue(task=messages_send_task, schema_name=schema_name, sends=pairs),
            robust=True,
        )
    return campaign


def campaign_cancel(*, campaign_id: int) -> Campaign:
    """Stop for good: no further run, and every message of the campaign not sent yet is marked
    `cancelled` (one sending at this moment goes). How many were cancelled is in the progress."""
    now = timezone.now()
    with transaction.atomic():
        campaign = _campaign_locked(campaign_id)
        if campaign.state == Campaign.State.CANCELLED:
            raise _state_conflict(campaign, "cancelled")
        runs = CampaignRun.objects.filter(
            campaign=campaign, state__in=(CampaignRun.State.RUNNING, CampaignRun.State.PAUSED)
        )
        run_ids = list(runs.values_list("pk", flat=True))
        runs.update(state=CampaignRun.State.CANCELLED, finished_at=now, updated_at=now)
        Message.objects.filter(campaign=campaign, state=Message.State.QUEUED).update(
            state=Message.State.CANCELLED, requeue_at=None, updated_at=now
        )
        campaign.state, campaign.next_run_at = Campaign.State.CANCELLED, None
        campaign.save(update_fields=["state", "next_run_at", "updated_at"])
        campaign_run_jobs_end(run_ids=run_ids, state=CampaignRun.State.CANCELLED)
    return campaign


@check_register
def campaign_not_paused(subject: CheckInput) -> Verdict | None:
    """A message of a paused campaign waits (checked again after `PAUSE_HOLD`, or at once when the
    campaign is resumed)."""
    campaign_id = subject.message.campaign_id
    if not subject.sending or campaign_id is None:
        return None
    # The send's claim reads the campaign with the message (select_related): no query of its own.
    state = subject.message.campaign.state if subject.message.campaign else None
    if state == Campaign.State.PAUSED:
        return Verdict(wait_until=subject.now + PAUSE_HOLD)
    return None
