"""Tenant isolation of points auctions: brand B's host, its members' and staff's sessions see and
change nothing of brand A's auctions (direct ids included), and A's bids hold A's points only."""

from __future__ import annotations

from django.db import connection
from django.test import Client

from community.models import Auction, Bid
from community.services.auctions import bid_place
from core.errors import NotFound
from tests.community.factories import auction_make, bidder_make
from tests.conftest import host_of


def _a_auction(brand_a):
    connection.set_tenant(brand_a)
    auction = auction_make(title="Only in A")
    bid = bid_place(auction_id=auction.pk, member=bidder_make("iso-a"), points=150)
    return auction, bid


def test_bs_host_and_member_session_cannot_see_or_bid_on_as_auctions(db, brand_a, brand_b):
    auction, _ = _a_auction(brand_a)
    a_member = bidder_make("iso-a-web", login=True)
    a_client = Client(HTTP_HOST=host_of(brand_a))
    a_client.force_login(a_member.user)
    assert "Only in A" in a_client.get("/community/auctions/").content.decode()

    connection.set_tenant(brand_b)
    assert not Auction.objects.filter(pk=auction.pk).exists()
    b_member = bidder_make("iso-b-web", login=True)
    b_client = Client(HTTP_HOST=host_of(brand_b))
    b_client.force_login(b_member.user)
    assert "Only in A" not in b_client.get("/community/auctions/").content.decode()
    assert b_client.get(f"/community/auctions/{auction.pk}/").status_code == 404
    assert (
        b_client.post(f"/community/auctions/{auction.pk}/bid/", {"points": 999, "token": "x"}).status_code
        == 404
    )
    try:
        bid_place(auction_id=auction.pk, member=b_member, points=999)
    except NotFound:
        pass
    else:
        raise AssertionError("B's member bid on A's auction")
    # A's session cookie presented on B's host is nobody there: bidding asks to log in.
    a_on_b = Client(HTTP_HOST=host_of(brand_b))
    a_on_b.cookies = a_client.cookies
    response = a_on_b.post(f"/community/auctions/{auction.pk}/bid/", {"points": 999, "token": "y"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    connection.set_tenant(brand_a)
    assert Bid.objects.filter(auction=auction).count() == 1


def test_bs_staff_cannot_see_close_or_cancel_as_auctions(db, brand_a, brand_b, staff_for):
    auction, bid = _a_auction(brand_a)
    staff_b = staff_for(brand_b)
    connection.set_tenant(brand_b)
    base = "/backoffice/community/auction/"
    assert "Only in A" not in staff_b.get(base).content.decode()
    assert staff_b.get(f"{base}{auction.pk}/change/").status_code in (302, 404)
    staff_b.post(base, {"action": "cancel", "_selected_action": [auction.pk]})

    connection.set_tenant(brand_a)
    auction.refresh_from_db()
    bid.refresh_from_db()
    assert auction.state == Auction.State.SCHEDULED and bid.state == Bid.State.LEADING
