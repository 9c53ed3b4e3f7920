"""The backoffice's points auctions (README "Community > Auctions"): the auctions with their bids
(read-only: bids are the members'), saved through `community.services.auctions`; actions close an
auction that is due (placing the winner's order) and cancel one (every hold given back)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy, ngettext

from community.models import Auction, Bid
from community.services.auctions import (
    AUCTION_FIELDS,
    auction_cancel,
    auction_close,
    auction_save,
    auction_validate,
)
from core.admin_base import ModelAdmin, TabularInline
from core.errors import DomainError
from loyalty.admin.programme import ServiceForm


class AuctionForm(ServiceForm):
    service_validate = staticmethod(auction_validate)

    class Meta:
        model = Auction
        fields = AUCTION_FIELDS

    def _instance_kwarg(self) -> dict:
        return {"auction": self.instance}


class BidInline(TabularInline):
    """The auction's bids, highest first, read-only."""

    model = Bid
    fields = ["member", "points", "state", "placed_at", "hold_entry", "release_entry"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = gettext_lazy("bids")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Bid]:
        return super().get_queryset(request).select_related("member", "hold_entry", "release_entry")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Auction)
class AuctionAdmin(ModelAdmin):
    form = AuctionForm
    inlines = [BidInline]
    list_display = ["title", "gift", "state", "opens_at", "closes_at", "leading_points", "bids", "order"]
    list_filter = ["state"]
    search_fields = ["title", "gift__name", "gift__reference"]
    date_hierarchy = "closes_at"
    readonly_fields = ["state", "order", "closed_at"]
    autocomplete_fields = ["gift"]
    actions = ["close_due", "cancel"]
    fieldsets = [
        (None, {"fields": ["gift", "title", "description"]}),
        (gettext_lazy("Bids"), {"fields": ["starting_points", "min_increment", "opens_at", "closes_at"]}),
        (gettext_lazy("Result"), {"fields": ["state", "order", "closed_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Auction]:
        return super().get_queryset(request).select_related("gift").annotate(bid_count=Count("bids"))

    @admin.display(description=gettext_lazy("bids"), ordering="bid_count")
    def bids(self, auction: Auction) -> int:
        return auction.bid_count  # type: ignore[attr-defined]

    @admin.display(description=gettext_lazy("leading bid"))
    def leading_points(self, auction: Auction) -> int | None:
        bid = Bid.objects.filter(auction=auction, state__in=[Bid.State.LEADING, Bid.State.WON]).first()
        return bid.points if bid else None

    def save_model(self, request: HttpRequest, obj: Auction, form: AuctionForm, change: bool) -> None:
        saved = auction_save(data=form._form_data(), auction_id=obj.pk if change else None)
        obj.pk = saved.pk

    def has_delete_permission(self, request: HttpRequest, obj: Auction | None = None) -> bool:
        """An auction with bids is cancelled, not deleted (the bids hold ledger entries)."""
        if obj is not None and obj.bids.exists():
            return False
        return super().has_delete_permission(request, obj)

    def _run(self, request: HttpRequest, queryset: QuerySet[Auction], work) -> int:
        done = 0
        for auction in queryset.order_by("pk"):
            try:
                work(auction_id=auction.pk)
            except DomainError as error:
                messages.error(request, f"{auction.title}: {error.message}")
            else:
                done += 1
        return done

    @admin.action(
        description=gettext_lazy("Close (after the closing time): place the winner's order"),
        permissions=["change"],
    )
    def close_due(self, request: HttpRequest, queryset: QuerySet[Auction]) -> None:
        if done := self._run(request, queryset, auction_close):
            text = ngettext("%(count)s auction closed.", "%(count)s auctions closed.", done)
            messages.success(request, text % {"count": done})

    @admin.action(description=gettext_lazy("Cancel: give every bid's points back"), permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Auction]) -> None:
        if done := self._run(request, queryset, auction_cancel):
            text = ngettext("%(count)s auction cancelled.", "%(count)s auctions cancelled.", done)
            messages.success(request, text % {"count": done})
