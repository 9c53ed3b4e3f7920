"""Reads about tiers: the qualification window and metric, and the decision placing members (as
SQL, shared by the per-event and nightly evaluations, which add its writes, and by the preview,
which reads only), a member's current metric, a preview of their tier at a future date, history."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from core.errors import Conflict, InvalidInput
from loyalty.models import Member, ProgrammeSettings, Tier, TierChange
from loyalty.selectors.programme import programme_settings
from tenants.selectors import brand_timezone

# A lifetime window starts before any activity.
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)


def tier_window_start(*, at: datetime, programme: ProgrammeSettings) -> datetime | None:
    """Where the qualification window ending at `at` starts, in the brand's timezone (None: lifetime).

    Rolling N months start at local midnight of the same day N months earlier (the last day of
    that month when it is shorter); the calendar year starts on 1 January at 00:00 local time.
    """
    local = at.astimezone(brand_timezone())
    if programme.tier_window == ProgrammeSettings.TierWindow.LIFETIME:
        return None
    if programme.tier_window == ProgrammeSettings.TierWindow.CALENDAR_YEAR:
        return local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    months = local.year * 12 + (local.month - 1) - programme.tier_window_months
    year, month_index = divmod(months, 12)
    day = min(local.day, calendar.monthrange(year, month_index + 1)[1])
    # zoneinfo gives the new date its own offset (daylight saving), not the offset of `at`.
    return local.replace(year=year, month=month_index + 1, day=day, hour=0, minute=0, second=0, microsecond=0)


def tier_metric_sql(programme: ProgrammeSettings, *, start: str = "%(start)s", at: str = "%(at)s") -> str:
    """SQL giving (member_id, value) for members with ids in [%(lo)s, %(hi)s] over the window
    [start, at] (SQL expressions: the parameters, or columns of a list of dates): points earned
    (less earnings reversed), amount spent on purchases in the programme's currency (refunded
    purchases excluded), or a count of one event type."""
    if programme.tier_metric == ProgrammeSettings.TierMetric.POINTS_EARNED:
        return f"""
            SELECT e.member_id, SUM(e.points) AS value
            FROM loyalty_ledgerentry e
            LEFT JOIN loyalty_ledgerentry r ON r.id = e.reverses_id
            WHERE e.member_id BETWEEN %(lo)s AND %(hi)s
              AND (e.kind = 'earn' OR (e.kind = 'reverse' AND r.kind = 'earn'))
              AND e.created_at >= {start} AND e.created_at <= {at}
            GROUP BY e.member_id"""  # noqa: S608 - constant fragments only, values are parameters
    if programme.tier_metric == ProgrammeSettings.TierMetric.AMOUNT_SPENT:
        value = "SUM(ev.amount)"
        extra = "AND ev.amount IS NOT NULL AND ev.currency IN (%(currency)s, '')"
    else:
        value, extra = "COUNT(*)", ""
    return f"""
        SELECT ev.member_id, {value} AS value
        FROM loyalty_activityevent ev
        WHERE ev.member_id BETWEEN %(lo)s AND %(hi)s
          AND ev.type = %(event_type)s AND ev.reversed_at IS NULL {extra}
          AND ev.occurred_at >= {start} AND ev.occurred_at <= {at}
        GROUP BY ev.member_id"""  # noqa: S608 - constant fragments only, values are parameters


def tier_metric_params(*, programme: ProgrammeSettings, at: datetime, lo: int, hi: int) -> dict[str, Any]:
    """The parameters of `tier_metric_sql` (and of the evaluation statement built on it)."""
    metric = programme.tier_metric
    return {
        "lo": lo,
        "hi": hi,
        "at": at,
        "start": tier_window_start(at=at, programme=programme) or BEGINNING,
        "currency": programme.currency,
        "event_type": (
            "purchase"
            if metric == ProgrammeSettings.TierMetric.AMOUNT_SPENT
            else programme.tier_metric_event_type
        ),
        "immediate": (
            programme.tier_downgrade == ProgrammeSettings.Downgrade.IMMEDIATE or not programme.tier_grace_days
        ),
        "grace_cutoff": at - timedelta(days=programme.tier_grace_days),
    }


# --- the decision ---------------------------------------------------------------------------------

# Where each member stands before the decision: as held (the evaluations), or as a preview has
# carried them so far from night to night (their tier and grace start given as parameters).
_STANDING_HELD = "m.tier_id, m.tier_below_since"
_STANDING_GIVEN = "%(tier_id)s::bigint AS tier_id, %(below_since)s::timestamptz AS tier_below_since"
# What the decision gives per member (the CTE `decided`), in the order `TierDecision` takes it.
DECISION_COLUMNS = "d.value, d.current_id, d.new_id, d.qualified_id, d.move, d.new_below_since, d.by_floor"


def tier_decision_sql(programme: ProgrammeSettings, *, held: bool = True) -> str:
    """The whole decision as CTEs ending in `decided`, reading only: metric, the tier it reaches
    (its threshold included or not), floor, grace, and the move. The evaluation adds its update and
    history to it; the preview selects from it (`held=False`: the member's tier and grace start are
    the parameters `tier_id` and `below_since`)."""
    standing = _STANDING_HELD if held else _STANDING_GIVEN
    # Only constant SQL fragments are interpolated; every value is a parameter.
    return f"""
    WITH tiers AS (
        SELECT id, threshold, threshold_inclusive AS inclusive,
               LEAD(threshold) OVER w AS next_threshold, LEAD(threshold_inclusive) OVER w AS next_inclusive
        FROM loyalty_tier WINDOW w AS (ORDER BY threshold)
    ),
    metric AS ({tier_metric_sql(programme)}),
    members AS (
        SELECT m.id, {standing}, m.tier_floor_id
        FROM loyalty_member m
        WHERE m.id BETWEEN %(lo)s AND %(hi)s AND m.status <> 'anonymised'
    ),
    state AS (
        SELECT m.id AS member_id, COALESCE(x.value, 0) AS value,
               m.tier_id AS current_id, ct.threshold AS current_thr, m.tier_below_since,
               ft.id AS floor_id, ft.threshold AS floor_thr
        FROM members m
        LEFT JOIN metric x ON x.member_id = m.id
        LEFT JOIN loyalty_tier ct ON ct.id = m.tier_id
        LEFT JOIN loyalty_tier ft ON ft.id = m.tier_floor_id
    ),
    target AS (
        SELECT s.*, q.id AS qualified_id,
               CASE WHEN s.floor_thr IS NOT NULL AND (q.threshold IS NULL OR s.floor_thr > q.threshold)
                    THEN s.floor_id ELSE q.id END AS target_id,
               GREATEST(s.floor_thr, q.threshold) AS target_thr,
               (s.floor_thr IS NOT NULL AND (q.threshold IS NULL OR s.floor_thr > q.threshold)) AS by_floor
        FROM state s
        -- The tier whose threshold the value reaches (equal to it: when the bound is included),
        -- and whose next tier's it does not.
        LEFT JOIN tiers q
          ON (s.value > q.threshold OR (q.inclusive AND s.value = q.threshold))
         AND (q.next_threshold IS NULL OR s.value < q.next_threshold
              OR (NOT q.next_inclusive AND s.value = q.next_threshold))
    ),
    moves AS (
        SELECT t.*,
               CASE WHEN t.target_thr IS NOT DISTINCT FROM t.current_thr THEN 'stay'
                    WHEN t.current_thr IS NULL OR t.target_thr > t.current_thr THEN 'up'
                    WHEN %(immediate)s OR t.tier_below_since <= %(grace_cutoff)s THEN 'down'
                    ELSE 'grace' END AS move
        FROM target t
    ),
    -- Materialized: the evaluation's update then joins a known set of rows (inlined, a misestimate
    -- of the "tier unchanged" check once turned the metric join into a nested loop over every pair).
    decided AS MATERIALIZED (
        SELECT member_id, value, current_id, qualified_id, by_floor, move,
               CASE WHEN move IN ('up', 'down') THEN target_id ELSE current_id END AS new_id,
               CASE WHEN move = 'grace' THEN COALESCE(tier_below_since, %(at)s) END AS new_below_since,
               CASE WHEN by_floor AND move = 'up' THEN 'floor'
                    WHEN move = 'up' THEN 'qualified' ELSE 'downgraded' END AS reason
        FROM moves
    )"""  # noqa: S608


@dataclass(frozen=True)
class TierDecision:
    """One member's decision at `at` (a row of `DECISION_COLUMNS`): `move` is up, stay, down or
    grace; `tier_id` is their tier after it, `below_since` when their grace period started."""

    at: datetime
    value: Decimal
    previous_id: int | None
    tier_id: int | None
    qualified_id: int | None
    move: str
    below_since: datetime | None
    by_floor: bool


def tier_decision_of(row: tuple, *, at: datetime) -> TierDecision:
    value, previous_id, tier_id, qualified_id, move, below_since, by_floor = row[:7]
    return TierDecision(
        at=at,
        value=Decimal(value),
        previous_id=previous_id,
        tier_id=tier_id,
        qualified_id=qualified_id,
        move=move,
        below_since=below_since,
        by_floor=bool(by_floor),
    )


@dataclass(frozen=True)
class TierOutcome:
    """A decision in words, as the API and the backoffice show it: the tier before and after, the
    qualifying value over the window, the threshold that decided (met or missed), the next tier
    up, the grace period, and `reason`: upgraded, kept, downgraded or in_grace."""

    at: datetime
    window_start: datetime | None
    metric: str
    value: Decimal
    previous_tier: Tier | None
    tier: Tier | None
    qualified_tier: Tier | None
    by_floor: bool
    reason: str
    threshold_tier: Tier | None
    threshold_met: bool
    next_tier: Tier | None
    grace_started_at: datetime | None
    grace_ends_at: datetime | None
    changed: bool = False
    steps: list[TierOutcome] = field(default_factory=list)

    @property
    def reason_text(self) -> str:
        return self.reason.replace("_", " ")


def _rank(tier: Tier | None) -> Decimal:
    return Decimal(-1) if tier is None else tier.threshold


def tier_outcome(
    *,
    decision: TierDecision,
    previous_id: int | None,
    programme: ProgrammeSettings,
    tiers: dict[int, Tier],
    changed: bool = False,
) -> TierOutcome:
    """`decision` explained against the member's tier before it (`previous_id`: the decision's own
    for an evaluation, the tier held today for a preview). `tiers`: every tier by id."""
    previous = tiers.get(previous_id) if previous_id else None
    tier = tiers.get(decision.tier_id) if decision.tier_id else None
    qualified = tiers.get(decision.qualified_id) if decision.qualified_id else None
    in_grace = decision.below_since is not None
    if in_grace:
        reason = "in_grace"
    elif _rank(tier) > _rank(previous):
        reason = "upgraded"
    elif _rank(tier) < _rank(previous):
        reason = "downgraded"
    else:
        reason = "kept"
    ordered = sorted(tiers.values(), key=_rank)
    # The threshold that decided: the one missed when going down or in grace, else the tier's own
    # (or the lowest tier's, for a member reaching none).
    decisive = previous if reason in ("downgraded", "in_grace") else tier or next(iter(ordered), None)
    above = [candidate for candidate in ordered if _rank(candidate) > _rank(tier)]
    grace_days = timedelta(days=programme.tier_grace_days)
    return TierOutcome(
        at=decision.at,
        window_start=tier_window_start(at=decision.at, programme=programme),
        metric=programme.tier_metric,
        value=decision.value,
        previous_tier=previous,
        tier=tier,
        qualified_tier=qualified,
        by_floor=decision.by_floor,
        reason=reason,
        threshold_tier=decisive,
        threshold_met=decisive is not None and _rank(qualified) >= _rank(decisive),
        next_tier=above[0] if above else None,
        grace_started_at=decision.below_since,
        grace_ends_at=decision.below_since + grace_days if in_grace and decision.below_since else None,
        changed=changed,
    )


def tiers_by_id() -> dict[int, Tier]:
    return {tier.pk: tier for tier in Tier.objects.order_by("threshold")}


# A preview looks this far ahead at most (its nights are one statement's list of dates).
TIER_PREVIEW_MAX_DAYS = 5 * 366


def tier_preview(*, member: Member, on: date, now: datetime | None = None) -> TierOutcome:
    """What the member's tier would be on `on` (a date after today, in the brand's timezone) from
    the data held now: the nightly runs until then are played with the evaluation's own decision,
    each from where the one before left the member (so activity leaving the window counts out,
    and a grace period started on the way ends on time). Writes nothing. `steps`: the nights on
    the way that would change the member's tier or start a grace period."""
    # The nightly run's local hour (imported here: the tasks module imports the tier services).
    from loyalty.tasks import NIGHTLY_LOCAL_HOUR

    now = now or timezone.now()
    zone = brand_timezone()
    today = now.astimezone(zone).date()
    if on <= today:
        raise InvalidInput(
            {"at": [f"must be a date after today ({today.isoformat()} in the brand's timezone)"]}
        )
    if (on - today).days > TIER_PREVIEW_MAX_DAYS:
        raise InvalidInput({"at": [f"must be at most {TIER_PREVIEW_MAX_DAYS} days ahead"]})
    programme = programme_settings()
    nights = [
        night
        for day in range((on - today).days + 1)
        if (night := datetime.combine(today + timedelta(days=day), time(NIGHTLY_LOCAL_HOUR), tzinfo=zone))
        > now
    ]
    values = _metric_by_night(member=member, nights=nights, programme=programme)
    tiers = tiers_by_id()
    tier_id, below_since = member.tier_id, member.tier_below_since
    decision: TierDecision | None = None
    steps = []
    for index, (night, value) in enumerate(zip(nights, values, strict=True)):
        # A night can place the member elsewhere only when their metric moved, during a grace
        # period, or (the first) when their tier is not yet the one the data gives.
        if (
            decision is not None
            and value == values[index - 1]
            and below_since is None
            and night != nights[-1]
        ):
            continue
        decision = _decide(
            member=member,
            at=night,
            programme=programme,
            standing={"tier_id": tier_id, "below_since": below_since},
        )
        if decision is None:
            raise Conflict("the member is anonymised: their tier is no longer evaluated", field="status")
        if decision.tier_id != tier_id or (below_since is None and decision.below_since is not None):
            steps.append(
                tier_outcome(decision=decision, previous_id=tier_id, programme=programme, tiers=tiers)
            )
        tier_id, below_since = decision.tier_id, decision.below_since
    assert decision is not None  # `on` is after today: its own night is after now
    outcome = tier_outcome(decision=decision, previous_id=member.tier_id, programme=programme, tiers=tiers)
    return replace(outcome, steps=steps)


