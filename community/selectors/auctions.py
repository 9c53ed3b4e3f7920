"""Reads of points auctions (README "Community > Auctions"): what the member site lists and shows,
and where a member stands on an auction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone

from community.models import Auction, Bid
from community.services.auctions import bid_minimum
from loyalty.models import Member

# Closed auctions stay listed this long (their result), then only their page answers.
CLOSED_SHOWN = timedelta(days=14)
# The bid that leads an open auction, or won a closed one.
LEADS = (Bid.State.LEADING, Bid.State.WON)


def auctions_listed(*, now: datetime | None = None) -> QuerySet[Auction]:
    """The auctions the site lists: open and coming ones, then those closed in the last two weeks;
    each with its `leading` bids (one or none) and `bid_count`."""
    now = now or timezone.now()
    leading = Prefetch("bids", queryset=Bid.objects.filter(state__in=LEADS), to_attr="leading_bids")
    return (
        Auction.objects.exclude(state=Auction.State.CANCELLED)
        .exclude(state=Auction.State.CLOSED, closed_at__lt=now - CLOSED_SHOWN)
        .select_related("gift")
        .prefetch_related(leading)
        .annotate(bid_count=Count("bids"))
        .order_by("-state", "closes_at", "id")
    )


def auction_for(*, auction_id: int) -> Auction | None:
    """An auction the site shows (a cancelled one is a 404, as a missing one)."""
    return (
        Auction.objects.exclude(state=Auction.State.CANCELLED)
        .select_related("gift")
        .filter(pk=auction_id)
        .first()
    )


@dataclass(frozen=True)
class AuctionView:
    """An auction as a visitor or member sees it now."""

    auction: Auction
    leading: Bid | None  # the leading bid (open) or the winning one (closed)
    bid_count: int
    minimum: int  # the lowest bid accepted now
    is_open: bool
    is_coming: bool
    member_bid: Bid | None  # the member's latest bid, if any

    @property
    def member_leads(self) -> bool:
        return (
            self.member_bid is not None and self.leading is not None and self.leading.pk == self.member_bid.pk
        )


def auction_view(*, auction: Auction, member: Member | None, now: datetime | None = None) -> AuctionView:
    now = now or timezone.now()
    leading = Bid.objects.filter(auction=auction, state__in=LEADS).first()
    member_bid = None
    if member is not None:
        member_bid = Bid.objects.filter(auction=auction, member=member).order_by("-placed_at", "-pk").first()
    scheduled = auction.state == Auction.State.SCHEDULED
    return AuctionView(
        auction=auction,
        leading=leading,
        bid_count=Bid.objects.filter(auction=auction).count(),
        minimum=bid_minimum(auction=auction, leading=leading),
        is_open=scheduled and auction.opens_at <= now < auction.closes_at,
        is_coming=scheduled and now < auction.opens_at,
        member_bid=member_bid,
    )


def member_bids(*, member: Member) -> QuerySet[Bid]:
    """The member's bids, newest first (their account's history, the privacy export)."""
    return Bid.objects.filter(member=member).select_related("auction").order_by("-placed_at", "-pk")
