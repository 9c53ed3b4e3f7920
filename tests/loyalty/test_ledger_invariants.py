"""The ledger invariants of README.md (Ledger), on a real PostgreSQL, under real concurrency."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from loyalty.models import LedgerEntry, Member, PointLot, ProgrammeSettings
from loyalty.services.ledger import (
    EntryCause,
    InsufficientPoints,
    LedgerError,
    lot_expiry,
    member_lock,
    points_adjust,
    points_restore,
    points_reverse,
    points_reversible,
    points_spendable,
)
from tests.factories import credit_make, debit_make, member_make
from tests.support import assert_invariants, run_concurrently

PARIS = ZoneInfo("Europe/Paris")


def test_debits_take_the_oldest_expiring_lots_first(db, brand_a):
    connection.set_tenant(brand_a)
    member = member_make("m-1")
    now = timezone.now()
    late = credit_make(member, 100, expires_at=now + timedelta(days=300))
    never = credit_make(member, 100)  # policy "never": no expiry, spent last
    soon = credit_make(member, 100, expires_at=now + timedelta(days=10))
    debit = debit_make(member, 150)
    taken = {c.lot.entry_id: c.points for c in debit.consumptions.select_related("lot")}
    assert taken == {soon.pk: 100, late.pk: 50}
    assert PointLot.objects.get(entry=never).remaining == 100
    assert_invariants(member.pk)


def test_a_debit_beyond_the_spendable_points_is_refused_and_writes_nothing(db, brand_a):
    connection.set_tenant(brand_a)
    member = member_make("m-1")
    credit_make(member, 80)
    with pytest.raises(InsufficientPoints, match="100 needed, 80 spendable"):
        debit_make(member, 100)
    assert LedgerEntry.objects.filter(member=member).count() == 1
    assert_invariants(member.pk)


def test_pending_points_count_in_the_balance_but_cannot_be_spent(db, brand_a):
    connection.set_tenant(brand_a)
    ProgrammeSettings.objects.update_or_create(id=1, defaults={"pending_days": 14})
    member = member_make("m-1")
    credit_make(member, 100)
    member.refresh_from_db()
    assert member.balance == 100
    with pytest.raises(InsufficientPoints):
        debit_make(member, 10)
    assert debit_make(member, 10, at=timezone.now() + timedelta(days=15)).points == -10
    assert_invariants(member.pk)


def test_the_database_refuses_a_negative_balance(db, brand_a):
    connection.set_tenant(brand_a)
    member = member_make("m-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=member.pk).update(balance=-1)


def test_overdraft_goes_below_zero_only_to_the_limit_and_is_repaid_first(db, brand_a):
    connection.set_tenant(brand_a)
    member = member_make("m-1")
    Member.objects.filter(pk=member.pk).update(overdraft_limit=50)
    credit_make(member, 30)
    debit_make(member, 70)
    member.refresh_from_db()
    assert (member.balance, member.points_owed) == (-40, 40)
    with pytest.raises(InsufficientPoints):
        debit_make(member, 11)
    credit_make(member, 100)
    member.refresh_from_db()
    assert (member.balance, member.points_owed) == (60, 0)
    assert_invariants(member.pk)


def test_ledger_entries_are_append_only_in_the_database(db, brand_a):
    connection.set_tenant(brand_a)
    member = member_make("m-1")
    entry = credit_make(member, 10)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(points=1000)
    # In SQL, below the ORM's own PROTECT checks: the trigger refuses it.
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM loyalty_ledgerentry WHERE id = %s", [entry.pk])


def test_restore_puts_points_back_into_the_lots_they_came_from(db, brand_a):
    connection.set_tenant(brand_a)
    member = member_make("m-1")
    now = timezone.now()
    lot_entry = credit_make(member, 100, expires_at=now + timedelta(days=30))
    debit = debit_make(member, 60)
    with transaction.atomic():
        reverse = points_restore(
            member=member_lock(member_id=member.pk), debit=debit, cause=EntryCause(source="order:1")
        )
    assert reverse.points == 60 and reverse.reverses_id == debit.pk
    lot = PointLot.objects.get(entry=lot_entry)
    assert lot.remaining == 100 and lot.expires_at == now + timedelta(days=30)
    assert_invariants(member.pk)


def test_reverse_takes_the_entrys_own_lot_first_even_pending_then_other_spendable_lots(db, brand_a):
    connection.set_tenant(brand_a)
    ProgrammeSettings.objects.filter(id=1).update(pending_days=14)
    member = member_make("m-1")
    now = timezone.now()
    older = credit_make(member, 40, at=now - timedelta(days=30))  # spendable by now
    earned = credit_make(member, 100, at=now)  # still pending for 14 days
    assert points_spendable(member=Member.objects.get(pk=member.pk), at=now) == 40
    debit_make(member, 30)  # from the spendable lot: 10 left there
    locked = Member.objects.get(pk=member.pk)
    notes = points_reversible(member=locked, entries=[earned, older], at=now)
    assert [note["taken_back"] for note in notes] == [100, 10]
    with transaction.atomic():
        reverse, _ = points_reverse(
            member=member_lock(member_id=member.pk),
            entry=earned,
            cause=EntryCause(explanation={"refund_of": "buy"}),
            at=now,
        )
    assert (reverse.kind, reverse.points, reverse.reverses_id) == ("reverse", -100, earned.pk)
    assert reverse.explanation == {"refund_of": "buy", "earned": 100, "taken_back": 100}
    assert PointLot.objects.get(entry=earned).remaining == 0
    assert PointLot.objects.get(entry=older).remaining == 10, "the pending lot covered it all"
    # The older credit's own lot was partly spent: the rest comes from other lots, none left.
    with transaction.atomic():
        again, _ = points_reverse(
            member=member_lock(member_id=member.pk), entry=older, cause=EntryCause(), at=now
        )
    assert again.points == -10 and again.explanation["not_recovered"] == 30
    assert "already spent" in again.explanation["note"]
    with transaction.atomic():
        nothing, note = points_reverse(
            member=member_lock(member_id=member.pk), entry=older, cause=EntryCause(), at=now
        )
    assert nothing is None and note["taken_back"] == 0
    assert_invariants(member.pk)


def test_reverse_of_spent_points_takes_from_other_lots_then_the_overdraft(db, brand_a):
    connection.set_tenant(brand_a)
    member = member_make("m-1")
    Member.objects.filter(pk=member.pk).update(overdraft_limit=25)
    spent = credit_make(member, 50)
    other = credit_make(member, 20, expires_at=timezone.now() + timedelta(days=5))
    debit_make(member, 20)  # oldest expiry first: the other lot is emptied
    debit_make(member, 45)  # then 45 of the 50: 5 left in the earn entry's lot
    with transaction.atomic():
        locked = member_lock(member_id=member.pk)
        assert points_spendable(member=locked, at=timezone.now()) == 5 + 25
        reverse, _ = points_reverse(member=locked, entry=spent, cause=EntryCause())
    assert reverse.points == -30 and reverse.explanation["not_recovered"] == 20
    assert PointLot.objects.get(entry=other).remaining == 0
    member.refresh_from_db()
    assert (member.balance, member.points_owed) == (-25, 25)
    assert_invariants(member.pk)


def test_adjustments_need_a_reason_and_are_idempotent(db, brand_a):
    connection.set_tenant(brand_a)
    member = member_make("m-1")
    with pytest.raises(LedgerError, match="reason"):
        points_adjust(member_id=member.pk, points=10, reason=" ", staff_user_id=None)
    with pytest.raises(LedgerError, match="points"):
        points_adjust(member_id=member.pk, points=0, reason="goodwill", staff_user_id=None)
    first = points_adjust(
        member_id=member.pk, points=25, reason="goodwill", staff_user_id=None, idempotency_key="adj-1"
    )
    again = points_adjust(
        member_id=member.pk, points=25, reason="goodwill", staff_user_id=None, idempotency_key="adj-1"
    )
    assert first.pk == again.pk
    points_adjust(member_id=member.pk, points=-5, reason="correction", staff_user_id=None)
    member.refresh_from_db()
    assert member.balance == 20
    assert_invariants(member.pk)


@pytest.mark.parametrize(
    ("policy", "days", "earned", "expected"),
    [
        ("days", 30, datetime(2026, 3, 10, 12, tzinfo=PARIS), datetime(2026, 4, 9, 12, tzinfo=PARIS)),
        (
            "end_of_month",
            None,
            datetime(2026, 1, 31, 23, 30, tzinfo=PARIS),
            datetime(2026, 2, 28, 23, 59, 59, tzinfo=PARIS),
        ),
        (
            "end_of_month",
            None,
            datetime(2026, 12, 5, tzinfo=PARIS),
            datetime(2027, 1, 31, 23, 59, 59, tzinfo=PARIS),
        ),
        (
            "end_of_year",
            None,
            datetime(2026, 12, 31, 23, 0, tzinfo=PARIS),
            datetime(2027, 12, 31, 23, 59, 59, tzinfo=PARIS),
        ),
    ],
)
def test_lot_expiry_follows_the_policy_in_the_brand_timezone(db, brand_a, policy, days, earned, expected):
    connection.set_tenant(brand_a)
    programme = ProgrammeSettings(expiry_policy=policy, expiry_days=days)
    assert lot_expiry(earned_at=earned, programme=programme) == expected
    assert lot_expiry(earned_at=earned, programme=ProgrammeSettings(expiry_policy="never")) is None


def test_fifty_concurrent_debits_never_overdraw_and_keep_the_sum(fresh_brand):
    connection.set_tenant(fresh_brand)
    member = member_make("racer")
    for _ in range(5):
        credit_make(member, 100)  # 500 points in 5 lots; each debit takes 30: only 16 can succeed

    def debit(index: int):
        connection.set_tenant(fresh_brand)
        return debit_make(member, 30)

    results = run_concurrently(50, debit)
    connection.set_tenant(fresh_brand)
    succeeded = [r for r in results if isinstance(r, LedgerEntry)]
    refused = [r for r in results if isinstance(r, InsufficientPoints)]
    assert len(succeeded) == 16 and len(refused) == 34, results
    member.refresh_from_db()
    assert member.balance == 20
    assert_invariants(member.pk)
    balances = sorted(
        LedgerEntry.objects.filter(member=member, kind="redeem").values_list("balance_after", flat=True)
    )
    assert balances == list(range(20, 500, 30)), "each debit saw the balance its predecessor left"


def test_concurrent_credits_and_debits_keep_every_invariant(fresh_brand):
    connection.set_tenant(fresh_brand)
    member = member_make("busy")
    credit_make(member, 200)

    def work(index: int):
        connection.set_tenant(fresh_brand)
        if index % 2:
            return credit_make(member, 7)
        return debit_make(member, 11)

    run_concurrently(40, work)
    connection.set_tenant(fresh_brand)
    assert_invariants(member.pk)
    member.refresh_from_db()
    assert member.balance == 200 + 20 * 7 - 20 * 11


def test_a_lot_past_its_expiry_cannot_be_spent_before_the_nightly_run(db, brand_a):
    connection.set_tenant(brand_a)
    member = member_make("m-1")
    now = timezone.now()
    credit_make(member, 100, at=now - timedelta(days=40), expires_at=now - timedelta(days=1))
    credit_make(member, 30)
    with pytest.raises(InsufficientPoints, match="50 needed, 30 spendable"):
        debit_make(member, 50)
    assert debit_make(member, 30).points == -30
    assert_invariants(member.pk)


def test_brand_timezone_is_known_under_schema_context_too(db, brand_a):
    """Commands and scripts use schema_context, which does not carry the Brand row."""
    from django_tenants.utils import schema_context

    from tenants.models import Brand
    from tenants.selectors import brand_timezone

    Brand.objects.filter(pk=brand_a.pk).update(timezone="America/New_York")
    with schema_context(brand_a.schema_name):
        assert brand_timezone() == ZoneInfo("America/New_York")
    connection.set_schema_to_public()
    assert brand_timezone() == ZoneInfo("UTC")
