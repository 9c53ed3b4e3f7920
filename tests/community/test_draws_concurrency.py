"""Prize draws under real concurrency: threads with their own PostgreSQL connections on committed data
(a brand of their own), released together by a barrier (`tests.support.run_concurrently`)."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.db.models import Sum

from community.drawing import winners
from community.models import Draw, DrawEntry, DrawWinner
from community.services.draws import draw_cancel, draw_run, draw_tickets_buy
from core.errors import DomainError
from loyalty.models import LedgerEntry
from loyalty.services.ledger import ledger_sum
from tests.community.factories import after_draw, draw_make
from tests.factories import member_make
from tests.support import assert_invariants, run_concurrently


def test_ten_buyers_at_once_then_five_runs_at_once_draw_once(fresh_brand):
    connection.set_tenant(fresh_brand)
    draw = draw_make(winners_count=3)
    buyers = [member_make(f"buyer-{i}", points=1000) for i in range(10)]

    def purchase(index: int):
        connection.set_tenant(fresh_brand)
        # Each buyer sends their form twice at once (a double click): one purchase.
        member = buyers[index // 2]
        return draw_tickets_buy(
            draw_id=draw.pk, member=member, tickets=3, idempotency_key=f"form-{index // 2}"
        )

    results = run_concurrently(20, purchase)
    connection.set_tenant(fresh_brand)
    assert all(isinstance(result, tuple) for result in results), results
    assert sum(created for _, created in results) == 10
    for member in buyers:
        assert ledger_sum(member_id=member.pk) == 700
        assert_invariants(member.pk)
    assert DrawEntry.objects.filter(draw=draw).aggregate(n=Sum("tickets"))["n"] == 30

    def run(index: int):
        connection.set_tenant(fresh_brand)
        return draw_run(draw_id=draw.pk, now=after_draw(draw) + timedelta(seconds=index))

    runs = run_concurrently(5, run)
    connection.set_tenant(fresh_brand)
    assert all(isinstance(result, Draw) for result in runs), runs
    assert len({result.drawn_at for result in runs}) == 1
    expected = winners(draw.seed, [(m.pk, 3) for m in buyers], 3)
    assert list(DrawWinner.objects.filter(draw=draw).values_list("member_id", flat=True)) == expected


def test_purchases_racing_a_cancellation_are_all_refunded_or_refused(fresh_brand):
    connection.set_tenant(fresh_brand)
    draw = draw_make()
    buyers = [member_make(f"racer-{i}", points=500) for i in range(12)]

    def work(index: int):
        connection.set_tenant(fresh_brand)
        if index == 12:
            return draw_cancel(draw_id=draw.pk)
        return draw_tickets_buy(draw_id=draw.pk, member=buyers[index], tickets=2, idempotency_key="k")

    results = run_concurrently(13, work)
    connection.set_tenant(fresh_brand)
    assert isinstance(results[12], Draw) and results[12].state == Draw.State.CANCELLED
    assert all(isinstance(result, tuple | DomainError) for result in results[:12]), results
    for member in buyers:
        assert ledger_sum(member_id=member.pk) == 500
        assert_invariants(member.pk)
    bought = DrawEntry.objects.filter(draw=draw).count()
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSE).count() == bought
