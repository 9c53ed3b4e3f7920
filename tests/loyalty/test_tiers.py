"""Tiers: definitions and validation, qualification per event and nightly (set-based), windows in
the brand's timezone, grace period, staff-set floor, history."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction

from core.errors import Conflict, InvalidInput
from loyalty.models import ActivityEvent, LedgerEntry, Member, ProgrammeSettings, Tier, TierChange
from loyalty.selectors.tiers import member_metric, tier_window_start
from loyalty.services import tiers as tier_services
from loyalty.services.ledger import EntryCause, member_lock, points_credit, points_debit
from loyalty.services.tiers import (
    tier_create,
    tier_delete,
    tier_evaluate,
    tier_floor_set,
    tier_update,
    tiers_evaluate_all,
)
from tests.factories import member_make

PARIS = ZoneInfo("Europe/Paris")
_keys = itertools.count()


def _programme(**fields) -> None:
    ProgrammeSettings.objects.update_or_create(id=1, defaults=fields)


def _wine_merchant() -> Tier:
    """The wine merchant's VIP space: VIP when spent 1,000 EUR or more in the last 9 months."""
    _programme(tier_metric="amount_spent", tier_window="rolling_months", tier_window_months=9, currency="EUR")
    tier_create(data={"code": "member", "name": "Member", "threshold": "0"})
    return tier_create(data={"code": "vip", "name": "VIP", "threshold": "1000", "earn_multiplier": "1.5"})


def _purchase(member: Member, amount: str, at: datetime, **extra) -> ActivityEvent:
    return ActivityEvent.objects.create(
        idempotency_key=f"p-{next(_keys)}",
        member=member,
        type=extra.pop("type", "purchase"),
        occurred_at=at,
        amount=Decimal(amount) if amount else None,
        currency=extra.pop("currency", "EUR"),
        **extra,
    )


def _evaluate(member: Member, at: datetime) -> TierChange | None:
    with transaction.atomic():
        return tier_evaluate(member=member_lock(member_id=member.pk), at=at)


def _tier_code(member: Member) -> str | None:
    member.refresh_from_db()
    return member.tier.code if member.tier else None


# --- definitions ------------------------------------------------------------------------------------


def test_tier_validation_names_the_field(db, brand_a):
    connection.set_tenant(brand_a)
    tier_create(data={"code": "gold", "name": "Gold", "threshold": "500"})
    cases = [
        ({"code": "x", "name": "X", "threshold": "abc"}, "threshold", "must be a number"),
        ({"code": "x", "name": "X", "threshold": "-1"}, "threshold", "0 or more"),
        ({"code": "x", "name": "X", "threshold": "500"}, "threshold", "another tier"),
        ({"code": "x", "name": "X", "earn_multiplier": "0"}, "earn_multiplier", "more than 0"),
        ({"code": "gold", "name": "Again", "threshold": "10"}, "code", "already exists"),
        ({"code": "not a slug!", "name": "X", "threshold": "1"}, "code", "valid"),
        ({"name": "No code"}, "code", "required"),
        ({"code": "x", "name": "X", "colour": "red"}, "colour", "not a tier field"),
    ]
    for data, field, message in cases:
        with pytest.raises(InvalidInput) as raised:
            tier_create(data=data)
        assert field in raised.value.errors, (data, raised.value.errors)
        assert message in " ".join(raised.value.errors[field]), (data, raised.value.errors)
    assert list(Tier.objects.values_list("code", flat=True)) == ["gold"]


def test_tier_update_and_delete(db, brand_a):
    connection.set_tenant(brand_a)
    gold = tier_create(data={"code": "gold", "name": "Gold", "threshold": "500"})
    silver = tier_create(data={"code": "silver", "name": "Silver", "threshold": "100"})
    assert tier_update(tier=gold, data={"threshold": "600", "name": "Gold+"}).threshold == Decimal("600")
    with pytest.raises(InvalidInput, match="another tier"):
        tier_update(tier=silver, data={"threshold": "600"})
    member = member_make("m-1")
    tier_floor_set(member_id=member.pk, tier=silver)
    with pytest.raises(Conflict, match="hold this tier"):
        tier_delete(tier=silver)
    tier_delete(tier=gold)
    assert list(Tier.objects.values_list("code", flat=True)) == ["silver"]


# --- qualification ----------------------------------------------------------------------------------


