"""Badges: awarded once per member when they reach a count of an event type, optionally counting
only events meeting conditions (10 approved damage reports: `attributes.status` equals `approved`).

Conditions are the rule engine's, on the event's attributes (`attributes.<key>`, nested keys with
dots), with its operators and comparisons (`loyalty.engine.attributes_hold`: 5, 5.0 and "5" are
equal for a badge as for a rule). The count covers the member's whole history, including events
recorded before the badge existed; conditions that SQL can test exactly (equality with text that is
not a number, or with true/false) narrow the events read with JSON containment.
"""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.errors import Conflict, InvalidInput
from loyalty.engine import Condition, attributes_hold, conditions_compile, conditions_problems
from loyalty.models import ActivityEvent, Badge, Member, MemberBadge
from loyalty.selectors.badges import badge_holder_count

BADGE_FIELDS = ("code", "name", "description", "event_type", "conditions", "count_required")

logger = logging.getLogger(__name__)


def badge_conditions_errors(conditions: Any) -> list[str]:
    """What is wrong with a list of badge conditions, each message naming the condition."""
    if not isinstance(conditions, list):
        return ['must be a list of {"field": "attributes.<key>", "op": ..., "value": ...}']
    errors = []
    for index, condition in enumerate(conditions):
        field = condition.get("field") if isinstance(condition, dict) else None
        if isinstance(field, str) and not field.startswith("attributes."):
            errors.append(f"[{index}].field: must be 'attributes.<key>' (an attribute of the event)")
    return errors or conditions_problems(conditions)


def _containment(conditions: tuple[Condition, ...]) -> tuple[dict, bool]:
    """JSON the attributes of every event meeting `conditions` contain, from the equalities SQL
    tests exactly (`attributes.a.b equals "x"` -> `{"a": {"b": "x"}}`; a number may be written
    "5", so not those), and whether that JSON says all the conditions say."""
    contained: dict = {}
    complete = True
    for condition in conditions:
        value = condition.compiled
        exact = isinstance(value, bool) or (isinstance(value, str) and not _number_like(value))
        if condition.op != "equals" or not exact:
            complete = False
            continue
        *parents, leaf = condition.field.split(".")[1:]
        node = contained
        for key in parents:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):  # `a` and `a.b` both compared: no event meets both
                complete = False
                break
        else:
            complete = complete and not isinstance(node.get(leaf), dict)
            node[leaf] = value
    return contained, complete


def _number_like(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def badge_validate(*, data: dict[str, Any], badge: Badge | None = None) -> Badge:
    """`badge` (or a new badge) with `data` applied and checked, not saved."""
    unknown = sorted(set(data) - set(BADGE_FIELDS))
    if unknown:
        raise InvalidInput({field: ["is not a badge field"] for field in unknown})
    badge = badge or Badge()
    for field, value in data.items():
        setattr(badge, field, value)
    errors: dict[str, list[str]] = {}
    try:
        badge.full_clean(validate_constraints=False)
    except ValidationError as error:
        errors.update(error.message_dict)
    condition_errors = badge_conditions_errors(badge.conditions)
    if condition_errors:
        errors["conditions"] = condition_errors
    if errors:
        raise InvalidInput(errors)
    return badge


def badge_save(*, data: dict[str, Any], badge: Badge | None = None) -> Badge:
    """Create or change (the fields in `data`) a badge. Members already past the count get it on
    their next such event."""
    with transaction.atomic():
        locked = Badge.objects.select_for_update().get(pk=badge.pk) if badge and badge.pk else None
        badge = badge_validate(data=data, badge=locked)
        badge.save()
    return badge


def badge_delete(*, badge: Badge) -> None:
    """Delete a badge nobody holds: a member's badges are their history, as tiers are."""
    with transaction.atomic():
        # The row lock waits for, and then holds off, an award being written (its foreign key).
        Badge.objects.select_for_update().filter(pk=badge.pk).first()
        held = badge_holder_count(badge=badge)
        if held:
            raise Conflict(f"{held} member(s) hold this badge, so it cannot be deleted", field="badge")
        Badge.objects.filter(pk=badge.pk).delete()


def badges_evaluate(
    *, member: Member, events: list[ActivityEvent], badges: list[Badge] | None = None
) -> list[MemberBadge]:
    """Badges the member's new `events` make them reach (the events are stored; the member row is
    locked by the caller, so two events of one member never award the same badge twice). `badges`:
    the brand's badges, read once by a caller recording many events; no query when none counts
    these events."""
    if badges is None:
        badges = list(Badge.objects.filter(event_type__in={event.type for event in events}))
    conditions = {}
    for badge in badges:
        if any(event.type == badge.event_type for event in events):
            try:
                conditions[badge.pk] = conditions_compile(badge.conditions, owner=f"badge {badge.code}")
            except ValueError:
                # Saved before badges took the rules' conditions (a null value, a key such as
                # "attributes.1st"): the badge counts nothing until it is saved again.
                logger.exception("badge %s has conditions the engine cannot read", badge.code)
    candidates = [
        badge
        for badge in badges
        if badge.pk in conditions
        and any(
            event.type == badge.event_type and attributes_hold(conditions[badge.pk], event.attributes or {})
            for event in events
        )
    ]
    if not candidates:
        return []
    held = set(
        MemberBadge.objects.filter(member=member, badge__in=candidates).values_list("badge_id", flat=True)
    )
    awarded = []
    for badge in candidates:
        if badge.pk in held:
            continue
        if _counted(member, badge, conditions[badge.pk]) >= badge.count_required:
            holder, created = MemberBadge.objects.get_or_create(
                member=member, badge=badge, defaults={"awarded_at": timezone.now()}
            )
            if created:
                awarded.append(holder)
    return awarded


def _counted(member: Member, badge: Badge, conditions: tuple[Condition, ...]) -> int:
    """The member's events counting towards `badge`, up to its count (one query)."""
    counted = ActivityEvent.objects.filter(member=member, type=badge.event_type, reversed_at__isnull=True)
    contained, complete = _containment(conditions)
    if contained:
        counted = counted.filter(attributes__contains=contained)
    if complete:
        return counted[: badge.count_required].count()
    found = 0
    for attributes in counted.values_list("attributes", flat=True).iterator(chunk_size=500):
        found += attributes_hold(conditions, attributes or {})
        if found == badge.count_required:
            break
    return found
