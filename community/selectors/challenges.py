"""Challenges as members see them (README "Community > Challenges"): which they take part in and
how far they are. A challenge counts the member's activity events of its `event_type` that
occurred between `starts_at` (included) and `ends_at` (excluded) and meet its `conditions`: the
badges' conditions on the event's attributes, plus the event's time in the brand's timezone
(`local_time`, `weekday`, `date`: "in happy hour"), compared by the rules' engine."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from django.db.models import QuerySet
from django.utils import timezone

from community.models import Challenge, ChallengeCompletion
from loyalty.engine import Condition, conditions_compile, event_conditions_hold
from loyalty.models import ActivityEvent, Member
from loyalty.selectors.segments import SegmentFilterError, segment_members
from tenants.selectors import brand_timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChallengeProgress:
    challenge: Challenge
    count: int  # events counted, at most the count required
    completion: ChallengeCompletion | None

    @property
    def percent(self) -> int:
        return min(100, self.count * 100 // self.challenge.count_required)

    @property
    def is_done(self) -> bool:
        return self.completion is not None


def challenge_conditions(challenge: Challenge) -> tuple[Condition, ...] | None:
    """The challenge's conditions compiled, or None when a stored one no longer parses (logged: the
    challenge counts nothing until it is saved again)."""
    try:
        return conditions_compile(challenge.conditions, owner=f"challenge {challenge.pk}")
    except (ValueError, KeyError, TypeError):
        logger.exception("challenge %s has conditions the engine cannot read", challenge.pk)
        return None


def challenge_events(*, challenge: Challenge) -> QuerySet[ActivityEvent]:
    """Events of the challenge's type in its window, not reversed (every member's)."""
    return ActivityEvent.objects.filter(
        type=challenge.event_type,
        occurred_at__gte=challenge.starts_at,
        occurred_at__lt=challenge.ends_at,
        reversed_at__isnull=True,
    )


def challenge_progress(
    *,
    member: Member,
    challenge: Challenge,
    conditions: tuple[Condition, ...] | None = None,
    tz: tzinfo | None = None,
) -> int:
    """How many of the member's events count towards the challenge, up to its count (one query on
    the events' (member, type, occurred_at) index). `conditions`, `tz`: compiled and read once by a
    caller counting for many members."""
    conditions = conditions if conditions is not None else challenge_conditions(challenge)
    if conditions is None:
        return 0
    tz = tz or brand_timezone()
    rows = (
        challenge_events(challenge=challenge).filter(member=member).values_list("occurred_at", "attributes")
    )
    found = 0
    for occurred_at, attributes in rows.iterator(chunk_size=500):
        found += event_conditions_hold(
            conditions, attributes=attributes or {}, local=occurred_at.astimezone(tz)
        )
        if found == challenge.count_required:
            break
    return found


def challenge_may_join(*, challenge: Challenge, member: Member | None) -> bool:
    """Whether the member takes part: an active member, in the challenge's segment if it has one."""
    if member is None or member.status != Member.Status.ACTIVE:
        return False
    if challenge.segment is None:
        return True
    try:
        return segment_members(segment=challenge.segment).filter(pk=member.pk).exists()
    except SegmentFilterError:
        return False  # a segment whose filters became invalid lets nobody in


def challenges_current(*, at: datetime | None = None) -> QuerySet[Challenge]:
    """Challenges on and running at `at` (begun, not ended), ending soonest first."""
    at = at or timezone.now()
    return (
        Challenge.objects.filter(is_active=True, starts_at__lte=at, ends_at__gt=at)
        .select_related("segment")
        .order_by("ends_at", "id")
    )


def challenges_for(*, member: Member | None, at: datetime | None = None) -> list[ChallengeProgress]:
    """The running challenges the member takes part in, with their progress, and the challenges they
    completed that are still running (a visitor: the challenges open to every member, no progress)."""
    at = at or timezone.now()
    running = list(challenges_current(at=at))
    if member is None:
        return [ChallengeProgress(c, 0, None) for c in running if c.segment_id is None]
    done = {
        completion.challenge_id: completion
        for completion in ChallengeCompletion.objects.filter(member=member, challenge__in=running)
    }
    tz = brand_timezone()
    shown = []
    for challenge in running:
        completion = done.get(challenge.pk)
        if completion is not None:
            shown.append(ChallengeProgress(challenge, challenge.count_required, completion))
        elif challenge_may_join(challenge=challenge, member=member):
            count = challenge_progress(member=member, challenge=challenge, tz=tz)
            shown.append(ChallengeProgress(challenge, count, None))
    return shown


def challenge_completions_of(*, member: Member) -> QuerySet[ChallengeCompletion]:
    """Every challenge the member completed, latest first."""
    return (
        ChallengeCompletion.objects.filter(member=member)
        .select_related("challenge", "entry")
        .order_by("-completed_at", "-id")
    )


def challenges_to_sweep(*, at: datetime, grace: timedelta) -> QuerySet[Challenge]:
    """Challenges the sweep reads at `at`: on, begun, and not ended more than `grace` ago (events
    of the window still arriving late)."""
    return Challenge.objects.filter(is_active=True, starts_at__lte=at, ends_at__gt=at - grace).order_by("id")