def test_vip_when_spent_over_1000_eur_in_the_last_9_months(db, brand_a):
    connection.set_tenant(brand_a)
    vip = _wine_merchant()
    member = member_make("wine-lover")
    now = datetime(2026, 10, 15, 12, tzinfo=PARIS)
    _purchase(member, "700.00", now - timedelta(days=300))  # ~10 months ago: outside the window
    _purchase(member, "600.00", now - timedelta(days=200))
    _purchase(member, "350.00", now - timedelta(days=10))
    _purchase(member, "90.00", now - timedelta(days=5), currency="USD")  # another currency: not counted
    _purchase(member, "", now - timedelta(days=4), type="review")  # not a purchase

    assert _evaluate(member, now).to_tier.code == "member"
    assert member_metric(member=member, at=now) == Decimal("950.00")

    refunded = _purchase(member, "200.00", now - timedelta(days=2))
    refunded.reversed_at = now - timedelta(days=1)
    refunded.save()
    assert _evaluate(member, now) is None, "a refunded purchase does not count"

    _purchase(member, "50.00", now - timedelta(hours=1))  # 1,000.00 in 9 months
    change = _evaluate(member, now)
    assert (change.from_tier.code, change.to_tier, change.reason) == ("member", vip, "qualified")
    assert change.metric_value == Decimal("1000.00")
    member.refresh_from_db()
    assert (member.tier, member.tier_since) == (vip, now)
    assert _evaluate(member, now) is None, "evaluating again changes nothing"


def test_rolling_window_starts_at_local_midnight_n_months_before(db, brand_a):
    connection.set_tenant(brand_a)
    _wine_merchant()
    member = member_make("m-1")
    at = datetime(2026, 10, 15, 10, tzinfo=PARIS)
    programme = ProgrammeSettings.objects.get()
    start = tier_window_start(at=at, programme=programme)
    assert start == datetime(2026, 1, 15, tzinfo=PARIS) == datetime(2026, 1, 14, 23, tzinfo=UTC)
    _purchase(member, "999.00", datetime(2026, 1, 14, 22, 59, tzinfo=UTC))  # 23:59 Paris on the 14th: out
    _purchase(member, "1.00", datetime(2026, 1, 14, 23, 0, tzinfo=UTC))  # 00:00 Paris on the 15th: in
    _purchase(member, "999.00", at + timedelta(minutes=1))  # after `at`: not yet
    assert member_metric(member=member, at=at) == Decimal("1.00")
    assert _tier_code(member) is None
    _evaluate(member, at)
    assert _tier_code(member) == "member"


def test_window_starts_carry_their_own_daylight_saving_offset(db, brand_a):
    connection.set_tenant(brand_a)
    six_months = ProgrammeSettings(tier_window="rolling_months", tier_window_months=6)
    winter = tier_window_start(at=datetime(2026, 12, 10, 9, tzinfo=PARIS), programme=six_months)
    assert winter == datetime(2026, 6, 10, tzinfo=PARIS)
    assert winter.utcoffset() == timedelta(hours=2)  # June is summer time in Paris
    three_months = ProgrammeSettings(tier_window="rolling_months", tier_window_months=3)
    assert tier_window_start(at=datetime(2026, 5, 31, 9, tzinfo=PARIS), programme=three_months) == datetime(
        2026, 2, 28, tzinfo=PARIS
    ), "the shorter month clamps to its last day"
    lifetime = ProgrammeSettings(tier_window="lifetime")
    assert tier_window_start(at=datetime(2026, 5, 31, tzinfo=PARIS), programme=lifetime) is None


def test_calendar_year_window_follows_the_brand_timezone(db, brand_a):
    connection.set_tenant(brand_a)
    _programme(tier_metric="event_count", tier_metric_event_type="damage_report", tier_window="calendar_year")
    tier_create(data={"code": "reporter", "name": "Reporter", "threshold": "2"})
    member = member_make("m-1")
    # 23:30 Paris on 31 December 2026: last year. 00:30 Paris on 1 January 2027: this year.
    _purchase(member, "", datetime(2026, 12, 31, 22, 30, tzinfo=UTC), type="damage_report")
    _purchase(member, "", datetime(2026, 12, 31, 23, 30, tzinfo=UTC), type="damage_report")
    at = datetime(2027, 3, 1, 12, tzinfo=PARIS)
    assert member_metric(member=member, at=at) == 1
    _purchase(member, "", datetime(2027, 2, 1, tzinfo=PARIS), type="damage_report")
    assert member_metric(member=member, at=at) == 2
    assert _evaluate(member, at).to_tier.code == "reporter"