def tier_standing(*, member: Member, at: datetime) -> TierOutcome | None:
    """The decision an evaluation at `at` would make for the member as they stand, explained,
    writing nothing (the backoffice member page shows it). None for an anonymised member."""
    programme = programme_settings()
    decision = _decide(member=member, at=at, programme=programme)
    if decision is None:
        return None
    return tier_outcome(
        decision=decision, previous_id=decision.previous_id, programme=programme, tiers=tiers_by_id()
    )


def _decide(
    *, member: Member, at: datetime, programme: ProgrammeSettings, standing: dict[str, Any] | None = None
) -> TierDecision | None:
    """The decision for the member at `at`, read only: from their tier and grace start as held, or
    as `standing` gives them (`tier_id`, `below_since`). None for an anonymised member."""
    sql = f"{tier_decision_sql(programme, held=standing is None)} SELECT {DECISION_COLUMNS} FROM decided d"  # noqa: S608
    params = tier_metric_params(programme=programme, at=at, lo=member.pk, hi=member.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, **(standing or {})})
        row = cursor.fetchone()
    return tier_decision_of(row, at=at) if row else None


def _metric_by_night(
    *, member: Member, nights: list[datetime], programme: ProgrammeSettings
) -> list[Decimal]:
    """The member's metric at each of `nights`, over each night's window, in one statement."""
    metric = tier_metric_sql(programme, start="n.start", at="n.at")
    sql = f"""
        SELECT (SELECT COALESCE(SUM(x.value), 0) FROM ({metric}) x)
        FROM unnest(%(starts)s::timestamptz[], %(ats)s::timestamptz[]) WITH ORDINALITY AS n(start, at, i)
        ORDER BY n.i"""  # noqa: S608 - constant fragments only, values are parameters
    starts = [tier_window_start(at=night, programme=programme) or BEGINNING for night in nights]
    params = tier_metric_params(programme=programme, at=nights[0], lo=member.pk, hi=member.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, "starts": starts, "ats": nights})
        return [Decimal(row[0]) for row in cursor.fetchall()]


def member_metric(*, member: Member, at: datetime) -> Decimal:
    """The member's qualification metric now (shown in the backoffice beside their tier)."""
    programme = programme_settings()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(SUM(value), 0) FROM ({tier_metric_sql(programme)}) x",  # noqa: S608
            tier_metric_params(programme=programme, at=at, lo=member.pk, hi=member.pk),
        )
        return Decimal(cursor.fetchone()[0])


def tier_history(*, member: Member) -> QuerySet[TierChange]:
    return TierChange.objects.filter(member=member).select_related("from_tier", "to_tier")
