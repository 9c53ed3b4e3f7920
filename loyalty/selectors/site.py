"""What the member site's pages show (landing, dashboard, history, portfolio), each read in a
fixed number of queries whatever the member's history: no query per entry, gift or member."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalog.models import Gift, Order
from catalog.selectors import gifts_visible
from core.formats import money_format, number_format, points_format
from loyalty.models import EarningRule, EventType, LedgerEntry, Member, MemberBadge, ProgrammeSettings, Tier
from loyalty.selectors.members import PointsSummary, member_ledger, member_points_summary
from loyalty.selectors.programme import programme_settings
from loyalty.selectors.tiers import member_metric

SHOWCASE_GIFTS = 6
LAST_ACTIVITY_LINES = 5
# The history's periods, in days (None: all of it).
HISTORY_PERIODS: dict[str, int | None] = {"30d": 30, "90d": 90, "1y": 365, "all": None}


def points_value(*, points: int, programme: ProgrammeSettings) -> Decimal:
    """What `points` are worth in the programme's currency (`unit_value` per `points_per_unit`)."""
    value = Decimal(points) * programme.unit_value / Decimal(programme.points_per_unit)
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def rule_in_words(*, rule: EarningRule, event_names: dict[str, str], currency: str) -> str:
    """A short sentence for members saying what the rule gives: 'Purchase: 1 point per EUR'."""
    event = event_names.get(rule.event_type, rule.event_type.replace("_", " ").capitalize())
    award = rule.award_type
    if award == EarningRule.Award.FIXED:
        what = ngettext("%(count)s point", "%(count)s points", rule.points) % {"count": rule.points}
    elif award == EarningRule.Award.PER_ITEM:
        what = _("%(count)s points per item") % {"count": rule.points}
    elif award == EarningRule.Award.PER_AMOUNT:
        count = rule.points_per_unit.normalize()
        what = ngettext(
            "%(count)s point per %(currency)s", "%(count)s points per %(currency)s", 1 if count == 1 else 2
        ) % {"count": count, "currency": currency}
    else:
        what = _("your points times %(multiplier)s") % {"multiplier": rule.multiplier.normalize()}
    if rule.conditions or rule.item_conditions:
        what = _("%(award)s, on conditions") % {"award": what}
    return f"{event}: {what}"


@dataclass(frozen=True)
class EarnLine:
    name: str
    words: str


def tier_value_text(*, value: Decimal, programme: ProgrammeSettings) -> str:
    """A tier metric's value with its unit, in the active language: money in the programme's
    currency ("€1,000.00", "1 000,00 €"), points ("1,000 points") or a count of events."""
    metric = programme.tier_metric
    if metric == ProgrammeSettings.TierMetric.AMOUNT_SPENT:
        return money_format(value, programme.currency)
    if metric == ProgrammeSettings.TierMetric.POINTS_EARNED:
        return points_format(int(value))
    return number_format(int(value))


@dataclass(frozen=True)
class TierLine:
    tier: Tier
    threshold_text: str


@dataclass(frozen=True)
class Landing:
    programme: ProgrammeSettings
    earning: list[EarnLine]
    tiers: list[TierLine]
    gifts: list[Gift]


def rules_active(*, at: datetime | None = None) -> QuerySet[EarningRule]:
    """The rules earning members points now (not the sales reps' rules)."""
    at = at or timezone.now()
    return (
        EarningRule.objects.filter(is_active=True, beneficiary=EarningRule.Beneficiary.MEMBER)
        .filter(Q(active_from__isnull=True) | Q(active_from__lte=at))
        .filter(Q(active_until__isnull=True) | Q(active_until__gt=at))
        .order_by("priority", "id")
    )


def landing_data() -> Landing:
    programme = programme_settings()
    event_names = dict(EventType.objects.values_list("code", "name"))
    earning = [
        EarnLine(
            name=rule.name,
            words=rule_in_words(rule=rule, event_names=event_names, currency=programme.currency),
        )
        for rule in rules_active()
        if rule.award_type != EarningRule.Award.PERCENTAGE
    ]
    gifts = list(gifts_visible().order_by("-is_featured", "position", "points_price", "id")[:SHOWCASE_GIFTS])
    return Landing(
        programme=programme,
        earning=earning,
        tiers=[
            TierLine(tier, tier_value_text(value=tier.threshold, programme=programme))
            for tier in Tier.objects.order_by("threshold")
        ],
        gifts=gifts,
    )


@dataclass(frozen=True)
class TierProgress:
    """Where the member stands: their tier, the next one, the qualifying value so far and what is
    missing to reach the next (`percent` of the way from their tier's threshold to the next's,
    `missing_text` with the metric's unit); `has_tiers` False when the programme has none."""

    tier: Tier | None
    next_tier: Tier | None
    value: Decimal
    missing: Decimal
    percent: int
    metric: str
    missing_text: str = ""
    has_tiers: bool = True


