"""The dashboard's figures (README "Dashboard"): the monthly aggregates the nightly rebuild keeps
(`backoffice.dashboard_services`), plus what is dated since it (`DashboardState.through`), read
live on indexed columns (the ledger's and messages' `created_at`, orders' status and date, members'
ids). Before the first rebuild every figure is read live."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connections
from django.db.models import Count, DateField, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from backoffice.models import DashboardState, GiftMonth, LedgerMonth, MemberMonth, MessageMonth
from billing.models import Subscription
from billing.selectors import PAYING_STATUSES, mrr_before
from catalog.models import Gift, Order, OrderLine
from core.replica import read_alias
from loyalty.models import LedgerEntry, Member, Tier
from loyalty.selectors.programme import programme_settings
from messaging.models import Message
from tenants.selectors import brand_timezone

# Orders whose gifts count as given (a cancelled order gave its points back).
COUNTED_ORDER_STATUSES = [status for status in Order.Status.values if status != Order.Status.CANCELLED]
TOP_GIFTS = 10
CENT = Decimal("0.01")


def month_add(month: date, months: int) -> date:
    """The first day of the month `months` after (or before) the month of `month`."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_start_at(month: date) -> datetime:
    """When the brand's month holding `month` starts (aware)."""
    return datetime.combine(month.replace(day=1), time.min, tzinfo=brand_timezone())


def _month(field: str) -> TruncMonth:
    return TruncMonth(field, tzinfo=brand_timezone(), output_field=DateField())


def ledger_months(entries: QuerySet[LedgerEntry]) -> dict[tuple[date, str], tuple[int, int]]:
    """Points and entries of `entries` by month and kind."""
    rows = entries.order_by().annotate(month=_month("created_at")).values_list("month", "kind")
    return {
        (month, kind): (points, count)
        for month, kind, points, count in rows.annotate(points=Sum("points"), count=Count("id"))
    }


def message_months(messages: QuerySet[Message]) -> dict[tuple[date, str, str], int]:
    """Messages of `messages` by month, channel and state."""
    rows = messages.order_by().annotate(month=_month("created_at")).values_list("month", "channel", "state")
    return {
        (month, channel, state): count for month, channel, state, count in rows.annotate(count=Count("id"))
    }


def gift_months(lines: QuerySet[OrderLine]) -> dict[tuple[date, int], tuple[int, int]]:
    """Quantity and points of `lines` by month of their order and gift, cancelled orders left out."""
    lines = lines.filter(order__status__in=COUNTED_ORDER_STATUSES).order_by()
    rows = lines.annotate(month=_month("order__placed_at")).values_list("month", "gift_id")
    return {
        (month, gift_id): (quantity, points)
        for month, gift_id, quantity, points in rows.annotate(
            quantity=Sum("quantity"), points=Sum("points_total")
        )
    }


def member_months(members: QuerySet[Member]) -> dict[date, int]:
    """Members of `members` by the month they joined."""
    rows = members.order_by().annotate(month=_month("joined_at")).values_list("month")
    return dict(rows.annotate(count=Count("id")).values_list("month", "count"))


def members_active(*, members: QuerySet[Member], days: int, at: datetime) -> int:
    """Members of `members` active in the `days` days before `at`."""
    return members.filter(last_activity_at__gte=at - timedelta(days=days), last_activity_at__lte=at).count()


def member_tiers(*, members: QuerySet[Member]) -> dict[int | None, int]:
    """Members of `members` per tier id (None: no tier)."""
    return dict(
        members.order_by().values_list("tier_id").annotate(count=Count("id")).values_list("tier_id", "count")
    )


@dataclass(frozen=True)
class Period:
    """Whole months of the brand, `start` to `end` included (their first days)."""

    start: date
    end: date

    @classmethod
    def last_months(cls, *, count: int = 12, today: date | None = None) -> Period:
        end = (today or timezone.localdate(timezone=brand_timezone())).replace(day=1)
        return cls(start=month_add(end, 1 - count), end=end)

    @property
    def months(self) -> list[date]:
        count = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1
        return [month_add(self.start, number) for number in range(count)]


