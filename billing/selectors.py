"""Reads of the brand's VIP subscribers (README.md, "VIP and billing"): the subscriptions with their
state, history and payments, and the monthly recurring revenue and churn of a month, read from the
subscriptions' history (`SubscriptionChange`, one row per state a Stripe event brought).

MRR at a moment is the sum, per currency, of what the subscriptions paying then (`active`, or
`past_due` while Stripe retries) pay a month: a yearly price counts for a twelfth. A trial pays
nothing yet. The churn of a month is the share of the subscriptions paying at its start that ended
during it (cancelled, unpaid, expired). Months are the brand's, in its timezone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q, QuerySet
from django.utils import timezone

from billing.models import Payment, Subscription, SubscriptionChange, VipPlan
from tenants.selectors import brand_timezone

Status = Subscription.Status
PAYING_STATUSES = frozenset({Status.ACTIVE, Status.PAST_DUE})
ENDED_STATUSES = frozenset({Status.CANCELED, Status.UNPAID, Status.INCOMPLETE_EXPIRED})
CENT = Decimal("0.01")


def vip_plans_on_sale() -> QuerySet[VipPlan]:
    """The plans a member may subscribe to: active, and written to the brand's Stripe account."""
    return VipPlan.objects.filter(is_active=True).exclude(stripe_price_id="")


def subscription_list(
    *, status: str | None = None, plan_id: int | None = None, search: str = ""
) -> QuerySet[Subscription]:
    """The brand's subscriptions, newest first, with their member and plan."""
    rows = Subscription.objects.select_related("member", "plan")
    if status:
        rows = rows.filter(status=status)
    if plan_id:
        rows = rows.filter(plan_id=plan_id)
    if search:
        rows = rows.filter(
            Q(member__email__icontains=search)
            | Q(member__external_id__icontains=search)
            | Q(member__last_name__icontains=search)
            | Q(stripe_subscription_id=search)
            | Q(stripe_customer_id=search)
        )
    return rows


def subscription_history(*, subscription: Subscription) -> QuerySet[SubscriptionChange]:
    """The states the subscription went through, oldest first."""
    return subscription.changes.order_by("at", "pk")


def subscription_payments(*, subscription: Subscription) -> QuerySet[Payment]:
    return subscription.payments.order_by("-at", "-pk")


def monthly_amount(*, amount: Decimal, interval: str) -> Decimal:
    """What a price paid every `interval` is a month (not rounded: the sums are)."""
    return amount / 12 if interval == VipPlan.Interval.YEAR else amount


def states_before(*, at: datetime) -> dict[int, SubscriptionChange]:
    """Each subscription's state just before `at` (its latest change before), by subscription id."""
    latest = (
        SubscriptionChange.objects.filter(at__lt=at)
        .order_by("subscription_id", "-at", "-pk")
        .distinct("subscription_id")
    )
    return {change.subscription_id: change for change in latest}


def mrr_before(*, at: datetime) -> dict[str, Decimal]:
    """The monthly recurring revenue just before `at`, per currency (only the currencies some
    subscription paying then is in), to the cent."""
    totals: dict[str, Decimal] = {}
    for change in states_before(at=at).values():
        if change.status in PAYING_STATUSES:
            monthly = monthly_amount(amount=change.amount, interval=change.interval)
            totals[change.currency] = totals.get(change.currency, Decimal("0")) + monthly
    return {currency: total.quantize(CENT, ROUND_HALF_UP) for currency, total in sorted(totals.items())}


@dataclass(frozen=True)
class MonthFigures:
    """A month's figures: MRR at its end (now, for the current month), the subscriptions paying
    at its start, those of them that ended in it, and their share (None when none paid)."""

    month: date
    mrr: dict[str, Decimal]
    paying_at_start: int
    ended: int

    @property
    def churn(self) -> Decimal | None:
        if not self.paying_at_start:
            return None
        return (Decimal(self.ended) / self.paying_at_start).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def _month_start(month: date) -> datetime:
    return datetime.combine(month.replace(day=1), time.min, tzinfo=brand_timezone())


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_figures(*, month: date, now: datetime | None = None) -> MonthFigures:
    """MRR and churn of the brand's month holding `month`."""
    now = now or timezone.now()
    start, end = _month_start(month), _month_start(_next_month(month))
    paying = {pk for pk, change in states_before(at=start).items() if change.status in PAYING_STATUSES}
    ended = set(
        SubscriptionChange.objects.filter(
            subscription_id__in=paying, at__gte=start, at__lt=end, status__in=ENDED_STATUSES
        ).values_list("subscription_id", flat=True)
    )
    mrr = mrr_before(at=min(now, end))
    return MonthFigures(month=month.replace(day=1), mrr=mrr, paying_at_start=len(paying), ended=len(ended))


def months_figures(*, count: int = 12, now: datetime | None = None) -> list[MonthFigures]:
    """The figures of the last `count` months of the brand, the current one last."""
    now = now or timezone.now()
    current = timezone.localtime(now, brand_timezone()).date()
    index = current.year * 12 + current.month - 1
    months = [date(number // 12, number % 12 + 1, 1) for number in range(index - count + 1, index + 1)]
    return [month_figures(month=month, now=now) for month in months]
