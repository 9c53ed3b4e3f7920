"""The badge leaderboard: who holds the most badges (first to earn them ranks first on a tie)."""

from __future__ import annotations

from django.db.models import Count, Max, QuerySet

from loyalty.models import Badge, Member, MemberBadge


def leaderboard(*, limit: int = 20) -> QuerySet[Member]:
    """Members ranked by how many badges they hold; annotated with `badge_count`, `last_badge_at`."""
    return (
        Member.objects.exclude(status=Member.Status.ANONYMISED)
        .annotate(badge_count=Count("badges"), last_badge_at=Max("badges__awarded_at"))
        .filter(badge_count__gt=0)
        .order_by("-badge_count", "last_badge_at", "id")[:limit]
    )


def badge_holders(*, badge: Badge, limit: int = 20) -> QuerySet[MemberBadge]:
    """The first members to earn one badge, in the order they earned it."""
    return (
        MemberBadge.objects.filter(badge=badge)
        .exclude(member__status=Member.Status.ANONYMISED)
        .select_related("member")
        .order_by("awarded_at", "id")[:limit]
    )