@dataclass(frozen=True)
class PointsMonth:
    """A month's points: earned, redeemed, expired (positive numbers) and the net of the others
    (adjustments, reversals, transfers)."""

    month: date
    issued: int
    redeemed: int
    expired: int
    other: int


@dataclass(frozen=True)
class TierCount:
    name: str
    members: int


@dataclass(frozen=True)
class GiftCount:
    name: str
    reference: str
    quantity: int
    points: int


@dataclass(frozen=True)
class MessageCount:
    channel: str
    state: str
    messages: int


@dataclass(frozen=True)
class DashboardFigures:
    period: Period
    through: datetime | None
    counted_at: datetime  # when the members' activity and tiers were counted (the nightly's time)
    members_total: int
    members_active_30: int
    members_active_90: int
    members_new: list[tuple[date, int]]
    points: list[PointsMonth]
    outstanding: int
    point_value: Decimal
    currency: str
    liability: Decimal
    breakage: Decimal | None
    tiers: list[TierCount]
    gifts: list[GiftCount]
    messages: list[MessageCount]
    vip_subscribers: int
    mrr: dict[str, Decimal]


def _stored(period: Period) -> dict[str, list[tuple]]:
    """Every stored month of the ledger and the members, and the period's of the messages and the
    gifts, in one query: rows (month, key, key, number, number) by figure."""
    tables = {
        model.__name__: model._meta.db_table for model in (LedgerMonth, MemberMonth, MessageMonth, GiftMonth)
    }
    sql = f"""
        SELECT 'ledger', month, kind, '', points, 0 FROM {tables["LedgerMonth"]}
        UNION ALL SELECT 'members', month, '', '', joined, 0 FROM {tables["MemberMonth"]}
        UNION ALL SELECT 'messages', month, channel, state, messages, 0 FROM {tables["MessageMonth"]}
            WHERE month BETWEEN %(start)s AND %(end)s
        UNION ALL SELECT 'gifts', month, gift_id::text, '', quantity, points FROM {tables["GiftMonth"]}
            WHERE month BETWEEN %(start)s AND %(end)s
    """  # noqa: S608  (table names from the models)
    rows: dict[str, list[tuple]] = {"ledger": [], "members": [], "messages": [], "gifts": []}
    with connections[read_alias()].cursor() as cursor:  # the replica inside replica_reads()
        cursor.execute(sql, {"start": period.start, "end": period.end})
        for figure, *values in cursor.fetchall():
            rows[figure].append(tuple(values))
    return rows


def _ledger(state: DashboardState | None, stored: list[tuple]) -> dict[tuple[date, str], int]:
    """Points by month and kind: the stored months and the live part."""
    live = (
        LedgerEntry.objects.all()
        if state is None
        else LedgerEntry.objects.filter(created_at__gte=state.through)
    )
    points: Counter[tuple[date, str]] = Counter()
    for month, kind, _none, stored_points, _zero in stored:
        points[month, kind] += stored_points
    for key, (live_points, _count) in ledger_months(live).items():
        points[key] += live_points
    return points


def _members_new(state: DashboardState | None, stored: list[tuple]) -> Counter[date]:
    live = Member.objects.all() if state is None else Member.objects.filter(id__gt=state.last_member_id)
    joined: Counter[date] = Counter({month: count for month, _none, _nothing, count, _zero in stored})
    joined.update(member_months(live))
    return joined


def _messages(state: DashboardState | None, period: Period, stored: list[tuple]) -> list[MessageCount]:
    live = Message.objects.all() if state is None else Message.objects.filter(created_at__gte=state.through)
    counts: Counter[tuple[str, str]] = Counter()
    for _stored_month, channel, message_state, count, _zero in stored:
        counts[channel, message_state] += count
    for (month, channel, message_state), count in message_months(live).items():
        if period.start <= month <= period.end:
            counts[channel, message_state] += count
    channels, states = dict(Message._meta.get_field("channel").flatchoices), dict(Message.State.choices)
    return [
        MessageCount(
            channel=str(channels.get(channel, channel)), state=str(states.get(state_, state_)), messages=n
        )
        for (channel, state_), n in sorted(counts.items())
    ]