def test_points_earned_metric_counts_earnings_less_their_reversals(db, brand_a):
    connection.set_tenant(brand_a)
    _programme(tier_metric="points_earned", tier_window="lifetime")
    tier_create(data={"code": "silver", "name": "Silver", "threshold": "100"})
    member = member_make("m-1")
    with transaction.atomic():
        locked = member_lock(member_id=member.pk)
        earned = points_credit(member=locked, points=120, kind="earn", cause=EntryCause(reason="t"))
        points_credit(member=locked, points=500, kind="adjust", cause=EntryCause(reason="goodwill"))
    at = earned.created_at + timedelta(seconds=1)
    assert member_metric(member=member, at=at) == 120, "staff adjustments are not earnings"
    assert _evaluate(member, at).to_tier.code == "silver"
    with transaction.atomic():
        locked = member_lock(member_id=member.pk)
        points_debit(
            member=locked, points=30, kind=LedgerEntry.Kind.REVERSE, cause=EntryCause(reverses_id=earned.pk)
        )
    later = at + timedelta(seconds=5)
    assert member_metric(member=member, at=later) == 90
    change = _evaluate(member, later)
    assert (change.to_tier, change.reason) == (None, "downgraded")


def test_downgrade_is_immediate_by_default(db, brand_a):
    connection.set_tenant(brand_a)
    _wine_merchant()
    member = member_make("m-1")
    start = datetime(2026, 1, 10, tzinfo=PARIS)
    _purchase(member, "1200.00", start)
    assert _evaluate(member, start + timedelta(days=1)).to_tier.code == "vip"
    # Ten months later the purchase has left the 9-month window.
    change = _evaluate(member, start + timedelta(days=300))
    assert (change.from_tier.code, change.to_tier.code, change.reason) == ("vip", "member", "downgraded")


def test_downgrade_waits_for_the_grace_period_and_requalifying_cancels_it(db, brand_a):
    connection.set_tenant(brand_a)
    _wine_merchant()
    _programme(tier_downgrade="grace", tier_grace_days=30)
    member = member_make("m-1")
    start = datetime(2026, 1, 10, tzinfo=PARIS)
    _purchase(member, "1200.00", start)
    _evaluate(member, start)
    below = start + timedelta(days=300)  # out of the window: below VIP from here
    assert _evaluate(member, below) is None
    member.refresh_from_db()
    assert (member.tier.code, member.tier_below_since) == ("vip", below)
    assert _evaluate(member, below + timedelta(days=29)) is None
    member.refresh_from_db()
    assert member.tier_below_since == below, "the grace period counts from the first day below"

    # Buying again within the grace period keeps the tier and forgets the fall.
    _purchase(member, "1000.00", below + timedelta(days=29, hours=1))
    assert _evaluate(member, below + timedelta(days=29, hours=2)) is None
    member.refresh_from_db()
    assert (member.tier.code, member.tier_below_since) == ("vip", None)

    fall = below + timedelta(days=29 + 280)
    assert _evaluate(member, fall) is None
    change = _evaluate(member, fall + timedelta(days=30))
    assert (change.to_tier.code, change.reason) == ("member", "downgraded")
    member.refresh_from_db()
    assert member.tier_below_since is None


def test_staff_floor_is_applied_at_once_and_never_gone_below(db, brand_a):
    connection.set_tenant(brand_a)
    _programme(tier_metric="amount_spent", tier_window="lifetime")
    tier_create(data={"code": "silver", "name": "Silver", "threshold": "100"})
    gold = tier_create(data={"code": "gold", "name": "Gold", "threshold": "500"})
    tier_create(data={"code": "platinum", "name": "Platinum", "threshold": "2000"})
    member = member_make("m-1")
    now = datetime(2026, 6, 1, tzinfo=PARIS)

    change = tier_floor_set(member_id=member.pk, tier=gold, at=now)
    assert (change.from_tier, change.to_tier, change.reason) == (None, gold, "floor")
    assert _evaluate(member, now + timedelta(days=1)) is None, "no spending, but the floor holds"

    _purchase(member, "2500.00", now + timedelta(days=2))
    assert _evaluate(member, now + timedelta(days=3)).to_tier.code == "platinum"
    ActivityEvent.objects.filter(member=member).update(reversed_at=now + timedelta(days=4))  # refunded
    change = _evaluate(member, now + timedelta(days=5))
    assert (change.from_tier.code, change.to_tier, change.reason) == ("platinum", gold, "downgraded")

    # Removing the floor lets the member fall to what they qualify for.
    change = tier_floor_set(member_id=member.pk, tier=None, at=now + timedelta(days=6))
    assert (change.from_tier, change.to_tier) == (gold, None)
    assert TierChange.objects.filter(member=member).count() == 4


