"""Earning rules: create, change and delete them, with one validation for the backoffice form and the
API (`/api/v1/rules`), so a rule a brand keeps in its own repository is checked like one typed in.

What the fields mean is the engine's business (`loyalty.engine`); this module refuses any rule the
engine could not evaluate or that would mean nothing (a multiplier with its own cap, a limit
without a period), each error naming its field.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.audit import audit_deleting, audit_saved, audit_snapshot
from core.errors import InvalidInput
from loyalty.engine import conditions_problems
from loyalty.models import EarningRule, EventType, LedgerEntry
from tenants.selectors import brand_timezone

RULE_FIELDS = (
    "name",
    "event_type",
    "conditions",
    "item_conditions",
    "award_type",
    "points",
    "points_per_unit",
    "rounding",
    "multiplier",
    "percent",
    "apply_tier_multiplier",
    "max_points_per_event",
    "limit_period",
    "limit_points",
    "global_budget",
    "beneficiary",
    "priority",
    "stop_after",
    "is_active",
    "active_from",
    "active_until",
)
_NULLABLE = {"max_points_per_event", "limit_points", "global_budget", "active_from", "active_until"}
_LIST_FIELDS = {"conditions", "item_conditions"}
_DATETIME_FIELDS = {"active_from", "active_until"}


def rule_validate(*, data: dict, instance: EarningRule | None = None) -> dict:
    """The rule's values with `data` applied over `instance` (or the defaults), checked and
    converted (numbers, dates in the brand's timezone); raises InvalidInput naming each field."""
    errors: dict[str, list[str]] = {}
    for field in sorted(set(data) - set(RULE_FIELDS)):
        errors[field] = ["is kept by the engine" if field == "budget_used" else "is not a rule field"]
    rule = (
        EarningRule(**{field: getattr(instance, field) for field in RULE_FIELDS})
        if instance
        else EarningRule()
    )
    if instance is not None:
        rule.pk, rule.budget_used = instance.pk, instance.budget_used
    for field in set(data) & set(RULE_FIELDS):
        value = data[field]
        if value is None and field not in _NULLABLE:
            value = [] if field in _LIST_FIELDS else ""
        if field in _DATETIME_FIELDS and value is not None and not isinstance(value, str | date):
            # Django's own conversion would raise a TypeError (a 500) on a number or a list.
            errors[field] = ["must be a date and time (ISO 8601, such as 2026-05-04T18:00) or null"]
            continue
        setattr(rule, field, value)
    try:
        rule.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        errors.update({field: list(messages) for field, messages in error.message_dict.items()})
    _check(rule, errors)
    if errors:
        raise InvalidInput(errors)
    for field in ("active_from", "active_until"):
        value = getattr(rule, field)
        if value is not None and timezone.is_naive(value):
            setattr(rule, field, timezone.make_aware(value, brand_timezone()))
    if rule.active_from and rule.active_until and rule.active_until <= rule.active_from:
        raise InvalidInput({"active_until": ["must be after active_from"]})
    return {field: getattr(rule, field) for field in RULE_FIELDS}


def _check(rule: EarningRule, errors: dict[str, list[str]]) -> None:
    """The checks beyond each field's type, added to `errors` for fields whose type is right."""

    def add(field: str, message: str) -> None:
        if field not in errors:
            errors[field] = [message]

    if "event_type" not in errors:
        if rule.event_type == "refund":
            add("event_type", "a refund reverses what its original event earned; no rule applies to it")
        elif not EventType.objects.filter(code=rule.event_type).exists():
            add("event_type", f"'{rule.event_type}' is not an event type of this programme")
    for field, item in (("conditions", False), ("item_conditions", True)):
        if field not in errors:
            problems = conditions_problems(getattr(rule, field), item=item)
            if problems:
                errors[field] = [f"{field}{p}" if p.startswith("[") else f"{field} {p}" for p in problems]
    award = rule.award_type
    if "award_type" in errors:
        return
    if "points" not in errors:
        if award in (EarningRule.Award.FIXED, EarningRule.Award.PER_ITEM) and rule.points < 1:
            add("points", f"a {award} award needs points (1 or more)")
        elif award not in (EarningRule.Award.FIXED, EarningRule.Award.PER_ITEM) and rule.points:
            add("points", "only fixed and per-item awards use points")
    if "points_per_unit" not in errors:
        per_unit = Decimal(rule.points_per_unit)
        if award == EarningRule.Award.PER_AMOUNT and per_unit <= 0:
            add("points_per_unit", "a per-amount award needs points per currency unit (more than 0)")
        elif award != EarningRule.Award.PER_AMOUNT and per_unit:
            add("points_per_unit", "only a per-amount award uses points per currency unit")
    if "multiplier" not in errors:
        multiplier = Decimal(rule.multiplier)
        if award == EarningRule.Award.MULTIPLIER and (multiplier <= 0 or multiplier == 1):
            add("multiplier", "a multiplier award needs a multiplier above 0 and other than 1")
        elif award != EarningRule.Award.MULTIPLIER and multiplier != 1:
            add("multiplier", "only a multiplier award uses a multiplier (leave it at 1)")
    if "percent" not in errors:
        percent = Decimal(rule.percent)
        if award == EarningRule.Award.PERCENTAGE and percent <= 0:
            add("percent", "a percentage award needs a percent above 0 (at most 100)")
        elif award != EarningRule.Award.PERCENTAGE and percent:
            add("percent", "only a percentage award uses a percent (leave it at 0)")
    if award == EarningRule.Award.PERCENTAGE and rule.beneficiary != EarningRule.Beneficiary.SALES_REP:
        add("beneficiary", "a percentage award pays the sales rep a share of the member's points: sales_rep")
    if award == EarningRule.Award.MULTIPLIER:
        # A multiplier folds into the awards it multiplies: their limits cap the whole.
        for field in ("max_points_per_event", "limit_points", "global_budget"):
            if getattr(rule, field) is not None:
                add(field, "a multiplier is capped by the limits of the rules it multiplies")
        if rule.limit_period:
            add("limit_period", "a multiplier is capped by the limits of the rules it multiplies")
        if rule.apply_tier_multiplier:
            add(
                "apply_tier_multiplier", "applies to the rules a multiplier multiplies, not to the multiplier"
            )
    for field in ("max_points_per_event", "limit_points", "global_budget"):
        if field not in errors and getattr(rule, field) == 0:
            add(field, "must be 1 or more (leave it empty for no limit)")
    if "limit_period" not in errors and "limit_points" not in errors:
        if rule.limit_period and rule.limit_points is None:
            add("limit_points", f"a limit per {rule.limit_period} needs its number of points")
        elif rule.limit_points is not None and not rule.limit_period:
            add("limit_period", "a limit of points needs its period (day, week, month or year)")
    if (
        "global_budget" not in errors
        and rule.global_budget is not None
        and rule.global_budget < rule.budget_used
    ):
        add("global_budget", f"{rule.budget_used} points of this budget are already given")


def rule_create(*, data: dict) -> EarningRule:
    with transaction.atomic():
        rule = EarningRule.objects.create(**rule_validate(data=data))
        audit_saved(obj=rule, before=None)
    return rule


def rule_update(*, rule: EarningRule, data: dict) -> EarningRule:
    """Change the fields in `data`. The rule row is locked so a budget being spent meanwhile is
    checked against its latest use and never overwritten."""
    with transaction.atomic():
        locked = EarningRule.objects.select_for_update().get(pk=rule.pk)
        before = audit_snapshot(locked)
        for field, value in rule_validate(data=data, instance=locked).items():
            setattr(locked, field, value)
        locked.save(update_fields=[*RULE_FIELDS, "updated_at"])
        audit_saved(obj=locked, before=before)
    return locked


def rule_delete(*, rule: EarningRule) -> None:
    """Delete a rule that never gave points; one that did is deactivated instead, since its ledger
    entries keep pointing at it (the database protects them)."""
    with transaction.atomic():
        locked = EarningRule.objects.select_for_update().get(pk=rule.pk)
        if LedgerEntry.objects.filter(rule=locked).exists():
            if locked.is_active:
                before = audit_snapshot(locked)
                locked.is_active = False
                locked.save(update_fields=["is_active", "updated_at"])
                audit_saved(obj=locked, before=before, reason="deleted: kept inactive, it gave points")
            rule.is_active = False
        else:
            audit_deleting(obj=locked)
            locked.delete()
