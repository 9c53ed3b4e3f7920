"""Tiers: definitions (create/update/delete with validation) and qualification.

A member's tier is the highest tier whose threshold their qualification metric reaches, over the
programme's window, never below a staff-set floor. Going down waits for the grace period when the
programme has one (`Member.tier_below_since` remembers when the member first fell short). Every
change is a `TierChange` row, and is sent with `loyalty.signals.tiers_changed` after commit.

Per-event evaluation and the nightly run are the same SQL statement, restricted to one member or
to a range of member ids, so they can never disagree.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import ProtectedError, Q
from django.utils import timezone

from core.audit import audit_deleting, audit_saved, audit_snapshot
from core.errors import Conflict, InvalidInput
from loyalty.models import Member, ProgrammeSettings, Tier, TierChange
from loyalty.selectors.programme import programme_settings
from loyalty.selectors.tiers import (
    DECISION_COLUMNS,
    TierDecision,
    TierOutcome,
    tier_decision_of,
    tier_decision_sql,
    tier_metric_params,
    tier_outcome,
    tiers_by_id,
)
from loyalty.services.expiry import BATCH_SETTINGS
from loyalty.services.ledger import member_lock
from loyalty.signals import TierChange as TierChangeSent
from loyalty.signals import changes_send, tiers_changed

TIER_FIELDS = (
    "code", "name", "threshold", "threshold_inclusive", "earn_multiplier", "grants_vip", "benefits",
)  # fmt: skip
NIGHTLY_BATCH = 50_000


# --- definitions ----------------------------------------------------------------------------------


def tier_validate(*, data: dict[str, Any], tier: Tier | None = None) -> Tier:
    """`tier` (or a new tier) with `data` applied and checked, not saved."""
    unknown = sorted(set(data) - set(TIER_FIELDS))
    if unknown:
        raise InvalidInput({field: ["is not a tier field"] for field in unknown})
    tier = tier or Tier()
    errors: dict[str, list[str]] = {}
    for field in ("threshold", "earn_multiplier"):
        if field in data:
            try:
                data = {**data, field: Decimal(str(data[field]))}
            except (InvalidOperation, ValueError):
                errors[field] = ["must be a number"]
    for flag in ("threshold_inclusive", "grants_vip"):
        if flag in data and not isinstance(data[flag], bool):
            errors[flag] = ["must be true or false"]
    for field, value in data.items():
        if field not in errors:
            setattr(tier, field, value if value is not None else "")
    try:
        tier.full_clean(validate_constraints=False)
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors.setdefault(field, messages)
    if "threshold" not in errors and tier.threshold is not None:
        if tier.threshold < 0:
            errors["threshold"] = ["must be 0 or more"]
        elif Tier.objects.filter(threshold=tier.threshold).exclude(pk=tier.pk).exists():
            errors["threshold"] = ["another tier already has this threshold"]
    if "earn_multiplier" not in errors and tier.earn_multiplier is not None and tier.earn_multiplier <= 0:
        errors["earn_multiplier"] = ["must be more than 0"]
    if errors:
        raise InvalidInput(errors)
    return tier


def tier_create(*, data: dict) -> Tier:
    missing = [field for field in ("code", "name") if not data.get(field)]
    if missing:
        raise InvalidInput({field: ["is required"] for field in missing})
    with transaction.atomic():
        tier = tier_validate(data=data)
        tier.save()
        audit_saved(obj=tier, before=None)
    return tier


def tier_update(*, tier: Tier, data: dict) -> Tier:
    """Change a tier's definition. Members are re-placed by the next evaluation (event or nightly)."""
    with transaction.atomic():
        locked = Tier.objects.select_for_update().get(pk=tier.pk)
        before = audit_snapshot(locked)
        tier = tier_validate(data=data, tier=locked)
        tier.save()
        audit_saved(obj=tier, before=before)
    return tier


def tier_delete(*, tier: Tier) -> None:
    """Delete a tier nobody holds, has as a floor or has in their history (history stays true)."""
    with transaction.atomic():
        held = Member.objects.filter(Q(tier=tier) | Q(tier_floor=tier)).count()
        if held:
            raise Conflict({"tier": [f"{held} member(s) hold this tier or have it as a floor"]})
        try:
            audit_deleting(obj=tier)
            tier.delete()
        except ProtectedError:
            raise Conflict(
                {"tier": ["is recorded in tier history or used elsewhere (gifts), so it cannot be deleted"]}
            ) from None


def tier_floor_set(*, member_id: int, tier: Tier | None, at: datetime | None = None) -> TierChange | None:
    """A staff-set floor: the member never goes below it; applied at once."""
    at = at or timezone.now()
    with transaction.atomic():
        member = member_lock(member_id=member_id)
        Member.objects.filter(pk=member.pk).update(tier_floor=tier)
        member.tier_floor = tier
        return tier_evaluate(member=member, at=at)


# --- qualification --------------------------------------------------------------------------------


