"""Prize draws (README "Community > Draws"): the pure drawing (same seed, same winners; the hash
published matches the seed), the services (tickets bought through the ledger, counted entries, one
run, refunds on cancel), the site's pages and the backoffice, on a real PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from community.drawing import pick, seed_hash, winners
from community.models import Draw, DrawEntry, DrawWinner
from community.privacy.draws import export
from community.selectors.draws import draw_entries_public, entry_code
from community.services.draws import (
    draw_cancel,
    draw_create,
    draw_run,
    draw_tickets_buy,
    draw_update,
    draws_due_run,
)
from core.errors import InvalidInput, NotFound, Refused
from core.models import AuditEntry
from loyalty.models import LedgerEntry, Member, Segment
from loyalty.services.ledger import InsufficientPoints, ledger_sum
from messaging.models import Message
from tests.community.factories import after_draw, draw_make
from tests.conftest import host_of
from tests.factories import credit_make, debit_make, member_make, template_make
from tests.support import assert_invariants

SEED = "4f1c0e9d2b7a65834f1c0e9d2b7a65834f1c0e9d2b7a65834f1c0e9d2b7a6583"


def buy(draw: Draw, member: Member, tickets: int, key: str = "k1", **kwargs):
    entry, _ = draw_tickets_buy(
        draw_id=draw.pk, member=member, tickets=tickets, idempotency_key=key, **kwargs
    )
    return entry


# --- the pure drawing ----------------------------------------------------------------------------


def test_the_hash_is_the_seeds_sha256():
    assert seed_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert seed_hash(SEED) == hashlib.sha256(SEED.encode()).hexdigest()


def test_the_same_seed_gives_the_same_winners_whatever_the_order_of_the_entries():
    entries = [(7, 3), (2, 1), (40, 10), (11, 5), (3, 2)]
    first = winners(SEED, entries, 3)
    assert first == winners(SEED, list(reversed(entries)), 3)
    assert len(first) == 3 and len(set(first)) == 3
    assert {tuple(winners(f"seed-{n}", entries, 3)) for n in range(20)} != {tuple(first)}


def test_the_winners_follow_the_documented_algorithm():
    """Recomputed here from the page's description, not from the module: HMAC-SHA256(seed, "n")
    modulo the tickets left, the winner's tickets taken out."""
    entries = [(1, 2), (5, 3), (9, 1)]
    pool, expected = list(entries), []
    for n in range(2):
        digest = hmac.new(SEED.encode(), str(n).encode(), hashlib.sha256).digest()
        ticket = int.from_bytes(digest, "big") % sum(t for _, t in pool)
        for index, (member_id, tickets) in enumerate(pool):
            if ticket < tickets:
                expected.append(member_id)
                del pool[index]
                break
            ticket -= tickets
    assert winners(SEED, entries, 2) == expected


def test_a_member_wins_once_and_fewer_entries_than_prizes_all_win():
    assert sorted(winners(SEED, [(1, 1000), (2, 1)], 5)) == [1, 2]
    assert winners(SEED, [(1, 0)], 1) == []
    assert winners(SEED, [], 3) == []


def test_more_tickets_win_more_often():
    wins = sum(winners(f"s{n}", [(1, 9), (2, 1)], 1) == [1] for n in range(400))
    assert 320 < wins < 400


@pytest.mark.parametrize(
    "seed,entries,count",
    [("", [(1, 1)], 1), (SEED, [(1, 1)], 0), (SEED, [(1, 1), (1, 2)], 1), (SEED, [(1, -1)], 1)],
)
def test_impossible_drawings_are_refused(seed, entries, count):
    with pytest.raises(ValueError):
        winners(seed, entries, count)
    with pytest.raises(ValueError):
        pick(SEED, 0, 0)


# --- scheduling ----------------------------------------------------------------------------------


def test_a_new_draw_has_a_secret_seed_whose_hash_is_published(in_a):
    draw = draw_make()
    assert len(draw.seed) == 64 and draw.seed_hash == seed_hash(draw.seed)
    assert draw_make().seed != draw.seed


def test_a_draw_names_the_fields_at_fault(in_a):
    now = timezone.now()
    with pytest.raises(InvalidInput) as error:
        draw_create(
            data={
                "name": "",
                "prize": "x",
                "eligibility": Draw.Eligibility.SEGMENT,
                "ticket_price": 10,
                "opens_at": now,
                "closes_at": now - timedelta(days=1),
                "draw_at": now - timedelta(days=2),
                "winners_count": 0,
            }
        )
    assert set(error.value.errors) >= {"name", "segment", "ticket_price", "closes_at", "winners_count"}
    with pytest.raises(InvalidInput) as error:
        draw_create(data={"seed": "mine"})
    assert "seed" in error.value.errors
    assert not Draw.objects.exists()