def _gifts(state: DashboardState | None, period: Period, stored: list[tuple]) -> list[GiftCount]:
    live = OrderLine.objects.all()
    if state is not None:
        live = live.filter(order__placed_at__gte=state.through)
    totals: Counter[int] = Counter()
    points: Counter[int] = Counter()
    for _stored_month, gift_key, _none, quantity, gift_points in stored:
        gift_id = int(gift_key)
        totals[gift_id] += quantity
        points[gift_id] += gift_points
    for (month, gift_id), (quantity, gift_points) in gift_months(live).items():
        if period.start <= month <= period.end:
            totals[gift_id] += quantity
            points[gift_id] += gift_points
    top = sorted(totals, key=lambda gift_id: (-totals[gift_id], gift_id))[:TOP_GIFTS]
    gifts = Gift.objects.in_bulk(top)
    return [
        GiftCount(name=gifts[pk].name, reference=gifts[pk].reference, quantity=totals[pk], points=points[pk])
        for pk in top
    ]


def _tiers(state: DashboardState | None) -> list[TierCount]:
    """Members per tier: the nightly's count, and the members who joined since by their tier."""
    if state is None:
        counts = Counter(member_tiers(members=Member.objects.all()))
    else:
        counts = Counter({int(tier) if tier else None: count for tier, count in state.tiers.items()})
        counts.update(member_tiers(members=Member.objects.filter(id__gt=state.last_member_id)))
    tiers = [
        TierCount(name=tier.name, members=counts.get(tier.pk, 0))
        for tier in Tier.objects.order_by("threshold")
    ]
    return [TierCount(name="", members=counts.get(None, 0)), *tiers]


def dashboard_figures(*, period: Period, now: datetime | None = None) -> DashboardFigures:
    """Every figure of the dashboard for `period` (members' totals and tiers, outstanding points
    and subscribers: now)."""
    now = now or timezone.now()
    state = DashboardState.objects.filter(id=1).first()
    stored = _stored(period)
    ledger = _ledger(state, stored["ledger"])
    points = [
        PointsMonth(
            month=month,
            issued=ledger[month, LedgerEntry.Kind.EARN],
            redeemed=-ledger[month, LedgerEntry.Kind.REDEEM],
            expired=-ledger[month, LedgerEntry.Kind.EXPIRE],
            other=sum(
                ledger[month, kind]
                for kind in (LedgerEntry.Kind.ADJUST, LedgerEntry.Kind.REVERSE, LedgerEntry.Kind.TRANSFER)
            ),
        )
        for month in period.months
    ]
    issued, expired = sum(row.issued for row in points), sum(row.expired for row in points)
    outstanding = sum(ledger.values())
    programme = programme_settings()
    point_value = programme.unit_value / programme.points_per_unit
    joined = _members_new(state, stored["members"])
    if state is None:
        active_30, active_90 = (
            members_active(members=Member.objects.all(), days=d, at=now) for d in (30, 90)
        )
    else:
        active_30, active_90 = state.members_active_30, state.members_active_90
    return DashboardFigures(
        period=period,
        through=None if state is None else state.through,
        counted_at=now if state is None else state.rebuilt_at,
        members_total=sum(joined.values()),
        members_active_30=active_30,
        members_active_90=active_90,
        members_new=[(month, joined[month]) for month in period.months],
        points=points,
        outstanding=outstanding,
        point_value=point_value,
        currency=programme.currency,
        liability=(outstanding * point_value).quantize(CENT, ROUND_HALF_UP),
        breakage=(Decimal(expired) / issued).quantize(Decimal("0.0001"), ROUND_HALF_UP) if issued else None,
        tiers=_tiers(state),
        gifts=_gifts(state, period, stored["gifts"]),
        messages=_messages(state, period, stored["messages"]),
        vip_subscribers=Subscription.objects.filter(status__in=PAYING_STATUSES).count(),
        mrr=mrr_before(at=now),
    )
