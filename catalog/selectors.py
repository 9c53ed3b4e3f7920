"""Reads of the catalogue: what a member may see, afford and redeem; orders; supplier exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext

from clubs.selectors import space_may_enter
from loyalty.models import Member, PointLot

from .models import Gift, Order, OrderLine, VoucherCode


@dataclass(frozen=True)
class Refusal:
    """Why a member cannot redeem a gift; `code` is stable for API clients."""

    code: str
    message: str


def member_spendable_points(*, member_id: int, at: datetime | None = None) -> int:
    """Points the member can spend now: open lots already available (pending points are not).

    Redemptions never dip into an overdraft, so this is exactly what `order_place` may debit.
    """
    at = at or timezone.now()
    total = PointLot.objects.filter(member_id=member_id, remaining__gt=0, available_at__lte=at).aggregate(
        total=Sum("remaining")
    )["total"]
    return total or 0


def gifts_all() -> QuerySet[Gift]:
    """Every gift, whatever its state (the brand's own API reads any of its gifts by id)."""
    return (
        Gift.objects.select_related("category", "space")
        .prefetch_related("tiers", "photos")
        .annotate(codes_left=codes_left())
    )


def gifts_visible(*, at: datetime | None = None) -> QuerySet[Gift]:
    """Gifts shown on the member site and the API: active (so not archived) and inside their
    availability window."""
    at = at or timezone.now()
    return (
        gifts_all()
        .filter(is_active=True)
        .filter(Q(available_from__isnull=True) | Q(available_from__lte=at))
        .filter(Q(available_until__isnull=True) | Q(available_until__gt=at))
    )


def codes_left() -> Subquery:
    """Annotation: how many unused codes a gift's pool holds (see `gift_stock_left`)."""
    return Subquery(
        VoucherCode.objects.filter(gift=OuterRef("pk"), order_line__isnull=True)
        .values("gift")
        .annotate(n=Count("pk"))
        .values("n"),
        output_field=IntegerField(),
    )


# The gifts of each `state` of `gift_search` but "available" (the visible ones).
GIFT_STATES = {
    "active": Q(is_active=True),
    "inactive": Q(is_active=False, archived_at__isnull=True),
    "archived": Q(archived_at__isnull=False),
    "all": Q(),
}


def gift_search(
    *,
    category: str | None = None,
    kind: str | None = None,
    points_min: int | None = None,
    points_max: int | None = None,
    search: str | None = None,
    featured: bool | None = None,
    printed: bool | None = None,
    spendable: int | None = None,
    affordable_only: bool = False,
    state: str = "available",
    at: datetime | None = None,
) -> QuerySet[Gift]:
    """Gifts matching the filters: by default the visible ones (`state` "available"); "active",
    "inactive" (not archived), "archived", or "all" say which others. With `spendable` (a member's
    spendable points), each gift carries `points_missing` (0 when affordable), and `affordable_only`
    keeps the affordable ones."""
    gifts = gifts_visible(at=at) if state == "available" else gifts_all().filter(GIFT_STATES[state])
    if category:
        gifts = gifts.filter(category__slug=category)
    if kind:
        gifts = gifts.filter(kind=kind)
    if points_min is not None:
        gifts = gifts.filter(points_price__gte=points_min)
    if points_max is not None:
        gifts = gifts.filter(points_price__lte=points_max)
    if search:
        gifts = gifts.filter(
            Q(name__icontains=search) | Q(description__icontains=search) | Q(reference__iexact=search)
        )
    if featured is not None:
        gifts = gifts.filter(is_featured=featured)
    if printed is not None:
        gifts = gifts.filter(in_printed_catalogue=printed)
    if spendable is not None:
        gifts = gifts.annotate(
            points_missing=Greatest(
                F("points_price") - Value(spendable), Value(0), output_field=IntegerField()
            )
        )
        if affordable_only:
            gifts = gifts.filter(points_price__lte=spendable)
    return gifts


def gift_stock_left(*, gift: Gift) -> int | None:
    """Units left: the unused codes of a voucher gift, the stock otherwise (None: unlimited)."""
    if gift.kind == Gift.Kind.VOUCHER:
        codes_left = getattr(gift, "codes_left", None)
        if codes_left is None:
            codes_left = gift.codes.filter(order_line__isnull=True).count()
        return codes_left
    return gift.stock


def gift_refusal(*, gift: Gift, member: Member, at: datetime | None = None) -> Refusal | None:
    """Why this member may not redeem this gift at all (regardless of points, stock and limits), in
    the active language: the member site's (the API's is English, README.md, Languages)."""
    at = at or timezone.now()
    if member.status != Member.Status.ACTIVE:
        inactive = gettext("the member account is %(status)s")
        return Refusal("member_not_active", inactive % {"status": member.status})
    if (
        not gift.is_active
        or (gift.available_from is not None and gift.available_from > at)
        or (gift.available_until is not None and gift.available_until <= at)
    ):
        return Refusal("unavailable", gettext("'%(gift)s' is not available now") % {"gift": gift.name})
    if gift.vip_only and not member.is_vip:
        vip_only = gettext("'%(gift)s' is reserved for VIP members")
        return Refusal("not_your_tier", vip_only % {"gift": gift.name})
    space = gift.space if gift.space_id is not None else None
    if space is not None and not space_may_enter(space=space, member=member):
        space_only = gettext("'%(gift)s' is reserved for the members of %(space)s")
        return Refusal("not_your_space", space_only % {"gift": gift.name, "space": space.name})
    tier_ids = {tier.pk for tier in gift.tiers.all()}
    if tier_ids and member.tier_id not in tier_ids:
        names = ", ".join(sorted(tier.name for tier in gift.tiers.all()))
        reserved = gettext("'%(gift)s' is reserved for members of: %(tiers)s")
        return Refusal("not_your_tier", reserved % {"gift": gift.name, "tiers": names})
    return None


def gift_offer_refusal(*, gift: Gift, member: Member | None) -> Refusal | None:
    """As `gift_refusal`, and out of stock: what the member site and the API show next to a gift.
    Without a member (an anonymous visitor on the member site), only out of stock."""
    refusal = gift_refusal(gift=gift, member=member) if member is not None else None
    if refusal is None and gift_stock_left(gift=gift) == 0:
        return Refusal("out_of_stock", gettext("'%(gift)s' is out of stock") % {"gift": gift.name})
    return refusal


@dataclass(frozen=True)
class GiftOffer:
    """A gift as one member sees it: can they afford it now, and if not, how many points are missing
    (None for an anonymous visitor: nothing of a member)."""

    gift: Gift
    points_missing: int | None
    stock_left: int | None
    refusal: Refusal | None

    @property
    def affordable(self) -> bool:
        return self.points_missing == 0

    @property
    def redeemable(self) -> bool:
        return self.affordable and self.refusal is None


def gift_offers(*, gifts: Iterable[Gift], member: Member | None) -> list[GiftOffer]:
    """The offers of these gifts (from `gift_search`, with `spendable` when there is a member): no
    query per gift, as tiers, photos and codes left come with the queryset (`gifts_all`)."""
    return [
        GiftOffer(
            gift=gift,
            # gift_search's annotation, given `spendable` (unknown to the model's type)
            points_missing=gift.points_missing if member is not None else None,  # type: ignore[attr-defined]
            stock_left=gift_stock_left(gift=gift),
            refusal=gift_offer_refusal(gift=gift, member=member),
        )
        for gift in gifts
    ]


def gift_offers_page(
    *,
    member: Member | None,
    spendable: int | None,
    number: int | str | None,
    per_page: int,
    affordable_only: bool = False,
    **filters: Any,
) -> Page[GiftOffer]:
    """One page of the member site's catalogue, as `member` with `spendable` points
    (`member_spendable_points`) sees it (None: an anonymous visitor, who sees the visible gifts and
    their prices only). The gifts are paged in the database and only that page's offers are built,
    so the queries are the same whatever the number of gifts."""
    gifts = gift_search(spendable=spendable, affordable_only=affordable_only, **filters)
    page = Paginator(gifts, per_page).get_page(number)
    offers = gift_offers(gifts=page.object_list, member=member)
    return Page(offers, page.number, page.paginator)  # type: ignore[arg-type]  # counts the gifts


def member_gift_quantities(*, member_id: int, gift_ids: Iterable[int]) -> dict[int, int]:
    """How many of each gift the member holds in orders that were not cancelled (for limits)."""
    rows = (
        OrderLine.objects.filter(order__member_id=member_id, gift_id__in=list(gift_ids))
        .exclude(order__status=Order.Status.CANCELLED)
        .values("gift_id")
        .annotate(total=Sum("quantity"))
    )
    return {row["gift_id"]: row["total"] for row in rows}


def orders_with_details() -> QuerySet[Order]:
    return Order.objects.select_related("member").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.prefetch_related("codes")), "events"
    )


