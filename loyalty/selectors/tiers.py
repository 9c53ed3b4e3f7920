"""Reads about tiers: the qualification window and metric (as SQL, shared by the per-event and the
nightly evaluation), a member's current metric and tier history."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from loyalty.models import Member, ProgrammeSettings, TierChange
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


def tier_metric_sql(programme: ProgrammeSettings) -> str:
    """SQL giving (member_id, value) for members with ids in [%(lo)s, %(hi)s] over the window
    [%(start)s, %(at)s]: points earned (less earnings reversed), amount spent on purchases in the
    programme's currency (refunded purchases excluded), or a count of one event type."""
    if programme.tier_metric == ProgrammeSettings.TierMetric.POINTS_EARNED:
        return """
            SELECT e.member_id, SUM(e.points) AS value
            FROM loyalty_ledgerentry e
            LEFT JOIN loyalty_ledgerentry r ON r.id = e.reverses_id
            WHERE e.member_id BETWEEN %(lo)s AND %(hi)s
              AND (e.kind = 'earn' OR (e.kind = 'reverse' AND r.kind = 'earn'))
              AND e.created_at >= %(start)s AND e.created_at <= %(at)s
            GROUP BY e.member_id"""
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
          AND ev.occurred_at >= %(start)s AND ev.occurred_at <= %(at)s
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
