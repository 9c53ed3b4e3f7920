"""The backoffice dashboard (README "Dashboard"): its figures equal what the ledger, the members,
the orders and the messages say, whether read live, from the nightly's monthly aggregates or from
both; its CSVs; its period picker and the errors of a bad period; who may see it."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from backoffice.dashboard_selectors import Period, dashboard_figures, month_add, month_start_at
from backoffice.dashboard_services import dashboard_rebuild
from backoffice.models import DashboardState, LedgerMonth
from backoffice.tasks import REBUILD_LOCAL_HOUR, dashboard_brand_rebuild_task
from catalog.services import RedeemItem, ShippingAddress, order_cancel, order_place
from loyalty.models import LedgerEntry, Member, ProgrammeSettings
from loyalty.services.expiry import points_expire_due
from loyalty.services.ledger import points_adjust
from loyalty.services.tiers import tier_create
from messaging.models import Message
from tenants.selectors import brand_timezone
from tests.catalog.factories import gift_make
from tests.factories import credit_make, debit_make, member_make, staff_make

pytestmark = pytest.mark.django_db

ADDRESS = ShippingAddress(
    name="Ada Lovelace", line1="1 rue de la Paix", city="Paris", postal_code="75002", country="FR"
)


def _months_ago(months: int, *, day: int = 10, hour: int = 12) -> datetime:
    """A moment `months` months before now, in the brand's timezone."""
    zone = brand_timezone()
    month = month_add(timezone.localdate(timezone=zone), -months)
    return datetime(month.year, month.month, day, hour, tzinfo=zone)


def _history() -> list[Member]:
    """Members with credits, redemptions, expiries, adjustments, orders and messages over the last
    months (some at the edge of a month, in the brand's timezone), and some today."""
    ProgrammeSettings.objects.update(points_per_unit=300, unit_value=Decimal("7.00"))
    silver = tier_create(data={"code": "silver", "name": "Silver", "threshold": 500})
    ada, bob, eve = (member_make() for _ in range(3))
    Member.objects.filter(pk=bob.pk).update(tier=silver)
    Member.objects.filter(pk=eve.pk).update(joined_at=_months_ago(5))
    for months, member, points in ((5, ada, 400), (3, bob, 1_000), (1, eve, 333), (0, ada, 70)):
        credit_make(member, points, at=_months_ago(months))
    # The last second of a month and the first of the next, in the brand's timezone.
    edge = _months_ago(2, day=1, hour=0)
    credit_make(bob, 11, at=edge - timedelta(seconds=1))
    credit_make(bob, 13, at=edge)
    credit_make(eve, 50, at=_months_ago(4), expires_at=_months_ago(4) + timedelta(days=3))
    points_expire_due(at=_months_ago(4) + timedelta(days=4))
    debit_make(bob, 120, at=_months_ago(2))
    points_adjust(member_id=ada.pk, points=-25, reason="goodwill back", staff_user_id=None)
    points_adjust(member_id=eve.pk, points=40, reason="goodwill", staff_user_id=None)
    lamp, mug = gift_make(name="Lamp", points_price=100), gift_make(name="Mug", points_price=30)
    order_place(
        member_id=bob.pk,
        items=[RedeemItem(gift_id=mug.pk, quantity=3)],
        idempotency_key="o1",
        actor="test",
        shipping=ADDRESS,
        at=_months_ago(1),
    )
    order_place(
        member_id=bob.pk,
        items=[RedeemItem(gift_id=lamp.pk)],
        idempotency_key="o2",
        actor="test",
        shipping=ADDRESS,
    )
    cancelled, _ = order_place(
        member_id=ada.pk,
        items=[RedeemItem(gift_id=lamp.pk)],
        idempotency_key="o3",
        actor="test",
        shipping=ADDRESS,
    )
    order_cancel(order_id=cancelled.pk, actor="test", note="changed their mind")
    for member, channel, state, months in (
        (ada, "email", "delivered", 1),
        (bob, "sms", "failed", 1),
        (bob, "sms", "delivered", 0),
        (eve, "email", "delivered", 7),
    ):
        message = Message.objects.create(
            member=member, channel=channel, purpose="marketing", language="en", state=state
        )
        Message.objects.filter(pk=message.pk).update(created_at=_months_ago(months))
    return [ada, bob, eve]


