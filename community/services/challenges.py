"""Challenges (README "Community > Challenges"): staff define them (`challenge_save`), the sweep
pays the members who reached the count (`challenges_complete`, every 5 minutes by the beat task
`community.challenges_sweep_all`).

Exactly once: a completion is written under the member's row lock (`member_lock`), after checking
none exists, with the bonus credited through the ledger in the same transaction; the completion's
unique constraint (challenge, member) and the ledger entry's idempotency key
(`community:challenge:<challenge id>:<member id>`) refuse a second one whatever happens. Lock
order: the member's row only (one member at a time), then the completion row it inserts.

Cheap: a sweep reads only the events recorded since the last one (ids above the challenge's
`swept_event_id`, on the primary key's index), and counts only for the members who had one."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from community.models import Challenge, ChallengeCompletion
from community.selectors.challenges import (
    challenge_conditions,
    challenge_events,
    challenge_may_join,
    challenge_progress,
    challenges_to_sweep,
)
from core.errors import InvalidInput
from loyalty.engine import TIME_FIELDS, Condition, conditions_problems
from loyalty.models import ActivityEvent, LedgerEntry, Member
from loyalty.services.ledger import EntryCause, member_lock, points_credit
from messaging.selectors.variables import site_url
from messaging.triggers import trigger_fire
from tenants.selectors import brand_timezone

logger = logging.getLogger(__name__)

CHALLENGE_FIELDS = (
    "name",
    "description",
    "event_type",
    "conditions",
    "count_required",
    "starts_at",
    "ends_at",
    "bonus_points",
    "segment",
    "is_active",
)
# What makes the sweep read every event of the window again when it changes.
COUNTING_FIELDS = ("event_type", "conditions", "count_required", "starts_at", "ends_at", "segment_id")
# Events of the window may arrive late (a trip reported when the car is back): the sweep reads a
# challenge this long after it ended.
SWEEP_GRACE = timedelta(days=1)
# An event is read again by the next sweep when it was recorded this shortly before this one: a
# transaction still open when the sweep read the events commits a lower id than the sweep saw.
SWEEP_OVERLAP = timedelta(minutes=2)


def challenge_conditions_errors(conditions: Any) -> list[str]:
    """What is wrong with a challenge's conditions, each message naming the condition: the badges'
    conditions on the event's attributes, and its time (local_time, weekday, date)."""
    if not isinstance(conditions, list):
        return ['must be a list of {"field": "attributes.<key>" or "local_time", "op": ..., "value": ...}']
    errors = []
    for index, condition in enumerate(conditions):
        field = condition.get("field") if isinstance(condition, dict) else None
        if isinstance(field, str) and not field.startswith("attributes.") and field not in TIME_FIELDS:
            errors.append(f"[{index}].field: must be 'attributes.<key>' or one of {', '.join(TIME_FIELDS)}")
    return errors or conditions_problems(conditions)


def challenge_validate(*, data: dict[str, Any], challenge: Challenge | None = None) -> Challenge:
    """`challenge` (or a new one) with `data` applied and checked, not saved: field-named errors."""
    unknown = sorted(set(data) - set(CHALLENGE_FIELDS))
    if unknown:
        raise InvalidInput({field: ["is not a challenge field"] for field in unknown})
    challenge = challenge or Challenge()
    for field, value in data.items():
        setattr(challenge, field, value)
    errors: dict[str, list[str]] = {}
    try:
        challenge.full_clean(validate_constraints=False)
    except ValidationError as error:
        errors.update(error.message_dict)
    condition_errors = challenge_conditions_errors(challenge.conditions)
    if condition_errors:
        errors["conditions"] = condition_errors
    for field in ("count_required", "bonus_points"):
        if isinstance(getattr(challenge, field), int) and getattr(challenge, field) < 1:
            errors.setdefault(field, []).append("must be at least 1")
    if challenge.starts_at and challenge.ends_at and challenge.ends_at <= challenge.starts_at:
        errors["ends_at"] = ["must be after the start"]
    if errors:
        raise InvalidInput(errors)
    return challenge


def challenge_save(*, data: dict[str, Any], challenge: Challenge | None = None) -> Challenge:
    """Create or change (the fields in `data`) a challenge (checked by `challenge_validate`). A
    change of what counts makes the next sweep read the whole window again."""
    with transaction.atomic():
        locked = (
            Challenge.objects.select_for_update().get(pk=challenge.pk) if challenge and challenge.pk else None
        )
        before = _counting(locked) if locked else None
        challenge = challenge_validate(data=data, challenge=locked)
        if _counting(challenge) != before:
            challenge.swept_event_id = None
        challenge.save()
    return challenge


