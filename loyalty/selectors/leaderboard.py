"""The badge leaderboard: who holds the most badges (first to earn them ranks first on a tie),
over the member's whole history or over the current week, month or year in the brand's timezone."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from loyalty.models import Badge, Member, MemberBadge
from tenants.selectors import brand_timezone

PERIODS = ("all", "year", "month", "week")  # "week" starts on Monday


def leaderboard_period_start(*, period: str, at: datetime | None = None) -> datetime | None:
    """When the current `period` began, at local midnight (None for "all": no start)."""
    if period not in PERIODS:
        raise ValueError(f"unknown leaderboard period {period!r}")
    if period == "all":
        return None
    zone = brand_timezone()
    today = (at or timezone.now()).astimezone(zone).date()
    if period == "year":
        first = today.replace(month=1, day=1)
    elif period == "month":
        first = today.replace(day=1)
    else:
        first = today - timedelta(days=today.weekday())
    return datetime.combine(first, time.min, tzinfo=zone)


def leaderboard(*, limit: int = 20, since: datetime | None = None) -> QuerySet[Member]:
    """Members ranked by how many badges they hold (earned since `since`, when given); annotated
    with `badge_count`, `last_badge_at`. Anonymised members are not ranked."""
    earned = Q(badges__awarded_at__gte=since) if since is not None else Q()
    return (
        Member.objects.exclude(status=Member.Status.ANONYMISED)
        .annotate(
            badge_count=Count("badges", filter=earned), last_badge_at=Max("badges__awarded_at", filter=earned)
        )
        .filter(badge_count__gt=0)
        .order_by("-badge_count", "last_badge_at", "id")[:limit]
    )


def leaderboard_name(*, member: Member) -> str | None:
    """A member as a public ranking shows them: a reseller's company name, else the first name and
    the initial of the last name ("Ana M."); None when the member gave no name."""
    if member.kind == Member.Kind.RESELLER and member.company_name:
        return member.company_name
    initial = f"{member.last_name.strip()[:1]}." if member.last_name.strip() else ""
    return " ".join(part for part in (member.first_name.strip(), initial) if part) or None


def badge_holders(*, badge: Badge, limit: int = 20) -> QuerySet[MemberBadge]:
    """The first members to earn one badge, in the order they earned it."""
    return (
        MemberBadge.objects.filter(badge=badge)
        .exclude(member__status=Member.Status.ANONYMISED)
        .select_related("member")
        .order_by("awarded_at", "id")[:limit]
    )