def _tier_reached(*, tiers: list[Tier], value: Decimal) -> Tier | None:
    """The highest of `tiers` (by threshold) whose threshold `value` reaches (equal to it: when the
    bound is included), as the evaluation's decision places a member (loyalty.selectors.tiers)."""
    reached = [t for t in tiers if value > t.threshold or (t.threshold_inclusive and value == t.threshold)]
    return reached[-1] if reached else None


def tier_progress(*, member: Member, programme: ProgrammeSettings, at: datetime) -> TierProgress:
    value = member_metric(member=member, at=at)
    tiers = list(Tier.objects.order_by("threshold"))
    if not tiers:
        return TierProgress(None, None, value, Decimal(0), 100, programme.tier_metric, has_tiers=False)
    # A member not evaluated yet (no tier held) is shown the tier their value reaches (a
    # threshold-0 tier: everyone's); the page writes nothing, the next evaluation places them.
    tier = next((t for t in tiers if t.pk == member.tier_id), None) or (
        _tier_reached(tiers=tiers, value=value) if member.tier_id is None else None
    )
    floor = tier.threshold if tier is not None else Decimal(0)
    # The first tier above both the member's tier and what they have reached (an evaluation may
    # not have placed them yet).
    next_tier = next((t for t in tiers if t.threshold > max(floor, value)), None)
    if next_tier is None:
        return TierProgress(tier, None, value, Decimal(0), 100, programme.tier_metric)
    span = next_tier.threshold - floor
    done = max(Decimal(0), value - floor)
    percent = int(min(Decimal(100), done * 100 / span)) if span > 0 else 100
    missing = max(Decimal(0), next_tier.threshold - value)
    return TierProgress(
        tier,
        next_tier,
        value,
        missing,
        percent,
        programme.tier_metric,
        missing_text=tier_value_text(value=missing, programme=programme),
    )


@dataclass(frozen=True)
class Dashboard:
    member: Member
    programme: ProgrammeSettings
    points: PointsSummary
    value: Decimal
    progress: TierProgress
    badges: list[MemberBadge]
    entries: list[LedgerEntry]


def dashboard_data(*, member: Member, at: datetime | None = None) -> Dashboard:
    at = at or timezone.now()
    programme = programme_settings()
    return Dashboard(
        member=member,
        programme=programme,
        points=member_points_summary(member=member, at=at),
        value=points_value(points=member.balance, programme=programme),
        progress=tier_progress(member=member, programme=programme, at=at),
        badges=list(MemberBadge.objects.filter(member=member).select_related("badge").order_by("awarded_at")),
        entries=list(member_ledger(member=member)[:LAST_ACTIVITY_LINES]),
    )


def balance_data(*, member_id: int) -> dict[str, Any]:
    """The live figures of the dashboard (its script polls them): balance and its value."""
    balance = Member.objects.filter(pk=member_id).values_list("balance", flat=True).first() or 0
    programme = programme_settings()
    return {
        "balance": balance,
        "value": points_value(points=balance, programme=programme),
        "currency": programme.currency,
    }


def history_entries(
    *, member: Member, kind: str = "", period: str = "all", at: datetime | None = None
) -> QuerySet[LedgerEntry]:
    """The member's ledger, newest first, of one kind (all when empty) over one of `HISTORY_PERIODS`."""
    entries = member_ledger(member=member)
    if kind:
        entries = entries.filter(kind=kind)
    days = HISTORY_PERIODS.get(period)
    if days is not None:
        entries = entries.filter(created_at__gte=(at or timezone.now()) - timedelta(days=days))
    return entries


def portfolio_members(*, rep: User) -> QuerySet[Member]:
    """The members `rep` follows (their sales rep), with tier and number of orders; nobody else."""
    return (
        Member.objects.filter(sales_rep=rep)
        .select_related("tier")
        .annotate(order_count=Count("orders"))
        .order_by("company_name", "last_name", "first_name", "external_id")
    )


@dataclass(frozen=True)
class PortfolioMember:
    member: Member
    entries: list[LedgerEntry]
    orders: list[Order]


def portfolio_member(*, rep: User, external_id: str) -> PortfolioMember | None:
    """One member of `rep`'s portfolio with their last entries and orders; None for anyone else."""
    member = Member.objects.filter(sales_rep=rep, external_id=external_id).select_related("tier").first()
    if member is None:
        return None
    orders = list(
        Order.objects.filter(member=member).prefetch_related("lines").order_by("-placed_at", "-id")[:20]
    )
    return PortfolioMember(member=member, entries=list(member_ledger(member=member)[:20]), orders=orders)
