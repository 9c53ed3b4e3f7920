"""Reads of campaigns and their progress (`messaging.services.campaigns` writes them): the
progress is counted from the campaign's message rows, by state and skip reason, in one query."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, QuerySet, Sum

from messaging.models import Campaign, CampaignRun, Message


@dataclass(frozen=True)
class Progress:
    """Where a campaign (or one of its runs) stands: `recipients` the segment held when its runs
    started; `messages` the rows written so far (one per member, skipped ones included); each
    state's count; the skipped ones by reason."""

    recipients: int
    messages: int
    queued: int = 0
    sending: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    cancelled: int = 0
    skipped_by_reason: dict[str, int] = field(default_factory=dict)


def _progress(messages: QuerySet[Message], recipients: int) -> Progress:
    counts: dict[str, int] = {}
    reasons: dict[str, int] = {}
    for state, reason, count in (
        messages.order_by().values_list("state", "skip_reason").annotate(n=Count("id"))
    ):
        counts[state] = counts.get(state, 0) + count
        if state == Message.State.SKIPPED:
            reasons[reason] = reasons.get(reason, 0) + count
    return Progress(
        recipients=recipients,
        messages=sum(counts.values()),
        **{state: counts.get(state, 0) for state in Message.State.values},
        skipped_by_reason=dict(sorted(reasons.items(), key=lambda item: (-item[1], item[0]))),
    )


def campaign_progress(*, campaign: Campaign) -> Progress:
    """Every run of the campaign together."""
    recipients = campaign.runs.aggregate(total=Sum("recipients"))["total"] or 0
    return _progress(Message.objects.filter(campaign=campaign), recipients)


def run_progress(*, run: CampaignRun) -> Progress:
    return _progress(Message.objects.filter(campaign_run=run), run.recipients)


def campaigns_list() -> QuerySet[Campaign]:
    return Campaign.objects.select_related("segment").order_by("-created_at", "-id")


def campaign_get(*, campaign_id: int) -> Campaign | None:
    return Campaign.objects.select_related("segment").filter(pk=campaign_id).first()


def campaign_runs(*, campaign: Campaign) -> QuerySet[CampaignRun]:
    return campaign.runs.order_by("-planned_at", "-id")
