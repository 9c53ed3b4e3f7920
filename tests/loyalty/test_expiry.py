"""Nightly expiry: exact, set-based, idempotent, safe beside concurrent redemptions."""

from __future__ import annotations

import time
from datetime import timedelta

from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from django_tenants.utils import schema_context

from loyalty.models import LedgerEntry, LotConsumption, Member, PointLot, ProgrammeSettings
from loyalty.services import expiry
from loyalty.services.expiry import points_expire_due
from loyalty.tasks import brand_nightly_task, nightly_all_task
from tests.factories import credit_make, debit_make, member_make
from tests.support import assert_invariants, run_concurrently


def _lot(entry: LedgerEntry) -> PointLot:
    return PointLot.objects.get(entry=entry)


def test_expiry_takes_exactly_what_is_left_of_due_lots(db, brand_a):
    connection.set_tenant(brand_a)
    now = timezone.now()
    member = member_make("m-1")
    old = credit_make(member, 100, at=now - timedelta(days=40), expires_at=now - timedelta(days=2))
    older = credit_make(member, 50, at=now - timedelta(days=50), expires_at=now - timedelta(days=5))
    later = credit_make(member, 70, at=now - timedelta(days=1), expires_at=now + timedelta(days=30))
    forever = credit_make(member, 30, at=now - timedelta(days=1))
    # A redemption took the oldest-expiring first: all of `older` and 30 of `old`.
    debit_make(member, 80, at=now - timedelta(days=10))
    assert (_lot(older).remaining, _lot(old).remaining) == (0, 70)

    assert points_expire_due(at=now) == 70

    entry = LedgerEntry.objects.get(member=member, kind="expire")
    assert (entry.points, entry.balance_after, entry.source) == (-70, 100, "expiry")
    assert {(c.lot.entry_id, c.points) for c in entry.consumptions.select_related("lot")} == {(old.pk, 70)}
    assert [_lot(e).remaining for e in (old, older, later, forever)] == [0, 0, 70, 30]
    member.refresh_from_db()
    assert member.balance == 100
    assert_invariants(member.pk)


def test_one_expire_entry_per_member_per_run_whatever_the_number_of_lots(db, brand_a):
    connection.set_tenant(brand_a)
    now = timezone.now()
    first, second, untouched = member_make("a"), member_make("b"), member_make("c")
    for days in (3, 2, 1):
        credit_make(first, 10 * days, at=now - timedelta(days=30), expires_at=now - timedelta(days=days))
    credit_make(second, 5, at=now - timedelta(days=30), expires_at=now - timedelta(minutes=1))
    credit_make(untouched, 5, at=now - timedelta(days=30), expires_at=now + timedelta(minutes=1))

    assert points_expire_due(at=now) == 65

    entries = LedgerEntry.objects.filter(kind="expire")
    assert sorted(entries.values_list("member__external_id", "points")) == [("a", -60), ("b", -5)]
    assert LotConsumption.objects.filter(entry__member=first).count() == 3
    assert not LedgerEntry.objects.filter(member=untouched, kind="expire").exists()
    for member in (first, second, untouched):
        assert_invariants(member.pk)


def test_running_twice_expires_nothing_more(db, brand_a):
    connection.set_tenant(brand_a)
    now = timezone.now()
    member = member_make("m-1")
    credit_make(member, 40, at=now - timedelta(days=9), expires_at=now - timedelta(days=1))
    assert points_expire_due(at=now) == 40
    assert points_expire_due(at=now) == 0
    assert points_expire_due(at=now + timedelta(hours=1)) == 0
    assert LedgerEntry.objects.filter(member=member, kind="expire").count() == 1
    assert_invariants(member.pk)


def test_pending_lots_expire_when_due_and_stay_when_not(db, brand_a):
    connection.set_tenant(brand_a)
    ProgrammeSettings.objects.update_or_create(id=1, defaults={"pending_days": 30})
    now = timezone.now()
    member = member_make("m-1")
    # Earned 20 days ago, still pending (spendable in 10 days): never spent, so all of it expires.
    due_pending = credit_make(member, 25, at=now - timedelta(days=20), expires_at=now - timedelta(hours=1))
    kept_pending = credit_make(member, 15, at=now - timedelta(days=20), expires_at=now + timedelta(days=60))
    assert _lot(due_pending).available_at > now

    assert points_expire_due(at=now) == 25
    assert (_lot(due_pending).remaining, _lot(kept_pending).remaining) == (0, 15)
    assert_invariants(member.pk)


