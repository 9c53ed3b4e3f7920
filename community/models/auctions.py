"""Points auctions (README "Community > Auctions"): a rare gift auctioned in points until a closing
time. A bid holds its points (a `redeem` debit, `hold_entry`); the bid it outbids gets its points
back at once (`release_entry`, `points_restore`); at the close the winner's order is placed and
their hold is what pays it. The database keeps one leading bid per auction; bids lock the auction's
row, so concurrent bids never both lead."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from catalog.models import Gift, Order
from core.limits import IDEMPOTENCY_KEY_MAX_LENGTH
from loyalty.models import LedgerEntry, Member


class AuctionState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


class Auction(models.Model):
    State = AuctionState

    gift = models.ForeignKey(Gift, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=160)
    description = models.TextField(_("description"), blank=True, help_text=_("Markdown"))
    starting_points = models.PositiveIntegerField(_("starting bid (points)"))
    min_increment = models.PositiveIntegerField(_("minimum raise (points)"), default=1)
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"))
    state = models.CharField(
        _("state"), max_length=16, choices=AuctionState.choices, default=AuctionState.SCHEDULED
    )
    order = models.OneToOneField(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["closes_at", "id"]
        verbose_name = _("points auction")
        verbose_name_plural = _("points auctions")
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")), name="auction_closes_after_open"
            ),
            models.CheckConstraint(condition=Q(starting_points__gte=1), name="auction_start_positive"),
            models.CheckConstraint(condition=Q(min_increment__gte=1), name="auction_increment_positive"),
            models.CheckConstraint(condition=Q(state__in=AuctionState.values), name="auction_state"),
        ]

    def __str__(self) -> str:
        return self.title


class BidState(models.TextChoices):
    LEADING = "leading", _("Leading")
    OUTBID = "outbid", _("Outbid")
    WON = "won", _("Won")
    RELEASED = "released", _("Released")  # the auction was cancelled


class Bid(models.Model):
    State = BidState

    auction = models.ForeignKey(Auction, on_delete=models.PROTECT, related_name="bids")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    points = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=BidState.choices, default=BidState.LEADING)
    hold_entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="+")
    release_entry = models.OneToOneField(
        LedgerEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.CharField(max_length=IDEMPOTENCY_KEY_MAX_LENGTH, blank=True)
    placed_at = models.DateTimeField()

    class Meta:
        ordering = ["-points", "placed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["auction"], condition=Q(state="leading"), name="auction_one_leading_bid"
            ),
            models.UniqueConstraint(
                fields=["auction", "member", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="bid_idempotency_key_unique",
            ),
            models.CheckConstraint(condition=Q(points__gte=1), name="bid_points_positive"),
            models.CheckConstraint(condition=Q(state__in=BidState.values), name="bid_state"),
            models.CheckConstraint(
                condition=Q(state__in=["leading", "won"]) | Q(release_entry__isnull=False),
                name="bid_released_has_entry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.points} · {self.auction_id}"