def test_the_terms_are_fixed_once_tickets_are_bought_and_the_seed_never_changes(in_a):
    draw = draw_make()
    seed, hashed = draw.seed, draw.seed_hash
    draw = draw_update(draw_id=draw.pk, data={"ticket_price": 50, "prize": "Two weekends"})
    buy(draw, member_make(points=500), 1)
    with pytest.raises(InvalidInput) as error:
        draw_update(draw_id=draw.pk, data={"ticket_price": 10})
    assert "ticket_price" in error.value.errors
    draw = draw_update(draw_id=draw.pk, data={"prize": "Three weekends"})
    assert (draw.seed, draw.seed_hash, draw.prize, draw.ticket_price) == (seed, hashed, "Three weekends", 50)


# --- tickets -------------------------------------------------------------------------------------


def test_tickets_bought_debit_the_points_once_per_key_and_the_ledger_sums(in_a):
    draw = draw_make()
    member = member_make(points=1000)
    entry = buy(draw, member, 3)
    again, created = draw_tickets_buy(draw_id=draw.pk, member=member, tickets=3, idempotency_key="k1")
    assert again == entry and not created
    buy(draw, member, 2, key="k2")
    member.refresh_from_db()
    assert member.balance == 500 == ledger_sum(member_id=member.pk)
    assert entry.entry.points == -300 and entry.entry.kind == LedgerEntry.Kind.REDEEM
    assert DrawEntry.objects.filter(draw=draw, member=member).count() == 2
    assert_invariants(member.pk)


def test_tickets_are_refused_out_of_the_window_or_without_points(in_a):
    member = member_make(points=150)
    draw = draw_make()
    with pytest.raises(Refused) as refused:
        buy(draw, member, 1, now=draw.closes_at)
    assert refused.value.code == "draw_not_open"
    with pytest.raises(Refused):
        buy(draw_make(opens_in=2), member, 1)
    with pytest.raises(InsufficientPoints):
        buy(draw, member, 2)
    with pytest.raises(Refused) as refused:
        buy(draw_make(eligibility=Draw.Eligibility.POINTS_SPENT, points_per_ticket=100), member, 1)
    assert refused.value.code == "tickets_not_sold"
    Member.objects.filter(pk=member.pk).update(status=Member.Status.BLOCKED)
    with pytest.raises(Refused) as refused:
        buy(draw, member, 1)
    assert refused.value.code == "member_not_active"
    assert not DrawEntry.objects.exists()
    assert ledger_sum(member_id=member.pk) == 150


@pytest.mark.parametrize(
    "tickets,key,field", [(0, "k", "tickets"), (101, "k", "tickets"), (1, "", "idempotency_key")]
)
def test_bad_ticket_purchases_name_the_field(in_a, tickets, key, field):
    with pytest.raises(InvalidInput) as error:
        buy(draw_make(), member_make(points=100), tickets, key=key)
    assert error.value.field == field
    with pytest.raises(NotFound):
        buy(Draw(pk=999999), member_make(), 1)


# --- the draw ------------------------------------------------------------------------------------


def test_a_draw_runs_once_at_its_time_and_publishes_what_checks_it(in_a):
    draw = draw_make(winners_count=2)
    members = [member_make(points=1000) for _ in range(4)]
    for index, member in enumerate(members):
        buy(draw, member, index + 1)
    with pytest.raises(Refused) as refused:
        draw_run(draw_id=draw.pk, now=draw.draw_at - timedelta(seconds=1))
    assert refused.value.code == "draw_not_due"
    drawn = draw_run(draw_id=draw.pk, now=after_draw(draw))
    assert drawn.state == Draw.State.DRAWN and drawn.drawn_at == after_draw(draw)
    expected = winners(draw.seed, [(m.pk, i + 1) for i, m in enumerate(members)], 2)
    assert list(DrawWinner.objects.filter(draw=draw).values_list("member_id", flat=True)) == expected
    again = draw_run(draw_id=draw.pk, now=after_draw(draw) + timedelta(days=1))
    assert again.drawn_at == drawn.drawn_at
    assert DrawWinner.objects.filter(draw=draw).count() == 2
    # The public entries, in the draw's order: the positions recompute the same winners.
    lines = draw_entries_public(draw=drawn)
    by_position = winners(draw.seed, [(line.position, line.tickets) for line in lines], 2)
    assert [lines[p - 1].rank for p in by_position] == [1, 2]
    assert [line.first_ticket for line in lines] == [0, 1, 3, 6]


