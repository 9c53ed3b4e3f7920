"""Reads of contributions (README "Community > Contributions"): the open types, a member's own
contributions, the approved public ones (testimonials) and the monthly leaderboard of contributors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, QuerySet

from community.models import Contribution, ContributionState, ContributionType
from loyalty.models import Member
from loyalty.selectors.leaderboard import leaderboard_name, leaderboard_period_start

LEADERBOARD_SIZE = 10
PUBLIC_LATEST = 12


def contribution_types_open() -> QuerySet[ContributionType]:
    return ContributionType.objects.filter(is_active=True)


def contribution_type_open(*, type_id: int) -> ContributionType | None:
    return contribution_types_open().filter(pk=type_id).first()


def member_contributions(*, member: Member) -> QuerySet[Contribution]:
    """The member's own, newest first, with their state and (when rejected) the reason."""
    return (
        Contribution.objects.filter(member=member)
        .select_related("type", "subject", "event")
        .prefetch_related("photos")
    )


def contributions_public(*, limit: int = PUBLIC_LATEST) -> list[Contribution]:
    """The latest approved contributions of the types shown on the site (testimonials), newest
    decision first; their authors' public names in `author_name`."""
    rows = list(
        Contribution.objects.filter(state=ContributionState.APPROVED, type__is_public=True)
        .exclude(member__status=Member.Status.ANONYMISED)
        .select_related("type", "member", "subject")
        .prefetch_related("photos")
        .order_by("-decided_at", "-id")[:limit]
    )
    for row in rows:
        row.author_name = leaderboard_name(member=row.member)  # type: ignore[attr-defined]
    return rows


@dataclass(frozen=True)
class Ranked:
    rank: int
    name: str
    count: int


def contributors_leaderboard(
    *, since: datetime | None = None, limit: int = LEADERBOARD_SIZE
) -> list[tuple[ContributionType, list[Ranked]]]:
    """Per open type, its top contributors: the members with the most contributions approved since
    `since` (this month in the brand's timezone by default), the first to get there first on a tie.
    Members without a public name and anonymised ones are left out."""
    since = since or leaderboard_period_start(period="month")
    boards = []
    for kind in contribution_types_open():
        counts = (
            Contribution.objects.filter(type=kind, state=ContributionState.APPROVED, decided_at__gte=since)
            .exclude(member__status=Member.Status.ANONYMISED)
            .values("member")
            .annotate(count=Count("id"), last=Max("decided_at"))
            .order_by("-count", "last", "member")[: limit * 2]
        )
        boards.append((kind, counts_ranked(counts=list(counts), limit=limit)))
    return boards


def counts_ranked(*, counts: list[dict], limit: int) -> list[Ranked]:
    """Rows of `{"member": id, "count": n}` in ranking order as a public ranking: the members'
    public names (`leaderboard_name`), those without one left out, at most `limit`."""
    members = Member.objects.in_bulk([row["member"] for row in counts])
    ranked: list[Ranked] = []
    for row in counts:
        name = leaderboard_name(member=members[row["member"]])
        if name and len(ranked) < limit:
            ranked.append(Ranked(rank=len(ranked) + 1, name=name, count=row["count"]))
    return ranked
