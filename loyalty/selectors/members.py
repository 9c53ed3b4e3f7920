"""Reads about members: one member with their points summary, their ledger with explanations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Min, Q, QuerySet, Sum
from django.utils import timezone

from loyalty.models import LedgerEntry, Member, PointLot
from tenants.selectors import brand_timezone

# Staff without it see only the members whose sales rep they are (their portfolio), everywhere.
VIEW_EVERY_MEMBER = "loyalty.view_every_member"


@dataclass(frozen=True)
class NextExpiry:
    """The points that expire first: every open lot expiring on that same day (brand's timezone)."""

    points: int
    date: date
    expires_at: datetime


@dataclass(frozen=True)
class PointsSummary:
    balance: int
    spendable: int
    pending: int
    owed: int
    next_expiry: NextExpiry | None


def member_get(*, external_id: str) -> Member | None:
    """The member with this external id (tier and consents loaded), or None."""
    return (
        Member.objects.select_related("tier")
        .prefetch_related("consents")
        .filter(external_id=external_id)
        .first()
    )


def members_visible(*, user: Any, queryset: QuerySet[Member] | None = None) -> QuerySet[Member]:
    """The members `user` may see (of `queryset`, all members unless given): every one with the
    permission `loyalty.view_every_member`, else only their portfolio (the members whose sales rep
    they are)."""
    queryset = Member.objects.all() if queryset is None else queryset
    if user.has_perm(VIEW_EVERY_MEMBER):
        return queryset
    return queryset.filter(sales_rep_id=user.pk)


def member_expiries(*, member: Member, limit: int = 5) -> list[NextExpiry]:
    """The member's next expiries, day by day (brand's timezone): the points of the open lots that
    expire that day, the earliest `limit` days."""
    zone = brand_timezone()
    lots = PointLot.objects.filter(member=member, remaining__gt=0, expires_at__isnull=False)
    points: dict[date, int] = {}
    first: dict[date, datetime] = {}
    for remaining, expires_at in lots.order_by("expires_at").values_list("remaining", "expires_at"):
        if expires_at is None:  # excluded by the filter; the type does not know it
            continue
        day = expires_at.astimezone(zone).date()
        if day not in first:
            if len(first) == limit:
                break
            first[day] = expires_at
        points[day] = points.get(day, 0) + remaining
    return [NextExpiry(points=points[day], date=day, expires_at=at) for day, at in first.items()]


def member_points_summary(*, member: Member, at: datetime | None = None) -> PointsSummary:
    """Balance, what can be spent now, what is still pending, and the points expiring next.

    Spendable follows `points_debit`: available lots not past their expiry (a lot past it is
    still in the balance until the nightly run writes it off, and is the next to expire).
    """
    at = at or timezone.now()
    open_lots = PointLot.objects.filter(member=member, remaining__gt=0)
    figures = open_lots.aggregate(
        spendable=Sum(
            "remaining", filter=Q(available_at__lte=at) & (Q(expires_at__isnull=True) | Q(expires_at__gt=at))
        ),
        pending=Sum("remaining", filter=Q(available_at__gt=at)),
        first_expiry=Min("expires_at"),
    )
    next_expiry = None
    first_expiry = figures["first_expiry"]
    if first_expiry is not None:
        zone = brand_timezone()
        day = first_expiry.astimezone(zone).date()
        day_end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
        points = open_lots.filter(expires_at__lt=day_end).aggregate(points=Sum("remaining"))["points"] or 0
        next_expiry = NextExpiry(points=points, date=day, expires_at=first_expiry)
    pending = figures["pending"] or 0
    return PointsSummary(
        balance=member.balance,
        spendable=max(0, (figures["spendable"] or 0) - member.points_owed),
        pending=pending,
        owed=member.points_owed,
        next_expiry=next_expiry,
    )


def member_ledger(*, member: Member) -> QuerySet[LedgerEntry]:
    """The member's entries, newest first, with what caused them."""
    return (
        LedgerEntry.objects.filter(member=member)
        .select_related("event", "rule", "staff_user")
        .order_by("-created_at", "-id")
    )
