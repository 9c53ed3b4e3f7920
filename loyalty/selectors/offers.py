"""Reads of the personalised offers: the list, one offer, and the one a member is due to see."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from loyalty.models import Member, Offer
from loyalty.selectors.segments import segment_members


def offers_list() -> QuerySet[Offer]:
    return Offer.objects.select_related("segment").order_by("-starts_at", "-id")


def offer_get(*, offer_id: int) -> Offer | None:
    return offers_list().filter(pk=offer_id).first()


def offer_due(*, member: Member, at: datetime | None = None) -> Offer | None:
    """The offer the member has not seen yet, running at `at`, of a segment they are in (or of
    none: every member), the one that started first; None when there is none."""
    at = at or timezone.now()
    candidates = (
        offers_list()
        .filter(starts_at__lte=at, ends_at__gt=at)
        .exclude(seen_by__member=member)
        .order_by("starts_at", "id")
    )
    for offer in candidates[:20]:
        if offer.segment is None or segment_members(segment=offer.segment).filter(pk=member.pk).exists():
            return offer
    return None