def _ledger_by_month() -> Counter:
    """The ledger's own sums by (month, kind), months of the brand's timezone."""
    zone = brand_timezone()
    sums: Counter = Counter()
    for kind, points, created_at in LedgerEntry.objects.values_list("kind", "points", "created_at"):
        sums[timezone.localtime(created_at, zone).date().replace(day=1), kind] += points
    return sums


def _comparable(figures) -> dict:
    """The figures but the moments they were counted at and the members' activity, which is
    counted at the nightly's time (tested on its own)."""
    values = dict(figures.__dict__)
    for name in ("through", "counted_at", "members_active_30", "members_active_90"):
        values.pop(name)
    return values


def test_monthly_points_equal_the_ledger_live_and_rebuilt(in_a):
    _history()
    period = Period.last_months(count=7)
    live = dashboard_figures(period=period)
    ledger = _ledger_by_month()
    assert [(row.month, row.issued, row.redeemed, row.expired, row.other) for row in live.points] == [
        (
            month,
            ledger[month, "earn"],
            -ledger[month, "redeem"],
            -ledger[month, "expire"],
            ledger[month, "adjust"] + ledger[month, "reverse"] + ledger[month, "transfer"],
        )
        for month in period.months
    ]
    assert sum(row.expired for row in live.points) == 50
    dashboard_rebuild()
    assert LedgerMonth.objects.exists()
    assert _comparable(dashboard_figures(period=period)) == _comparable(live)


def test_liability_is_the_sum_of_the_balances_times_the_point_value(in_a):
    _history()
    figures = dashboard_figures(period=Period.last_months())
    balances = Member.objects.aggregate(total=Sum("balance"))["total"]
    assert figures.outstanding == balances == LedgerEntry.objects.aggregate(total=Sum("points"))["total"]
    assert figures.point_value == Decimal("7.00") / 300
    assert figures.liability == (balances * Decimal("7.00") / 300).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert figures.currency == "EUR"
    dashboard_rebuild()
    assert dashboard_figures(period=Period.last_months()).liability == figures.liability


def test_members_tiers_gifts_and_messages(in_a):
    ada, _bob, eve = _history()
    Member.objects.filter(pk=ada.pk).update(last_activity_at=timezone.now() - timedelta(days=45))
    Member.objects.filter(pk=eve.pk).update(last_activity_at=timezone.now() - timedelta(days=100))
    period = Period.last_months(count=7)
    for rebuilt in (False, True):
        if rebuilt:
            dashboard_rebuild()
        figures = dashboard_figures(period=period)
        assert figures.members_total == Member.objects.count()
        active = Member.objects.exclude(last_activity_at=None)
        assert (
            figures.members_active_30
            == active.filter(last_activity_at__gte=timezone.now() - timedelta(days=30)).count()
        )
        assert figures.members_active_90 == figures.members_active_30 + 1
        joined = dict(figures.members_new)
        assert joined[month_add(period.end, -5)] >= 1
        assert (
            sum(joined.values()) == Member.objects.filter(joined_at__gte=month_start_at(period.start)).count()
        )
        tiers = Counter(Member.objects.values_list("tier__name", flat=True))
        assert {tier.name: tier.members for tier in figures.tiers} == {
            "": tiers[None],
            "Silver": tiers["Silver"],
        }
        assert [(gift.name, gift.quantity, gift.points) for gift in figures.gifts] == [
            ("Mug", 3, 90),
            ("Lamp", 1, 100),
        ]
        assert sorted((row.channel, row.state, row.messages) for row in figures.messages) == [
            ("E-mail", "Delivered", 1),
            ("SMS", "Delivered", 1),
            ("SMS", "Failed", 1),
        ]
        assert figures.breakage == (Decimal(50) / sum(row.issued for row in figures.points)).quantize(
            Decimal("0.0001")
        )


