"""Reads of the club spaces: who may enter a space (its condition, decided here only: the site,
the catalogue's space-only gifts and the events visible to a space all ask `space_may_enter`),
what a member sees of each space, its pages and offers in force, and the VIP phone line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db.models import Q, QuerySet
from django.utils import timezone

from clubs.models import ClubSettings, Offer, Space, SpaceGrant, SpacePage
from loyalty.models import ActivityEvent, Member
from loyalty.selectors.segments import SegmentFilterError, segment_members

_COMPARE: dict[str, Callable[[Decimal, Decimal], bool]] = {
    Space.Operator.GT: lambda a, b: a > b,
    Space.Operator.GTE: lambda a, b: a >= b,
    Space.Operator.LT: lambda a, b: a < b,
    Space.Operator.LTE: lambda a, b: a <= b,
    Space.Operator.EQ: lambda a, b: a == b,
}


def member_attribute_latest(*, member: Member, event_type: str, name: str) -> Decimal | None:
    """`name` of the attributes of the member's latest event of `event_type` (refunded ones aside),
    as a number; None when there is no such event or the value is not a number."""
    attributes = (
        ActivityEvent.objects.filter(member=member, type=event_type, reversed_at__isnull=True)
        .order_by("-occurred_at", "-pk")
        .values_list("attributes", flat=True)
        .first()
    )
    value = (attributes or {}).get(name)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def space_may_enter(*, space: Space, member: Member | None, granted: frozenset[int] | None = None) -> bool:
    """Whether `member` (None: a visitor) meets the space's condition now. Only active members of
    an active space enter. `granted`: the ids of the code spaces the member was let into, when the
    caller read them once for many spaces (`spaces_for`); read here otherwise."""
    if member is None or member.status != Member.Status.ACTIVE or not space.is_active:
        return False
    Entry = Space.Entry
    if space.entry == Entry.VIP:
        return member.is_vip
    if space.entry == Entry.TIER:
        held = member.tier
        return held is not None and space.tier is not None and held.threshold >= space.tier.threshold
    if space.entry == Entry.SEGMENT:
        if space.segment is None:
            return False
        try:
            return segment_members(segment=space.segment).filter(pk=member.pk).exists()
        except SegmentFilterError:
            return False  # a segment whose filters became invalid lets nobody in
    if space.entry == Entry.ATTRIBUTE:
        value = member_attribute_latest(
            member=member, event_type=space.attribute_event_type, name=space.attribute_name
        )
        compare, threshold = _COMPARE.get(space.attribute_operator), space.attribute_value
        return (
            value is not None and compare is not None and threshold is not None and compare(value, threshold)
        )
    if space.entry == Entry.CODE:
        if granted is not None:
            return space.pk in granted
        return SpaceGrant.objects.filter(space=space, member=member).exists()
    return False


@dataclass(frozen=True)
class SpaceView:
    space: Space
    may_enter: bool


def spaces_listed() -> QuerySet[Space]:
    return Space.objects.filter(is_active=True).select_related("tier", "segment")


def spaces_for(*, member: Member | None) -> list[SpaceView]:
    """Every active space with whether the member may enter (those they may enter first). The
    member's code grants are read once; a segment's or an attribute's space asks its own query."""
    granted = frozenset(
        SpaceGrant.objects.filter(member=member).values_list("space_id", flat=True) if member else ()
    )
    views = [
        SpaceView(space, space_may_enter(space=space, member=member, granted=granted))
        for space in spaces_listed()
    ]
    return sorted(views, key=lambda view: not view.may_enter)


def space_get(*, slug: str) -> Space | None:
    return spaces_listed().filter(slug=slug).first()


def space_pages(*, space: Space) -> QuerySet[SpacePage]:
    return space.pages.filter(is_published=True)


def space_offers(*, space: Space, at: datetime | None = None) -> QuerySet[Offer]:
    """The space's offers in force at `at`."""
    at = at or timezone.now()
    started = Q(valid_from__isnull=True) | Q(valid_from__lte=at)
    return space.offers.filter(started, Q(valid_until__isnull=True) | Q(valid_until__gt=at))


def vip_phone_line(*, member: Member | None) -> ClubSettings | None:
    """The brand's private line (its settings row) for a VIP member; None for anyone else or when
    the brand has none."""
    if member is None or not member.is_vip or member.status != Member.Status.ACTIVE:
        return None
    row = ClubSettings.objects.filter(id=1).first()
    return row if row is not None and row.vip_phone else None