def test_nightly_evaluation_is_set_based_in_batches_and_idempotent(db, brand_a, monkeypatch):
    connection.set_tenant(brand_a)
    monkeypatch.setattr(tier_services, "NIGHTLY_BATCH", 2)
    _wine_merchant()
    _programme(tier_downgrade="grace", tier_grace_days=10)
    gold_floor = tier_create(data={"code": "gold", "name": "Gold", "threshold": "5000"})
    now = datetime(2026, 10, 1, tzinfo=PARIS)
    big, small, floored, idle, fallen = (
        member_make(name) for name in ("big", "small", "floored", "idle", "fallen")
    )
    _purchase(big, "1500.00", now - timedelta(days=20))
    _purchase(small, "10.00", now - timedelta(days=20))
    Member.objects.filter(pk=floored.pk).update(tier_floor=gold_floor)
    vip = Tier.objects.get(code="vip")
    Member.objects.filter(pk=fallen.pk).update(tier=vip)

    assert tiers_evaluate_all(at=now) == 4  # big -> vip, small -> member, floored -> gold, idle -> member
    assert [_tier_code(m) for m in (big, small, floored, idle, fallen)] == [
        "vip",
        "member",
        "gold",
        "member",
        "vip",
    ]
    fallen.refresh_from_db()
    assert fallen.tier_below_since == now, "fallen is in its grace period"
    assert tiers_evaluate_all(at=now) == 0, "a second run changes nothing"

    assert tiers_evaluate_all(at=now + timedelta(days=10)) == 1
    assert _tier_code(fallen) == "member"
    reasons = dict(TierChange.objects.values_list("member__external_id", "reason"))
    assert reasons == {
        "big": "qualified",
        "small": "qualified",
        "floored": "floor",
        "idle": "qualified",
        "fallen": "downgraded",
    }


def test_nightly_and_per_event_evaluation_agree(db, brand_a):
    """One SQL statement serves both paths; check they land every member on the same tier."""
    connection.set_tenant(brand_a)
    _wine_merchant()
    now = datetime(2026, 10, 1, tzinfo=PARIS)
    spent = [("0", 0), ("400", 30), ("999.99", 60), ("1000", 269), ("1600", 120), ("2000", 280)]
    members = [member_make(f"agree-{i}") for i in range(len(spent))]
    for member, (amount, days_ago) in zip(members, spent, strict=True):
        _purchase(member, amount, now - timedelta(days=days_ago))
    tiers_evaluate_all(at=now)
    nightly = [_tier_code(m) for m in members]
    Member.objects.update(tier=None)
    for member in members:
        _evaluate(member, now)
    assert (
        [_tier_code(m) for m in members] == nightly == ["member", "member", "member", "vip", "vip", "member"]
    )


def test_the_callers_member_object_follows_the_change(db, brand_a):
    """Event recording goes on with the member it locked (and its tier multiplier): keep it current."""
    connection.set_tenant(brand_a)
    member = member_make("m-1")
    now = datetime(2026, 6, 1, tzinfo=PARIS)
    with transaction.atomic():
        assert tier_evaluate(member=member_lock(member_id=member.pk), at=now) is None, (
            "no tiers: nothing to do"
        )
    vip = _wine_merchant()
    _purchase(member, "1500.00", now - timedelta(days=1))
    with transaction.atomic():
        locked = Member.objects.select_for_update(of=("self",)).select_related("tier").get(pk=member.pk)
        assert locked.tier is None
        tier_evaluate(member=locked, at=now)
        assert (locked.tier, locked.tier.earn_multiplier, locked.tier_since) == (vip, Decimal("1.5"), now)