def test_the_nightly_and_todays_live_part_agree(in_a):
    members = _history()
    period = Period.last_months(count=7)
    yesterday = timezone.now() - timedelta(days=1)
    dashboard_rebuild(at=yesterday)  # last night's run: today's entries are the live part
    assert DashboardState.objects.get().through <= yesterday
    # Written after the run: an entry, a member and a message of today.
    credit_make(members[0], 9)
    member_make()
    Message.objects.create(member=members[1], channel="sms", purpose="marketing", language="en", state="sent")
    with_live = dashboard_figures(period=period)
    assert with_live.members_total == Member.objects.count()
    assert with_live.outstanding == Member.objects.aggregate(total=Sum("balance"))["total"]
    # Tonight's run, from where last night's left, and a full rebuild: the same figures.
    dashboard_rebuild()
    assert _comparable(dashboard_figures(period=period)) == _comparable(with_live)
    dashboard_rebuild(full=True)
    assert _comparable(dashboard_figures(period=period)) == _comparable(with_live)
    # Tomorrow's run holds everything in its months: nothing left to read live, nothing counted twice.
    dashboard_rebuild(at=timezone.now() + timedelta(days=1))
    assert _comparable(dashboard_figures(period=period)) == _comparable(with_live)


def test_the_members_activity_is_counted_at_the_nightlys_time(in_a):
    ada, bob, eve = _history()
    now = timezone.now()
    for member, days in ((ada, 10), (bob, 60), (eve, 95)):
        Member.objects.filter(pk=member.pk).update(last_activity_at=now - timedelta(days=days))
    others = Member.objects.exclude(pk__in=[ada.pk, bob.pk, eve.pk])
    before = {
        days: others.filter(last_activity_at__gte=now - timedelta(days=days)).count() for days in (30, 90)
    }
    dashboard_rebuild(at=now)
    Member.objects.filter(pk=eve.pk).update(last_activity_at=timezone.now())  # active again today
    figures = dashboard_figures(period=Period.last_months())
    assert figures.counted_at == now
    assert (figures.members_active_30, figures.members_active_90) == (before[30] + 1, before[90] + 2)
    dashboard_rebuild()
    figures = dashboard_figures(period=Period.last_months())
    assert (figures.members_active_30, figures.members_active_90) == (before[30] + 2, before[90] + 3)


def test_the_nightly_task_rebuilds_at_its_hour_only(in_a):
    _history()
    night = timezone.localtime(timezone.now(), brand_timezone()).hour == REBUILD_LOCAL_HOUR
    assert ("through" in dashboard_brand_rebuild_task.run()) == night
    result = dashboard_brand_rebuild_task.run(force=True)
    assert datetime.fromisoformat(result["through"]) == DashboardState.objects.get().through