def test_a_segments_active_members_take_part_one_ticket_each(in_a):
    segment = Segment.objects.create(name="Gold", filters={"tags": {"any": ["gold"]}})
    gold = [member_make(tags=["gold"]) for _ in range(3)]
    blocked = member_make(tags=["gold"])
    Member.objects.filter(pk=blocked.pk).update(status=Member.Status.BLOCKED)
    member_make(tags=["silver"])
    draw = draw_make(eligibility=Draw.Eligibility.SEGMENT, segment=segment, winners_count=5)
    draw_run(draw_id=draw.pk, now=after_draw(draw))
    entries = dict(DrawEntry.objects.filter(draw=draw).values_list("member_id", "tickets"))
    assert entries == {m.pk: 1 for m in gold}
    assert set(DrawWinner.objects.filter(draw=draw).values_list("member_id", flat=True)) == set(entries)


def test_points_spent_in_the_window_count_one_ticket_per_n_points(in_a):
    draw = draw_make(eligibility=Draw.Eligibility.POINTS_SPENT, points_per_ticket=100)
    spender, small, late = member_make(points=1000), member_make(points=1000), member_make(points=1000)
    debit_make(spender, 250)
    debit_make(spender, 60)
    debit_make(small, 99)
    debit_make(late, 500, at=draw.closes_at + timedelta(minutes=5))
    draw_run(draw_id=draw.pk, now=after_draw(draw))
    assert dict(DrawEntry.objects.filter(draw=draw).values_list("member_id", "tickets")) == {spender.pk: 3}
    assert list(DrawWinner.objects.filter(draw=draw).values_list("member_id", flat=True)) == [spender.pk]


def test_a_draw_without_entries_has_no_winner(in_a):
    draw = draw_make()
    assert draw_run(draw_id=draw.pk, now=after_draw(draw)).state == Draw.State.DRAWN
    assert not DrawWinner.objects.filter(draw=draw).exists()


def test_winners_are_told_once(in_a, django_capture_on_commit_callbacks):
    template_make(code="draw_won", channel="email", subject="You won {{ draw_prize }}", body="{{ draw_url }}")
    from messaging.triggers import trigger_put

    trigger_put(kind="draw_won", channel="email", data={"template_code": "draw_won", "is_active": True})
    draw = draw_make()
    winner = member_make(points=100, email="win@example.com")
    buy(draw, winner, 1)
    with django_capture_on_commit_callbacks(execute=True):
        draw_run(draw_id=draw.pk, now=after_draw(draw))
    with django_capture_on_commit_callbacks(execute=True):
        draw_run(draw_id=draw.pk, now=after_draw(draw))
    message = Message.objects.get(member=winner, trigger="draw_won")
    assert (
        f"/community/draws/{draw.pk}/" in message.body and message.subject == "You won A weekend in Biarritz"
    )
    assert DrawWinner.objects.get(draw=draw).notified_at is not None


def test_the_due_task_draws_only_due_draws(in_a):
    due, later = draw_make(opens_in=-10), draw_make()
    assert draws_due_run() == 1
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.state, later.state) == (Draw.State.DRAWN, Draw.State.SCHEDULED)
    assert draws_due_run() == 0


# --- cancelling ----------------------------------------------------------------------------------


def test_cancelling_refunds_every_ticket_once(in_a):
    draw = draw_make()
    first, second = member_make(points=500), member_make(points=500)
    buy(draw, first, 2)
    buy(draw, first, 1, key="k2")
    buy(draw, second, 5)
    draw_cancel(draw_id=draw.pk)
    draw_cancel(draw_id=draw.pk)
    for member in (first, second):
        member.refresh_from_db()
        assert member.balance == 500 == ledger_sum(member_id=member.pk)
        assert_invariants(member.pk)
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSE).count() == 3
    with pytest.raises(Refused):
        buy(draw, first, 1, key="k3")
    with pytest.raises(Refused) as refused:
        draw_run(draw_id=draw.pk, now=after_draw(draw))
    assert refused.value.code == "draw_cancelled"


def test_a_drawn_draw_cannot_be_cancelled(in_a):
    draw = draw_make()
    draw_run(draw_id=draw.pk, now=after_draw(draw))
    with pytest.raises(Refused):
        draw_cancel(draw_id=draw.pk)


def test_the_members_export_lists_their_tickets_and_wins(in_a):
    draw = draw_make()
    member = member_make(points=100)
    buy(draw, member, 1)
    draw_run(draw_id=draw.pk, now=after_draw(draw))
    data = export(member)
    assert data["draw_entries"][0]["tickets"] == 1 and data["draw_entries"][0]["entry__points"] == -100
    assert data["draws_won"][0]["rank"] == 1
    assert draw.seed not in str(data)


# --- the site ------------------------------------------------------------------------------------


