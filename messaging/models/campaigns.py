"""Campaigns: one template sent on one channel to a segment's members, now, at a date, or every week
at a local time (README, "Messaging > Campaigns"). Each send is a `CampaignRun`, whose members are
resolved when it starts and queued chunk by chunk (`messaging.services.campaigns`); its messages
carry `campaign` and `campaign_run`, and its progress is counted from them."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty.models import Segment

from .messages import Channel


class CampaignState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    CANCELLED = "cancelled", _("Cancelled")
    DONE = "done", _("Done")


class ScheduleKind(models.TextChoices):
    NOW = "now", _("Now")
    AT = "at", _("At a date")
    WEEKLY = "weekly", _("Every week")


class Campaign(models.Model):
    """What to send, to whom, and when. A weekly schedule is its weekdays (0 = Monday) and a local
    time in the brand's timezone; `next_run_at` is the next send (UTC), when beat starts a run."""

    State = CampaignState
    Schedule = ScheduleKind

    name = models.CharField(max_length=120)
    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="campaigns")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    template_code = models.SlugField(max_length=64, help_text=_("the code of a template of this channel"))
    schedule = models.CharField(max_length=8, choices=ScheduleKind.choices, default=ScheduleKind.NOW)
    send_at = models.DateTimeField(null=True, blank=True, help_text=_("when it is sent (“at a date”)"))
    weekdays = ArrayField(
        models.PositiveSmallIntegerField(),
        default=list,
        blank=True,
        help_text=_("the days it is sent on (“every week”): 0 for Monday to 6 for Sunday"),
    )
    local_time = models.TimeField(
        null=True, blank=True, help_text=_("the time it is sent at (“every week”), in the brand's timezone")
    )
    state = models.CharField(max_length=16, choices=CampaignState.choices, default=CampaignState.DRAFT)
    next_run_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="campaign_channel"),
            models.CheckConstraint(condition=Q(state__in=CampaignState.values), name="campaign_state"),
            models.CheckConstraint(condition=Q(schedule__in=ScheduleKind.values), name="campaign_schedule"),
            models.CheckConstraint(
                condition=~Q(schedule=ScheduleKind.AT) | Q(send_at__isnull=False), name="campaign_at_has_date"
            ),
            models.CheckConstraint(
                condition=~Q(schedule=ScheduleKind.WEEKLY) | (Q(local_time__isnull=False) & ~Q(weekdays=[])),
                name="campaign_weekly_has_days_and_time",
            ),
        ]
        indexes = [
            models.Index(fields=["next_run_at"], name="campaign_due", condition=Q(state="scheduled")),
        ]

    def __str__(self) -> str:
        return self.name


class RunState(models.TextChoices):
    RUNNING = "running", _("Queuing")
    PAUSED = "paused", _("Paused")
    CANCELLED = "cancelled", _("Cancelled")
    DONE = "done", _("All queued")
    FAILED = "failed", _("Failed")


class CampaignRun(models.Model):
    """One send of a campaign (a recurring one has one per week day it ran). Its members are queued
    in chunks by ascending id; `members_done_to` is the last member id whose message (or skip) is
    committed, so a run taken up again after a crash goes on from there."""

    State = RunState

    # No index of its own: campaign_run_one_per_slot (campaign, planned_at) leads with it.
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="runs", db_index=False)
    planned_at = models.DateTimeField(help_text=_("the slot it was started for"))
    state = models.CharField(max_length=16, choices=RunState.choices, default=RunState.RUNNING)
    recipients = models.PositiveIntegerField(default=0, help_text=_("the segment's members when it started"))
    members_done_to = models.BigIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-planned_at", "-id"]
        constraints = [
            # A slot is run once, however many beats or workers see it due.
            models.UniqueConstraint(fields=["campaign", "planned_at"], name="campaign_run_one_per_slot"),
            models.CheckConstraint(condition=Q(state__in=RunState.values), name="campaign_run_state"),
        ]
        indexes = [
            models.Index(fields=["updated_at"], name="campaign_run_active", condition=Q(state="running"))
        ]

    def __str__(self) -> str:
        return f"{self.campaign} at {self.planned_at:%Y-%m-%d %H:%M}"