def test_the_beat_runs_the_nightly_every_hour(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["dashboard-nightly-hourly"]
    assert entry == {"task": "backoffice.dashboard_rebuild_all", "schedule": 3600.0}


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_page_and_each_csv(staff_a):
    _history()
    dashboard_rebuild()
    response = staff_a.get("/backoffice/dashboard/")
    assert response.status_code == 200
    page = response.content.decode()
    for key in ("members", "members-new", "points", "liability", "tiers", "gifts", "messages", "vip"):
        assert f'id="figure-{key}"' in page
        assert f"/backoffice/dashboard/{key}.csv?start=" in page
    assert 'class="chart"' in page and "<script>" not in page  # unfold's script draws the charts
    period = Period.last_months(count=7)
    query = {"start": f"{period.start:%Y-%m}", "end": f"{period.end:%Y-%m}"}
    figures = dashboard_figures(period=period)
    points = staff_a.get("/backoffice/dashboard/points.csv", query)
    assert (
        points["Content-Disposition"] == f'attachment; filename="points-{query["start"]}-{query["end"]}.csv"'
    )
    assert _csv(points) == [["Month", "Issued", "Redeemed", "Expired", "Other changes"]] + [
        [f"{row.month:%Y-%m}", str(row.issued), str(row.redeemed), str(row.expired), str(row.other)]
        for row in figures.points
    ]
    liability = dict(_csv(staff_a.get("/backoffice/dashboard/liability.csv", query))[1:])
    assert liability["Outstanding points (sum of the balances)"] == str(figures.outstanding)
    assert liability["Liability (EUR)"] == str(figures.liability)
    assert _csv(staff_a.get("/backoffice/dashboard/gifts.csv", query))[1:] == [
        ["Mug", figures.gifts[0].reference, "3", "90"],
        ["Lamp", figures.gifts[1].reference, "1", "100"],
    ]
    assert staff_a.get("/backoffice/dashboard/nothing.csv", query).status_code == 404


def test_the_period_picker(staff_a):
    _history()
    start, end = month_add(timezone.localdate(), -2), month_add(timezone.localdate(), -1)
    query = {"start": f"{start:%Y-%m}", "end": f"{end:%Y-%m}"}
    page = staff_a.get("/backoffice/dashboard/", query)
    assert page.status_code == 200
    assert f'value="{start:%Y-%m}"' in page.content.decode()
    rows = _csv(staff_a.get("/backoffice/dashboard/points.csv", query))[1:]
    assert [row[0] for row in rows] == [f"{start:%Y-%m}", f"{end:%Y-%m}"]
    default = _csv(staff_a.get("/backoffice/dashboard/members-new.csv"))[1:]
    assert len(default) == 12 and default[-1][0] == f"{timezone.localdate():%Y-%m}"


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"start": "2026-13", "end": "2026-01"}, "start", "Enter a valid date."),
        ({"start": "2025-01", "end": "nope"}, "end", "Enter a valid date."),
        ({"start": "2025-06", "end": "2025-01"}, "start", "The period must start before it ends."),
        ({"start": "2000-01", "end": "2025-01"}, "start", "The period can be 60 months at most."),
        ({"start": "2025-01", "end": "2999-01"}, "end", "The period cannot end after the current month."),
        ({"start": "2025-01"}, "end", "This field is required."),
    ],
)
def test_a_bad_period_is_a_form_error(staff_a, query, field, message):
    page = staff_a.get("/backoffice/dashboard/", query)
    assert page.status_code == 400
    body = page.content.decode()
    assert f'id="id_{field}-errors"' in body and message in body
    assert 'id="figure-points"' not in body
    csv_response = staff_a.get("/backoffice/dashboard/points.csv", query)
    assert csv_response.status_code == 400 and f"{field}: {message}" in csv_response.content.decode()


def test_only_staff_allowed_the_dashboard_see_it(in_a, client_for):
    client = client_for(in_a)
    assert client.get("/backoffice/dashboard/").status_code == 302  # to the login
    assert client.get("/backoffice/dashboard/points.csv").status_code == 302
    client.force_login(staff_make(role="sales_rep"))
    assert client.get("/backoffice/dashboard/").status_code == 403
    assert client.get("/backoffice/dashboard/points.csv").status_code == 403
    for role in ("analyst", "support", "manager"):  # core.roles gives them backoffice.view_dashboard
        client.force_login(staff_make(role=role))
        assert client.get("/backoffice/dashboard/").status_code == 200, role
        assert client.get("/backoffice/dashboard/points.csv").status_code == 200, role


def test_a_csv_cell_a_spreadsheet_would_run_is_quoted(staff_a):
    member = member_make(points=500)
    gift = gift_make(name='=HYPERLINK("http://evil.example")', points_price=100)
    order_place(
        member_id=member.pk,
        items=[RedeemItem(gift_id=gift.pk)],
        idempotency_key="f1",
        actor="test",
        shipping=ADDRESS,
    )
    rows = _csv(staff_a.get("/backoffice/dashboard/gifts.csv"))
    assert rows[1][:3] == ['\'=HYPERLINK("http://evil.example")', gift.reference, "1"]