def test_expiry_keeps_the_invariants_of_a_member_in_overdraft(db, brand_a):
    connection.set_tenant(brand_a)
    now = timezone.now()
    member = member_make("m-1")
    Member.objects.filter(pk=member.pk).update(overdraft_limit=100)
    credit_make(member, 20, at=now - timedelta(days=5), expires_at=now - timedelta(days=1))
    pending = credit_make(member, 50, at=now - timedelta(days=5), expires_at=now - timedelta(hours=2))
    PointLot.objects.filter(entry=pending).update(available_at=now + timedelta(days=1))
    debit_make(member, 60, at=now - timedelta(days=3))  # 20 from the lot, 40 owed
    member.refresh_from_db()
    assert (member.balance, member.points_owed) == (10, 40)

    assert points_expire_due(at=now) == 50
    member.refresh_from_db()
    assert (member.balance, member.points_owed) == (-40, 40)
    assert_invariants(member.pk)


def test_batches_cover_every_member(db, brand_a, monkeypatch):
    connection.set_tenant(brand_a)
    monkeypatch.setattr(expiry, "BATCH_MEMBERS", 2)
    now = timezone.now()
    members = [member_make(f"m{i}") for i in range(5)]
    for member in members:
        credit_make(member, 3, at=now - timedelta(days=3), expires_at=now - timedelta(days=1))
    assert points_expire_due(at=now) == 15
    assert LedgerEntry.objects.filter(kind="expire").count() == 5
    for member in members:
        assert_invariants(member.pk)


def test_expiry_beside_concurrent_redemptions_neither_deadlocks_nor_breaks_invariants(fresh_brand):
    connection.set_tenant(fresh_brand)
    now = timezone.now()
    members = [member_make(f"busy-{i}") for i in range(6)]
    for member in members:
        for days in (3, 2, 1):
            credit_make(member, 50, at=now - timedelta(days=10), expires_at=now - timedelta(days=days))
        credit_make(member, 200, at=now - timedelta(days=10), expires_at=now + timedelta(days=90))

    def work(index: int):
        connection.set_tenant(fresh_brand)
        if index % 6 == 0:
            return points_expire_due(at=now)
        member = members[index % len(members)]
        return debit_make(member, 20, at=now)

    results = run_concurrently(30, work)
    connection.set_tenant(fresh_brand)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    # Whatever the interleaving: no due lot keeps points, and every point is accounted for.
    assert not PointLot.objects.filter(remaining__gt=0, expires_at__lte=now).exists()
    redeemed = -(LedgerEntry.objects.filter(kind="redeem").aggregate(total=Sum("points"))["total"] or 0)
    expired = -(LedgerEntry.objects.filter(kind="expire").aggregate(total=Sum("points"))["total"] or 0)
    remaining = PointLot.objects.aggregate(total=Sum("remaining"))["total"]
    assert redeemed == 25 * 20
    assert remaining + redeemed + expired == 6 * 350
    # Each due lot was emptied exactly once, by redemptions or by expiry, never both for a point.
    for lot in PointLot.objects.filter(expires_at__lte=now):
        assert lot.consumptions.aggregate(total=Sum("points"))["total"] == 50
    for member in members:
        assert_invariants(member.pk)
        assert LedgerEntry.objects.filter(member=member, kind="expire").count() <= 5


def test_nightly_task_expires_in_each_brand_through_a_real_worker(fresh_brand, celery_worker):
    connection.set_tenant(fresh_brand)
    now = timezone.now()
    member = member_make("sleeper")
    credit_make(member, 12, at=now - timedelta(days=3), expires_at=now - timedelta(days=1))
    connection.set_schema_to_public()

    assert nightly_all_task.delay().get(timeout=30) >= 1
    with schema_context(fresh_brand.schema_name):
        deadline = time.monotonic() + 30
        while not LedgerEntry.objects.filter(member=member, kind="expire").exists():
            assert time.monotonic() < deadline, "the brand's nightly task never ran"
            time.sleep(0.05)
        assert_invariants(member.pk)
        # The per-brand task runs in the schema it was queued from, and says what it did.
        result = brand_nightly_task.apply_async(
            kwargs={"tiers": True}, headers={"_schema_name": fresh_brand.schema_name}
        ).get(timeout=30)
    assert result == {
        "brand": fresh_brand.schema_name,
        "points_expired": 0,
        "tier_changes": 0,
        "activation_attempts_purged": 0,
    }