def _counting(challenge: Challenge) -> tuple:
    return tuple(getattr(challenge, field) for field in COUNTING_FIELDS)


def _event_id_before(at: datetime) -> int:
    """The last event id recorded before `at` (0: none): the primary key's index read backwards,
    over the events recorded since `at` only."""
    found = (
        ActivityEvent.objects.filter(received_at__lt=at).order_by("-id").values_list("id", flat=True).first()
    )
    return found or 0


def challenges_complete(*, member_ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Complete the running challenges (and those ended less than `SWEEP_GRACE` ago) for the members
    who reached the count: one `ChallengeCompletion` each, the bonus credited, the member told
    (`challenge_completed`) after commit. `member_ids`: only those members, whatever the sweep's
    mark; None: the members with events recorded since the last sweep. How many completed.
    Concurrent runs pay once (module docstring)."""
    now = now or timezone.now()
    mark = _event_id_before(now - SWEEP_OVERLAP)
    tz = brand_timezone()
    completed = 0
    for challenge in challenges_to_sweep(at=now, grace=SWEEP_GRACE):
        conditions = challenge_conditions(challenge)
        if conditions is None:
            continue
        events = challenge_events(challenge=challenge)
        if member_ids is not None:
            events = events.filter(member_id__in=member_ids)
        else:
            since = challenge.swept_event_id
            if since is None:  # never swept: from before the start (an event reported early)
                since = _event_id_before(challenge.starts_at - SWEEP_GRACE)
            events = events.filter(id__gt=since)
        candidates = (
            events.exclude(
                member_id__in=ChallengeCompletion.objects.filter(challenge=challenge).values("member_id")
            )
            .values_list("member_id", flat=True)
            .distinct()
        )
        for member_id in list(candidates):
            # Counted first without the lock, which recording an event takes too: most members
            # with a new event are not there yet, and are not held up by the sweep.
            counted = challenge_progress(
                member=Member(pk=member_id), challenge=challenge, conditions=conditions, tz=tz
            )
            if counted < challenge.count_required:
                continue
            if _complete(challenge=challenge, member_id=member_id, conditions=conditions, tz=tz, now=now):
                completed += 1
        if member_ids is None:
            Challenge.objects.filter(pk=challenge.pk).filter(
                Q(swept_event_id__isnull=True) | Q(swept_event_id__lt=mark)
            ).update(swept_event_id=mark)
    return completed


def _complete(
    *, challenge: Challenge, member_id: int, conditions: tuple[Condition, ...], tz: Any, now: datetime
) -> ChallengeCompletion | None:
    """The member's completion of the challenge, when they reached the count and have none yet."""
    with transaction.atomic():
        member = member_lock(member_id=member_id)
        if not challenge_may_join(challenge=challenge, member=member):
            return None
        if ChallengeCompletion.objects.filter(challenge=challenge, member=member).exists():
            return None  # paid by a concurrent sweep, which held the lock first
        count = challenge_progress(member=member, challenge=challenge, conditions=conditions, tz=tz)
        if count < challenge.count_required:
            return None
        entry = points_credit(
            member=member,
            points=challenge.bonus_points,
            kind=LedgerEntry.Kind.EARN,
            cause=EntryCause(
                reason=f"challenge completed: {challenge.name}",
                source=f"challenge:{challenge.pk}",
                idempotency_key=f"community:challenge:{challenge.pk}:{member.pk}",
            ),
            at=now,
        )
        completion = ChallengeCompletion.objects.create(
            challenge=challenge, member=member, completed_at=now, entry=entry
        )
        transaction.on_commit(lambda: _tell(completion=completion, member=member))
    return completion


def _tell(*, completion: ChallengeCompletion, member: Member) -> None:
    base = site_url()
    trigger_fire(
        kind="challenge_completed",
        member=member,
        variables={
            "points_earned": completion.challenge.bonus_points,
            "site_url": base,
            "challenge_name": completion.challenge.name,
            "challenges_url": f"{base.rstrip('/')}{reverse('community-challenges')}" if base else "",
        },
        dedupe_key=f"challenge:{completion.pk}",
    )
