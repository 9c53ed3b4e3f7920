"""Badges: awarded once per member when they reach a count of an event type, optionally counting
only events meeting conditions (10 approved damage reports: `attributes.status` equals `approved`).

Conditions use the rule engine's shape and vocabulary, `{"field", "op", "value"}`, restricted to
attribute equality (`op` "equals" on `attributes.<key>`, nested keys with dots): the count over the
member's whole history is then one SQL query (JSON containment on the member's events of that
type), including events recorded before the badge existed.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from loyalty.models import ActivityEvent, Badge, Member, MemberBadge

BADGE_FIELDS = ("code", "name", "description", "event_type", "conditions", "count_required")
CONDITION_OPS = ("equals",)
MISSING = object()


class BadgeInputError(ValueError):
    """Bad badge data; `errors` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items()))
        self.errors = errors


def badge_conditions_errors(conditions: Any) -> list[str]:
    """What is wrong with a list of badge conditions, each message naming the condition."""
    if not isinstance(conditions, list):
        return ['must be a list of {"field": "attributes.<key>", "op": "equals", "value": ...}']
    errors = []
    for index, condition in enumerate(conditions):
        where = f"condition {index + 1}"
        if not isinstance(condition, dict) or set(condition) != {"field", "op", "value"}:
            errors.append(f'{where}: needs exactly the keys "field", "op" and "value"')
            continue
        field = condition["field"]
        if not isinstance(field, str) or not field.startswith("attributes.") or field == "attributes.":
            errors.append(f"{where}: field must be 'attributes.<key>' (an attribute of the event)")
        if condition["op"] not in CONDITION_OPS:
            errors.append(f"{where}: op must be one of {', '.join(CONDITION_OPS)}")
        if isinstance(condition["value"], (dict, list)):
            errors.append(f"{where}: value must be a single value (text, number, true/false)")
    return errors


def _containment(conditions: list[dict]) -> dict:
    """The JSON the event's attributes must contain (`attributes.a.b == v` -> `{"a": {"b": v}}`)."""
    contained: dict = {}
    for condition in conditions:
        *parents, leaf = condition["field"].split(".")[1:]
        node = contained
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = condition["value"]
    return contained


def _event_matches(conditions: list[dict], attributes: dict) -> bool:
    for condition in conditions:
        value: Any = attributes
        for key in condition["field"].split(".")[1:]:
            value = value.get(key, MISSING) if isinstance(value, dict) else MISSING
        if value != condition["value"]:
            return False
    return True


def badge_validate(*, data: dict[str, Any], badge: Badge | None = None) -> Badge:
    """`badge` (or a new badge) with `data` applied and checked, not saved."""
    unknown = sorted(set(data) - set(BADGE_FIELDS))
    if unknown:
        raise BadgeInputError({field: ["is not a badge field"] for field in unknown})
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
        raise BadgeInputError(errors)
    return badge


def badge_save(*, data: dict[str, Any], badge: Badge | None = None) -> Badge:
    """Create or change a badge. Members already past the count get it on their next such event."""
    with transaction.atomic():
        badge = badge_validate(data=data, badge=badge)
        badge.save()
    return badge


def badges_evaluate(
    *, member: Member, events: list[ActivityEvent], badges: list[Badge] | None = None
) -> list[MemberBadge]:
    """Badges the member's new `events` make them reach (the events are stored; the member row is
    locked by the caller, so two events of one member never award the same badge twice). `badges`:
    the brand's badges, read once by a caller recording many events; no query when none counts
    these events."""
    if badges is None:
        badges = list(Badge.objects.filter(event_type__in={event.type for event in events}))
    candidates = [
        badge
        for badge in badges
        if any(
            event.type == badge.event_type and _event_matches(badge.conditions, event.attributes or {})
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
        counted = ActivityEvent.objects.filter(member=member, type=badge.event_type, reversed_at__isnull=True)
        if badge.conditions:
            counted = counted.filter(attributes__contains=_containment(badge.conditions))
        if counted[: badge.count_required].count() >= badge.count_required:
            holder, created = MemberBadge.objects.get_or_create(
                member=member, badge=badge, defaults={"awarded_at": timezone.now()}
            )
            if created:
                awarded.append(holder)
    return awarded
