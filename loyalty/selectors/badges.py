"""Reads of badges: the brand's badges and the badges a member holds."""

from __future__ import annotations

from django.db.models import QuerySet

from loyalty.models import Badge, Member, MemberBadge


def badges_list() -> QuerySet[Badge]:
    """Every badge of the brand, by code."""
    return Badge.objects.order_by("code")


def badge_get(*, code: str) -> Badge | None:
    return Badge.objects.filter(code=code).first()


def badge_holder_count(*, badge: Badge) -> int:
    """How many members hold the badge."""
    return MemberBadge.objects.filter(badge_id=badge.pk).count()


def member_badges(*, member: Member) -> QuerySet[MemberBadge]:
    """The badges the member holds, in the order they earned them (badge loaded)."""
    return MemberBadge.objects.filter(member=member).select_related("badge").order_by("awarded_at", "id")
