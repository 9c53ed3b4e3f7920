"""Reads behind a member's VIP status (README.md, "VIP and billing"): which of their subscriptions
gives VIP now, whether their tier grants it, what they spent over the spend rule's window, and the
order in which the sources are named.

The spend is the tiers' own measure (`loyalty.selectors.tiers.tier_metric_sql`: purchases in the
programme's currency, refunded ones excluded) over a rolling window of `vip_spend_months`, so a
tier on amount spent and the spend rule can never count differently."""

from __future__ import annotations

import copy
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from billing.models import Subscription
from loyalty.models import Member, ProgrammeSettings, Tier
from loyalty.selectors.tiers import tier_metric_params, tier_metric_sql

Source = Member.VipSource

# The sources in their order of precedence: the one named is the first that holds.
SOURCES_BY_PRECEDENCE = (Source.MANUAL, Source.SUBSCRIPTION, Source.TIER, Source.SPEND)
# Stripe's states that give VIP: a trial, paid, or a failed payment Stripe is still retrying. A
# canceled subscription gives it until the end of the period paid for.
LIVE_STATUSES = (Subscription.Status.TRIALING, Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE)
ALL_IDS = (0, 2**63 - 1)


def subscriptions_live(*, now: datetime) -> QuerySet[Subscription]:
    """The subscriptions that give VIP at `now`."""
    return Subscription.objects.filter(
        Q(status__in=LIVE_STATUSES) | Q(status=Subscription.Status.CANCELED, current_period_end__gt=now)
    )


def subscription_live_for(*, member: Member, now: datetime | None = None) -> Subscription | None:
    """The member's subscription that gives VIP at `now` (the oldest, if several), or None."""
    return (
        subscriptions_live(now=now or timezone.now())
        .filter(member_id=member.pk)
        .order_by("created_at", "pk")
        .first()
    )


def spend_programme(programme: ProgrammeSettings) -> ProgrammeSettings:
    """The programme as the tiers' measure would read it for the spend rule: amount spent over the
    last `vip_spend_months` (an unsaved copy; the brand's settings are not touched)."""
    spend = copy.copy(programme)
    spend.tier_metric = ProgrammeSettings.TierMetric.AMOUNT_SPENT
    spend.tier_window = ProgrammeSettings.TierWindow.ROLLING_MONTHS
    spend.tier_window_months = programme.vip_spend_months
    return spend


def _spend_rows(*, programme: ProgrammeSettings, at: datetime, lo: int, hi: int) -> list[tuple[int, Decimal]]:
    spend = spend_programme(programme)
    with connection.cursor() as cursor:
        cursor.execute(tier_metric_sql(spend), tier_metric_params(programme=spend, at=at, lo=lo, hi=hi))
        return cursor.fetchall()


def member_spend(*, member: Member, programme: ProgrammeSettings, at: datetime) -> Decimal:
    """What the member spent over the spend rule's window ending at `at`."""
    rows = _spend_rows(programme=programme, at=at, lo=member.pk, hi=member.pk)
    return Decimal(rows[0][1]) if rows else Decimal("0")


def members_spend_reached(*, programme: ProgrammeSettings, at: datetime) -> set[int]:
    """The ids of the members whose spend over the window reaches the rule (none without a rule)."""
    if programme.vip_spend_amount is None:
        return set()
    rows = _spend_rows(programme=programme, at=at, lo=ALL_IDS[0], hi=ALL_IDS[1])
    return {member_id for member_id, value in rows if value >= programme.vip_spend_amount}


def vip_source_decide(*, manual: bool, subscription: bool, tier: bool, spend: bool) -> str:
    """The source named for a member with these sources holding ("" for none), by precedence."""
    holding = {
        Source.MANUAL: manual,
        Source.SUBSCRIPTION: subscription,
        Source.TIER: tier,
        Source.SPEND: spend,
    }
    return next((str(source) for source in SOURCES_BY_PRECEDENCE if holding[source]), "")


def member_vip_source(*, member: Member, manual: bool, programme: ProgrammeSettings, now: datetime) -> str:
    """The source that makes the member VIP at `now` ("" if none); `manual`: whether staff grant
    it (the member's own `vip_source == "manual"` unless a grant is being changed). The grant
    comes first, so the other sources are read only without one."""
    if manual:
        return vip_source_decide(manual=True, subscription=False, tier=False, spend=False)
    rule = programme.vip_spend_amount
    return vip_source_decide(
        manual=False,
        subscription=subscription_live_for(member=member, now=now) is not None,
        tier=member.tier_id is not None and Tier.objects.filter(pk=member.tier_id, grants_vip=True).exists(),
        spend=rule is not None and member_spend(member=member, programme=programme, at=now) >= rule,
    )


def members_vip_drifted(*, programme: ProgrammeSettings, now: datetime) -> list[int]:
    """The ids of the members whose stored VIP source is not the one the sources give at `now`
    (a spend window that slid, a subscription period that ended, a tier's flag changed): what
    the nightly refresh re-decides, each under the member's lock."""
    subscribed = set(subscriptions_live(now=now).values_list("member_id", flat=True))
    tiered = set(
        Member.objects.filter(tier__grants_vip=True)
        .exclude(status=Member.Status.ANONYMISED)
        .values_list("pk", flat=True)
    )
    spent = members_spend_reached(programme=programme, at=now)
    stored = dict(Member.objects.filter(is_vip=True).values_list("pk", "vip_source"))
    candidates = subscribed | tiered | spent | set(stored)
    # Anonymised members are left as they are (their VIP ended with the anonymisation).
    candidates -= set(
        Member.objects.filter(pk__in=candidates, status=Member.Status.ANONYMISED).values_list("pk", flat=True)
    )
    drifted = []
    for member_id in sorted(candidates):
        current = stored.get(member_id, "")
        expected = vip_source_decide(
            manual=current == Source.MANUAL,
            subscription=member_id in subscribed,
            tier=member_id in tiered,
            spend=member_id in spent,
        )
        if expected != current:
            drifted.append(member_id)
    return drifted
