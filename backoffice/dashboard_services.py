"""The nightly rebuild of the dashboard's monthly aggregates (README "Dashboard").

Everything dated before the start of the brand's day of the run (`DashboardState.through`) is summed
into months of the brand's timezone; the dashboard reads those rows and adds what is dated from
`through` on (`backoffice.dashboard_selectors`). Ledger entries, messages and orders are dated when
they are written, so a night recomputes only the month of the previous `through` and the ones
after it (and the month before, for late delivery receipts and cancellations); members are
recomputed whole (one grouped count of the member table), since an import may date them in any
month. `full=True` recomputes every month (the first run, or after repairing data by hand).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from backoffice.dashboard_selectors import (
    gift_months,
    ledger_months,
    member_months,
    member_tiers,
    members_active,
    message_months,
    month_add,
    month_start_at,
)
from backoffice.models import DashboardState, GiftMonth, LedgerMonth, MemberMonth, MessageMonth
from catalog.models import OrderLine
from loyalty.models import LedgerEntry, Member
from messaging.models import Message
from tenants.selectors import brand_timezone


def day_start(*, at: datetime) -> datetime:
    """The start of the brand's day holding `at` (aware)."""
    zone = brand_timezone()
    return datetime.combine(timezone.localtime(at, zone).date(), time.min, tzinfo=zone)


@transaction.atomic
def dashboard_rebuild(*, at: datetime | None = None, full: bool = False) -> DashboardState:
    """Recompute the monthly aggregates up to the start of the brand's day holding `at` (now)."""
    at = at or timezone.now()
    through = day_start(at=at)
    # One rebuild at a time; the dashboard's reads (ACCESS SHARE) go on meanwhile, on the old rows.
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {DashboardState._meta.db_table} IN EXCLUSIVE MODE")
    state = DashboardState.objects.filter(id=1).first()
    since: date | None = None
    if state is not None and not full:
        previous = timezone.localtime(min(state.through, through), brand_timezone()).date()
        since = month_add(previous.replace(day=1), -1)
    since_at = None if since is None else month_start_at(since)

    def dated(queryset: QuerySet[Any], field: str) -> QuerySet[Any]:
        queryset = queryset.filter(**{f"{field}__lt": through})
        return queryset if since_at is None else queryset.filter(**{f"{field}__gte": since_at})

    for model in (LedgerMonth, MessageMonth, GiftMonth):
        stale = model.objects.all() if since is None else model.objects.filter(month__gte=since)
        stale.delete()
    LedgerMonth.objects.bulk_create(
        LedgerMonth(month=month, kind=kind, points=points, entries=entries)
        for (month, kind), (points, entries) in ledger_months(
            dated(LedgerEntry.objects.all(), "created_at")
        ).items()
    )
    MessageMonth.objects.bulk_create(
        MessageMonth(month=month, channel=channel, state=state_, messages=count)
        for (month, channel, state_), count in message_months(
            dated(Message.objects.all(), "created_at")
        ).items()
    )
    GiftMonth.objects.bulk_create(
        GiftMonth(month=month, gift_id=gift_id, quantity=quantity, points=points)
        for (month, gift_id), (quantity, points) in gift_months(
            dated(OrderLine.objects.all(), "order__placed_at")
        ).items()
    )
    last_member_id = Member.objects.aggregate(last=Max("id"))["last"] or 0
    MemberMonth.objects.all().delete()
    MemberMonth.objects.bulk_create(
        MemberMonth(month=month, joined=count)
        for month, count in member_months(Member.objects.filter(id__lte=last_member_id)).items()
    )
    known = Member.objects.filter(id__lte=last_member_id)
    state, _ = DashboardState.objects.update_or_create(
        id=1,
        defaults={
            "through": through,
            "last_member_id": last_member_id,
            "rebuilt_at": at,
            "members_active_30": members_active(members=known, days=30, at=at),
            "members_active_90": members_active(members=known, days=90, at=at),
            "tiers": {str(tier or ""): count for tier, count in member_tiers(members=known).items()},
        },
    )
    return state
