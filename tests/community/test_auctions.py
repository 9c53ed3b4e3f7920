"""Points auctions (README "Community > Auctions"): bids hold points through the ledger, an outbid
member gets them back at once, the close places the winner's order once (paid by the hold), a
cancel gives every hold back; under real concurrency on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from catalog.models import Gift, Order
from community.models import Auction, Bid
from community.services.auctions import (
    auction_cancel,
    auction_close,
    auction_save,
    auctions_close_due,
    bid_place,
)
from core.errors import Conflict, InvalidInput, NotFound, Refused
from loyalty.models import LedgerEntry
from loyalty.services.ledger import ledger_sum
from messaging.models import Message, Trigger
from messaging.triggers import trigger_put
from tests.catalog.factories import ADDRESS, gift_make
from tests.community.factories import auction_make, bidder_make
from tests.factories import member_make, template_make
from tests.support import assert_invariants, run_concurrently


def spendable(member) -> int:
    member.refresh_from_db()
    return member.balance


def test_a_bid_holds_its_points_and_an_outbid_member_gets_them_back_at_once(in_a):
    auction = auction_make()
    ada, bob = bidder_make("ada"), bidder_make("bob")

    first = bid_place(auction_id=auction.pk, member=ada, points=150)
    assert spendable(ada) == 850 and first.state == Bid.State.LEADING
    assert first.hold_entry.points == -150 and first.hold_entry.kind == LedgerEntry.Kind.REDEEM

    second = bid_place(auction_id=auction.pk, member=bob, points=160)
    first.refresh_from_db()
    assert first.state == Bid.State.OUTBID and first.release_entry.points == 150
    assert first.release_entry.reverses_id == first.hold_entry_id
    assert spendable(ada) == 1000 and spendable(bob) == 840 and second.state == Bid.State.LEADING
    for member in (ada, bob):
        assert_invariants(member.pk)


def test_a_member_may_raise_their_own_bid_holding_only_the_new_amount(in_a):
    auction = auction_make()
    ada = bidder_make("ada", points=300)
    bid_place(auction_id=auction.pk, member=ada, points=200)
    # 200 are held and 100 left: the raise to 290 uses the 200 given back.
    raised = bid_place(auction_id=auction.pk, member=ada, points=290)
    assert spendable(ada) == 10 and raised.state == Bid.State.LEADING
    assert Bid.objects.filter(auction=auction, state=Bid.State.OUTBID, member=ada).count() == 1
    assert_invariants(ada.pk)


def test_the_same_idempotency_key_places_one_bid(in_a):
    auction = auction_make()
    ada = bidder_make("ada")
    first = bid_place(auction_id=auction.pk, member=ada, points=150, idempotency_key="k1")
    again = bid_place(auction_id=auction.pk, member=ada, points=150, idempotency_key="k1")
    assert again.pk == first.pk and spendable(ada) == 850
    with pytest.raises(Conflict) as error:
        bid_place(auction_id=auction.pk, member=ada, points=170, idempotency_key="k1")
    assert error.value.field == "idempotency_key"


@pytest.mark.parametrize(
    ("opens_in", "closes_in", "code"),
    [(1, 24, "auction_not_open"), (-48, -1, "auction_closed")],
)
def test_bids_out_of_the_window_are_refused(in_a, opens_in, closes_in, code):
    auction = auction_make(opens_in=opens_in, closes_in=closes_in)
    ada = bidder_make("ada")
    with pytest.raises(Refused) as error:
        bid_place(auction_id=auction.pk, member=ada, points=500)
    assert error.value.code == code and spendable(ada) == 1000


def test_bids_too_low_or_beyond_the_points_are_refused_and_take_nothing(in_a):
    auction = auction_make(starting=100, increment=25)
    ada, bob = bidder_make("ada"), bidder_make("bob", points=120)
    with pytest.raises(Refused) as low:
        bid_place(auction_id=auction.pk, member=ada, points=99)
    assert (low.value.code, low.value.field) == ("bid_too_low", "points")
    bid_place(auction_id=auction.pk, member=ada, points=100)
    with pytest.raises(Refused) as raise_too_small:
        bid_place(auction_id=auction.pk, member=bob, points=124)
    assert raise_too_small.value.code == "bid_too_low" and "125" in raise_too_small.value.message
    with pytest.raises(Refused) as poor:
        bid_place(auction_id=auction.pk, member=bob, points=125)
    assert (poor.value.code, poor.value.field) == ("insufficient_points", "points")
    # Nothing of the refused bid stayed: Ada still leads, her hold kept.
    assert spendable(bob) == 120 and spendable(ada) == 900
    assert Bid.objects.get(auction=auction, state=Bid.State.LEADING).member_id == ada.pk


@pytest.mark.parametrize("points", [0, -5, "12", 1.5, True])
def test_a_bid_that_is_no_whole_number_of_points_is_invalid(in_a, points):
    auction = auction_make()
    with pytest.raises(InvalidInput) as error:
        bid_place(auction_id=auction.pk, member=bidder_make("ada"), points=points)
    assert error.value.field == "points"


def test_an_unknown_auction_is_not_found(in_a):
    with pytest.raises(NotFound) as error:
        bid_place(auction_id=999999, member=bidder_make("ada"), points=100)
    assert error.value.field == "auction"


def test_a_physical_gift_needs_the_bidders_address_and_reserved_gifts_their_tier(in_a):
    auction = auction_make()
    nowhere = member_make("nowhere", points=1000)
    with pytest.raises(Refused) as error:
        bid_place(auction_id=auction.pk, member=nowhere, points=100)
    assert (error.value.code, error.value.field) == ("address_missing", "address")
    vip_only = auction_make(gift=gift_make(name="VIP magnum", vip_only=True, stock=1))
    with pytest.raises(Refused) as error:
        bid_place(auction_id=vip_only.pk, member=bidder_make("ada"), points=100)
    assert error.value.code == "not_your_tier"


def test_the_close_places_the_winners_order_paid_by_the_hold_once(in_a):
    auction = auction_make()
    ada, bob = bidder_make("ada"), bidder_make("bob")
    bid_place(auction_id=auction.pk, member=ada, points=150)
    winning = bid_place(auction_id=auction.pk, member=bob, points=400)
    with pytest.raises(Refused) as early:
        auction_close(auction_id=auction.pk)
    assert early.value.code == "auction_not_over"

    later = auction.closes_at + timedelta(seconds=1)
    closed = auction_close(auction_id=auction.pk, now=later)
    assert closed.state == Auction.State.CLOSED and closed.order is not None
    order = closed.order
    assert order.member_id == bob.pk and order.total_points == 400
    assert order.debit_entry_id == winning.hold_entry_id, "the hold pays: no second debit"
    assert order.lines.get().points_each == 400 and order.ship_city == ADDRESS["city"]
    assert Gift.objects.get(pk=auction.gift_id).stock == 0
    assert LedgerEntry.objects.filter(member=bob, kind=LedgerEntry.Kind.REDEEM).count() == 1
    assert spendable(bob) == 600 and spendable(ada) == 1000
    winning.refresh_from_db()
    assert winning.state == Bid.State.WON

    assert auction_close(auction_id=auction.pk, now=later).order_id == order.pk
    assert Order.objects.filter(member=bob).count() == 1
    with pytest.raises(Refused) as late:
        bid_place(auction_id=auction.pk, member=ada, points=1000, now=later)
    assert late.value.code == "auction_closed"


def test_a_close_that_cannot_place_the_order_keeps_the_hold_and_is_tried_again(in_a):
    auction = auction_make()
    ada = bidder_make("ada")
    bid_place(auction_id=auction.pk, member=ada, points=150)
    Gift.objects.filter(pk=auction.gift_id).update(stock=0)  # sold meanwhile
    later = auction.closes_at + timedelta(seconds=1)
    assert auctions_close_due(now=later) == 0
    auction.refresh_from_db()
    assert auction.state == Auction.State.SCHEDULED and spendable(ada) == 850
    Gift.objects.filter(pk=auction.gift_id).update(stock=1)
    assert auctions_close_due(now=later) == 1
    auction.refresh_from_db()
    assert auction.order.member_id == ada.pk


def test_an_auction_without_bids_closes_without_an_order(in_a):
    auction = auction_make()
    closed = auction_close(auction_id=auction.pk, now=auction.closes_at)
    assert closed.state == Auction.State.CLOSED and closed.order is None


def test_cancel_gives_every_hold_back_once(in_a):
    auction = auction_make()
    ada, bob = bidder_make("ada"), bidder_make("bob")
    bid_place(auction_id=auction.pk, member=ada, points=150)
    bid_place(auction_id=auction.pk, member=bob, points=300)
    auction_cancel(auction_id=auction.pk)
    auction_cancel(auction_id=auction.pk)
    assert spendable(ada) == 1000 and spendable(bob) == 1000
    assert set(Bid.objects.filter(auction=auction).values_list("state", flat=True)) == {"outbid", "released"}
    with pytest.raises(Conflict):
        auction_close(auction_id=auction.pk, now=auction.closes_at)
    for member in (ada, bob):
        assert ledger_sum(member_id=member.pk) == 1000
        assert_invariants(member.pk)


def test_an_auction_with_bids_keeps_its_terms(in_a):
    auction = auction_make()
    bid_place(auction_id=auction.pk, member=bidder_make("ada"), points=150)
    with pytest.raises(InvalidInput) as error:
        auction_save(auction_id=auction.pk, data={"starting_points": 10})
    assert error.value.field == "starting_points"
    moved = auction_save(auction_id=auction.pk, data={"closes_at": auction.closes_at + timedelta(days=1)})
    assert moved.closes_at > auction.closes_at
    with pytest.raises(InvalidInput) as error:
        auction_make(opens_in=5, closes_in=1)
    assert error.value.field == "closes_at"


def test_the_outbid_and_the_winner_are_told(in_a, django_capture_on_commit_callbacks):
    for kind in ("auction_outbid", "auction_won"):
        template_make(kind, body=f"{kind} {{{{ gift }}}} {{{{ order_number }}}}", purpose="service")
        trigger_put(kind=kind, channel="sms", data={"template_code": kind, "is_active": True})
    auction = auction_make()
    ada, bob = bidder_make("ada", phone="+33612345678"), bidder_make("bob", phone="+33612345679")
    with django_capture_on_commit_callbacks(execute=True):
        bid_place(auction_id=auction.pk, member=ada, points=150)
        bid_place(auction_id=auction.pk, member=bob, points=200)
        bid_place(auction_id=auction.pk, member=bob, points=220)  # raising one's own bid tells nobody
        closed = auction_close(auction_id=auction.pk, now=auction.closes_at)
    outbid = Message.objects.get(trigger="auction_outbid")
    won = Message.objects.get(trigger="auction_won")
    assert outbid.member_id == ada.pk and "Pétrus 1990" in outbid.body
    assert won.member_id == bob.pk and str(closed.order_id) in won.body


# --- under concurrency (threads, committed data) --------------------------------------------------------


def test_twenty_concurrent_bids_leave_one_leader_and_every_outbid_members_points_back(fresh_brand):
    connection.set_tenant(fresh_brand)
    auction = auction_make(starting=100, increment=1)
    members = [bidder_make(f"racer-{i}") for i in range(20)]

    def bid(index: int):
        connection.set_tenant(fresh_brand)
        return bid_place(auction_id=auction.pk, member=members[index], points=100 + 10 * index)

    results = run_concurrently(20, bid)
    connection.set_tenant(fresh_brand)
    placed = [r for r in results if isinstance(r, Bid)]
    refused = [r for r in results if isinstance(r, Refused)]
    assert len(placed) + len(refused) == 20 and all(r.code == "bid_too_low" for r in refused), results
    leading = Bid.objects.filter(auction=auction, state=Bid.State.LEADING)
    assert leading.count() == 1
    assert leading.get().member_id == members[19].pk and leading.get().points == 290
    assert Bid.objects.filter(auction=auction).count() == len(placed)
    for bid_row in Bid.objects.filter(auction=auction).exclude(state=Bid.State.LEADING):
        assert bid_row.state == Bid.State.OUTBID and bid_row.release_entry.points == bid_row.points
    for member in members:
        member.refresh_from_db()
        expected = 1000 - 290 if member.pk == members[19].pk else 1000
        assert member.balance == expected == ledger_sum(member_id=member.pk)
        assert_invariants(member.pk)


def test_two_concurrent_closes_place_one_order(fresh_brand):
    connection.set_tenant(fresh_brand)
    auction = auction_make()
    ada = bidder_make("ada")
    bid_place(auction_id=auction.pk, member=ada, points=300)
    later = auction.closes_at + timedelta(seconds=1)

    def close(index: int):
        connection.set_tenant(fresh_brand)
        return auction_close(auction_id=auction.pk, now=later)

    results = run_concurrently(2, close)
    connection.set_tenant(fresh_brand)
    assert all(isinstance(r, Auction) for r in results), results
    assert {r.order_id for r in results} == {Order.objects.get(member=ada).pk}
    assert Gift.objects.get(pk=auction.gift_id).stock == 0
    assert ledger_sum(member_id=ada.pk) == 700
    assert_invariants(ada.pk)


# --- the site, the backoffice, the demo --------------------------------------------------------------


def test_the_site_shows_the_auction_and_takes_a_bid(db, brand_a, client_for):
    connection.set_tenant(brand_a)
    auction = auction_make()
    ada = bidder_make("ada-web", login=True)
    bob = bidder_make("bob-web")
    bid_place(auction_id=auction.pk, member=bob, points=200)
    anonymous = client_for(brand_a)
    listing = anonymous.get("/community/auctions/").content.decode()
    assert "A rare bottle" in listing and "200" in listing
    page = anonymous.get(f"/community/auctions/{auction.pk}/").content.decode()
    assert "Log in to bid" in page
    client = client_for(brand_a)
    client.force_login(ada.user)
    too_low = client.post(f"/community/auctions/{auction.pk}/bid/", {"points": 205, "token": "t1"})
    assert too_low.status_code == 400 and "bid at least 210 points" in too_low.content.decode()
    response = client.post(f"/community/auctions/{auction.pk}/bid/", {"points": 250, "token": "t2"})
    assert response.status_code == 302
    mine = client.get(f"/community/auctions/{auction.pk}/").content.decode()
    assert "You lead with 250 points" in mine
    assert spendable(ada) == 750 and spendable(bob) == 1000
    assert client_for(brand_a).get("/community/auctions/999999/").status_code == 404


def test_a_cancelled_auction_is_gone_from_the_site(db, brand_a, client_for):
    connection.set_tenant(brand_a)
    auction = auction_make()
    auction_cancel(auction_id=auction.pk)
    assert client_for(brand_a).get(f"/community/auctions/{auction.pk}/").status_code == 404
    assert "A rare bottle" not in client_for(brand_a).get("/community/auctions/").content.decode()


def test_the_backoffice_lists_bids_and_closes_through_the_service(db, brand_a, staff_for):
    connection.set_tenant(brand_a)
    auction = auction_make()
    bid_place(auction_id=auction.pk, member=bidder_make("ada"), points=150)
    staff = staff_for(brand_a)
    page = staff.get(f"/backoffice/community/auction/{auction.pk}/change/")
    assert page.status_code == 200 and "150" in page.content.decode()
    changelist = "/backoffice/community/auction/"
    refused = staff.post(changelist, {"action": "close_due", "_selected_action": [auction.pk]}, follow=True)
    assert "closes later" in refused.content.decode()
    auction.refresh_from_db()
    assert auction.state == Auction.State.SCHEDULED
    staff.post(changelist, {"action": "cancel", "_selected_action": [auction.pk]})
    auction.refresh_from_db()
    assert auction.state == Auction.State.CANCELLED


def test_the_demo_auctions_a_rare_bottle_with_two_bids_once(in_a):
    from community.demo.auctions import seed

    seed(slug="grand-cru")
    seed(slug="grand-cru")
    auction = Auction.objects.get()
    assert auction.gift.reference == "GC-PETRUS-1990" and not auction.gift.is_active
    bids = list(Bid.objects.filter(auction=auction).order_by("points"))
    assert [(b.points, b.state) for b in bids] == [(450, "outbid"), (500, "leading")]
    triggers = Trigger.objects.filter(kind__in=["auction_outbid", "auction_won"], is_active=True)
    assert sorted(triggers.values_list("template_code", flat=True)) == ["auction-outbid", "auction-won"]
    seed(slug="citycar")
    assert Auction.objects.count() == 1