def _evaluate_sql(programme: ProgrammeSettings, *, final: str) -> str:
    """The decision (`tier_decision_sql`) and its writes, as one statement: update, history."""
    # Only constant SQL fragments are interpolated; every value is a parameter.
    return f"""{tier_decision_sql(programme)},
    changed AS (
        UPDATE loyalty_member m
        SET tier_id = d.new_id,
            tier_since = CASE WHEN d.new_id IS DISTINCT FROM d.current_id THEN %(at)s ELSE m.tier_since END,
            tier_below_since = d.new_below_since
        FROM decided d
        -- The tier read above must still be the member's (a concurrent event may have moved it).
        WHERE m.id = d.member_id AND m.id BETWEEN %(lo)s AND %(hi)s
          AND m.tier_id IS NOT DISTINCT FROM d.current_id
          AND (d.new_id IS DISTINCT FROM d.current_id
               OR m.tier_below_since IS DISTINCT FROM d.new_below_since)
        RETURNING m.id, d.current_id, d.new_id, d.reason, d.value, m.tier_since, m.tier_below_since
    ),
    logged AS (
        INSERT INTO loyalty_tierchange (member_id, from_tier_id, to_tier_id, reason, metric_value, changed_at)
        SELECT id, current_id, new_id, reason, value, %(at)s FROM changed
        WHERE new_id IS DISTINCT FROM current_id
        RETURNING id, member_id, from_tier_id, to_tier_id
    )
    {final}"""  # noqa: S608


def tier_metric_moves(
    *, programme: ProgrammeSettings, event_type: str, has_amount: bool, points: int
) -> bool:
    """Whether an event (of `event_type`, that gave the member `points`) can move their qualification
    metric. When it cannot, recording skips the evaluation: a window that rolled on meanwhile is
    caught by the nightly run. A refund always can (it takes back points, amount or a count)."""
    if event_type == "refund":
        return True
    if programme.tier_metric == ProgrammeSettings.TierMetric.POINTS_EARNED:
        return points != 0
    if programme.tier_metric == ProgrammeSettings.TierMetric.AMOUNT_SPENT:
        return event_type == "purchase" and has_amount
    return event_type == programme.tier_metric_event_type


def tier_evaluate(
    *,
    member: Member,
    at: datetime,
    programme: ProgrammeSettings | None = None,
    tiers_exist: bool | None = None,
) -> TierChange | None:
    """Re-place one member (already row-locked by the caller). Returns the change, if any.
    Callers evaluating many members pass the programme and whether the brand has tiers, read once."""
    if tiers_exist is None:
        tiers_exist = Tier.objects.exists()
    if not tiers_exist:
        return None  # a programme without tiers: nothing to place (and nobody holds a tier)
    decided = _member_decide(member=member, at=at, programme=programme or programme_settings())
    return TierChange.objects.get(pk=decided[1]) if decided and decided[1] else None


def _member_decide(
    *, member: Member, at: datetime, programme: ProgrammeSettings
) -> tuple[TierDecision, int | None] | None:
    """The evaluation of one member (row-locked by the caller): the decision and the id of the
    history row it wrote, if any; None for an anonymised member (never evaluated)."""
    final = f"""SELECT {DECISION_COLUMNS}, c.id IS NOT NULL, c.tier_since, l.id
               FROM decided d LEFT JOIN changed c ON c.id = d.member_id
               LEFT JOIN logged l ON l.member_id = d.member_id"""  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(
            _evaluate_sql(programme, final=final),
            tier_metric_params(programme=programme, at=at, lo=member.pk, hi=member.pk),
        )
        row = cursor.fetchone()
    if row is None:
        return None
    decision = tier_decision_of(row, at=at)
    written, tier_since, change_id = row[7:]
    if change_id is not None:
        changes_send(tiers_changed, [TierChangeSent(member.pk, decision.previous_id, decision.tier_id)])
    if written:
        # Setting tier_id also drops the member's cached tier object (Django does it).
        member.tier_id, member.tier_since, member.tier_below_since = (
            decision.tier_id,
            tier_since,
            decision.below_since,
        )
    return decision, change_id


def member_tier_evaluate(*, member_id: int, at: datetime | None = None) -> TierOutcome:
    """Re-place the member now, as the nightly run would (the same statement), and say why."""
    at = at or timezone.now()
    programme = programme_settings()
    with transaction.atomic():
        member = member_lock(member_id=member_id)
        decided = _member_decide(member=member, at=at, programme=programme)
        if decided is None:
            raise Conflict("the member is anonymised: their tier is no longer evaluated", field="status")
        decision, change_id = decided
        return tier_outcome(
            decision=decision,
            previous_id=decision.previous_id,
            programme=programme,
            tiers=tiers_by_id(),
            changed=change_id is not None,
        )


def tiers_evaluate_all(*, at: datetime) -> int:
    """Re-place every member, set-based, one transaction per range of member ids so a long run never
    holds many rows locked. Returns how many members changed tier."""
    programme = programme_settings()
    sql = _evaluate_sql(programme, final="SELECT member_id, from_tier_id, to_tier_id FROM logged")
    bounds = Member.objects.order_by().values_list("id", flat=True)
    first, last = bounds.order_by("id").first(), bounds.order_by("-id").first()
    if first is None or last is None:
        return 0
    changed = 0
    for lo in range(first, last + 1, NIGHTLY_BATCH):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(BATCH_SETTINGS)
            cursor.execute(
                sql, tier_metric_params(programme=programme, at=at, lo=lo, hi=lo + NIGHTLY_BATCH - 1)
            )
            rows = cursor.fetchall()
            changed += len(rows)
            changes_send(tiers_changed, (TierChangeSent(*row) for row in rows))
    return changed
