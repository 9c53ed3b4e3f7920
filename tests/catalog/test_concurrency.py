"""Redemption under real concurrency: threads with their own database connections on committed data
(a brand of their own), started together by a barrier."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from catalog.models import Gift, Order, VoucherCode
from catalog.services import (
    RedeemItem,
    RedemptionRefused,
    ShippingAddress,
    order_cancel,
    order_place,
)
from loyalty.models import LedgerEntry, Member
from loyalty.services.ledger import ledger_sum
from tests.factories import member_make

from .factories import ADDRESS, gift_make


def run_together(brand, calls: list) -> list:
    """Run each call in its own thread and connection, all released at once; results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index: int, call) -> None:
        try:
            connection.set_tenant(brand)
            barrier.wait(timeout=30)
            results[index] = call()
        except Exception as error:  # the test inspects what each thread got
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a redemption hung (deadlock?)"
    return results


def redeem(member_id: int, gift_ids: list[int], key: str):
    return lambda: order_place(
        member_id=member_id,
        items=[RedeemItem(gift_id=gift_id) for gift_id in gift_ids],
        shipping=ShippingAddress(**ADDRESS),
        idempotency_key=key,
        actor="test",
    )


def refusal_codes(results: list) -> Counter:
    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, RedemptionRefused)]
    assert not unexpected, unexpected
    return Counter(r.code for r in results if isinstance(r, RedemptionRefused))


def assert_every_balance_is_its_ledger(members) -> None:
    for member in Member.objects.filter(pk__in=[m.pk for m in members]):
        assert member.balance == ledger_sum(member_id=member.pk) >= 0


def test_twenty_members_racing_for_the_last_three_items(fresh_brand):
    connection.set_tenant(fresh_brand)
    gift = gift_make(points_price=100, stock=3)
    members = [member_make(points=500) for _ in range(20)]

    results = run_together(fresh_brand, [redeem(m.pk, [gift.pk], f"race-{m.pk}") for m in members])

    connection.set_tenant(fresh_brand)
    winners = [order for order, _ in (r for r in results if isinstance(r, tuple))]
    assert len(winners) == 3
    assert refusal_codes(results) == {"out_of_stock": 17}
    assert Gift.objects.get(pk=gift.pk).stock == 0
    assert Order.objects.count() == 3
    winner_ids = {order.member_id for order in winners}
    for member in Member.objects.filter(pk__in=[m.pk for m in members]):
        assert member.balance == (400 if member.pk in winner_ids else 500)
    # Nobody charged for nothing: exactly one redeem entry per order, none for the losers.
    redeemed = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REDEEM)
    assert sorted(redeemed.values_list("member_id", flat=True)) == sorted(winner_ids)
    assert_every_balance_is_its_ledger(members)


def test_one_member_redeeming_concurrently_past_their_balance(fresh_brand):
    connection.set_tenant(fresh_brand)
    gift = gift_make(points_price=100)
    member = member_make(points=500)

    results = run_together(fresh_brand, [redeem(member.pk, [gift.pk], f"spend-{i}") for i in range(10)])

    connection.set_tenant(fresh_brand)
    assert sum(isinstance(r, tuple) for r in results) == 5
    assert refusal_codes(results) == {"insufficient_points": 5}
    member.refresh_from_db()
    assert member.balance == 0 == ledger_sum(member_id=member.pk)
    assert min(LedgerEntry.objects.filter(member=member).values_list("balance_after", flat=True)) >= 0
    assert Order.objects.filter(member=member).count() == 5


def test_five_voucher_codes_and_ten_concurrent_redemptions(fresh_brand):
    connection.set_tenant(fresh_brand)
    gift = gift_make(points_price=100, codes=[f"FUEL-{i}" for i in range(5)])
    members = [member_make(points=100) for _ in range(10)]

    results = run_together(fresh_brand, [redeem(m.pk, [gift.pk], f"fuel-{m.pk}") for m in members])

    connection.set_tenant(fresh_brand)
    orders = [order for order, _ in (r for r in results if isinstance(r, tuple))]
    assert len(orders) == 5
    assert refusal_codes(results) == {"out_of_stock": 5}
    handed_out = list(VoucherCode.objects.filter(order_line__order__in=orders).values_list("code", flat=True))
    assert sorted(handed_out) == [f"FUEL-{i}" for i in range(5)]
    assert not VoucherCode.objects.filter(gift=gift, order_line__isnull=True).exists()
    for order in orders:
        assert order.lines.get().codes.count() == 1
    charged = Member.objects.filter(pk__in=[m.pk for m in members], balance=0).count()
    assert charged == 5
    assert_every_balance_is_its_ledger(members)


def test_cancel_clicked_twice_at_once_restores_points_and_stock_once(fresh_brand):
    connection.set_tenant(fresh_brand)
    gift = gift_make(points_price=120, stock=2)
    member = member_make(points=500)
    order, _ = redeem(member.pk, [gift.pk], "to-cancel")()

    results = run_together(fresh_brand, [lambda: order_cancel(order_id=order.pk, actor="member")] * 4)

    connection.set_tenant(fresh_brand)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(changed for _, changed in results) == [False, False, False, True]
    member.refresh_from_db()
    assert member.balance == 500 == ledger_sum(member_id=member.pk)
    assert LedgerEntry.objects.filter(member=member, kind=LedgerEntry.Kind.REVERSE).count() == 1
    assert Gift.objects.get(pk=gift.pk).stock == 2
    assert Order.objects.get(pk=order.pk).events.filter(to_status="cancelled").count() == 1


def test_the_same_idempotency_key_sent_concurrently_makes_one_order(fresh_brand):
    connection.set_tenant(fresh_brand)
    gift = gift_make(points_price=100, stock=10)
    member = member_make(points=1000)

    results = run_together(fresh_brand, [redeem(member.pk, [gift.pk], "same-key")] * 5)

    connection.set_tenant(fresh_brand)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({order.pk for order, _ in results}) == 1
    assert sorted(created for _, created in results) == [False, False, False, False, True]
    member.refresh_from_db()
    assert (member.balance, Gift.objects.get(pk=gift.pk).stock) == (900, 9)


def test_orders_naming_gifts_in_opposite_orders_and_cancellations_do_not_deadlock(fresh_brand):
    connection.set_tenant(fresh_brand)
    first, second = gift_make(points_price=10, stock=100), gift_make(points_price=10, stock=100)
    members = [member_make(points=1000) for _ in range(8)]
    placed = [redeem(m.pk, [first.pk, second.pk], f"pre-{m.pk}")()[0] for m in members[:4]]
    calls = [
        redeem(m.pk, [first.pk, second.pk] if i % 2 else [second.pk, first.pk], f"mix-{m.pk}")
        for i, m in enumerate(members)
    ] + [lambda order=order: order_cancel(order_id=order.pk, actor="staff") for order in placed]

    results = run_together(fresh_brand, calls)

    connection.set_tenant(fresh_brand)
    assert not [r for r in results if isinstance(r, Exception)], results
    # 8 new orders of both gifts, the 4 earlier ones cancelled: 8 of each gift taken.
    assert Gift.objects.get(pk=first.pk).stock == 92
    assert Gift.objects.get(pk=second.pk).stock == 92
    assert_every_balance_is_its_ledger(members)


pytestmark = pytest.mark.slow