def test_the_draw_page_hides_the_seed_until_the_draw_then_shows_what_checks_it(db, brand_a):
    connection.set_tenant(brand_a)
    draw = draw_make(prize="A bike")
    member = member_make(points=1000, login=True, first_name="Ana", last_name="Martin")
    buy(draw, member, 2)
    client = Client(HTTP_HOST=host_of(brand_a))
    listing = client.get("/community/draws/").content.decode()
    assert "A bike" in listing
    page = client.get(f"/community/draws/{draw.pk}/").content.decode()
    assert draw.seed_hash in page and draw.seed not in page
    draw_run(draw_id=draw.pk, now=after_draw(draw))
    client.force_login(member.user)
    page = client.get(f"/community/draws/{draw.pk}/").content.decode()
    assert draw.seed in page and "Ana M." in page and entry_code(draw=draw, member_id=member.pk) in page
    assert "Martin" not in page and "(you)" in page


def test_a_member_buys_tickets_on_the_draws_page(db, brand_a):
    connection.set_tenant(brand_a)
    draw = draw_make()
    member = member_make(points=250, login=True)
    client = Client(HTTP_HOST=host_of(brand_a))
    url = f"/community/draws/{draw.pk}/tickets/"
    anonymous = client.post(url, {"tickets": 1, "key": "a"})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    client.force_login(member.user)
    page = client.get(f"/community/draws/{draw.pk}/").content.decode()
    assert 'name="tickets"' in page
    response = client.post(url, {"tickets": 2, "key": "form-1"}, follow=True)
    assert "2 tickets bought" in response.content.decode()
    client.post(url, {"tickets": 2, "key": "form-1"})  # the same form sent twice
    member.refresh_from_db()
    assert member.balance == 50
    refused = client.post(url, {"tickets": 1, "key": "form-2"}, follow=True).content.decode()
    assert "You do not have enough points" in refused
    bad = client.post(url, {"tickets": 0, "key": "form-3"})
    assert bad.status_code == 400
    assert client.get("/community/draws/999999/").status_code == 404


# --- the backoffice ------------------------------------------------------------------------------


def test_the_backoffice_draws_now_only_when_due_and_never_shows_the_seed_before(staff_a):
    credit_make(member := member_make(), 300)
    now = timezone.now()
    response = staff_a.post(
        "/backoffice/community/draw/add/",
        {
            "name": "Backoffice draw",
            "prize": "A scooter",
            "winners_count": 1,
            "eligibility": "tickets_bought",
            "ticket_price": 100,
            "opens_at_0": (now - timedelta(days=1)).strftime("%Y-%m-%d"),
            "opens_at_1": "00:00:00",
            "closes_at_0": (now + timedelta(days=5)).strftime("%Y-%m-%d"),
            "closes_at_1": "00:00:00",
            "draw_at_0": (now + timedelta(days=5)).strftime("%Y-%m-%d"),
            "draw_at_1": "01:00:00",
            "winners-TOTAL_FORMS": 0,
            "winners-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    draw = Draw.objects.get(name="Backoffice draw")
    assert draw.seed_hash == seed_hash(draw.seed)
    buy(draw, member, 1)
    page = staff_a.get(f"/backoffice/community/draw/{draw.pk}/change/").content.decode()
    assert draw.seed_hash in page and draw.seed not in page
    assert f"/backoffice/community/draw/{draw.pk}/run/" not in page
    assert draw.seed not in str(list(AuditEntry.objects.values("before", "after")))
    staff_a.post(f"/backoffice/community/draw/{draw.pk}/run/")
    draw.refresh_from_db()
    assert draw.state == Draw.State.SCHEDULED
    Draw.objects.filter(pk=draw.pk).update(
        opens_at=now - timedelta(days=3), closes_at=now - timedelta(days=2), draw_at=now - timedelta(days=1)
    )
    page = staff_a.get(f"/backoffice/community/draw/{draw.pk}/change/").content.decode()
    assert f"/backoffice/community/draw/{draw.pk}/run/" in page
    assert staff_a.get(f"/backoffice/community/draw/{draw.pk}/run/").status_code == 200
    staff_a.post(f"/backoffice/community/draw/{draw.pk}/run/")
    draw.refresh_from_db()
    assert draw.state == Draw.State.DRAWN
    page = staff_a.get(f"/backoffice/community/draw/{draw.pk}/change/").content.decode()
    assert draw.seed in page and f"/backoffice/community/draw/{draw.pk}/run/" not in page


def test_the_demo_seeds_its_draws_once(in_a):
    from community.demo.draws import seed
    from messaging.models import Trigger

    seed(slug="citycar")
    seed(slug="citycar")
    assert Draw.objects.count() == 2
    past = Draw.objects.get(state=Draw.State.DRAWN)
    assert past.winners.count() == 2 and past.entries.count() >= 5
    assert Draw.objects.get(state=Draw.State.SCHEDULED).ticket_price == 200
    assert Trigger.objects.filter(kind="draw_won", channel="email", is_active=True).exists()