def member_orders(*, member: Member) -> QuerySet[Order]:
    return orders_with_details().filter(member=member)


def csv_safe(value: object) -> object:
    """A cell a spreadsheet will not run as a formula (member-typed text reaches supplier files)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


SUPPLIER_COLUMNS = [
    "order_id",
    "placed_at",
    "status",
    "member_external_id",
    "gift_reference",
    "gift_name",
    "quantity",
    "ship_name",
    "ship_line1",
    "ship_line2",
    "ship_postal_code",
    "ship_city",
    "ship_country",
    "ship_phone",
    "tracking_ref",
]


def orders_supplier_csv(*, orders: QuerySet[Order]) -> str:
    """One row per order line, with the shipping address: what a supplier needs to ship."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SUPPLIER_COLUMNS)
    local = timezone.get_current_timezone()
    for order in orders.select_related("member").prefetch_related("lines").order_by("placed_at", "id"):
        for line in order.lines.all():
            writer.writerow(
                csv_safe(value)
                for value in [
                    order.pk,
                    order.placed_at.astimezone(local).isoformat(timespec="seconds"),
                    order.status,
                    order.member.external_id,
                    line.gift_reference,
                    line.gift_name,
                    line.quantity,
                    order.ship_name,
                    order.ship_line1,
                    order.ship_line2,
                    order.ship_postal_code,
                    order.ship_city,
                    order.ship_country,
                    order.ship_phone,
                    order.tracking_ref,
                ]
            )
    return out.getvalue()
